"""The icl tests compile many tiny networks; XLA's optimisation passes are most of their compile time."""
import jax
import pytest


@pytest.fixture(autouse=True)
def fast_compilation():
  """Only for these tests: restored afterwards, so other test folders compile as usual."""
  previous = jax.config.read("jax_disable_most_optimizations")
  jax.config.update("jax_disable_most_optimizations", True)
  yield
  jax.config.update("jax_disable_most_optimizations", previous)
