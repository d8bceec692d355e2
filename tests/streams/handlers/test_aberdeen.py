from .h1_archives import (
    colour, counts, encoded, grey, prepare, value_label_pairs, without_checksums, write_zip,
)
from nevis.streams import splits


def test_aberdeen_subjects_and_merged_names(manual, store_root, monkeypatch):
  from nevis.streams.handlers import aberdeen as handler

  files = {
      "neil1.jpg": 10, "neil2.jpg": 10, "neilg3.jpg": 10,  # neilg is neil
      "clean_adrian1.jpg": 50, "adrian4.jpg": 50,
      "jsheenang1.jpg": 90, "dave_faquhar7.jpg": 130,
  }
  members = {}
  for name, value in files.items():
    # colour and grey JPEGs both occur in the real archive
    members[name] = encoded(colour(value) if value < 60 else grey(value), "JPEG", quality=95)
  write_zip(manual / "Aberdeen.zip", members)
  without_checksums(monkeypatch, handler)
  store = prepare("aberdeen", store_root, manual)
  assert counts(store, "aberdeen") == splits.plan_sizes(splits.recipe_all({"all": 7}))
  names = store.manifest("aberdeen")["class_names"]
  assert len(names) == 92 and names[0] == "neil" and names[16] == "adrian" and names[83] == "jsheenan"
  # neil 0, adrian 16, jsheenan 83 (not the unused 'jsheenang' id 22), dave_faquhar 91
  assert value_label_pairs(store, "aberdeen") == [(10, 0)] * 3 + [(50, 16)] * 2 + [(90, 83), (130, 91)]
