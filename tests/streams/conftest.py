import pytest


@pytest.fixture
def store_root(tmp_path, monkeypatch):
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  root = tmp_path / "store"
  monkeypatch.setenv("NEVIS_DATA_DIR", str(root))
  return root


@pytest.fixture
def manual(tmp_path):
  directory = tmp_path / "manual"
  directory.mkdir()
  return directory
