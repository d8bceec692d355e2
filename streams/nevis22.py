"""The NEVIS'22 streams: FULL (106 tasks, 1992-2021) and the variants NEVIS defines.

Each variant lists, per year, NEVIS's display names in NEVIS's own order (google-deepmind/dm_nevis at
37ccf1e, `streams/nevis_stream.py::NEVIS_STREAM_PER_YEAR`; empty years left out). A dataset that appears
twice is two tasks: the first is named by its key, a repeat by key and year ("mnist", then "mnist_2015").
Years from 2020 on are NEVIS's held-out part; `stop_before_held_out=True` leaves them out.

Building a stream touches no disk: each task reads its splits from the prepared store only when the runner
asks for them.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from nevis.options import Options, option
from nevis.registry import register_stream
from nevis.stream import Stream
from nevis.streams.nevis22_catalogue import entry_by_display_name
from nevis.streams.prepare import NevisDataSource
from nevis.task import SplitData, Task, TaskInfo

# NEVIS develops on the years before this one and keeps the rest for the final evaluation.
HELD_OUT_FROM_YEAR = 2020
DEFAULT_IMAGE_SIZE = 64

VARIANTS: dict[str, dict[int, tuple[str, ...]]] = {
    "FULL": {
        1992: ("Magellan Venus Volcanoes", "Aberdeen face database."),
        1998: ("LandSat UCI repo", "Brodatz", "Olivetti Face Dataset"),
        2000: ("COIL 20",),
        2001: ("COIL 100", "MPEG-7"),
        2004: ("Butterfly dataset", "MNIST"),
        2005: ("Caltech 101", "UMIST", "CMU AMP expression"),
        2006: ("Pascal 2005", "Caltech cars, motorbikes", "UIUC cars", "ALOI"),
        2007: ("8 Scene Dataset",),
        2008: ("15 Scenes",),
        2009: ("Pascal 2006", "Extended YaleB"),
        2010: ("Pascal 2007", "Graz-02", "Olivetti Face Dataset", "PPMI"),
        2011: (
            "Caltech 256", "ImageNet", "LFW", "Oxford Flowers", "Flicker Material Dataset",
            "Oxford Flowers 102", "Belgium Traffic Sign Dataset", "German Traffic Sign Recognition Benchmark",
            "Brodatz", "VisTex",
        ),
        2012: ("UMD", "KTH-TIPS", "UIUC texture", "KTH-TIPS2-b", "CVC-MUSCIMA"),
        2013: ("IAPRTC-12", "sketch dataset", "KTH-TIPS2-a", "Pascal 2012", "NORB"),
        2014: ("Wikipaintings",),
        2015: ("MNIST", "MIT Scenes", "SUN 397", "CIFAR 10"),
        2016: (
            "CUB 200", "Stanford Cars", "FGVC Aircraft", "DTD", "MS COCO", "Caltech 101", "Oxford IIIT Pets",
            "Stanford Dogs", "ANIMAL", "Caltech 101 Silhouettes", "Interact", "VOC Actions", "SVHN",
            "Chars74K",
        ),
        2017: ("CelebA", "LFWA", "SUN Attribute", "CIFAR 100"),
        2018: (
            "TID2008", "TID2013", "USPS", "Semeion", "MNIST-m", "Office Caltech", "PACS",
            "Caltech Camera Traps", "EMNIST Balanced", "CASIA-HWDB1.1",
            "ISBI-ISIC 2017 melanoma classification challenge",
        ),
        2019: (
            "Trancos", "Mall dataset", "Fashion MNIST", "NotMNIST", "Tiny Imagenet", "STL10", "Food 101",
            "MNIST-rot", "AWA2", "15 Scenes", "Food 101 N", "COIL 20", "COIL 100",
        ),
        2020: ("ShanghaiTech", "AnimalWeb", "BIWI"),
        2021: (
            "ImageNet", "Oxford Flowers 102", "DomainNet-Real", "Pneumonia Chest X-ray", "Path MNIST",
            "NIH Chest X-ray", "Tubercolosis", "covid-19 x-ray", "PatchCamelyon", "DDSM",
            "Synthetic COVID-19 Chest X-ray Dataset",
        ),
    },
    "SHORT": {
        2004: ("COIL 100", "MNIST"),
        2006: ("Pascal 2005", "Caltech cars, motorbikes", "UIUC cars"),
        2009: ("Pascal 2006",),
        2010: ("Caltech 101",),
        2011: ("Graz-02", "15 Scenes", "Pascal 2007", "LFW"),
        2013: ("sketch dataset", "Brodatz"),
        2014: ("ImageNet", "Pascal 2012", "Caltech 256"),
        2018: (
            "CIFAR 100", "CIFAR 10", "USPS", "MNIST", "MNIST-m", "Office Caltech", "PACS",
            "ISBI-ISIC 2017 melanoma classification challenge",
        ),
        2019: ("Fashion MNIST",),
        2020: ("Stanford Dogs", "CUB 200", "Stanford Cars", "FGVC Aircraft"),
    },
    "TINY": {
        2004: ("MNIST",),
        2010: ("Caltech 101",),
        2014: ("Pascal 2012",),
        2018: ("CIFAR 100", "MNIST", "ISBI-ISIC 2017 melanoma classification challenge"),
        2020: ("CUB 200",),
    },
    "DEBUG": {
        1999: ("Pascal 2007",),
        2000: ("COIL 20",),
    },
    "IMAGENET_ONLY": {
        2014: ("ImageNet",),
    },
    "MAJOR_DOMAIN_ONLY": {
        2000: ("COIL 20",),
        2001: ("COIL 100",),
        2004: ("Butterfly dataset",),
        2005: ("Caltech 101",),
        2006: ("Pascal 2005", "Caltech cars, motorbikes", "UIUC cars", "ALOI"),
        2007: ("8 Scene Dataset",),
        2008: ("15 Scenes",),
        2009: ("Pascal 2006",),
        2010: ("Pascal 2007", "Graz-02", "PPMI"),
        2011: (
            "Caltech 256", "ImageNet", "Oxford Flowers", "Oxford Flowers 102", "Belgium Traffic Sign Dataset",
            "German Traffic Sign Recognition Benchmark",
        ),
        2013: ("IAPRTC-12", "sketch dataset", "Pascal 2012", "NORB"),
        2014: ("Wikipaintings",),
        2015: ("MIT Scenes", "SUN 397", "CIFAR 10"),
        2016: (
            "CUB 200", "Stanford Cars", "FGVC Aircraft", "MS COCO", "Caltech 101", "Oxford IIIT Pets",
            "Stanford Dogs", "Interact", "VOC Actions", "SVHN",
        ),
        2017: ("SUN Attribute", "CIFAR 100"),
        2018: ("Office Caltech", "PACS", "Caltech Camera Traps"),
        2019: (
            "Trancos", "Mall dataset", "Fashion MNIST", "NotMNIST", "Tiny Imagenet", "STL10", "Food 101",
            "MNIST-rot", "AWA2", "15 Scenes", "Food 101 N", "COIL 20", "COIL 100",
        ),
        2020: ("ShanghaiTech", "AnimalWeb", "BIWI"),
        2021: (
            "ImageNet", "Oxford Flowers 102", "DomainNet-Real", "Pneumonia Chest X-ray", "Path MNIST",
            "NIH Chest X-ray", "Tubercolosis", "covid-19 x-ray", "PatchCamelyon", "DDSM",
            "Synthetic COVID-19 Chest X-ray Dataset",
        ),
    },
    "LARGE_DATASET_ONLY": {
        2004: ("MNIST",),
        2005: ("Caltech 101",),
        2006: ("ALOI",),
        2009: ("Extended YaleB",),
        2010: ("Pascal 2007",),
        2011: (
            "Caltech 256", "ImageNet", "LFW", "Belgium Traffic Sign Dataset",
            "German Traffic Sign Recognition Benchmark",
        ),
        2013: ("IAPRTC-12", "sketch dataset", "Pascal 2012", "NORB"),
        2014: ("Wikipaintings",),
        2015: ("MNIST", "MIT Scenes", "SUN 397", "CIFAR 10"),
        2016: (
            "CUB 200", "Stanford Cars", "FGVC Aircraft", "MS COCO", "Caltech 101", "Oxford IIIT Pets",
            "Stanford Dogs", "Caltech 101 Silhouettes", "VOC Actions", "SVHN", "Chars74K",
        ),
        2017: ("CelebA", "LFWA", "SUN Attribute", "CIFAR 100"),
        2018: ("USPS", "MNIST-m", "PACS", "Caltech Camera Traps", "EMNIST Balanced", "CASIA-HWDB1.1"),
        2019: (
            "Trancos", "Mall dataset", "Fashion MNIST", "NotMNIST", "Tiny Imagenet", "STL10", "Food 101",
            "MNIST-rot", "AWA2", "15 Scenes", "Food 101 N", "COIL 20", "COIL 100",
        ),
        2020: ("ShanghaiTech", "AnimalWeb", "BIWI"),
        2021: (
            "ImageNet", "Oxford Flowers 102", "DomainNet-Real", "Pneumonia Chest X-ray", "Path MNIST",
            "NIH Chest X-ray", "Tubercolosis", "covid-19 x-ray", "PatchCamelyon", "DDSM",
            "Synthetic COVID-19 Chest X-ray Dataset",
        ),
    },
}

# The registered stream name of each variant.
STREAM_NAMES: dict[str, str] = {variant: f"nevis22_{variant.lower()}" for variant in VARIANTS}


@dataclasses.dataclass(frozen=True)
class StoreSplitLoader:
  """`Task.load_split` for a prepared dataset: reads one split from the store when called."""

  dataset: str
  data_dir: str | None
  image_size: int

  def __call__(self, split: str) -> SplitData:
    # Imported here so that listing a stream never pulls in the store (or touches the disk).
    from nevis.streams.store import Store

    return Store(root=self.data_dir, image_size=self.image_size).read(self.dataset, split)


def variant_tasks(
    variant: str,
    *,
    stop_before_held_out: bool = False,
    data_dir: str | Path | None = None,
    image_size: int = DEFAULT_IMAGE_SIZE,
) -> list[Task]:
  """The tasks of one variant ("FULL", "SHORT", ...) in stream order."""
  if variant not in VARIANTS:
    raise ValueError(f"unknown NEVIS'22 variant {variant!r}; expected one of {sorted(VARIANTS)}")
  root = None if data_dir is None else str(data_dir)
  tasks = []
  seen_keys: set[str] = set()
  for year, display_names in sorted(VARIANTS[variant].items()):
    held_out = year >= HELD_OUT_FROM_YEAR
    if held_out and stop_before_held_out:
      break
    for display_name in display_names:
      dataset = entry_by_display_name(display_name)
      name = dataset.key if dataset.key not in seen_keys else f"{dataset.key}_{year}"
      seen_keys.add(dataset.key)
      info = TaskInfo(
          name=name,
          dataset=dataset.key,
          year=year,
          kind=dataset.kind,
          class_names=dataset.class_names_or_placeholders(),
          image_shape=(image_size, image_size, 3),
          display_name=dataset.display_name,
          held_out=held_out,
          source=dataset.source,
          flip_invariant=dataset.flip_invariant,
      )
      source = NevisDataSource(dataset.key, data_dir=root, image_size=image_size)
      tasks.append(Task(info, StoreSplitLoader(dataset.key, root, image_size), data=source))
  return tasks


def variant_stream(variant: str, **options) -> Stream:
  """One variant as a `Stream` named like its registry entry (e.g. "nevis22_full")."""
  if variant not in STREAM_NAMES:
    raise ValueError(f"unknown NEVIS'22 variant {variant!r}; expected one of {sorted(VARIANTS)}")
  return Stream(STREAM_NAMES[variant], variant_tasks(variant, **options))


@dataclasses.dataclass(frozen=True)
class Nevis22Options(Options):
  """The options of every NEVIS'22 variant."""

  stop_before_held_out: bool = option(False, f"end the stream before its held-out years (>= {HELD_OUT_FROM_YEAR})")
  data_dir: str | None = option(None, "the store's folder; null: $NEVIS_DATA_DIR, else the user's cache")
  image_size: int = option(DEFAULT_IMAGE_SIZE, "side of the stored square images, in pixels", minimum=1)


def _build(variant: str, options: Nevis22Options) -> Stream:
  return variant_stream(variant, stop_before_held_out=options.stop_before_held_out, data_dir=options.data_dir,
                        image_size=options.image_size)


@register_stream("nevis22_full", options=Nevis22Options)
def nevis22_full(options: Nevis22Options) -> Stream:
  """NEVIS'22 FULL: 106 tasks over 97 datasets, 1992-2021 (2020-2021 held out)."""
  return _build("FULL", options)


@register_stream("nevis22_short", options=Nevis22Options)
def nevis22_short(options: Nevis22Options) -> Stream:
  """NEVIS'22 SHORT: 29 tasks over 28 datasets, its own years (2020 held out)."""
  return _build("SHORT", options)


@register_stream("nevis22_tiny", options=Nevis22Options)
def nevis22_tiny(options: Nevis22Options) -> Stream:
  """NEVIS'22 TINY: 7 tasks over 6 datasets (CUB 200 in 2020 held out)."""
  return _build("TINY", options)


@register_stream("nevis22_debug", options=Nevis22Options)
def nevis22_debug(options: Nevis22Options) -> Stream:
  """NEVIS'22 DEBUG: Pascal 2007 (TFDS, multi-label), then COIL 20 (handler)."""
  return _build("DEBUG", options)


@register_stream("nevis22_imagenet_only", options=Nevis22Options)
def nevis22_imagenet_only(options: Nevis22Options) -> Stream:
  """NEVIS'22 IMAGENET_ONLY: ImageNet alone (NEVIS's pretraining stream)."""
  return _build("IMAGENET_ONLY", options)


@register_stream("nevis22_major_domain_only", options=Nevis22Options)
def nevis22_major_domain_only(options: Nevis22Options) -> Stream:
  """NEVIS'22 MAJOR_DOMAIN_ONLY: 70 tasks; before 2020 no face/texture/shape/OCR/medical/..."""
  return _build("MAJOR_DOMAIN_ONLY", options)


@register_stream("nevis22_large_dataset_only", options=Nevis22Options)
def nevis22_large_dataset_only(options: Nevis22Options) -> Stream:
  """NEVIS'22 LARGE_DATASET_ONLY: 67 tasks; before 2020 only datasets of 10,000+ images."""
  return _build("LARGE_DATASET_ONLY", options)
