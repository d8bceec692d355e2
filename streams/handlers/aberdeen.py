"""Aberdeen face database (pics.stir.ac.uk): face identity, 92 declared subjects; split recipe A.

Aberdeen.zip holds one image per file, named <subject><number>.jpg (e.g. neil3.jpg). The subject is the
leading run of letters and underscores; eight subjects photographed twice appear under a second name
(e.g. 'marieg' is 'marie') and are merged. Label ids follow NEVIS's own subject list, which keeps
'jsheenang' as id 22 although it is merged into 'jsheenan' (so 91 ids occur). Images are read in the
zip's own member order (dm_nevis handlers/aberdeen.py).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "Aberdeen.zip"
_SUBJECT = re.compile(r"[a-zA-Z_]+")
SAME_PERSON = {
    "marieg": "marie", "heatherg": "heather", "kayg": "kay", "neilg": "neil", "graemeg": "graeme",
    "dhawleyg": "dhawley", "clean_adrian": "adrian", "jsheenang": "jsheenan",
}
CLASS_NAMES = (
    "neil", "jenni", "chris_harbron", "john_mccal", "blaw", "dpearson", "ruth", "richard_hardwick", "olive",
    "dlow", "simon", "dougal_grant", "mnicholson", "hack", "caroline", "lynn", "adrian", "kay",
    "fiona_hogarth", "annanena", "heather", "barry", "jsheenang", "michael", "alister", "amellanby",
    "george", "graham_brown", "itaylor", "marie", "david", "jim", "alison", "trevor", "iroy", "scott",
    "louise", "dsmith", "gfindley", "irene", "tracy", "johannes", "chris_pin", "anon_one", "stewart",
    "lynn_james", "peter", "paul", "pkyle", "andrew", "mmanson", "graeme", "fiona", "ghall", "paol",
    "david_imray", "john_thom", "stephen", "gordon", "gillian", "dhands", "joanna", "nick", "bfegan",
    "grant_cumming", "alec", "milly", "merilyn", "kirsty", "peter_macgeorge", "dbell", "chris", "miranda",
    "johnny_page", "pat", "terry_johnstone", "tock", "catherine", "blair", "kieran", "martin", "hin",
    "meggan", "jsheenan", "brian_ho", "mark", "dhawley", "derek", "lisa", "ian", "kim", "dave_faquhar",
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


def subject_of(member_name: str) -> str:
  stem = posixpath.splitext(posixpath.basename(member_name))[0]
  subject = _SUBJECT.search(stem)[0]
  return SAME_PERSON.get(subject, subject)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for info in archive.infolist():  # member order, not sorted: the split draw follows it
        if info.is_dir() or info.filename.endswith("Thumbs.db"):
          continue
        yield Example(decode_image(archive.read(info)), _ID[subject_of(info.filename)])

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="aberdeen",
    artefacts=(
        Artefact(ARCHIVE, url="http://pics.stir.ac.uk/zips/Aberdeen.zip",
                 checksum="md5:1f7044bd5f0bed01286263aa580a7a87"),
    ),
    extract=extract,
)
