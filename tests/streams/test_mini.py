"""The embedded `mini` stream: order, years, exact split sizes, disjointness, NEVIS quirks, the store."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.registry import STREAMS
from nevis.streams import mini, store as store_module
from nevis.streams.images import resize_images
from nevis.streams.store import Store
from nevis.task import SPLITS, TaskKind

EXPECTED = [  # name, year, NEVIS counterpart, classes, (train, dev, dev_test, test)
    ("textures", 1998, "Brodatz", 3, (413, 111, 108, 136)),
    ("mnist", 2004, "MNIST", 10, (2781, 575, 618, 1026)),
    ("lfw_faces", 2011, "LFW", 2, (117, 31, 23, 29)),
    ("uci_digits", 2018, "Semeion", 10, (1000, 217, 236, 344)),
    ("mnist_m", 2018, "MNIST-m", 10, (2781, 575, 618, 1026)),
    ("mnist_rot", 2019, "MNIST-rot", 10, (2796, 574, 604, 1026)),
]
POOL_SIZES = {"textures": 768, "mnist": 5000, "lfw_faces": 200, "uci_digits": 1797, "mnist_m": 5000}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("nevis_data")


@pytest.fixture(scope="module")
def stream(data_dir):
  return mini.mini_stream(data_dir=data_dir)


@pytest.fixture(scope="module")
def loaded(stream):
  """Every split of every task, read from the store (preparing it: the one slow step of this module)."""
  return {task.name: {split: task.load_split(split) for split in SPLITS} for task in stream}


def test_registered_under_its_name():
  assert STREAMS.get("mini") is mini.mini_stream


def test_tasks_follow_their_nevis_counterparts_in_year_order(stream):
  assert [(t.name, t.info.year) for t in stream] == [(n, y) for n, y, *_ in EXPECTED]
  years = [t.info.year for t in stream]
  assert years == sorted(years)
  assert [t.counterpart for t in mini.MINI_TASKS] == [c for _, _, c, _, _ in EXPECTED]
  for task, (_, _, _, classes, _) in zip(stream, EXPECTED):
    assert task.info.num_classes == classes
    assert task.info.kind == TaskKind.SINGLE_LABEL
    assert task.info.image_shape == (32, 32, 3)
    assert task.info.dataset == f"mini_{task.name}"
    assert not task.info.held_out


def test_exact_split_sizes_shapes_and_labels(loaded):
  for name, _, _, classes, sizes in EXPECTED:
    assert tuple(len(loaded[name][split]) for split in SPLITS) == sizes, name
    for split in SPLITS:
      data = loaded[name][split]
      assert data.images.dtype == np.uint8 and data.images.shape[1:] == (32, 32, 3)
      assert data.labels.dtype == np.int32
      assert data.labels.min() >= 0 and data.labels.max() < classes
      assert len(np.unique(data.labels)) == classes, (name, split)  # every class in every split


def test_split_sizes_follow_nevis_fractions():
  for name, pool_size in POOL_SIZES.items():
    sizes = {s: len(i) for s, i in mini.split_indices(name).items()}
    for split, fraction in mini.ALL_DATA_FRACTIONS.items():
      three_sigma = 3 * np.sqrt(fraction * (1 - fraction) / pool_size)  # multinomial sampling noise
      assert abs(sizes[split] / pool_size - fraction) < three_sigma, (name, split)


def test_splits_are_disjoint_and_cover_their_pool():
  for name, pool_size in POOL_SIZES.items():
    indices = mini.split_indices(name)
    for a, b in itertools.combinations(SPLITS, 2):
      assert not np.intersect1d(indices[a], indices[b]).size, (name, a, b)
    everything = np.concatenate([indices[s] for s in SPLITS])
    np.testing.assert_array_equal(np.sort(everything), np.arange(pool_size))


def test_nevis_multinomial_split_matches_one_draw_per_example():
  # dm_nevis draws `np.argmax(random_state.multinomial(1, fractions))` example by example.
  state = np.random.RandomState(0)
  fractions = [0.12, 0.12, 0.20, 0.56]  # dev, dev-test, test, train: sorted names
  per_example = np.array([np.argmax(state.multinomial(1, fractions)) for _ in range(300)])
  splits = mini.nevis_multinomial_split(300, mini.ALL_DATA_FRACTIONS)
  for code, split in enumerate(["dev", "dev_test", "test", "train"]):
    np.testing.assert_array_equal(splits[split], np.flatnonzero(per_example == code))


def test_stored_order_maps_to_pool(loaded):
  pool = mini._build_uci_digits()
  indices = mini.split_indices("uci_digits")
  for split in SPLITS:
    stored = loaded["uci_digits"][split]
    np.testing.assert_array_equal(stored.labels, pool.labels[indices[split]])
    expected = resize_images([pool.images[i] for i in indices[split][:50]], 32)
    np.testing.assert_array_equal(stored.images[:50], expected)
  # The pool is sorted by class; the stored splits are not.
  assert not np.all(np.diff(loaded["uci_digits"]["train"].labels) >= 0)


def test_mnist_rot_trains_rotated_and_tests_upright_on_mnists_test_set(loaded):
  mnist, rot = mini.split_indices("mnist"), mini.split_indices("mnist_rot")
  np.testing.assert_array_equal(rot["test"], mnist["test"])
  official_train = np.concatenate([mnist[s] for s in ("train", "dev", "dev_test")])
  rotated = np.concatenate([rot[s] for s in ("train", "dev", "dev_test")])
  np.testing.assert_array_equal(np.sort(rotated), np.sort(official_train))
  for a, b in itertools.combinations(("train", "dev", "dev_test"), 2):
    assert not np.intersect1d(rot[a], rot[b]).size
  for split in ("train", "dev", "dev_test"):
    fraction, expected = len(rot[split]) / len(official_train), mini.TRAIN_FRACTIONS[split]
    assert abs(fraction - expected) < 3 * np.sqrt(expected * (1 - expected) / len(official_train))

  np.testing.assert_array_equal(loaded["mnist_rot"]["test"].images, loaded["mnist"]["test"].images)
  np.testing.assert_array_equal(loaded["mnist_rot"]["test"].labels, loaded["mnist"]["test"].labels)
  # Rotated training digits differ from the upright ones of the same examples.
  digits, labels = mini._mnist_digits()
  upright = resize_images(digits[rot["train"][:200]], 32)
  same = [np.array_equal(a, b) for a, b in zip(loaded["mnist_rot"]["train"].images[:200], upright)]
  assert sum(same) <= 2  # an angle of 0 leaves a digit unchanged; 1 in 360
  np.testing.assert_array_equal(loaded["mnist_rot"]["train"].labels[:200], labels[rot["train"][:200]])


def test_mnist_m_blends_digits_over_colour_photographs(loaded):
  images = loaded["mnist_m"]["train"].images
  assert not np.array_equal(images[..., 0], images[..., 1])  # colour, unlike MNIST
  np.testing.assert_array_equal(loaded["mnist_m"]["test"].labels, loaded["mnist"]["test"].labels)
  # Example 0 by hand: photograph and corner from the blend seed, then |patch - digit| per channel.
  digits, _ = mini._mnist_digits()
  rng = np.random.default_rng(mini.BLEND_SEED)
  which = rng.integers(len(mini._PHOTO_FILES), size=len(digits))[0]
  corner = rng.random((len(digits), 2))[0]
  photo = mini._read_png(mini._PHOTO_FILES[which])[:, :, :3]
  top, left = int(corner[0] * (photo.shape[0] - 27)), int(corner[1] * (photo.shape[1] - 27))
  patch = photo[top:top + 28, left:left + 28].astype(int)
  expected = np.abs(patch - digits[0][:, :, None].astype(int))
  np.testing.assert_array_equal(mini._build_mnist_m().images[0], expected)
  background = digits[0] == 0
  np.testing.assert_array_equal(expected[background], patch[background])  # the photograph shows through


def test_textures_are_non_overlapping_patches_of_three_photographs():
  pool = mini._build_textures()
  assert pool.images.shape == (768, 32, 32)
  np.testing.assert_array_equal(np.bincount(pool.labels), [256, 256, 256])
  from PIL import Image

  brick = np.asarray(Image.open(mini._package_file("skimage", "data/brick.png")))
  np.testing.assert_array_equal(pool.images[0], brick[:32, :32])
  np.testing.assert_array_equal(pool.images[17], brick[32:64, 32:64])  # row 1, column 1 of the 16x16 grid


def test_prepared_once_then_reused(data_dir, loaded, monkeypatch):
  store = Store(data_dir, 32)
  def stamps():
    return {t.dataset: store.manifest(t.dataset)["provenance"]["prepared_at"] for t in mini.MINI_TASKS}

  before = stamps()
  for task in mini.MINI_TASKS:
    assert mini.is_current(store, task)
  monkeypatch.setattr(mini, "_current", set())  # as a new process would start
  monkeypatch.setattr(mini, "prepare", lambda *a: pytest.fail("prepared again"))
  for task in mini.mini_stream(data_dir=data_dir):
    assert len(task.load_split("dev")) > 0
  assert stamps() == before


def test_preparation_is_deterministic(data_dir, loaded, tmp_path):
  fresh = Store(tmp_path, 32)
  first = Store(data_dir, 32)
  for task in mini.MINI_TASKS:
    mini.prepare(fresh, task)
    assert fresh.manifest(task.dataset)["files"] == first.manifest(task.dataset)["files"], task.name


def test_uses_nevis_data_dir_and_image_size(monkeypatch, tmp_path):
  monkeypatch.setenv("NEVIS_DATA_DIR", str(tmp_path))
  task = {t.name: t for t in mini.mini_stream(image_size=16)}["lfw_faces"]
  assert task.info.image_shape == (16, 16, 3)
  assert task.load_split("test").images.shape == (29, 16, 16, 3)
  assert Store(tmp_path, 16).status("mini_lfw_faces") == "prepared"
  assert (tmp_path / "16px" / "mini_lfw_faces" / "manifest.json").is_file()


def test_a_damaged_copy_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
  monkeypatch.setattr(store_module, "_verified", set())
  task = {t.name: t for t in mini.mini_stream(data_dir=tmp_path)}["lfw_faces"]
  good = np.array(task.load_split("train").images)
  monkeypatch.setattr(store_module, "_verified", set())  # a new process
  path = tmp_path / "32px" / "mini_lfw_faces" / "train_images.npy"
  raw = bytearray(path.read_bytes())
  raw[-5] ^= 0xFF
  path.write_bytes(bytes(raw))
  with pytest.warns(UserWarning, match="rebuilding 'mini_lfw_faces'.*checksum"):
    again = task.load_split("train")
  np.testing.assert_array_equal(again.images, good)


def test_a_stale_recipe_is_rebuilt(tmp_path, monkeypatch):
  task = {t.name: t for t in mini.mini_stream(data_dir=tmp_path)}["lfw_faces"]
  task.load_split("dev")
  store = Store(tmp_path, 32)
  before = store.manifest("mini_lfw_faces")["provenance"]["recipe_version"]
  monkeypatch.setattr(mini, "RECIPE_VERSION", before + 1)
  monkeypatch.setattr(mini, "_current", set())
  assert not mini.is_current(store, mini.MINI_TASKS[2])
  task.load_split("dev")
  assert store.manifest("mini_lfw_faces")["provenance"]["recipe_version"] == before + 1


def test_rejects_unknown_options_and_bad_sizes():
  with pytest.raises(ConfigError, match="unknown key 'image_szie'.*did you mean 'image_size'"):
    mini.mini_stream(image_szie=16)
  with pytest.raises(ConfigError, match="image_size must be an integer"):
    mini.mini_stream(image_size="32")
  with pytest.raises(ConfigError, match="image_size must be >= 8"):
    mini.mini_stream(image_size=4)


def test_tasks_pickle_for_worker_processes(data_dir, loaded):
  import pickle

  task = pickle.loads(pickle.dumps(mini.mini_stream(data_dir=data_dir).tasks[0]))
  np.testing.assert_array_equal(task.load_split("dev").labels, loaded["textures"]["dev"].labels)
