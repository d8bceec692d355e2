"""Getting source archives: resumable, checksummed downloads into a cache, with a manual fallback.

An `Artefact` names one file a dataset needs: where it can be downloaded from (a URL, a Kaggle dataset, or
nowhere), its file name and its checksum. `fetch` looks for the file in this order:

1. `--manual-dir`: a file the user put there by hand (checked against the checksum, never copied);
2. the download cache (`$NEVIS_DOWNLOAD_DIR`, default `<user cache>/nevis/downloads`);
3. Kaggle, through the `kaggle` package, when it is installed and credentials are present;
4. the URL, downloaded to `<file>.part` (resumed with an HTTP Range request after an interruption),
   checked, then renamed into place, so a cached file is always complete.

When none of these works, `ManualStepNeeded` says exactly what to download and where to put it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from nevis.errors import DataError

_CHUNK_BYTES = 1 << 20
_USER_AGENT = "nevis-data/0.1 (+https://github.com/)"


class DownloadError(DataError):
  """A download failed or produced a file that does not match its checksum."""


class ManualStepNeeded(DataError):
  """The file cannot be fetched automatically here; the message says what to do by hand."""


@dataclasses.dataclass(frozen=True)
class Artefact:
  """One source file of a dataset.

  `checksum` is "md5:<hex>", "sha256:<hex>" or bare hex (32 digits: md5, 64: sha256); None skips the check
  (Kaggle zips are rebuilt by Kaggle, so their bytes are not stable). `kaggle` is an "owner/dataset" slug;
  Kaggle then delivers `filename` (normally "<dataset>.zip"). `manual` replaces the generic instruction
  when the file may have to be obtained by hand (sign-up page, browser-only link); a dead host has no
  `url` at all.
  """

  filename: str
  url: str | None = None
  checksum: str | None = None
  kaggle: str | None = None
  manual: str = ""

  def __post_init__(self):
    if not self.filename or "/" in self.filename or self.filename.startswith("."):
      raise ValueError(f"artefact filename must be a plain file name, got {self.filename!r}")
    if self.checksum is not None:
      parse_checksum(self.checksum)

  def instructions(self) -> str:
    """What a user does by hand to provide this file."""
    if self.manual:
      return f"{self.manual} (put {self.filename} in --manual-dir)"
    if self.kaggle:
      return (
          f"install the `kaggle` package and put your API token in ~/.kaggle/kaggle.json, or download "
          f"{self.filename} from https://www.kaggle.com/datasets/{self.kaggle} and put it in --manual-dir"
      )
    if self.url:
      return f"download {self.url} and put {self.filename} in --manual-dir"
    return f"put {self.filename} in --manual-dir"


def default_cache_dir() -> Path:
  """$NEVIS_DOWNLOAD_DIR if set, else the user's cache dir (e.g. ~/.cache/nevis/downloads)."""
  env = os.environ.get("NEVIS_DOWNLOAD_DIR")
  if env:
    return Path(env).expanduser()
  import platformdirs

  return Path(platformdirs.user_cache_dir("nevis")) / "downloads"


def parse_checksum(checksum: str) -> tuple[str, str]:
  """"md5:ab.." / "sha256:cd.." / bare hex -> (algorithm, lower-case hex digest)."""
  algorithm, _, digest = checksum.rpartition(":")
  algorithm = algorithm.strip().lower()
  digest = digest.strip().lower()
  if not algorithm:
    algorithm = {32: "md5", 64: "sha256"}.get(len(digest), "")
  if algorithm not in ("md5", "sha256") or len(digest) != {"md5": 32, "sha256": 64}[algorithm]:
    raise ValueError(f"checksum must be 'md5:<32 hex>' or 'sha256:<64 hex>', got {checksum!r}")
  int(digest, 16)
  return algorithm, digest


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
  with open(path, "rb") as f:
    return hashlib.file_digest(f, algorithm).hexdigest()


def checksum_matches(path: str | Path, checksum: str | None) -> bool:
  if checksum is None:
    return True
  algorithm, digest = parse_checksum(checksum)
  return file_digest(path, algorithm) == digest


def download(
    url: str,
    destination: str | Path,
    *,
    checksum: str | None = None,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
  """Downloads `url` to `destination`, resuming a previous partial download; returns the path.

  Bytes go to `<destination>.part`; an existing `.part` is continued with a Range request (servers that
  ignore Range send the whole file, which then restarts it). The finished file is checked against
  `checksum` and only then renamed to `destination`. A mismatch deletes the partial file and raises.
  `progress(bytes_so_far, total_or_None)` is called after every chunk.
  """
  destination = Path(destination)
  destination.parent.mkdir(parents=True, exist_ok=True)
  partial = destination.with_name(destination.name + ".part")
  _fetch_to_partial(url, partial, timeout=timeout, progress=progress)
  if not checksum_matches(partial, checksum):
    partial.unlink(missing_ok=True)
    raise DownloadError(
        f"{url} downloaded, but its checksum does not match {checksum} (changed or damaged upstream); "
        f"the partial file was removed, so a retry starts over"
    )
  os.replace(partial, destination)
  return destination


def _fetch_to_partial(url: str, partial: Path, *, timeout: float, progress) -> None:
  offset = partial.stat().st_size if partial.exists() else 0
  request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
  if offset:
    request.add_header("Range", f"bytes={offset}-")
  try:
    response = urllib.request.urlopen(request, timeout=timeout)
  except urllib.error.HTTPError as e:
    if e.code == 416 and offset:  # nothing left to send: the partial file is already complete
      return
    raise DownloadError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
  except (urllib.error.URLError, OSError) as e:
    raise DownloadError(f"cannot download {url}: {getattr(e, 'reason', e)}") from None
  with response:
    resumed = offset > 0 and getattr(response, "status", None) == 206
    if not resumed:
      offset = 0
    length = response.headers.get("Content-Length")
    total = offset + int(length) if length is not None and length.isdigit() else None
    written = offset
    try:
      with open(partial, "ab" if resumed else "wb") as out:
        while True:
          chunk = response.read(_CHUNK_BYTES)
          if not chunk:
            break
          out.write(chunk)
          written += len(chunk)
          if progress is not None:
            progress(written, total)
    except (urllib.error.URLError, OSError) as e:
      raise DownloadError(
          f"download of {url} interrupted after {written} bytes ({e}); run again to resume"
      ) from None
  if total is not None and written < total:
    raise DownloadError(f"download of {url} stopped at {written} of {total} bytes; run again to resume")


# -- Kaggle ----------------------------------------------------------------------------------------


def kaggle_credentials_present() -> bool:
  if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
    return True
  config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle")).expanduser()
  return (config_dir / "kaggle.json").is_file()


def kaggle_available() -> bool:
  """True when the `kaggle` package is installed and credentials are present."""
  import importlib.util

  return importlib.util.find_spec("kaggle") is not None and kaggle_credentials_present()


def _kaggle_download(slug: str, filename: str, directory: Path) -> Path:
  # Imported only here: the kaggle package authenticates at import time and fails without credentials.
  from kaggle.api.kaggle_api_extended import KaggleApi

  api = KaggleApi()
  api.authenticate()
  staging = directory / f".kaggle-{filename}.tmp"
  shutil.rmtree(staging, ignore_errors=True)
  staging.mkdir(parents=True)
  try:
    api.dataset_download_files(slug, path=str(staging), unzip=False, quiet=False)
    produced = sorted(staging.iterdir())
    if len(produced) != 1:
      raise DownloadError(f"Kaggle dataset {slug}: expected one archive, got {[p.name for p in produced]}")
    target = directory / filename
    os.replace(produced[0], target)
    return target
  finally:
    shutil.rmtree(staging, ignore_errors=True)


# -- fetch -----------------------------------------------------------------------------------------


def fetch(
    artefact: Artefact,
    *,
    cache_dir: str | Path | None = None,
    manual_dir: str | Path | None = None,
    dataset: str = "",
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
  """The local path of `artefact`: from --manual-dir, the cache, Kaggle or its URL (in that order)."""
  cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
  where = f"dataset {dataset!r}: " if dataset else ""
  if manual_dir is not None:
    candidate = Path(manual_dir).expanduser() / artefact.filename
    if candidate.is_file():
      if not checksum_matches(candidate, artefact.checksum):
        raise DownloadError(
            f"{where}{candidate} does not match its checksum {artefact.checksum}: it is a different or "
            f"damaged copy; replace it ({artefact.instructions()})"
        )
      return candidate
  cached = cache / artefact.filename
  if cached.is_file():
    if checksum_matches(cached, artefact.checksum):
      return cached
    cached.unlink()  # a damaged cache entry is fetched again below
  cache.mkdir(parents=True, exist_ok=True)
  if artefact.kaggle and kaggle_available():
    path = _kaggle_download(artefact.kaggle, artefact.filename, cache)
    if not checksum_matches(path, artefact.checksum):
      path.unlink()
      raise DownloadError(f"{where}Kaggle's {artefact.filename} does not match {artefact.checksum}")
    return path
  if artefact.url:
    try:
      return download(artefact.url, cached, checksum=artefact.checksum, progress=progress)
    except DownloadError as e:
      raise DownloadError(f"{where}{e}; or {artefact.instructions()}") from None
  raise ManualStepNeeded(f"{where}{artefact.filename} is not available here: {artefact.instructions()}")
