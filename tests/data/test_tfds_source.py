"""TFDS datasets converted into the store, with TFDS's mock data (no TensorFlow, no network)."""
import sys

import numpy as np
import pytest

from nevis.errors import DataError
from nevis.store import Store
from nevis.streams.nevis22_catalogue import CATALOGUE
from nevis.streams.tfds_source import prepare_tfds

SPLITS = ("train", "dev", "dev_test", "test")


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
