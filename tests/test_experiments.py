"""Every config in experiments/ names a registered stream and learner and only valid keys."""
from pathlib import Path

import pytest

from nevis import config as config_lib
from nevis.errors import ConfigError, UserError
from nevis.run_support import build_learner, build_stream

EXPERIMENTS = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml"))


def test_there_are_experiments():
  names = {p.stem for p in EXPERIMENTS}
  assert {"previous_mini", "independent_mini", "previous_nevis22", "independent_nevis22"} <= names


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_config_is_valid(path):
  config = config_lib.resolve(config_lib.load_yaml(path))
  stream = build_stream(config)
  source = config.learner_options.get("init_from")
  if source and not Path(source).exists():
    # It starts from another experiment's run (its comment says which); until that run exists, building it is
    # one line naming init_from, and the rest of the config must be valid.
    with pytest.raises(ConfigError, match="init_from"):
      build_learner(config)
    config = config.replace(learner_options={k: v for k, v in config.learner_options.items() if k != "init_from"})
  learner = build_learner(config)
  assert len(stream.tasks) > 0 and learner.config


def test_the_icl_study_cells_are_runs_of_its_configs():
  import importlib.util

  spec = importlib.util.spec_from_file_location("icl_shots_study", EXPERIMENTS[0].parent / "icl_shots_study.py")
  study = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(study)
  path, sets = study.overrides("icl_ft/20/prequential/2/lru/300")
  config = config_lib.resolve(config_lib.load_yaml(path), sets)
  assert path.name == "icl_pretrained_mini.yaml" and config.seed == 2
  assert config.max_train_per_class == config.max_dev_per_class == 20
  options = config.learner_options
  assert (options["mode"], options["select_by"], options["sequence"]["mixer"], options["num_steps"]) == (
      "icl_ft", "prequential", "lru", 300)
  path, sets = study.overrides("knn1/all/dev/0")
  config = config_lib.resolve(config_lib.load_yaml(path), sets)
  assert config.learner == "knn" and config.max_train_per_class is None
  assert config.learner_options["k_values"] == [1] and config.learner_options["image_size"] == 16
  for bad in ("icl_ft/5/dev", "boosting/5/dev/0"):
    with pytest.raises(UserError, match="cell"):
      study.overrides(bad)
