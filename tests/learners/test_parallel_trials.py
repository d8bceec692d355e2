"""`parallel_trials`: a task's dev-search trials trained at once on threads end exactly where one at a time ends."""
import contextlib
import sqlite3

import numpy as np
import pytest

from nevis.results import MACHINE_COLUMNS
from nevis.runner import Runner

OPTIONS = {"width": 4, "blocks_per_stage": [1], "image_size": 8, "num_steps": 6, "min_steps": 0,
           "learning_rates": [0.05, 0.2, 0.1], "eval_every_steps": 2, "min_batch": 16, "max_batch": 16,
           "eval_batch_size": 16}


def run(workdir, **options):
  config = {"stream": "synthetic", "stream_options": {"num_tasks": 2, "examples_per_class": 12},
            "learner": "previous", "learner_options": {**OPTIONS, **options}, "eval_batch_size": 16,
            "checkpoint_every_steps": 4, "prequential": "online"}
  Runner(config, workdir, progress=False).run()
  with contextlib.closing(sqlite3.connect(workdir / "results.sqlite")) as conn:
    rows = conn.execute("SELECT * FROM events ORDER BY event, position, after_position").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM events").description]
  return [{k: v for k, v in zip(names, r) if k not in MACHINE_COLUMNS} for r in rows]


@pytest.mark.parametrize("trial_score", ["best", "final"])
def test_parallel_trials_end_where_sequential_trials_end(tmp_path, trial_score):
  one_at_a_time = run(tmp_path / "sequential", trial_score=trial_score)
  two_at_a_time = run(tmp_path / "parallel", trial_score=trial_score, parallel_trials=2)
  assert len(one_at_a_time) == 4 and two_at_a_time == one_at_a_time  # every figure, the chosen trials included
  assert '"selected"' in one_at_a_time[2]["info"]  # the train rows hold the search's record
  for row in one_at_a_time:
    if row["predictions_path"]:
      np.testing.assert_array_equal(np.load(tmp_path / "sequential" / row["predictions_path"])["logits"],
                                    np.load(tmp_path / "parallel" / row["predictions_path"])["logits"])
