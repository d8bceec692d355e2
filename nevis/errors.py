"""Errors a user can fix. The CLI prints them as one line and exits with code 2.

`UserError`, their base, is defined in `nevis.metrics.errors` (the lowest layer, which imports nothing
of the rest of nevis) so that the metrics' own errors are user errors too; it is the same class here.
"""
from nevis.metrics.errors import UserError

__all__ = [
    "UserError", "ConfigError", "RegistryError", "DataError", "LearnerError", "WorkdirLockedError", "BudgetExhausted",
    "closest",
]


class ConfigError(UserError):
  pass


class RegistryError(UserError):
  pass


class DataError(UserError):
  """Missing, corrupt or half-prepared data."""


class LearnerError(UserError):
  """A learner broke the protocol (wrong output shape, NaN, no metered work)."""


class WorkdirLockedError(UserError):
  pass


class BudgetExhausted(Exception):
  """A metered call would take the learner's training compute past the run's `compute_budget`.

  Raised by the meter *before* the call runs, so what is charged never passes the budget. A learner
  catches it in `train` and returns its best state so far (nothing of the refused call happened); one
  that lets it escape fails the run, recorded and resumable. Not a UserError: it is a signal to the
  learner, not a mistake in the input.
  """

  def __init__(self, message: str, *, needed: float, spent: float, allowance: float):
    super().__init__(message)
    self.needed = needed  # FLOPs of the refused call
    self.spent = spent  # FLOPs charged against the allowance so far
    self.allowance = allowance  # FLOPs the allowance held when training began


def closest(name: str, options) -> str:
  """' (did you mean X?)' for the closest option, or '' when none is close."""
  import difflib

  match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
  return f" (did you mean {match[0]!r}?)" if match else ""
