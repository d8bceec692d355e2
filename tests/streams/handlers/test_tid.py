import zipfile
from pathlib import Path

import pytest

from nevis.errors import DataError
from nevis.streams import splits
from nevis.task import SPLITS

from .kit import flat, write_zip


def _unzip(archive, destination):
  with zipfile.ZipFile(archive) as source:
    source.extractall(destination)


@pytest.mark.parametrize("year, types, levels", [(2008, 17, 4), (2013, 24, 5)])
def test_tid_mssim_buckets(manual, prepare, monkeypatch, year, types, levels):
  from nevis.streams.handlers import _tid

  total = 25 * types * levels
  names = [f"i{s:02d}_{d:02d}_{l}.bmp" for s in range(1, 26) for d in range(1, types + 1)
           for l in range(1, levels + 1)]
  assert names == _tid.file_names(year)
  per_bucket = total // 5
  # MSSIM grows with the file's position, so position p is in bucket p // per_bucket
  mssim = "\n".join(f"{0.5 + p / (2 * total):.6f}" for p in range(total)) + "\n"
  picked = {0: 10, per_bucket - 1: 20, per_bucket: 30, total - 1: 40}
  members = {f"metrics_values/{'MSSIM.TXT' if year == 2008 else 'MSSIM.txt'}": mssim.encode(),
             "reference_images/I01.BMP": flat(250, "BMP"), "mos.txt": b"5.0\n"}
  for p, value in picked.items():
    name = names[p] if p else names[p].upper()
    members[f"distorted_images/{name}"] = flat(value, "BMP")
  # Tests cannot write .rar files: the fixture is a zip and `unpack_rar` is replaced by an unzip.
  write_zip(manual / f"tid{year}.rar", members)
  monkeypatch.setattr(_tid, "unpack_rar", _unzip)
  ds = prepare(f"tid{year}")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 4}))
  bucket_of_grey = {10: 0, 20: 0, 30: 1, 40: 4}
  for split in SPLITS:
    got = zip(ds.means(split), ds.labels(split))
    assert all(bucket_of_grey[int(round(m / 10) * 10)] == label for m, label in got)


def test_tid_needs_an_unrar_tool(tmp_path, monkeypatch):
  from nevis.streams.handlers import _tid

  monkeypatch.setattr(_tid.shutil, "which", lambda tool: None)
  with pytest.raises(DataError, match="unrar"):
    _tid.unpack_rar(Path(tmp_path / "tid2008.rar"), tmp_path)


def test_tid_ties_go_to_the_first_bucket():
  from nevis.streams.handlers import _tid

  # 10 values, 2 per bucket; value 0.3 spans buckets 1 and 2 and takes bucket 1
  bucket = _tid.bucket_of_value([0.1, 0.2, 0.3, 0.3, 0.3, 0.6, 0.7, 0.8, 0.9, 1.0])
  assert bucket[0.3] == 1 and bucket[0.6] == 2 and bucket[1.0] == 4
