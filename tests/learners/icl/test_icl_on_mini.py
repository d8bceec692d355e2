"""Every mixer x MLP backbone of the `icl` learner trains and predicts on the `mini` stream through the
runner (first task, five examples per class, tiny sizes)."""
from __future__ import annotations

import os

import pytest

import nevis
from nevis import config as config_lib
from nevis.runner import Runner
from tests.learners.icl.icl_fixtures import tiny_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp("store")
  previous = os.environ.get("NEVIS_DATA_DIR")
  os.environ["NEVIS_DATA_DIR"] = str(root)
  yield root
  if previous is None:
    del os.environ["NEVIS_DATA_DIR"]
  else:
    os.environ["NEVIS_DATA_DIR"] = previous


@pytest.mark.parametrize("mixer", ["softmax", "fox", "fox_pro", "lru"])
@pytest.mark.parametrize("mlp", ["dense", "peer"])
def test_every_backbone_runs_on_mini(data_dir, tmp_path, mixer, mlp):
  config = config_lib.resolve({
      "stream": "mini", "learner": "icl", "learner_options": tiny_config(mixer, mlp, mode="icl_ft"),
      "max_tasks": 1, "max_train_per_class": 5, "max_dev_per_class": 5, "eval_batch_size": 64,
  })
  Runner(config, tmp_path / "w", progress=False).run()
  results = nevis.load_results(tmp_path / "w")
  row = results.tasks.iloc[0]
  assert row["task"] == "textures" and row["train_examples"] == 15
  assert row["train_flops"] > 0 and 0.0 <= row["error"] <= 1.0 and row["num_examples"] == 108
