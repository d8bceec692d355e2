"""The NEVIS'22 dataset catalogue: counts, sources, labels and recipes as dm_nevis defines them."""
from __future__ import annotations

import re

import pytest

from nevis.errors import UserError
from nevis.streams import nevis22_catalogue as catalogue
from nevis.streams.nevis22_catalogue import CATALOGUE, SPLIT_RECIPES, DatasetEntry
from nevis.task import TaskKind

# The 13 handlers dm_nevis downloads from Kaggle.
KAGGLE_KEYS = {
    "biwi", "covid_19_xray", "ddsm", "extended_yaleb", "iaprtc12", "mit_scenes", "nih_chest_xray",
    "not_mnist", "olivetti_face", "path_mnist", "pneumonia_chest_xray", "shanghai_tech", "tubercolosis",
}
# The 7 FULL datasets dm_nevis downloads from Google Drive through its own handlers.
GOOGLE_DRIVE_KEYS = {"animal_web", "caltech256", "food101n", "lfwa", "mnist_m", "office_caltech_10", "pacs"}
MULTI_LABEL_KEYS = {
    "voc_2007", "iaprtc12", "voc_2012", "voc_actions", "celeb_a", "sun_attributes", "awa2", "biwi",
    "nih_chest_xray",
}


def test_97_datasets_22_from_tfds_and_75_from_handlers():
  assert len(CATALOGUE) == 97
  kinds = [e.source_kind for e in CATALOGUE.values()]
  assert kinds.count("tfds") == 22
  assert kinds.count("handler") == 75


def test_keys_are_lower_snake_and_match_the_source_name():
  for key, e in CATALOGUE.items():
    assert e.key == key
    assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", key), key
    # dm_nevis's source names, with TFDS configs joined by '_' ("voc/2007" -> "voc_2007").
    assert key == e.source_name.replace("/", "_")


def test_display_names_are_unique_and_map_back():
  assert len({e.display_name for e in CATALOGUE.values()}) == 97
  assert catalogue.entry_by_display_name("Pascal 2007").key == "voc_2007"
  assert catalogue.entry_by_display_name("Aberdeen face database.").key == "aberdeen"
  assert catalogue.entry_by_display_name("DomainNet-Real").source == "tfds:domainnet"


def test_unknown_names_are_user_errors_with_a_suggestion():
  with pytest.raises(UserError, match="did you mean 'coil20'"):
    catalogue.entry("coil_20")
  with pytest.raises(UserError, match="did you mean 'COIL 20'"):
    catalogue.entry_by_display_name("COIL20")


def test_nine_multi_label_datasets():
  assert {k for k, e in CATALOGUE.items() if e.kind == TaskKind.MULTI_LABEL} == MULTI_LABEL_KEYS
  assert all(e.multi_label == (k in MULTI_LABEL_KEYS) for k, e in CATALOGUE.items())


def test_class_names_when_given_match_the_class_count():
  for e in CATALOGUE.values():
    names = e.class_names_or_placeholders()
    assert len(names) == e.num_classes >= 2, e.key
    assert len(set(names)) == len(names), e.key
  assert CATALOGUE["caltech256"].class_names_or_placeholders()[:2] == ("class_0", "class_1")
  assert CATALOGUE["mnist"].class_names == tuple("0123456789")
  assert CATALOGUE["emnist_balanced"].class_names[36:] == tuple("abdefghnqrt")
  assert CATALOGUE["biwi"].class_names[5] == "pitch_bin0"


@pytest.mark.parametrize(
    "key,num_classes",
    [
        ("imagenet2012", 1000), ("aloi", 1000), ("caltech256", 257), ("caltech101", 102), ("sketch", 250),
        ("stanford_cars", 196), ("domainnet", 345), ("lfw", 423), ("lfwa", 423), ("casia_hwdb", 3926),
        ("coco_single_label", 90), ("celeb_a", 40), ("tid2008", 5), ("mall", 10), ("olivetti_face", 41),
    ],
)
def test_class_counts_fixed_in_dm_nevis(key, num_classes):
  assert CATALOGUE[key].num_classes == num_classes


def test_split_recipes_are_known_codes():
  for e in CATALOGUE.values():
    code, _, description = e.split_recipe.partition(":")
    assert code in SPLIT_RECIPES, e.key
    assert e.split_recipe_description
    assert (code == "C") == bool(description), e.key
  recipes = {k: e.split_recipe for k, e in CATALOGUE.items()}
  assert recipes["coil100"] == "COIL"
  assert recipes["smallnorb"] == "NORB"
  assert recipes["domainnet"] == "DNET"
  assert recipes["imagenet2012"] == "IN"
  assert recipes["voc_2012"] == "V12"
  assert recipes["voc_2007"] == recipes["celeb_a"] == recipes["sun397"] == "TVT"
  assert recipes["mnist"] == recipes["cifar100"] == "TT"
  assert recipes["coil20"] == "A" and recipes["usps"] == "T" and recipes["trancos"] == "TD"
  assert recipes["extended_yaleb"].startswith("C:by pose")
  # Every TFDS dataset uses one of the TFDS recipes, every handler one of the custom ones.
  tfds_codes = {"TT", "TVT", "IN", "V12", "COIL", "NORB", "DNET"}
  for e in CATALOGUE.values():
    assert (e.split_recipe in tfds_codes) == (e.source_kind == "tfds"), e.key


def test_documented_quirks_are_in_the_notes():
  assert "sketch" in CATALOGUE["domainnet"].notes
  assert "NOT rotated" in CATALOGUE["mnist_rotation"].notes
  assert "unseen classes" in CATALOGUE["awa2"].notes
  for key in ("trancos", "mall", "shanghai_tech", "tid2008", "tid2013"):
    assert "bucket" in CATALOGUE[key].notes, key


def test_manual_steps_cover_imagenet_kaggle_google_drive_and_dead_hosts():
  manual = {e.key for e in catalogue.needing_manual_step()}
  assert "imagenet2012" in manual
  assert KAGGLE_KEYS <= manual
  assert GOOGLE_DRIVE_KEYS <= manual
  assert {"animal", "stanford_cars", "sun397", "trancos"} <= manual
  for key in KAGGLE_KEYS:
    assert "kaggle.com/datasets/" in CATALOGUE[key].manual
  assert all("Google Drive" in CATALOGUE[k].manual for k in GOOGLE_DRIVE_KEYS)
  assert CATALOGUE["mnist"].manual is None and CATALOGUE["coil20"].manual is None


def test_entry_rejects_inconsistent_definitions():
  with pytest.raises(ValueError, match="source"):
    DatasetEntry("x", "X", "http:x", 2, None, TaskKind.SINGLE_LABEL, "A")
  with pytest.raises(ValueError, match="class names"):
    DatasetEntry("x", "X", "handler:x", 3, ("a", "b"), TaskKind.SINGLE_LABEL, "A")
  with pytest.raises(ValueError, match="split recipe"):
    DatasetEntry("x", "X", "handler:x", 2, None, TaskKind.SINGLE_LABEL, "C")
  with pytest.raises(ValueError, match="split recipe"):
    DatasetEntry("x", "X", "handler:x", 2, None, TaskKind.SINGLE_LABEL, "ZZ")
