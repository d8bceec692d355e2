import hashlib
import http.server
import threading

import pytest

from nevis.streams import download
from nevis.streams.download import Artefact, DownloadError, ManualStepNeeded

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


class _RangeHandler(http.server.BaseHTTPRequestHandler):
  """Serves PAYLOAD with Range support; the first `drop_after` request stops half way."""

  state = {"requests": [], "drop_first": False}

  def do_GET(self):  # noqa: N802
    self.state["requests"].append(self.headers.get("Range"))
    start = 0
    if self.headers.get("Range"):
      start = int(self.headers["Range"].split("=")[1].split("-")[0])
      self.send_response(206)
      self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
    else:
      self.send_response(200)
    body = PAYLOAD[start:]
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    if self.state["drop_first"]:
      self.state["drop_first"] = False
      self.wfile.write(body[:4000])
      self.wfile.flush()
      self.connection.close()
      return
    self.wfile.write(body)

  def log_message(self, *args):
    pass


@pytest.fixture
def server():
  _RangeHandler.state = {"requests": [], "drop_first": False}
  httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
  httpd.timeout = 5
  thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
  thread.start()
  try:
    yield f"http://127.0.0.1:{httpd.server_address[1]}/file.bin", _RangeHandler.state
  finally:
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _sha(data):
  return "sha256:" + hashlib.sha256(data).hexdigest()


def test_parse_checksum_forms():
  assert download.parse_checksum("MD5:" + "A" * 32) == ("md5", "a" * 32)
  assert download.parse_checksum("b" * 64) == ("sha256", "b" * 64)
  with pytest.raises(ValueError):
    download.parse_checksum("md5:abc")


def test_interrupted_download_resumes_with_range(server, tmp_path):
  url, state = server
  state["drop_first"] = True
  target = tmp_path / "file.bin"
  with pytest.raises(DownloadError, match="resume"):
    download.download(url, target, checksum=_sha(PAYLOAD), timeout=5)
  partial = tmp_path / "file.bin.part"
  assert partial.stat().st_size == 4000 and not target.exists()
  download.download(url, target, checksum=_sha(PAYLOAD), timeout=5)
  assert target.read_bytes() == PAYLOAD and not partial.exists()
  assert state["requests"] == [None, "bytes=4000-"]


def test_checksum_mismatch_removes_partial_and_raises(server, tmp_path):
  url, _ = server
  with pytest.raises(DownloadError, match="checksum"):
    download.download(url, tmp_path / "x.bin", checksum="md5:" + "0" * 32, timeout=5)
  assert list(tmp_path.iterdir()) == []


def test_file_url_and_cache_reuse(tmp_path):
  source = tmp_path / "src" / "a.zip"
  source.parent.mkdir()
  source.write_bytes(b"hello")
  artefact = Artefact("a.zip", url=source.as_uri(), checksum="md5:" + hashlib.md5(b"hello").hexdigest())
  cache = tmp_path / "cache"
  path = download.fetch(artefact, cache_dir=cache)
  assert path == cache / "a.zip" and path.read_bytes() == b"hello"
  source.unlink()  # now only the cache has it
  assert download.fetch(artefact, cache_dir=cache) == path


def test_manual_dir_comes_first_and_is_checked(tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "b.tar").write_bytes(b"abc")
  good = Artefact("b.tar", url="http://127.0.0.1:9/unreachable", checksum=_sha(b"abc"))
  assert download.fetch(good, cache_dir=tmp_path / "c", manual_dir=manual) == manual / "b.tar"
  bad = Artefact("b.tar", url=None, checksum=_sha(b"xyz"))
  with pytest.raises(DownloadError, match="does not match"):
    download.fetch(bad, cache_dir=tmp_path / "c", manual_dir=manual)


def test_kaggle_without_credentials_asks_for_manual_step(tmp_path, monkeypatch):
  monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "nokaggle"))
  monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
  monkeypatch.delenv("KAGGLE_KEY", raising=False)
  artefact = Artefact("notmnist.zip", kaggle="jwjohnson314/notmnist")
  with pytest.raises(ManualStepNeeded) as error:
    download.fetch(artefact, cache_dir=tmp_path / "c", dataset="not_mnist")
  message = str(error.value)
  assert "https://www.kaggle.com/datasets/jwjohnson314/notmnist" in message
  assert "notmnist.zip" in message and "--manual-dir" in message


def test_unreachable_url_error_says_how_to_do_it_by_hand(tmp_path):
  artefact = Artefact("z.zip", url=(tmp_path / "missing.zip").as_uri())
  with pytest.raises(DownloadError, match="put z.zip in --manual-dir"):
    download.fetch(artefact, cache_dir=tmp_path / "c")
