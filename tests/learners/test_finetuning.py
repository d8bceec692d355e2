from __future__ import annotations

import collections
import copy

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nevis.errors import ConfigError, LearnerError
from nevis.learners.finetuning import FinetuningLearner, IndependentLearner, PreviousLearner
from nevis.learners.finetuning_steps import decay_mask
from nevis.learners.recipe import adaptive_batch_size
from nevis.learners.toolkit import head_outputs, multi_label_loss, single_label_loss, warmup_cosine
from nevis.protocol import CheckpointHook, DataView, Progress, TrainingTask
from nevis.registry import LEARNERS
from nevis.task import SplitData, TaskInfo, TaskKind

# One architecture for every test, so that learners share compiled functions (see finetuning_steps.functions).
TINY = {"width": 8, "blocks_per_stage": [1, 1], "image_size": 16, "min_batch": 16, "max_batch": 16,
        "eval_batch_size": 32}
PALETTE = np.random.default_rng(123).integers(0, 256, (32, 3))


def colour_split(num_examples: int, num_classes: int, seed: int, size: int = 12) -> SplitData:
  """Each class is a flat colour plus noise: easy, and unchanged by crops and flips."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, num_examples).astype(np.int32)
  pixels = PALETTE[labels][:, None, None, :] + rng.normal(0, 20, (num_examples, size, size, 3))
  return SplitData(np.clip(pixels, 0, 255).astype(np.uint8), labels)


def channel_split(num_examples: int, seed: int, size: int = 12) -> SplitData:
  """Multi-label: label k is on when colour channel k is bright."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 2, (num_examples, 3)).astype(np.uint8)
  pixels = 30 + 180 * labels[:, None, None, :] + rng.normal(0, 20, (num_examples, size, size, 3))
  return SplitData(np.clip(pixels, 0, 255).astype(np.uint8), labels)


class RecordingJit:
  """jax.jit that records each distinct compiled signature and the calls per function."""

  def __init__(self):
    self.signatures: set = set()
    self.calls: collections.Counter = collections.Counter()

  def __call__(self, fn, **options):
    compiled = jax.jit(fn, **options)
    static = set(options.get("static_argnums", ()))

    def call(*args):
      leaves, treedef = jax.tree.flatten([a for i, a in enumerate(args) if i not in static])
      abstract = tuple((np.shape(x), str(jnp.asarray(x).dtype)) for x in leaves)
      self.signatures.add((fn.__name__, str(treedef), abstract, tuple(args[i] for i in sorted(static))))
      self.calls[fn.__name__] += 1
      return compiled(*args)

    return call


class Crash(Exception):
  pass


class MemoryCheckpoint(CheckpointHook):
  """Saves every `every` steps into memory; raises after `crash_after` saves, as a killed process would."""

  def __init__(self, every: int, crash_after: int | None = None):
    self.every, self.crash_after = every, crash_after
    self.saved, self.saves = None, 0

  def due(self, step: int) -> bool:
    return step % self.every == 0

  def save(self, tree) -> None:
    self.saved = copy.deepcopy(tree)
    self.saves += 1
    if self.saves == self.crash_after:
      raise Crash

  def restore(self):
    return copy.deepcopy(self.saved)


class Recorder:
  def __init__(self):
    self.records = []

  def record(self, batch, logits):
    self.records.append((batch["index"].copy(), np.asarray(logits)))


def make_task(name, split_train, split_dev, *, num_classes, multi_label=False, jit=jax.jit, seed=0,
              checkpoint=None, online=None) -> TrainingTask:
  kind = TaskKind.MULTI_LABEL if multi_label else TaskKind.SINGLE_LABEL
  class_names = tuple(f"c{i}" for i in range(num_classes))
  info = TaskInfo(name, name, 2000, kind, class_names, split_train.images.shape[1:])
  return TrainingTask(
      info=info,
      train=DataView(split_train, num_classes, multi_label),
      dev=DataView(split_dev, num_classes, multi_label),
      rng=jax.random.key(seed),
      jit=jit,
      progress=Progress(),
      checkpoint=checkpoint or CheckpointHook(),
      online_prequential=online,
  )


def colour_task(name, num_classes, seed=0, **kwargs) -> TrainingTask:
  return make_task(name, colour_split(128, num_classes, seed), colour_split(48, num_classes, seed + 100),
                   num_classes=num_classes, seed=seed, **kwargs)


def predict(learner, task, state, split: SplitData) -> np.ndarray:
  return np.concatenate([
      learner.predict(task.for_prediction(), state, split.images[i:i + 16]) for i in range(0, len(split), 16)
  ])


def leaves_equal(a, b) -> bool:
  a_leaves, a_def = jax.tree.flatten(a)
  b_leaves, b_def = jax.tree.flatten(b)
  same = (np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a_leaves, b_leaves, strict=True))
  return a_def == b_def and all(same)


# --- recipe pieces ----------------------------------------------------------------------------------


def test_head_outputs_and_adaptive_batch_size():
  assert [head_outputs(k) for k in (1, 2, 16, 17, 100, 1000)] == [16, 16, 16, 32, 128, 1024]
  assert head_outputs(3, minimum=4) == 4
  # dm_nevis's numbers with its bounds (16, 512): N=500 -> 16, 42k -> 64, 78,960 -> 128, 205k -> 512.
  sizes = (0, 10, 500, 42_000, 78_960, 205_000)
  assert [adaptive_batch_size(n, 16, 512) for n in sizes] == [16, 16, 16, 64, 128, 512]
  assert adaptive_batch_size(42_000, 8, 32) == 32 and adaptive_batch_size(5, 1, 4) == 1


def test_warmup_cosine_schedule():
  def lr(step: int) -> float:
    return float(warmup_cosine(step, 0.4, 10, 110))

  assert lr(0) == 0.0
  assert lr(5) == pytest.approx(0.2)
  assert lr(10) == pytest.approx(0.4)
  assert lr(60) == pytest.approx(0.2)  # halfway through the cosine
  assert lr(110) == pytest.approx(0.0, abs=1e-7)
  assert float(warmup_cosine(0, 0.4, 0, 10)) == pytest.approx(0.4)  # no warmup starts at the peak


def test_single_label_loss_ignores_padded_columns():
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(4, 16)), jnp.float32)
  labels = jnp.array([0, 2, 1, 2])
  expected = optax.softmax_cross_entropy_with_integer_labels(logits[:, :3], labels).mean()
  assert float(single_label_loss(logits, labels, 3, 0.0)) == pytest.approx(float(expected), rel=1e-6)
  smoothed = optax.smooth_labels(jax.nn.one_hot(labels, 3), 0.3)
  expected = optax.softmax_cross_entropy(logits[:, :3], smoothed).mean()
  assert float(single_label_loss(logits, labels, 3, 0.3)) == pytest.approx(float(expected), rel=1e-6)
  grads = jax.grad(single_label_loss)(logits, labels, 3, 0.3)
  assert np.isfinite(grads).all() and (np.asarray(grads)[:, 3:] == 0).all()


def test_multi_label_loss_ignores_padded_columns():
  rng = np.random.default_rng(1)
  logits = jnp.asarray(rng.normal(size=(4, 16)), jnp.float32)
  labels = np.zeros((4, 16), np.uint8)
  labels[:, :3] = rng.integers(0, 2, (4, 3))
  expected = optax.sigmoid_binary_cross_entropy(logits[:, :3], labels[:, :3].astype(np.float32)).mean()
  assert float(multi_label_loss(logits, labels, 3)) == pytest.approx(float(expected), rel=1e-6)
  grads = jax.grad(multi_label_loss)(logits, labels, 3)
  assert (np.asarray(grads)[:, 3:] == 0).all()


def test_weight_decay_only_on_kernels():
  params = {"backbone": {"stem": {"kernel": 1.0}, "stem_bn": {"scale": 1.0, "bias": 1.0}},
            "head": {"kernel": 1.0, "bias": 1.0}}
  assert decay_mask(params) == {
      "backbone": {"stem": {"kernel": True}, "stem_bn": {"scale": False, "bias": False}},
      "head": {"kernel": True, "bias": False},
  }


def test_registered_and_config_errors():
  assert LEARNERS.get("independent") is IndependentLearner and LEARNERS.get("previous") is PreviousLearner
  assert issubclass(IndependentLearner, FinetuningLearner)
  with pytest.raises(ConfigError, match="learning_rate"):
    IndependentLearner(learning_rate=[0.1])
  with pytest.raises(ConfigError, match="learning_rates"):
    IndependentLearner(learning_rates=[])
  with pytest.raises(ConfigError, match="min_batch"):
    IndependentLearner(min_batch=64, max_batch=16)
  with pytest.raises(ConfigError, match="blocks_per_stage"):
    IndependentLearner(blocks_per_stage=[1, 0])


# --- training ---------------------------------------------------------------------------------------


def test_independent_learns_and_predicts_shapes():
  learner = IndependentLearner(**TINY, num_steps=30, learning_rates=[0.1])
  task = colour_task("colours", 4)
  state = learner.train(task, learner.init(None))
  assert state["tasks_seen"] == 1
  held_out = colour_split(64, 4, seed=7)
  logits = predict(learner, task, state, held_out)
  assert logits.shape == (64, 4) and logits.dtype == np.float32
  assert np.mean(np.argmax(logits, 1) != held_out.labels) < 0.25  # chance is 0.75
  assert state["last_search"]["dev_error"][0] < 0.25


def test_search_keeps_the_learning_rate_with_lowest_dev_error():
  learner = IndependentLearner(**TINY, num_steps=30, learning_rates=[0.0, 0.1])
  task = colour_task("colours", 4)
  state = learner.train(task, learner.init(None))
  search = state["last_search"]
  assert search["selected"] == 1
  assert search["dev_error"][1] < 0.25 < search["dev_error"][0]
  # The kept model is the selected trial's: its dev error is the one recorded for that trial.
  dev = SplitData(task.dev.images, task.dev.labels)
  logits = predict(learner, task, state, dev)
  assert np.mean(np.argmax(logits, 1) != dev.labels) == pytest.approx(search["dev_error"][1])


def test_previous_carries_the_backbone_and_independent_does_not():
  first, second = colour_task("a", 4, seed=0), colour_task("b", 3, seed=1)
  frozen = dict(TINY, num_steps=3, learning_rates=[0.0])  # lr 0: training leaves the parameters as they start
  previous = PreviousLearner(**frozen)
  after_first = previous.train(first, previous.init(None))
  after_second = previous.train(second, after_first)
  assert leaves_equal(after_second["carry"]["params"], after_first["carry"]["params"])
  assert set(after_second["heads"]) == {"a", "b"}

  independent = IndependentLearner(**frozen)
  ind_first = independent.train(first, independent.init(None))
  ind_second = independent.train(second, ind_first)
  assert ind_second["carry"] == {} and set(ind_second["backbones"]) == {"b"}
  assert not leaves_equal(ind_second["backbones"]["b"]["params"], ind_first["backbones"]["a"]["params"])
  # Task b starts from the same random init with either learner when nothing is carried.
  fresh_b = independent.train(second, independent.init(None))
  assert leaves_equal(fresh_b["backbones"]["b"]["params"], ind_second["backbones"]["b"]["params"])

  # With a real learning rate the carried backbone is trained, and task b starts from it.
  trained = PreviousLearner(**TINY, num_steps=10, learning_rates=[0.1])
  state = trained.train(first, trained.init(None))
  assert not leaves_equal(state["carry"]["params"], after_first["carry"]["params"])
  assert leaves_equal(trained.initial_backbone(second, state), state["carry"])


def test_past_tasks_previous_uses_current_backbone_independent_needs_kept_backbones():
  first, second = colour_task("a", 4, seed=0), colour_task("b", 3, seed=1)
  images = colour_split(16, 4, seed=9)
  config = dict(TINY, num_steps=10, learning_rates=[0.1])

  previous = PreviousLearner(**config)
  state_a = previous.train(first, previous.init(None))
  state_b = previous.train(second, state_a)
  before, after = predict(previous, first, state_a, images), predict(previous, first, state_b, images)
  assert after.shape == (16, 4) and not np.array_equal(before, after)  # the backbone moved: forgetting

  independent = IndependentLearner(**config)
  state_b = independent.train(second, independent.train(first, independent.init(None)))
  with pytest.raises(LearnerError, match="keep_task_backbones"):
    independent.predict(first.for_prediction(), state_b, images.images)

  keeping = IndependentLearner(**config, keep_task_backbones=True)
  state_a = keeping.train(first, keeping.init(None))
  state_b = keeping.train(second, state_a)
  np.testing.assert_array_equal(
      predict(keeping, first, state_b, images), predict(keeping, first, state_a, images)
  )


@pytest.mark.parametrize("crash_after", [1, 2])
def test_checkpoint_resume_is_bitwise_identical(crash_after):
  config = dict(TINY, num_steps=10, learning_rates=[0.05, 0.1])
  learner = PreviousLearner(**config)
  start = learner.train(colour_task("a", 4, seed=0), learner.init(None))

  uninterrupted = learner.train(colour_task("b", 4, seed=1, checkpoint=MemoryCheckpoint(every=7)), start)

  # Saves at steps 7 (trial 0) and 14 (trial 1, step 4).
  hook = MemoryCheckpoint(every=7, crash_after=crash_after)
  with pytest.raises(Crash):
    learner.train(colour_task("b", 4, seed=1, checkpoint=hook), start)
  assert int(hook.saved["trial"]) == crash_after - 1
  jit = RecordingJit()
  resumed = PreviousLearner(**config).train(colour_task("b", 4, seed=1, checkpoint=hook, jit=jit), start)
  assert jit.calls["resnet_train_step"] == 20 - 7 * crash_after  # only the steps after the checkpoint
  assert leaves_equal(resumed, uninterrupted)


def test_one_compilation_per_bucket_not_per_task():
  learner = IndependentLearner(**TINY, num_steps=3, learning_rates=[0.0, 0.1])
  jit = RecordingJit()
  state = learner.train(colour_task("a", 3, seed=0, jit=jit), learner.init(None))
  predict(learner, colour_task("a", 3, seed=0, jit=jit), state, colour_split(32, 3, seed=5))
  one_task = set(jit.signatures)
  assert jit.calls["resnet_train_step"] == 6
  assert sum(name == "resnet_train_step" for name, *_ in one_task) == 1

  state = learner.train(colour_task("b", 5, seed=1, jit=jit), state)  # 5 classes: same 16-wide head
  predict(learner, colour_task("b", 5, seed=1, jit=jit), state, colour_split(32, 5, seed=6))
  assert jit.signatures == one_task

  learner.train(colour_task("c", 20, seed=2, jit=jit), state)  # 20 classes: the 32-wide bucket
  new = {name for name, *_ in jit.signatures - one_task}
  assert new == {"head_init", "optimizer_init", "resnet_train_step", "resnet_forward"}


def test_multi_label_trains_and_predicts():
  learner = PreviousLearner(**TINY, num_steps=40, learning_rates=[0.1])
  task = make_task("labels", channel_split(128, 0), channel_split(48, 100), num_classes=3, multi_label=True)
  state = learner.train(task, learner.init(None))
  held_out = channel_split(64, 7)
  logits = predict(learner, task, state, held_out)
  assert logits.shape == (64, 3) and logits.dtype == np.float32
  assert np.mean((logits > 0) != held_out.labels) < 0.2  # Hamming error; chance is 0.5
  assert 0 <= state["last_search"]["dev_error"][0] < 0.2  # 1 - mAP


def test_online_prequential_records_trial_zero_before_each_update():
  recorder = Recorder()
  learner = IndependentLearner(**TINY, num_steps=4, learning_rates=[0.0, 0.1])
  task = colour_task("a", 4, online=recorder)
  state = learner.train(task, learner.init(None))
  assert len(recorder.records) == 4  # the first trial's steps only
  for index, logits in recorder.records:
    assert index.shape == (16,) and index.max() < 128
    assert logits.shape == (16, 4) and logits.dtype == np.float32 and np.isfinite(logits).all()
  # 4 steps of 16 from 128 examples: one epoch's permutation, so no example is scored twice.
  assert len(np.unique(np.concatenate([index for index, _ in recorder.records]))) == 64
  assert state["tasks_seen"] == 1


def test_without_dev_data_only_the_first_learning_rate_is_trained():
  learner = IndependentLearner(**TINY, num_steps=2, learning_rates=[0.05, 0.1])
  empty = SplitData(np.zeros((0, 12, 12, 3), np.uint8), np.zeros((0,), np.int32))
  jit = RecordingJit()
  task = make_task("a", colour_split(64, 4, 0), empty, num_classes=4, jit=jit)
  state = learner.train(task, learner.init(None))
  assert jit.calls["resnet_train_step"] == 2
  assert state["last_search"]["selected"] == 0 and len(state["last_search"]["dev_error"]) == 1


# --- dev checks inside a trial, the kept checkpoint, the trial score ---------------------------------


class ScriptedDev(IndependentLearner):
  """Dev errors come from a script (one per check, in order); the checked models are recorded."""

  def __init__(self, script, **config):
    super().__init__(**config)
    self.script, self.checked = list(script), []

  def _evaluate(self, task, params, batch_stats):
    self.checked.append(jax.device_get({"params": params, "batch_stats": batch_stats}))
    error = self.script[len(self.checked) - 1]
    return error, error


def test_dev_checks_keep_each_trials_best_and_score_it_by_best_or_final():
  config = dict(TINY, num_steps=10, eval_every_steps=4, learning_rates=[0.05, 0.1])
  # Checks after steps 4, 8, 10 of each trial. Trial 0: best 0.1 at step 4, final 0.5; trial 1: 0.3 flat.
  script = [0.1, 0.4, 0.5, 0.3, 0.3, 0.3]
  best = ScriptedDev(script, **config)
  state = best.train(colour_task("a", 4), best.init(None))
  search = state["last_search"]
  assert list(search["dev_error"]) == [0.1, 0.3] and search["selected"] == 0
  # The model kept is trial 0 after step 4: the first model checked.
  assert leaves_equal(state["backbones"]["a"]["params"], best.checked[0]["params"]["backbone"])
  assert leaves_equal(state["heads"]["a"], best.checked[0]["params"]["head"])

  final = ScriptedDev(script, **config, trial_score="final")
  state = final.train(colour_task("a", 4, jit=RecordingJit()), final.init(None))
  assert list(state["last_search"]["dev_error"]) == [0.5, 0.3] and state["last_search"]["selected"] == 1
  # Trial 1's checks tie (0.3, 0.3, 0.3): the earliest, after its step 4, is kept.
  assert leaves_equal(state["backbones"]["a"]["params"], final.checked[3]["params"]["backbone"])


def test_dev_check_notes_and_costs():
  jit = RecordingJit()
  learner = IndependentLearner(**TINY, num_steps=10, eval_every_steps=4, learning_rates=[0.1])
  task = colour_task("a", 4, jit=jit)
  learner.train(task, learner.init(None))
  notes = task.notes["selection"]
  assert notes["steps"] == 10 and notes["batch_size"] == 16 and notes["flip"] is True
  assert 4 <= notes["kept_step"][0] <= 10 and notes["kept_step"][0] in (4, 8, 10)
  # 48 dev examples in batches of 32: two forward calls per check, three checks.
  assert jit.calls["resnet_forward"] == 6 and jit.calls["resnet_train_step"] == 10


@pytest.mark.parametrize("crash_after", [1, 3])
def test_resume_with_dev_checks_is_bitwise_identical(crash_after):
  config = dict(TINY, num_steps=10, eval_every_steps=3, learning_rates=[0.05, 0.1], label_smoothing=0.1)
  learner = PreviousLearner(**config)
  uninterrupted = learner.train(colour_task("b", 4, seed=1, checkpoint=MemoryCheckpoint(every=4)),
                                learner.init(None))
  hook = MemoryCheckpoint(every=4, crash_after=crash_after)  # saves at task steps 4, 8, 12 (trial 1, step 2)
  with pytest.raises(Crash):
    learner.train(colour_task("b", 4, seed=1, checkpoint=hook), learner.init(None))
  resumed = PreviousLearner(**config).train(colour_task("b", 4, seed=1, checkpoint=hook), learner.init(None))
  assert leaves_equal(resumed, uninterrupted)


def test_epochs_and_random_search_drive_the_trials():
  jit = RecordingJit()
  learner = IndependentLearner(**TINY, num_steps=100, num_epochs=2.0, min_steps=0, search="random", num_trials=3,
                               learning_rate_range=[0.01, 0.1], label_smoothing_range=[0.0, 0.3])
  task = colour_task("a", 4, jit=jit)
  state = learner.train(task, learner.init(None))
  assert jit.calls["resnet_train_step"] == 3 * 16  # ceil(2 epochs * 128 / 16) per trial
  assert len(state["last_search"]["learning_rates"]) == 3
  assert state["last_search"]["label_smoothing"].max() > 0
  chosen = task.notes["selection"]["chosen"]
  assert set(chosen) == {"learning_rate", "label_smoothing"} and 0.01 <= chosen["learning_rate"] <= 0.1
