"""The NEVIS'22 stream variants: counts, order, repeats, held-out years and lazy loading."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from nevis import registry
from nevis.errors import ConfigError
from nevis.stream import stream_table
from nevis.streams import nevis22
from nevis.streams.nevis22_catalogue import CATALOGUE, KEY_BY_DISPLAY_NAME
from nevis.task import SplitData, TaskKind

# (tasks, distinct datasets, tasks before 2020) per variant, from dm_nevis's NEVIS_STREAM_PER_YEAR.
EXPECTED_COUNTS = {
    "FULL": (106, 97, 92),
    "SHORT": (29, 28, 25),
    "TINY": (7, 6, 6),
    "DEBUG": (2, 2, 2),
    "IMAGENET_ONLY": (1, 1, 1),
    "MAJOR_DOMAIN_ONLY": (70, 64, 56),
    "LARGE_DATASET_ONLY": (67, 64, 53),
}


def test_every_variant_is_registered_under_its_stream_name():
  expected = {
      "nevis22_full", "nevis22_short", "nevis22_tiny", "nevis22_debug", "nevis22_imagenet_only",
      "nevis22_major_domain_only", "nevis22_large_dataset_only",
  }
  assert set(nevis22.STREAM_NAMES.values()) == expected
  for name in expected:
    factory = registry.STREAMS.get(name)
    assert factory(image_size=8).name == name


@pytest.mark.parametrize("variant", sorted(EXPECTED_COUNTS))
def test_variant_counts(variant):
  tasks = nevis22.variant_tasks(variant)
  before_2020 = [t for t in tasks if t.info.year < 2020]
  assert (len(tasks), len({t.info.dataset for t in tasks}), len(before_2020)) == EXPECTED_COUNTS[variant]
  assert len(nevis22.variant_tasks(variant, stop_before_held_out=True)) == EXPECTED_COUNTS[variant][2]


def test_every_display_name_of_every_variant_is_in_the_catalogue():
  for variant, years in nevis22.VARIANTS.items():
    for names in years.values():
      for name in names:
        assert name in KEY_BY_DISPLAY_NAME, (variant, name)


def test_full_covers_the_whole_catalogue_and_the_others_are_subsets():
  full = {t.info.dataset for t in nevis22.variant_tasks("FULL")}
  assert full == set(CATALOGUE)
  for variant in nevis22.VARIANTS:
    assert {t.info.dataset for t in nevis22.variant_tasks(variant)} <= full


def test_full_starts_and_ends_in_nevis_order():
  tasks = nevis22.variant_tasks("FULL")
  first = [(t.info.year, t.name) for t in tasks[:7]]
  assert first == [
      (1992, "magellan_venus_volcanoes"), (1992, "aberdeen"), (1998, "landsat"), (1998, "brodatz"),
      (1998, "olivetti_face"), (2000, "coil20"), (2001, "coil100"),
  ]
  last = [(t.info.year, t.name) for t in tasks[-6:]]
  assert last == [
      (2021, "nih_chest_xray"), (2021, "tubercolosis"), (2021, "covid_19_xray"), (2021, "patch_camelyon"),
      (2021, "ddsm"), (2021, "synthetic_covid19_xray"),
  ]
  years = [t.info.year for t in tasks]
  assert years == sorted(years)
  assert years[0] == 1992 and years[-1] == 2021


def test_repeats_are_separate_tasks_with_unique_names():
  tasks = nevis22.variant_tasks("FULL")
  names = [t.name for t in tasks]
  assert len(set(names)) == 106
  repeats = sorted(n for n in names if n not in CATALOGUE)
  assert repeats == sorted([
      "brodatz_2011", "olivetti_face_2010", "coil20_2019", "coil100_2019", "mnist_2015", "caltech101_2016",
      "scenes15_2019", "imagenet2012_2021", "oxford_flowers102_2021",
  ])
  by_name = {t.name: t for t in tasks}
  assert names.index("mnist") < names.index("mnist_2015")
  assert by_name["mnist_2015"].info.dataset == "mnist"
  assert by_name["mnist_2015"].info.year == 2015
  # SHORT repeats MNIST in its own year.
  short_names = [t.name for t in nevis22.variant_tasks("SHORT")]
  assert "mnist" in short_names and "mnist_2018" in short_names


def test_multi_label_tasks():
  tasks = nevis22.variant_tasks("FULL")
  multi = [t for t in tasks if t.info.kind == TaskKind.MULTI_LABEL]
  assert len(multi) == 9
  assert len([t for t in multi if not t.info.held_out]) == 7
  assert {t.name for t in multi if t.info.held_out} == {"biwi", "nih_chest_xray"}


def test_held_out_years_and_stopping_before_them():
  tasks = nevis22.variant_tasks("FULL")
  held_out = [t for t in tasks if t.info.held_out]
  assert len(held_out) == 14
  assert all(t.info.year >= 2020 for t in held_out)
  assert all(not t.info.held_out for t in tasks if t.info.year < 2020)
  stopped = nevis22.nevis22_full(stop_before_held_out=True)
  assert len(stopped) == 92
  assert stopped.tasks[-1].name == "coil100_2019"
  assert not any(t.info.held_out for t in stopped)
  # SHORT holds out its 2020 fine-grained tasks.
  short = nevis22.variant_tasks("SHORT")
  assert [t.name for t in short if t.info.held_out] == [
      "stanford_dogs", "caltech_birds2011", "stanford_cars", "fgvc_aircraft_family",
  ]
  assert [t.name for t in nevis22.nevis22_debug()] == ["voc_2007", "coil20"]


def test_task_info_comes_from_the_catalogue():
  stream = nevis22.nevis22_full(image_size=96)
  by_name = {t.name: t.info for t in stream}
  voc = by_name["voc_2007"]
  assert voc.year == 2010
  assert voc.display_name == "Pascal 2007"
  assert voc.source == "tfds:voc/2007"
  assert voc.kind == TaskKind.MULTI_LABEL
  assert voc.num_classes == 20 and voc.class_names[0] == "aeroplane"
  assert voc.image_shape == (96, 96, 3)
  assert by_name["caltech256"].num_classes == 257
  assert by_name["imagenet2012_2021"].held_out and not by_name["imagenet2012"].held_out


def test_building_is_lazy_and_loading_reads_the_store(monkeypatch, tmp_path):
  calls = []

  class FakeStore:
    def __init__(self, root=None, image_size=64):
      self.root, self.image_size = root, image_size

    def read(self, dataset, split):
      calls.append((self.root, self.image_size, dataset, split))
      return SplitData(np.zeros((2, 4, 4, 3), np.uint8), np.zeros((2,), np.int32))

  fake_module = types.ModuleType("nevis.streams.store")
  fake_module.Store = FakeStore
  monkeypatch.setitem(sys.modules, "nevis.streams.store", fake_module)
  missing = tmp_path / "no_such_dir"
  stream = registry.STREAMS.get("nevis22_debug")(data_dir=missing, image_size=4)
  assert calls == [] and not missing.exists()
  split = stream.tasks[1].load_split("dev")
  assert len(split) == 2
  assert calls == [(str(missing), 4, "coil20", "dev")]


def test_bad_options_are_rejected():
  with pytest.raises(ConfigError, match="stream 'nevis22_tiny': stream_options.image_size must be >= 1, got 0"):
    nevis22.nevis22_tiny(image_size=0)
  with pytest.raises(ValueError, match="variant"):
    nevis22.variant_tasks("HUGE")


def test_stream_table_rows():
  rows = stream_table(nevis22.nevis22_full())
  assert len(rows) == 106
  assert rows[0] == {
      "position": 1, "name": "magellan_venus_volcanoes", "year": 1992, "key": "magellan_venus_volcanoes",
      "display_name": "Magellan Venus Volcanoes", "classes": 2, "kind": "single_label",
      "source": "handler:magellan_venus_volcanoes", "held_out": False,
  }
  mnist_2015 = next(r for r in rows if r["name"] == "mnist_2015")
  assert mnist_2015["key"] == "mnist" and mnist_2015["position"] == 47
  assert rows[-1]["position"] == 106 and rows[-1]["held_out"] is True
  assert sum(r["held_out"] for r in rows) == 14
  json.dumps(rows)  # the CLI's --json prints these rows as they are
