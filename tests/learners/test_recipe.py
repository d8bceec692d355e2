"""The recipe's pure pieces: steps, warm-up, dm_nevis's search space, the flip policy, crop sizes."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.learners import augment, recipe, toolkit
from nevis.learners.finetuning import IndependentLearner
from nevis.learners.recipe import FinetuningConfig
from nevis.streams.mini import mini_stream
from nevis.streams.nevis22 import variant_tasks
from nevis.task import TaskInfo, TaskKind

_train_preprocess = jax.jit(augment.train_preprocess, static_argnums=2)


def test_task_steps_from_epochs_capped_by_num_steps():
  config = FinetuningConfig(num_steps=1000, num_epochs=0.0, min_steps=0)
  assert recipe.task_steps(config, 2781, 16) == 1000  # no epochs: the fixed count
  config = config.replace(num_epochs=4.0)
  assert recipe.task_steps(config, 2781, 16) == 696  # ceil(4 * 2781 / 16) = ceil(695.25)
  assert recipe.task_steps(config, 117, 16) == 30  # ceil(29.25)
  assert recipe.task_steps(config, 100_000, 64) == 1000  # capped
  assert recipe.task_steps(config, 1, 16) == 1
  config = config.replace(min_steps=200)
  assert recipe.task_steps(config, 117, 16) == 200 and recipe.task_steps(config, 2781, 16) == 696
  config = config.replace(num_steps=150)
  assert recipe.task_steps(config, 117, 16) == 150  # the cap wins


def test_warmup_steps_epochs_as_dm_nevis_or_fraction():
  # dm_nevis: min(max_steps - 1, warmup_epochs * (N // batch + 1)).
  config = FinetuningConfig(warmup_epochs=7.0, warmup_fraction=0.1)
  assert recipe.warmup_steps(config, 2000, 16, 50_000) == 7 * 126 == 882
  assert recipe.warmup_steps(config, 100_000, 256, 50_000) == 7 * 391
  assert recipe.warmup_steps(config, 100_000, 16, 1000) == 999  # never the whole run
  config = config.replace(warmup_epochs=0.0)
  assert recipe.warmup_steps(config, 2000, 16, 50_000) == 5000  # 10 % of the steps


def test_cosine_ends_at_the_given_final_rate():
  assert float(toolkit.warmup_cosine(100, 0.1, 10, 100, 1e-8)) == pytest.approx(1e-8, rel=1e-4)
  assert float(toolkit.warmup_cosine(55, 0.1, 10, 100, 1e-8)) == pytest.approx((0.1 + 1e-8) / 2)


def test_random_search_draws_dm_nevis_hype_values():
  # dm_nevis's hype doctests: log_uniform_random_values(1e-1, 1e-3, n=3, seed=0) and
  # uniform_random_values(0, 1, n=3, seed=0). Trial seeds are task index + 1 (rates) and + 2 (smoothing).
  # Built directly, not parsed: the doctests' ranges run high to low and reach 1, which options refuse.
  config = FinetuningConfig(search="random", num_trials=3, learning_rate_range=(1e-1, 1e-3),
                            label_smoothing_range=(0.0, 1.0))
  rates = [c["learning_rate"] for c in recipe.search_candidates(config, task_index=-1)]
  assert rates == pytest.approx([0.0020471812581430546, 0.003048535060583298, 0.014416400482129478], rel=1e-12)
  smoothing = [c["label_smoothing"] for c in recipe.search_candidates(config, task_index=-2)]
  assert smoothing == pytest.approx([0.8444218515250481, 0.7579544029403025, 0.420571580830845], rel=1e-12)
  dm_nevis = FinetuningConfig.parse({"search": "random", "num_trials": 16, "learning_rate_range": [1e-4, 0.1],
                                     "label_smoothing_range": [0.0, 0.3]})
  trials = recipe.search_candidates(dm_nevis, task_index=5)
  assert len(trials) == 16 and trials == recipe.search_candidates(dm_nevis, task_index=5)  # resumable
  assert all(1e-4 <= t["learning_rate"] <= 0.1 and 0 <= t["label_smoothing"] <= 0.3 for t in trials)
  assert trials != recipe.search_candidates(dm_nevis, task_index=6)
  grid = recipe.search_candidates(FinetuningConfig.parse({"learning_rates": [0.01, 0.1], "label_smoothing": 0.1}), 0)
  assert grid == [{"learning_rate": 0.01, "label_smoothing": 0.1}, {"learning_rate": 0.1, "label_smoothing": 0.1}]


def _info(class_names, flip_invariant=None) -> TaskInfo:
  return TaskInfo("t", "t", 2000, TaskKind.SINGLE_LABEL, tuple(class_names), (8, 8, 3),
                  flip_invariant=flip_invariant)


def test_flip_policy_never_mirrors_text_digits_or_signs():
  assert augment.flips(_info(["cat", "dog"]), "auto")
  assert not augment.flips(_info([str(d) for d in range(10)]), "auto")  # unknown stream: names decide
  assert not augment.flips(_info(["A", "B", "c"]), "auto")
  assert not augment.flips(_info(["cat", "dog"], flip_invariant=False), "auto")  # the stream decides
  assert augment.flips(_info(["0", "1"], flip_invariant=True), "auto")
  assert augment.flips(_info(["0", "1"]), "always") and not augment.flips(_info(["cat"]), "never")
  with pytest.raises(ValueError, match="flip policy"):
    augment.flips(_info(["cat"]), "sometimes")
  mini = {t.name: augment.flips(t.info, "auto") for t in mini_stream().tasks}
  assert mini == {"textures": True, "mnist": False, "lfw_faces": True, "uci_digits": False, "mnist_m": False,
                  "mnist_rot": False}
  nevis = {t.info.dataset: augment.flips(t.info, "auto") for t in variant_tasks("FULL")}
  assert not any(nevis[k] for k in ("mnist", "svhn_cropped", "emnist_balanced", "german_tsr", "not_mnist", "biwi"))
  assert all(nevis[k] for k in ("cifar10", "imagenet2012", "caltech101", "dtd", "lfw"))


def test_train_preprocess_without_crop_or_flip_is_the_image():
  images = np.random.default_rng(0).integers(0, 256, (8, 12, 12, 3), dtype=np.uint8)
  key = jax.random.key(1, impl="rbg")
  out = np.asarray(_train_preprocess(key, images, 12, np.float32(1.0), np.float32(0.0)))
  np.testing.assert_allclose(out, images / 127.5 - 1.0, atol=1e-4)
  flipped = np.asarray(_train_preprocess(key, images, 12, np.float32(1.0), np.float32(1.0)))
  np.testing.assert_allclose(flipped, images[:, :, ::-1] / 127.5 - 1.0, atol=1e-4)
  # Crops of at least half the image: a box's area fraction is >= 0.5 (or the whole square).
  uniforms = jax.random.uniform(jax.random.key(0, impl="rbg"), (500, 2 * augment.CROP_ATTEMPTS + 2))
  _, _, height, width = map(np.asarray, augment.crop_boxes(uniforms, 12, 12, area_range=(0.5, 1.0)))
  assert (height * width / 144 >= 0.5 - 1e-5).all()


def test_recipe_options_are_validated():
  for bad, match in (({"search": "bayes"}, "search"), ({"trial_score": "mean"}, "trial_score"),
                     ({"flip": "yes"}, "flip"), ({"min_crop_area": 0.0}, "min_crop_area"),
                     ({"stem": "vit"}, "stem"), ({"learning_rate_range": [0.1, 0.01]}, "learning_rate_range"),
                     ({"label_smoothing_range": [0.0, 1.0]}, "label_smoothing_range"),
                     ({"eval_every_steps": -1}, "eval_every_steps"),
                     ({"stem": "imagenet", "image_size": 4, "blocks_per_stage": [1, 1]}, "image_size")):
    with pytest.raises(ConfigError, match=match):
      IndependentLearner(**bad)
