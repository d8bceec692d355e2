"""Every config in experiments/ names a registered stream and learner and only valid keys."""
from pathlib import Path

import pytest

from nevis import config as config_lib
from nevis.errors import ConfigError
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
