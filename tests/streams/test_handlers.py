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
