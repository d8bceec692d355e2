"""Errors a user can fix. The CLI prints them as one line and exits with code 2.

`UserError`, their base, is defined in `nevis.metrics.errors` (the lowest layer, which imports nothing
of the rest of nevis) so that the metrics' own errors are user errors too; it is the same class here.
"""
from nevis.metrics.errors import UserError

__all__ = ["UserError", "ConfigError", "RegistryError", "DataError", "LearnerError", "WorkdirLockedError", "closest"]


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


def closest(name: str, options) -> str:
  """' (did you mean X?)' for the closest option, or '' when none is close."""
  import difflib

  match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
  return f" (did you mean {match[0]!r}?)" if match else ""
