"""Data parallelism for a training loop: each batch split over every device along a `data` mesh axis.

    placement = DataParallel.for_batch(batch_size, enabled=config.data_parallel)
    params = placement.replicate(params)                           # once, before the loop
    params, ... = train_step(params, ..., placement.shard(images), placement.shard(labels), ...)
    error = evaluate(placement.local(params))                      # on the host's own copy

The mesh holds `jax.devices()`: every local device, and with `jax.distributed` every process's devices (each
process feeds the shards of its own devices, from a batch that every process computes identically). The
model is replicated; XLA partitions the step (SPMD), so batch statistics, the mean loss and the gradients are
those of the whole batch: the numbers of one device, up to the order of floating-point sums.

Metering: the harness counts a compiled function's FLOPs from its unsharded trace (`nevis.meter`), so a
sharded step is charged the whole batch's computation once per call, as on one device, never once per device.

With one device, or a batch that does not split evenly, nothing is placed: every method returns its argument
and the loop runs exactly as it always has (bit for bit).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"


@dataclasses.dataclass(frozen=True)
class DataParallel:
  mesh: Mesh | None  # None: one device (or an uneven batch): nothing is placed

  @classmethod
  def for_batch(cls, batch_size: int, *, enabled: bool = True) -> "DataParallel":
    devices = jax.devices()
    if not enabled or len(devices) < 2 or batch_size % len(devices):
      return cls(None)
    return cls(Mesh(np.array(devices), (AXIS,)))

  @property
  def devices(self) -> int:
    return 1 if self.mesh is None else self.mesh.size

  def shard(self, batch):
    """A host batch (array or pytree of arrays) split along its first axis over the devices."""
    if self.mesh is None:
      return batch
    sharding = NamedSharding(self.mesh, PartitionSpec(AXIS))
    return jax.tree.map(lambda x: _global_array(np.asarray(x), sharding), batch)

  def replicate(self, tree):
    """The model (a pytree of arrays) copied to every device."""
    if self.mesh is None:
      return tree
    sharding = NamedSharding(self.mesh, PartitionSpec())
    return jax.tree.map(lambda x: _global_array(np.asarray(x), sharding), tree)

  def local(self, tree) -> Any:
    """This process's own copy of a replicated pytree, on one device: what the host may read, checkpoint
    and pass to code that is not data-parallel."""
    if self.mesh is None:
      return tree
    return jax.tree.map(lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x, tree)


def _global_array(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
  # From the host's full copy, each process places only its own devices' shards (one process or many).
  return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
