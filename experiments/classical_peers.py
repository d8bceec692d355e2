"""Classical peers on a stream's own splits: the bar nevis's baselines are judged against.

    python experiments/classical_peers.py                       # mini, every peer, dev_test error
    python experiments/classical_peers.py --peers svc --pool 2  # RBF SVC on 16x16 (2x2 mean-pooled) pixels
    python experiments/classical_peers.py --csv peers.csv

Each task's splits are read through the stream's own loader (`Task.load_split`, as the runner reads
them), so the peers see exactly the examples the learners see. Pixels are scaled to [0, 1] and
flattened (colour kept); `--pool k` first mean-pools k x k blocks. For every peer the hyper-parameters
are chosen on dev (lowest dev error; ties go to the first in grid order), the model is fitted on train
and scored on `--split` (dev_test by default, the figure `nevis run` reports). Offline: scikit-learn only.

Peers and their grids:
  svc       RBF SVC, C in {1, 3, 10, 30} x gamma in {0.5, 1, 2} x scikit-learn's "scale" (1 / (d var(x)))
  logistic  multinomial logistic regression (lbfgs), C in {0.01, 0.1, 1, 10}
  knn       k-nearest neighbours (Euclidean, majority vote), k in {1, 3, 5, 9, 15}
The grids are the whole search: no figure comes from a setting chosen on dev_test.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time

import numpy as np

PEERS = ("svc", "logistic", "knn")


def features(images: np.ndarray, pool: int = 1) -> np.ndarray:
  """uint8 (N, H, W, C) -> float64 (N, H/pool * W/pool * C) in [0, 1]."""
  x = images.astype(np.float64) / 255.0
  if pool > 1:
    n, h, w, c = x.shape
    x = x[:, : h - h % pool, : w - w % pool].reshape(n, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4))
  return x.reshape(len(x), -1)


def candidates(peer: str, train_x: np.ndarray) -> list[tuple[dict, object]]:
  """(settings, unfitted estimator) for every point of the peer's grid."""
  from sklearn.linear_model import LogisticRegression
  from sklearn.neighbors import KNeighborsClassifier
  from sklearn.svm import SVC

  if peer == "svc":
    scale = 1.0 / (train_x.shape[1] * train_x.var())
    return [({"C": c, "gamma": g * scale}, SVC(C=c, gamma=g * scale, kernel="rbf"))
            for c in (1.0, 3.0, 10.0, 30.0) for g in (0.5, 1.0, 2.0)]
  if peer == "logistic":
    return [({"C": c}, LogisticRegression(C=c, max_iter=2000)) for c in (0.01, 0.1, 1.0, 10.0)]
  if peer == "knn":
    return [({"k": k}, KNeighborsClassifier(n_neighbors=min(k, len(train_x)))) for k in (1, 3, 5, 9, 15)]
  raise ValueError(f"unknown peer {peer!r}; choose from {PEERS}")


def run_peer(peer: str, splits: dict[str, tuple[np.ndarray, np.ndarray]], split: str) -> dict:
  """Chooses the peer's setting on dev, returns {settings, dev_error, error} for `split`."""
  (train_x, train_y), (dev_x, dev_y), (eval_x, eval_y) = splits["train"], splits["dev"], splits[split]
  best = None
  for settings, model in candidates(peer, train_x):
    model.fit(train_x, train_y)
    dev_error = float(np.mean(model.predict(dev_x) != dev_y))
    if best is None or dev_error < best[0]:
      best = (dev_error, settings, model)
  dev_error, settings, model = best
  return {"settings": settings, "dev_error": dev_error, "error": float(np.mean(model.predict(eval_x) != eval_y))}


def main(argv: list[str] | None = None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--stream", default="mini")
  parser.add_argument("--stream-option", action="append", default=[], metavar="KEY=VALUE",
                      help="passed to the stream factory, read as YAML (e.g. num_tasks=2)")
  parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
  parser.add_argument("--split", default="dev_test", choices=("dev_test", "test"))
  parser.add_argument("--pool", type=int, default=1, help="mean-pool k x k pixel blocks first")
  parser.add_argument("--csv", help="also write the rows to this CSV file")
  args = parser.parse_args(argv)

  import yaml

  from nevis.registry import STREAMS

  options = {}
  for text in args.stream_option:
    key, _, value = text.partition("=")
    options[key] = yaml.safe_load(value)
  stream = STREAMS.get(args.stream)(**options)
  rows = []
  for task in stream.tasks:
    if task.info.multi_label:
      print(f"{task.name}: multi-label, skipped", file=sys.stderr)
      continue
    splits = {}
    for split in ("train", "dev", args.split):
      data = task.load_split(split)
      splits[split] = (features(np.asarray(data.images), args.pool), np.asarray(data.labels))
    for peer in args.peers:
      started = time.perf_counter()
      result = run_peer(peer, splits, args.split)
      rows.append({"task": task.name, "peer": peer, "error": result["error"], "dev_error": result["dev_error"],
                   "settings": result["settings"], "seconds": time.perf_counter() - started})
      print(f"{task.name:12s} {peer:9s} {args.split} error {result['error']:.4f}  dev {result['dev_error']:.4f}  "
            f"{result['settings']}", flush=True)
  print(f"\nmean {args.split} error over tasks (unweighted, as NEVIS):")
  for peer in args.peers:
    errors = [r["error"] for r in rows if r["peer"] == peer]
    print(f"  {peer:9s} {np.mean(errors):.4f}  ({len(errors)} tasks)")
  if args.csv:
    with open(args.csv, "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=list(rows[0]))
      writer.writeheader()
      writer.writerows(rows)
  return rows


if __name__ == "__main__":
  main()
