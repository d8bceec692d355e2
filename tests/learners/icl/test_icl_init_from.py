"""`init_from: WORKDIR`: an icl run starts from the model a meta-pretraining run left, the harness records that
run's training compute as the new run's pretraining, and what cannot work is one line before any work."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import nevis
from nevis import config as config_lib
from nevis.checkpoints import latest, load_tree
from nevis.errors import ConfigError
from nevis.learners.icl import IclLearner
from nevis.runner import Runner
from tests.learners.icl.icl_fixtures import init_context, leaves_equal, tiny_config

GLYPHS = {"num_classes": 8, "examples_per_class": {"train": 6, "dev": 4, "dev_test": 2, "test": 2}, "image_size": 8}
PRETRAIN = tiny_config(mode="meta_pretrain", num_steps=3, meta_ways=[2, 4], meta_shots=[1, 3])


def _run(workdir, learner_options, **config):
  resolved = config_lib.resolve({"stream": "glyphs", "stream_options": GLYPHS, "learner": "icl",
                                 "learner_options": learner_options, **config})
  Runner(resolved, workdir, progress=False).run()
  return nevis.load_results(workdir)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("pretraining") / "w"
  _run(workdir, PRETRAIN)
  return workdir


def test_a_run_starts_from_the_pretrained_model_and_records_its_compute(pretrained, tmp_path):
  source = nevis.load_results(pretrained)
  saved = load_tree(latest(pretrained / "checkpoints", "state_")[1])
  learner = IclLearner(**tiny_config(mode="icl_only", init_from=str(pretrained)))
  assert leaves_equal(learner.init(init_context())["model"], saved["model"])
  assert learner.starts_from() == (str(pretrained),)

  results = _run(tmp_path / "w", tiny_config(mode="icl_only", init_from=str(pretrained)),
                 stream_options={**GLYPHS, "num_classes": 3, "seed": 1})
  source_train = source.meta["meter"]["flops"]["train"]
  # The meter's training total: every task's training and the initialisation of the learner.
  assert source_train == float(source.tasks["cumulative_train_flops"].iloc[-1])
  assert source_train > float(source.tasks["train_flops"].sum()) > 0
  record = results.meta["pretraining"]
  assert record["flops"] == source_train
  assert record["runs"] == [{"workdir": str(pretrained.absolute()), "train_flops": source_train,
                             "pretraining_flops": 0.0}]
  assert nevis.load_results(pretrained).meta["pretraining"] is None  # a fresh initialisation costs nothing
  # icl_only changes no weight: the run's final model is the pretrained one.
  final = load_tree(latest(tmp_path / "w" / "checkpoints", "state_")[1])
  assert leaves_equal(final["model"], saved["model"])

  # A run that starts from that run counts both trainings: chains add up.
  chained = _run(tmp_path / "c", tiny_config(mode="icl_ft", init_from=str(tmp_path / "w")),
                 stream_options={**GLYPHS, "num_classes": 3, "seed": 2})
  own_train = results.meta["meter"]["flops"]["train"]
  assert chained.meta["pretraining"]["flops"] == pytest.approx(own_train + source_train)


@pytest.mark.parametrize("change, message", [
    ({"width": 8}, "width 4 there, 8 here"),
    ({"label_vocab": 6}, "label_vocab 4 there, 6 here"),
    ({"sequence": {**PRETRAIN["sequence"], "mixer": "lru"}}, "sequence"),
])
def test_another_architecture_is_one_line_before_any_work(pretrained, change, message):
  with pytest.raises(ConfigError, match=message) as error:
    IclLearner(**{**tiny_config(mode="icl_only", init_from=str(pretrained)), **change})
  assert "\n" not in str(error.value) and "another architecture" in str(error.value)


def test_a_source_without_a_model_or_unfinished_is_refused_before_the_workdir_is_touched(pretrained, tmp_path):
  with pytest.raises(ConfigError, match="holds no learner state"):
    IclLearner(**tiny_config(mode="icl_only", init_from=str(tmp_path / "nowhere")))
  unfinished = tmp_path / "unfinished"
  unfinished.mkdir()
  for path in pretrained.iterdir():  # a copy of the pretraining whose results say it is still running
    if path.is_file():
      (unfinished / path.name).write_bytes(path.read_bytes())
  (unfinished / "checkpoints").symlink_to(pretrained / "checkpoints")
  with sqlite3.connect(unfinished / "results.sqlite") as db:
    db.execute("UPDATE meta SET value=? WHERE key='status'", (json.dumps("running"),))
  target = tmp_path / "never"
  with pytest.raises(ConfigError, match="is not complete") as error:
    _run(target, tiny_config(mode="icl_only", init_from=str(unfinished)))
  assert "\n" not in str(error.value) and not target.exists()


def test_a_run_without_init_from_starts_fresh_and_records_no_pretraining():
  learner = IclLearner(**tiny_config(mode="icl_only"))
  assert learner.starts_from() == ()
  first, second = learner.init(init_context()), learner.init(init_context())
  assert leaves_equal(first["model"], second["model"])
  assert np.isfinite(np.asarray(first["model"]["params"]["label_embed"]["embedding"])).all()
