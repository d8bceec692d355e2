"""TFDS-backed NEVIS'22 datasets: prepared with tensorflow-datasets, converted into the store.

TFDS is imported only here and only when preparing (`pip install "nevis[prepare]"`). Preparation writes
TFDS's array_record format, so records are then read with `tfds.data_source` (plain NumPy, no TensorFlow)
and converted with NEVIS's split recipe (`streams/splits.py`) into the store. Training never needs TFDS.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nevis.errors import DataError
from nevis.streams import splits
from nevis.streams.handlers.base import Example, Extracted, materialise
from nevis.task import TaskKind

INSTALL_HINT = 'preparing TFDS datasets needs tensorflow-datasets: pip install "nevis[prepare]"'

# Which field is the label (default "label"), and which field drives a metadata split.
_LABEL_KEYS = {
    "smallnorb": "label_category", "coil100": "object_id", "voc": "labels", "celeb_a": "attributes",
}
_META_KEYS = {"coil100": "angle_label", "smallnorb": "instance"}
# DomainNet: NEVIS trains on five domains and tests on sketches.
DOMAINNET_TRAIN_DOMAINS = ("real", "painting", "clipart", "quickdraw", "infograph")
DOMAINNET_TEST_DOMAIN = "sketch"

IMAGENET_MANUAL = (
    "ImageNet needs a manual download: register at https://image-net.org, download ILSVRC2012_img_train.tar "
    "and ILSVRC2012_img_val.tar, and put both in --manual-dir (passed to TFDS as its manual_dir)"
)


def import_tfds():
  try:
    import tensorflow_datasets as tfds
  except ImportError:
    raise DataError(INSTALL_HINT) from None
  return tfds


def tfds_available() -> bool:
  import importlib.util

  return importlib.util.find_spec("tensorflow_datasets") is not None


def _family(name: str) -> str:
  return name.split("/")[0]


def _label_ids(record: Mapping, family: str, kind: TaskKind, class_names: Sequence[str]):
  value = record[_LABEL_KEYS.get(family, "label")]
  if family == "celeb_a":  # a dict of booleans; NEVIS stacks them in sorted-key order
    return [i for i, key in enumerate(sorted(value)) if bool(value[key])]
  if kind == TaskKind.MULTI_LABEL:
    return sorted({int(v) for v in np.asarray(value).reshape(-1)})
  return int(value)


def _image(record: Mapping) -> np.ndarray:
  image = np.asarray(record["image"])
  if image.ndim == 3 and image.shape[2] == 1:
    image = image[:, :, 0]
  return image.astype(np.uint8, copy=False)


def _examples(source, family: str, kind: TaskKind, class_names: Sequence[str]):
  meta_key = _META_KEYS.get(family)
  for index in range(len(source)):
    record = source[index]
    meta = int(record[meta_key]) if meta_key else None
    yield Example(_image(record), _label_ids(record, family, kind, class_names), meta)


def _class_names_from_info(builder, family: str) -> list[str]:
  features = builder.info.features
  if family == "celeb_a":
    return sorted(features["attributes"].keys())
  feature = features[_LABEL_KEYS.get(family, "label")]
  feature = getattr(feature, "feature", feature)  # Sequence(ClassLabel) for multi-label VOC
  return list(feature.names)


def _open(tfds, name: str, split: str, data_dir):
  return tfds.data_source(name, split=split, data_dir=data_dir, download=False)


def _prepare_builder(tfds, name: str, data_dir, manual_dir, download: bool):
  builder = tfds.builder(name, data_dir=data_dir)
  if download:
    config = tfds.download.DownloadConfig(manual_dir=str(manual_dir) if manual_dir else None)
    try:
      builder.download_and_prepare(file_format="array_record", download_config=config)
    except ImportError as e:  # TFDS encodes images with TensorFlow while preparing
      raise DataError(f"{name}: {e}; {INSTALL_HINT}") from None
    except AssertionError as e:  # TFDS's missing-manual-download error
      hint = IMAGENET_MANUAL if name.startswith("imagenet") else "put the files TFDS asks for in --manual-dir"
      raise DataError(f"{name}: {e}; {hint}") from None
  return builder


def prepare_tfds(
    name: str,
    *,
    dataset: str,
    store,
    recipe: str,
    kind: TaskKind,
    class_names: Sequence[str] | None = None,
    manual_dir: str | Path | None = None,
    tfds_data_dir: str | Path | None = None,
    download: bool = True,
) -> Path:
  """Prepares TFDS dataset `name` (e.g. "voc/2007") and writes it to the store as `dataset`."""
  tfds = import_tfds()
  family = _family(name)
  code = recipe.partition(":")[0]
  data_dir = str(tfds_data_dir) if tfds_data_dir is not None else None
  if code == "DNET":
    official, names = _domainnet_sources(tfds, name, data_dir, manual_dir, download)
  else:
    builder = _prepare_builder(tfds, name, data_dir, manual_dir, download)
    names = list(class_names) if class_names is not None else _class_names_from_info(builder, family)
    wanted = {"TT": ("train", "test"), "TVT": ("train", "validation", "test"), "IN": ("train", "validation"),
              "V12": ("train", "validation"), "COIL": ("train",), "NORB": ("train", "test")}
    if code not in wanted:
      raise DataError(f"{name}: split recipe {recipe!r} is not a TFDS recipe")
    official = {split: _open(tfds, name, split, data_dir) for split in wanted[code]}
  if class_names is not None:
    names = list(class_names)
  counts = {split: len(source) for split, source in official.items()}
  extracted = Extracted(
      names, {split: _examples(source, family, kind, names) for split, source in official.items()}
  )

  def plan_splits(metas):
    if code == "COIL":
      return splits.coil_view_bins(metas["train"], official="train")
    if code == "NORB":
      return splits.norb_instances(metas["train"], counts["test"])
    if code == "DNET":
      return _domainnet_plan(counts)
    return splits.plan_from_counts(code, counts)

  root = Path(store.root)
  root.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(prefix=f".scratch-{dataset}-", dir=root) as scratch:
    data, names = materialise(
        extracted, recipe=recipe, plan_splits=plan_splits, image_rule="none", image_size=store.image_size,
        kind=kind, scratch=Path(scratch), class_names=names,
    )
    provenance = {
        "source": f"tfds:{name}",
        "split_recipe": recipe,
        "tfds_version": getattr(tfds, "__version__", "unknown"),
        "source_checksums": {},  # TFDS checks its own downloads against its registered checksums
        "official_counts": counts,
    }
    return store.write(dataset, data, class_names=names, kind=kind, provenance=provenance)


def _domainnet_sources(tfds, name, data_dir, manual_dir, download):
  official = {}
  names = None
  for domain in DOMAINNET_TRAIN_DOMAINS + (DOMAINNET_TEST_DOMAIN,):
    config = f"{_family(name)}/{domain}"
    builder = _prepare_builder(tfds, config, data_dir, manual_dir, download)
    names = names or _class_names_from_info(builder, "domainnet")
    for split in ("train", "test"):
      official[f"{domain}:{split}"] = _open(tfds, config, split, data_dir)
  return official, names


def _domainnet_plan(counts: Mapping[str, int]) -> splits.SplitPlan:
  def whole(key):
    return (key, np.arange(counts[key], dtype=np.int64))

  return {
      "train": [whole(f"{d}:train") for d in DOMAINNET_TRAIN_DOMAINS],
      "dev": [whole(f"{d}:test") for d in DOMAINNET_TRAIN_DOMAINS],
      "dev_test": [whole(f"{DOMAINNET_TEST_DOMAIN}:train")],
      "test": [whole(f"{DOMAINNET_TEST_DOMAIN}:test")],
  }


def instructions(name: str, manual: str | None = None) -> str:
  """One line: how a TFDS dataset is obtained."""
  if name.startswith("imagenet"):
    return IMAGENET_MANUAL + f"; then nevis data prepare ({INSTALL_HINT.split(': ')[1]})"
  base = f"downloaded and prepared by tensorflow-datasets ({INSTALL_HINT.split(': ')[1]})"
  return f"{base}; {manual}" if manual else base
