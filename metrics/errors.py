"""Errors a user can fix, starting with those of `nevis.metrics`.

`nevis.metrics` is the lowest layer: it imports nothing from the rest of nevis. So the base of every
error nevis prints as one line (`nevis: error: <the problem>; <the fix>`, exit code 2) is defined here,
and `nevis.errors` re-exports it as `UserError`: an error of the metrics is then one the command line
already knows how to print, without the metrics knowing the command line.
"""


class UserError(Exception):
  """Bad input: the message names the problem and the fix."""


class UncountedLoopError(UserError):
  """A metered function contains a loop whose trip count cannot be known at compile time."""


class UncountedCustomCallError(UserError):
  """A metered function calls a custom call whose FLOPs nothing counts."""
