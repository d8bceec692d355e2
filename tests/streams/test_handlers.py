import pytest

from nevis.streams import handlers
from nevis.streams.download import parse_checksum
from nevis.streams.nevis22_catalogue import CATALOGUE
from nevis.streams.prepare import TFDS_FREE_HANDLERS, NevisDataSource


@pytest.mark.parametrize("name", sorted(handlers.HANDLER_MODULES))
def test_registered_handler_loads_and_matches_the_catalogue(name):
  handler = handlers.get_handler(name)
  assert handler.name == name
  sources = {e.source for e in CATALOGUE.values()}
  assert f"handler:{name}" in sources or name in TFDS_FREE_HANDLERS.values()
  for artefact in handler.artefacts:
    assert artefact.url or artefact.kaggle or artefact.manual
    if artefact.url and not artefact.kaggle:
      parse_checksum(artefact.checksum)  # every direct download is checksummed


def test_unknown_handler_names_the_known_ones():
  with pytest.raises(KeyError, match="coil20"):
    handlers.get_handler("nope")


def test_handler_and_tfds_routing(monkeypatch):
  assert NevisDataSource("coil20").handler_name() == "coil20"
  assert NevisDataSource("coil100").handler_name() == "coil100"
  assert NevisDataSource("mnist").handler_name() is None
  monkeypatch.delitem(handlers.HANDLER_MODULES, "aberdeen")  # as if its handler were not written yet
  assert NevisDataSource("aberdeen").handler_name() is None


@pytest.mark.parametrize("name", sorted(handlers.HANDLER_MODULES))
def test_instructions_are_one_short_line(name):
  """Many downloads are summed up by their folder, and a manual step shared by files is said once."""
  text = handlers.get_handler(name).instructions()
  assert "\n" not in text and len(text) < 700, (len(text), text[:200])


def test_instructions_sum_up_many_downloads_and_shared_manual_steps():
  brodatz = handlers.get_handler("brodatz")
  assert len(brodatz.artefacts) == 111
  assert brodatz.instructions() == "downloaded automatically from 111 files under http://www.ux.uis.no/~tranden/brodatz/"
  pacs = handlers.get_handler("pacs")
  files = ", ".join(a.filename for a in pacs.artefacts)
  assert len(pacs.artefacts) == 12 and files.startswith("art_painting_test.hdf5, art_painting_train.hdf5")
  assert pacs.instructions() == f"{pacs.artefacts[0].manual} (put {files} in --manual-dir)"
