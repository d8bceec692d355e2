"""The meter, the runner, the results store and the held-out splits are out of the learner's reach.

A spy learner keeps everything it is handed (InitContext, TrainingTask, PredictionTask, the DataViews,
progress, checkpoint hook, online recorder, the functions task.jit gives back); the test then walks every
object reachable from them through attributes (`__dict__`, `__slots__`), bound methods (`__self__`,
`__func__`), closures (`__closure__` cells), `__wrapped__`, defaults, `functools.partial` and containers.
Module globals, classes and the garbage collector are not walked: one process cannot hide those (see the
README's threat model).
"""
from __future__ import annotations

import functools
import types

import jax
import numpy as np

import nevis
from nevis import config as config_lib, guard
from nevis.evaluation import Evaluator
from nevis.learner_calls import LearnerCalls
from nevis.meter import ComputeMeter
from nevis.results import ResultsStore
from nevis.runner import Runner
from nevis.states import LearnerStates

from . import linear_learner

HANDED: list = []


class Spy(linear_learner.LinearLearner):
  def init(self, ctx):
    HANDED.append(ctx)
    HANDED.append(ctx.jit(lambda x: x + 1))
    return super().init(ctx)

  def train(self, task, state):
    HANDED.extend([task, task.train, task.dev, task.progress, task.checkpoint, task.online_prequential,
                   task.for_prediction(), task.jit(linear_learner._train_step), task.unmetered])
    return super().train(task, state)

  def predict(self, task, state, images):
    HANDED.extend([task, task.jit(linear_learner._predict)])
    return super().predict(task, state, images)


nevis.register_learner("test_spy_everything")(Spy)

_NOT_WALKED = (types.ModuleType, type, types.BuiltinFunctionType, str, bytes, int, float, bool, type(None))
_ATTRIBUTES = ("__self__", "__func__", "__wrapped__", "__closure__", "__defaults__", "__kwdefaults__",
               "func", "args", "keywords", "cell_contents", "_fun", "_jit_info")


def reachable(roots) -> list:
  seen, queue, found = set(), list(roots), []
  while queue:
    obj = queue.pop()
    if id(obj) in seen or isinstance(obj, _NOT_WALKED):
      continue
    seen.add(id(obj))
    found.append(obj)
    if isinstance(obj, (np.ndarray, jax.Array)):
      continue
    if isinstance(obj, dict):
      queue.extend(obj.keys())
      queue.extend(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
      queue.extend(obj)
    if isinstance(obj, functools.partial):
      queue.extend([obj.func, obj.args, obj.keywords])
    for name in _ATTRIBUTES:
      try:
        queue.append(getattr(obj, name))
      except Exception:  # absent, or a property that refuses
        pass
    try:
      queue.extend(vars(obj).values())
    except TypeError:
      pass
    for cls in type(obj).__mro__:
      for slot in getattr(cls, "__slots__", ()):
        try:
          queue.append(getattr(obj, slot))
        except Exception:  # an empty slot, or a descriptor of C code
          pass
  return found


def test_nothing_the_learner_is_handed_leads_to_the_meter_the_runner_or_held_out_data(tmp_path):
  HANDED.clear()
  config = config_lib.resolve({"stream": "test_colours", "learner": "test_spy_everything",
                               "imports": ["tests.nevis.linear_learner"], "stream_options": {"num_tasks": 2},
                               "prequential": "online", "learner_options": {"num_steps": 20, "learning_rate": 5.0}})
  runner = Runner(config, tmp_path / "w", progress=False)
  runner.run()
  stream = linear_learner.colours_stream(num_tasks=2)
  held_out = [task.load_split(split).images for task in stream.tasks for split in ("dev_test", "test")]
  found = reachable(HANDED)
  assert len(found) > 100, "the walk must reach the tasks' contents"
  assert any(isinstance(o, np.ndarray) and o.ndim == 4 for o in found), "it reaches the training images"
  forbidden = (ComputeMeter, Runner, ResultsStore, guard.Session, LearnerCalls, Evaluator, LearnerStates)
  # The walk does find them by the roads it checks (the controls): a bound method, a closure cell, a partial.
  meter, hidden = runner.meter, runner
  assert any(isinstance(o, ComputeMeter) for o in reachable([meter.jit]))
  assert any(isinstance(o, Runner) for o in reachable([lambda: hidden]))
  assert any(isinstance(o, Runner) for o in reachable([functools.partial(print, [{"r": hidden}])]))
  reached = [type(o).__name__ for o in found if isinstance(o, forbidden) or o is runner.meter.charge_guarded]
  assert not reached, reached
  arrays = [o for o in found if isinstance(o, np.ndarray)]
  assert not [a for a in arrays for h in held_out if np.shares_memory(a, h)], "held-out images reached"
  test_marked = [a for a in arrays if a.dtype == np.uint8 and a.ndim == 4 and (a[:, 0, 0, :] == 1).all(-1).any()]
  assert not test_marked, "test images (marked) reached"


def test_the_category_charged_is_the_harnesss_choice():
  """The learner-facing jit has no way to change what is charged: no `charging`, no meter attribute."""
  meter = ComputeMeter()
  jit = meter.learner_jit
  assert not [n for n in dir(jit) if not n.startswith("_")]  # nothing public but the call
  f = jit(lambda x: x * 2)
  assert not hasattr(f, "charging") and not hasattr(f, "_meter")
  with meter.charging("eval"):
    f(np.ones(3, np.float32))
  assert meter.totals.flops == {"train": 0.0, "prequential": 0.0, "eval": 3.0}
