"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
  """Bad input: the message names the problem and the fix."""


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


class UncountedLoopError(UserError):
  """A metered function contains a loop whose trip count cannot be known at compile time."""


def closest(name: str, options) -> str:
  """' (did you mean X?)' for the closest option, or '' when none is close."""
  import difflib

  match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
  return f" (did you mean {match[0]!r}?)" if match else ""
