"""TFDS datasets converted into the store, with TFDS's mock data (no TensorFlow, no network)."""
import sys

import numpy as np
import pytest

from nevis.errors import DataError
from nevis.streams.nevis22_catalogue import CATALOGUE
from nevis.streams.store import Store
from nevis.streams.tfds_source import prepare_tfds
from nevis.task import SPLITS


def test_missing_tfds_is_a_one_line_install_hint(monkeypatch, tmp_path):
  monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
  with pytest.raises(DataError, match=r'pip install "nevis\[prepare\]"'):
    prepare_tfds("mnist", dataset="mnist", store=Store(tmp_path, 8), recipe="TT", kind="single_label")


def _prepare(key, tmp_path, num_examples):
  tfds = pytest.importorskip("tensorflow_datasets")
  entry = CATALOGUE[key]
  store = Store(tmp_path / "store", image_size=8)
  with tfds.testing.mock_data(num_examples=num_examples):
    prepare_tfds(entry.source_name, dataset=key, store=store, recipe=entry.split_recipe, kind=entry.kind,
                 class_names=entry.class_names, tfds_data_dir=tmp_path / "tfds")
  manifest = store.manifest(key)
  return store, {s: manifest["splits"][s]["count"] for s in SPLITS}


def test_mnist_contiguous_70_15_15_plus_test(tmp_path):
  store, counts = _prepare("mnist", tmp_path, 20)
  assert counts == {"train": 14, "dev": 3, "dev_test": 3, "test": 20}
  train = store.read("mnist", "train")
  assert train.images.shape == (14, 8, 8, 3) and train.labels.dtype == np.int32


def test_voc2007_multi_label_tvt(tmp_path):
  store, counts = _prepare("voc_2007", tmp_path, 10)
  assert counts == {"train": 8, "dev": 2, "dev_test": 10, "test": 10}
  labels = store.read("voc_2007", "test").labels
  assert labels.shape == (10, 20) and set(np.unique(labels)) <= {0, 1} and labels.sum() > 0


def test_voc2012_validation_halved(tmp_path):
  _, counts = _prepare("voc_2012", tmp_path, 9)
  assert counts == {"train": 7, "dev": 2, "dev_test": 4, "test": 5}


def test_celeb_a_attributes_as_multi_hot(tmp_path):
  store, _ = _prepare("celeb_a", tmp_path, 6)
  assert store.read("celeb_a", "train").labels.shape[1] == 40


EXPECTED_COUNTS = {  # from the recipes, for mock splits of 20 (TT, IN) or 10 (TVT) examples each
    "TT": (20, {"train": 14, "dev": 3, "dev_test": 3, "test": 20}),
    "TVT": (10, {"train": 8, "dev": 2, "dev_test": 10, "test": 10}),
    "IN": (20, {"train": 18, "dev": 1, "dev_test": 1, "test": 20}),
}
TFDS_KEYS = sorted(e.key for e in CATALOGUE.values() if e.source_kind == "tfds" and e.split_recipe in EXPECTED_COUNTS)


@pytest.mark.parametrize("key", TFDS_KEYS)
def test_every_tfds_dataset_prepares_from_mock_data(key, tmp_path):
  entry = CATALOGUE[key]
  num_examples, expected = EXPECTED_COUNTS[entry.split_recipe]
  store, counts = _prepare(key, tmp_path, num_examples)
  assert counts == expected
  train = store.read(key, "train")
  assert train.images.shape[1:] == (8, 8, 3) and train.images.dtype == np.uint8
  if entry.multi_label:
    assert train.labels.shape == (len(train), entry.num_classes)
  else:
    assert train.labels.ndim == 1 and (train.labels < entry.num_classes).all()


def test_domainnet_trains_on_five_domains_and_tests_on_sketches(tmp_path):
  store, counts = _prepare("domainnet", tmp_path, 6)
  assert counts == {"train": 30, "dev": 30, "dev_test": 6, "test": 6}  # 5 domains' train / test; sketch
  assert store.manifest("domainnet")["provenance"]["official_counts"]["sketch:test"] == 6


def test_smallnorb_splits_by_instance(tmp_path, monkeypatch):
  """TFDS's mock instance ids are not NORB's, so they are replaced by real ones (4, 6, 7, 8, 9 in turn)."""
  from nevis.streams import tfds_source

  real_open = tfds_source._open

  def open_with_real_instances(tfds, name, split, data_dir):
    source = real_open(tfds, name, split, data_dir)
    if split != "train":
      return source

    class WithInstances:
      def __len__(self):
        return len(source)

      def __getitem__(self, index):
        return {**source[index], "instance": (4, 6, 7, 8, 9)[index % 5]}

    return WithInstances()

  monkeypatch.setattr(tfds_source, "_open", open_with_real_instances)
  _, counts = _prepare("smallnorb", tmp_path, 10)
  assert counts == {"train": 6, "dev": 2, "dev_test": 2, "test": 10}
