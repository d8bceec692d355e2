"""One run over many processes: `jax.distributed.initialize` when a cluster launched this process.

A run is multi-process when its environment says so, in one of the usual ways:
  JAX_COORDINATOR_ADDRESS (host:port of process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID   set by hand
  SLURM_NTASKS > 1 (srun), or OMPI_COMM_WORLD_SIZE > 1 (mpirun)         found by JAX's own cluster detection
Every process then runs the same `nevis run`: the fine-tuning learners' data-parallel steps span every
process's devices (`nevis.learners.data_parallel`), and everything else (data, scoring) is computed by each
process alike. On CPU the processes' collectives go over TCP (gloo, JAX's default). NEVIS_DISTRIBUTED=off
keeps each process on its own.

Each process records an ordinary run: process 0 in the workdir, process i in `<workdir>.process-<i>` beside
it, so no two processes write one folder and each record can be checked against the others.
"""
from __future__ import annotations

import os
from pathlib import Path

from nevis.errors import UserError

_EXPLICIT = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


def requested() -> bool:
  """Whether the environment asks for a multi-process run."""
  if os.environ.get("NEVIS_DISTRIBUTED", "").lower() in ("off", "0", "false"):
    return False
  if any(os.environ.get(name) for name in _EXPLICIT):
    return True
  return _count("SLURM_NTASKS") > 1 or _count("OMPI_COMM_WORLD_SIZE") > 1


def initialize() -> tuple[int, int]:
  """Joins the other processes when `requested()`, before JAX starts its backends; (process index, count)."""
  if not requested():
    return 0, 1
  import jax

  explicit = {name: os.environ.get(name) for name in _EXPLICIT}
  if any(explicit.values()):
    missing = [name for name, value in explicit.items() if not value]
    if missing:
      raise UserError(f"a multi-process run needs {', '.join(_EXPLICIT)}; {', '.join(missing)} not set (or set "
                      "NEVIS_DISTRIBUTED=off)")
    try:
      num_processes, process_id = int(explicit["JAX_NUM_PROCESSES"]), int(explicit["JAX_PROCESS_ID"])
    except ValueError:
      raise UserError("JAX_NUM_PROCESSES and JAX_PROCESS_ID must be integers, e.g. 2 and 0") from None
    jax.distributed.initialize(explicit["JAX_COORDINATOR_ADDRESS"], num_processes, process_id)
  else:
    jax.distributed.initialize()  # SLURM or Open MPI: JAX reads the coordinator, count and index itself
  return jax.process_index(), jax.process_count()


def process_workdir(workdir: str | Path | None, process_index: int) -> str | Path | None:
  """Where process `process_index` records its run: the workdir itself for process 0."""
  if workdir is None or process_index == 0:
    return workdir
  return Path(f"{Path(workdir)}.process-{process_index}")


def _count(name: str) -> int:
  try:
    return int(os.environ.get(name, "1"))
  except ValueError:
    return 1
