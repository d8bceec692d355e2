from nevis.streams import splits

from .kit import COLOUR, GREY, flat, write_zip


def test_aberdeen_subjects_and_merged_names(manual, prepare):
  files = {
      "neil1.jpg": 10, "neil2.jpg": 10, "neilg3.jpg": 10,  # neilg is neil
      "clean_adrian1.jpg": 50, "adrian4.jpg": 50,
      "jsheenang1.jpg": 90, "dave_faquhar7.jpg": 130,
  }
  # colour and grey JPEGs both occur in the real archive
  write_zip(manual / "Aberdeen.zip", {name: flat(value, "JPEG", COLOUR if value < 60 else GREY)
                                      for name, value in files.items()})
  ds = prepare("aberdeen")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 7}))
  names = ds.class_names
  assert len(names) == 92 and names[0] == "neil" and names[16] == "adrian" and names[83] == "jsheenan"
  # neil 0, adrian 16, jsheenan 83 (not the unused 'jsheenang' id 22), dave_faquhar 91
  assert ds.pairs() == [(10, 0)] * 3 + [(50, 16)] * 2 + [(90, 83), (130, 91)]
