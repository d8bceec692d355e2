"""As a new user would: a run on nevis22_debug without data stops with the list and the command; after
`nevis data prepare` (COIL 20 from a fixture archive, Pascal 2007 from TFDS's mock data) the same run
trains to the end; a flipped byte stops the next run before training."""
import contextlib

import nevis
from nevis import cli
from nevis.streams.tfds_source import tfds_available

from .handlers.kit import coil_zip, without_checksums

TINY = ["--set", "learner_options={num_steps: 3, width: 4, blocks_per_stage: [1], image_size: 16, "
        "learning_rates: [0.1], max_batch: 16}", "--no-progress", "--no-plot"]


def test_debug_stream_from_missing_to_trained(tmp_path, store_root, manual, monkeypatch, capsys):
  from nevis.streams.handlers import coil20

  monkeypatch.chdir(tmp_path)
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
  run = ["run", "--stream", "nevis22_debug", "--learner", "previous", *TINY]

  assert cli.main(run + ["--workdir", "w0"]) == 2
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1
  assert "voc_2007 (missing)" in err and "coil20 (missing)" in err and "nevis data prepare nevis22_debug" in err
  assert not (tmp_path / "w0" / "results.sqlite").exists()

  coil_zip(manual / "coil-20-proc.zip", "coil-20-proc", objects=range(1, 21), views=range(0, 72, 8), colour=False)
  without_checksums(monkeypatch, coil20)
  if tfds_available():
    import tensorflow_datasets as tfds

    mock = tfds.testing.mock_data(num_examples=12)
  else:
    mock = contextlib.nullcontext()
  with mock:
    code = cli.main(["data", "prepare", "nevis22_debug", "--manual-dir", str(manual)])
  out = capsys.readouterr().out
  assert "coil20: prepared" in out
  if tfds_available():
    assert code == 0 and "prepared 2 of 2 datasets" in out
  else:  # without tensorflow-datasets Pascal 2007 cannot be prepared: skip it, and say so in the results
    assert code == 1 and "failed voc_2007" in out
    run += ["--set", "allow_missing=true"]

  assert cli.main(run + ["--workdir", "w1"]) == 0, capsys.readouterr().err
  results = nevis.load_results(tmp_path / "w1")
  trained = list(results.tasks["task"])
  assert trained == (["voc_2007", "coil20"] if tfds_available() else ["coil20"])
  assert (results.tasks["train_flops"] > 0).all() and results.tasks["error"].between(0, 1).all()
  if not tfds_available():
    assert list(results.skipped["task"]) == ["voc_2007"]

  images = store_root / "64px" / "coil20" / "train_images.npy"
  data = bytearray(images.read_bytes())
  data[len(data) // 2] ^= 0x01
  images.write_bytes(bytes(data))
  capsys.readouterr()
  assert cli.main(run + ["--workdir", "w2"]) == 2
  err = capsys.readouterr().err
  assert "failed its checksums: coil20" in err and "nevis data prepare coil20 --force" in err
  assert not (tmp_path / "w2").exists(), "stopped before anything was written"
