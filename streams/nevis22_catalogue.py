"""The 97 datasets of NEVIS'22: one declarative table.

Facts follow google-deepmind/dm_nevis at 37ccf1e (`streams/nevis_stream.py`, `datasets_storage/handlers/`,
`benchmarker/datasets/builders/`). Keys are dm_nevis's source names with '/' made '_' ("voc/2007" ->
"voc_2007"), so results can be matched with the reference implementation.

`class_names`, where given, fix the label ids: whoever prepares a dataset maps its labels to this order (for
TFDS datasets it is TFDS's own label order). Where it is None the names come from the data at preparation
time and tasks show placeholders. `num_classes` is the width of the label space NEVIS declares, which for a
few datasets is wider than the ids that occur (Landsat, Olivetti, MS COCO); the notes say so.
"""
from __future__ import annotations

import dataclasses

from nevis.errors import UserError, closest
from nevis.task import TaskKind

SINGLE = TaskKind.SINGLE_LABEL
MULTI = TaskKind.MULTI_LABEL

# Split recipes as NEVIS defines them (codes used in `DatasetEntry.split_recipe`). "C:<description>" is a
# dataset's own recipe, described in place.
SPLIT_RECIPES: dict[str, str] = {
    "TT": "TFDS train cut contiguously 70/15/15 into train/dev/dev_test; TFDS test is test",
    "TVT": "TFDS train cut contiguously 80/20 into train/dev; TFDS validation is dev_test; TFDS test is test",
    "IN": "TFDS train cut contiguously 90/5/5 into train/dev/dev_test; the official validation set is test",
    "V12": "TFDS train cut 80/20 into train/dev; TFDS validation halved: first half dev_test, second half "
    "test",
    "COIL": "by view angle: 72 bins x 100 objects; bins 70,71,0,1,2 train, 16-20 dev, 50-54 dev_test, the "
            "other 57 bins test",
    "NORB": "TFDS train split by object instance: instance 4 dev, 6 dev_test, 7/8/9 train; TFDS test is test",
    "DNET": "DomainNet: train = train of real, painting, clipart, quickdraw, infograph; dev = test of those "
            "five; dev_test = sketch train; test = sketch test",
    "A": "all data, seeded multinomial draw (seed 0): train 0.56 / dev 0.12 / dev_test 0.12 / test 0.20",
    "T": "official train, seeded multinomial draw (seed 0): 0.70 train / 0.15 dev / 0.15 dev_test; official "
         "test is test",
    "TD": "official train, seeded multinomial draw (seed 0): 0.8 train / 0.2 dev; official validation is "
          "dev_test; official test is test",
    "C": "the dataset's own recipe, described after 'C:'",
}

_DIGITS = tuple(str(d) for d in range(10))
_VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
    "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
# TFDS's `attributes` keys in sorted order, as dm_nevis stacks them into the multi-hot label.
_CELEB_A_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)
# EMNIST balanced mapping: digits, upper case, then the 11 lower-case letters that look unlike their capitals.
_EMNIST_BALANCED = _DIGITS + tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + tuple("abdefghnqrt")
_WIKIART_STYLES = (
    "Abstract_Expressionism", "Action_painting", "Analytical_Cubism", "Art_Nouveau", "Baroque",
    "Color_Field_Painting", "Contemporary_Realism", "Cubism", "Early_Renaissance", "Expressionism", "Fauvism",
    "High_Renaissance", "Impressionism", "Mannerism_Late_Renaissance", "Minimalism", "Naive_Art_Primitivism",
    "New_Realism", "Northern_Renaissance", "Pointillism", "Pop_Art", "Post_Impressionism", "Realism",
    "Rococo", "Romanticism", "Symbolism", "Synthetic_Cubism", "Ukiyo_e",
)
# BIWI: label = bin + 5 * angle index, angles (roll, pitch, yaw), each quantised into 5 equal-count bins.
# Label blocks in the order of dm_nevis's angle function: yaw, pitch, roll.
_BIWI_BINS = tuple(f"{angle}_bin{b}" for angle in ("yaw", "pitch", "roll") for b in range(5))

_TEXTURE_CROP = "random 64x64 crop taken once at extraction (NEVIS's texture rule)"


def _kaggle(slug: str) -> str:
  return (
      f"Kaggle dataset {slug}: fetched automatically when the `kaggle` package and ~/.kaggle/kaggle.json "
      f"credentials are present and the dataset's terms were accepted on kaggle.com; otherwise download the "
      f"archive from https://www.kaggle.com/datasets/{slug} into --manual-dir"
  )


def _google_drive(what: str) -> str:
  return (
      f"hosted on Google Drive, which often refuses scripted downloads (quota or confirmation page); if the "
      f"download fails, fetch {what} in a browser and put it in --manual-dir"
  )


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
  """One NEVIS'22 dataset: where it comes from, its labels, and how NEVIS splits it."""

  key: str  # canonical lower_snake name; the dataset's name in the store
  display_name: str  # NEVIS's own name, as used in its stream tables
  source: str  # "tfds:<name>[/<config>]" or "handler:<name>"
  num_classes: int
  class_names: tuple[str, ...] | None  # in label-id order; None: named from the data when prepared
  kind: TaskKind
  split_recipe: str  # a code of SPLIT_RECIPES, or "C:<description>"
  notes: str = ""  # licence, quirks
  manual: str | None = None  # the manual step obtaining it may need, or None

  def __post_init__(self):
    source_kind, _, source_name = self.source.partition(":")
    if source_kind not in ("tfds", "handler") or not source_name:
      raise ValueError(f"{self.key}: source must be 'tfds:<name>' or 'handler:<name>', got {self.source!r}")
    if self.class_names is not None and len(self.class_names) != self.num_classes:
      raise ValueError(f"{self.key}: {len(self.class_names)} class names for {self.num_classes} classes")
    code, _, description = self.split_recipe.partition(":")
    if code not in SPLIT_RECIPES or (code == "C") != bool(description):
      raise ValueError(f"{self.key}: unknown split recipe {self.split_recipe!r}")

  @property
  def source_kind(self) -> str:
    """'tfds' or 'handler'."""
    return self.source.partition(":")[0]

  @property
  def source_name(self) -> str:
    """The TFDS name (with config) or the handler name."""
    return self.source.partition(":")[2]

  @property
  def multi_label(self) -> bool:
    return self.kind == TaskKind.MULTI_LABEL

  @property
  def split_recipe_description(self) -> str:
    code, _, description = self.split_recipe.partition(":")
    return description if code == "C" else SPLIT_RECIPES[code]

  @property
  def flip_invariant(self) -> bool:
    """Whether a left-right mirror image keeps the label (see `MIRROR_CHANGES_LABEL`)."""
    return self.key not in MIRROR_CHANGES_LABEL

  def class_names_or_placeholders(self) -> tuple[str, ...]:
    """The class names, or "class_0", "class_1", ... where they come from the data."""
    if self.class_names is not None:
      return self.class_names
    return tuple(f"class_{i}" for i in range(self.num_classes))


_ENTRIES = (
    DatasetEntry(
        "magellan_venus_volcanoes", "Magellan Venus Volcanoes", "handler:magellan_venus_volcanoes", 2,
        ("no_volcano", "volcano"), SINGLE, "A",
        "UCI volcanoes.tar.gz: 134 grey 1024x1024 Magellan SAR images; the label is whether any volcano is "
        "in the image.",
    ),
    DatasetEntry(
        "aberdeen", "Aberdeen face database.", "handler:aberdeen", 92, None, SINGLE, "A",
        "Face identity, 92 subjects (pics.stir.ac.uk Aberdeen.zip); the display name keeps NEVIS's full "
        "stop.",
    ),
    DatasetEntry(
        "landsat", "LandSat UCI repo", "handler:landsat", 7,
        ("red soil", "cotton crop", "grey soil", "damp grey soil", "soil with vegetation stubble",
         "mixture class", "very damp grey soil"),
        SINGLE, "T",
        "UCI Statlog satimage sat.trn/sat.tst: 3x3-pixel patches, 3 of the 4 spectral bands as RGB, "
        "upsampled to the storage size; 'mixture class' has no examples (6 of the 7 ids occur).",
    ),
    DatasetEntry(
        "brodatz", "Brodatz", "handler:brodatz", 111, None, SINGLE,
        "C:up to 9 grid crops per texture image, per texture 5 train / 1 dev / 1 dev_test / 2 test (seeded), "
        "then a random 64x64 crop of each",
        "111 Brodatz GIFs from ux.uis.no (one per class); " + _TEXTURE_CROP + ".",
    ),
    DatasetEntry(
        "olivetti_face", "Olivetti Face Dataset", "handler:olivetti_face", 41, None, SINGLE, "A",
        "ORL/Olivetti faces, 40 subjects, grey; NEVIS declares 41 classes (ids from file names minus one).",
        _kaggle("tavarez/the-orl-database-for-training-and-testing"),
    ),
    DatasetEntry(
        "coil20", "COIL 20", "handler:coil20", 20, None, SINGLE, "A",
        "Columbia CAVE coil-20-proc.zip: 20 objects x 72 views, grey 128x128.",
    ),
    DatasetEntry(
        "coil100", "COIL 100", "tfds:coil100", 100, None, SINGLE, "COIL",
        "TFDS coil100 (object_id label, angle_label for the split); test views are unseen angles.",
    ),
    DatasetEntry(
        "mpeg7", "MPEG-7", "handler:mpeg7", 70, None, SINGLE, "A",
        "MPEG-7 CE-Shape-1 silhouettes (dabi.temple.edu), grey; class count read from the archive (70 "
        "expected); the 'confusion*'/'shapedata*' files are skipped.",
    ),
    DatasetEntry(
        "butterflies", "Butterfly dataset", "handler:butterflies", 7, None, SINGLE, "T",
        "Lazebnik, Schmid & Ponce 2004 butterflies, from a web.archive.org copy of the UIUC Ponce group page "
        "(slow host); test = the page's published test list; class count read from the archive (7 expected).",
    ),
    DatasetEntry(
        "mnist", "MNIST", "tfds:mnist", 10, _DIGITS, SINGLE, "TT",
        "TFDS mnist.",
    ),
    DatasetEntry(
        "caltech101", "Caltech 101", "tfds:caltech101", 102, None, SINGLE, "TT",
        "TFDS caltech101: 101 categories plus the BACKGROUND_Google class.",
    ),
    DatasetEntry(
        "umist", "UMIST", "handler:umist", 20, None, SINGLE, "A",
        "UMIST face database, 20 subjects, grey (eprints.lincoln.ac.uk face.tar.gz).",
    ),
    DatasetEntry(
        "cmu_amp_expression", "CMU AMP expression", "handler:cmu_amp_expression", 13, None, SINGLE,
        "C:per subject (75 images each), 20% test, the rest 70/15/15 train/dev/dev_test (seeded permutation)",
        "13 subjects x 75 expression images, 64x64 grey (chenlab.ece.cornell.edu); the classes are subjects.",
    ),
    DatasetEntry(
        "pascal_voc2005", "Pascal 2005", "handler:pascal_voc2005", 4, ("car", "motorbike", "bike", "person"),
        SINGLE, "T",
        "PASCAL VOC 2005 (host.robots.ox.ac.uk voc2005_1/2), whole images with one label each.",
    ),
    DatasetEntry(
        "caltech_categories", "Caltech cars, motorbikes", "handler:caltech_categories", 2,
        ("car", "motorcycle"), SINGLE, "A",
        "data.caltech.edu: Cars 1999 + Cars 2001 (rear views) vs motorbikes_side; NEVIS also downloads the "
        "faces archive but does not use it.",
    ),
    DatasetEntry(
        "uiuc_cars", "UIUC cars", "handler:uiuc_cars", 2, ("no_car", "car"), SINGLE, "A",
        "UIUC side-view car detection crops (host.robots.ox.ac.uk uiuc.tar.gz): car vs background, grey.",
    ),
    DatasetEntry(
        "aloi", "ALOI", "handler:aloi", 1000, None, SINGLE,
        "C:colour (col) and viewpoint (view) images 70/15/15 train/dev/dev_test (seeded); test = the "
        "illumination (ill) images",
        "Amsterdam Library of Object Images, red4 (quarter-resolution) tars from aloi.science.uva.nl; tested "
        "on unseen illumination.",
    ),
    DatasetEntry(
        "scenes8", "8 Scene Dataset", "handler:scenes8", 8,
        ("highway", "street", "tallbuilding", "forest", "insidecity", "opencountry", "mountain", "coast"),
        SINGLE, "A",
        "Oliva & Torralba spatial envelope, 256x256 (people.csail.mit.edu).",
    ),
    DatasetEntry(
        "scenes15", "15 Scenes", "handler:scenes15", 15,
        ("PARoffice", "kitchen", "MITinsidecity", "MITforest", "MITcoast", "MITstreet", "store", "industrial",
         "bedroom", "MITmountain", "MIThighway", "MITopencountry", "CALsuburb", "MITtallbuilding",
         "livingroom"),
        SINGLE, "A",
        "Lazebnik et al. 15 scene categories, grey, from a web.archive.org copy of the UIUC page (slow "
        "host).",
    ),
    DatasetEntry(
        "pascal_voc2006", "Pascal 2006", "handler:pascal_voc2006", 10, None, SINGLE, "T",
        "PASCAL VOC 2006 whole images; an image positive for several classes keeps one of them (the last "
        "listed); class count read from the archive (10 expected).",
    ),
    DatasetEntry(
        "extended_yaleb", "Extended YaleB", "handler:extended_yaleb", 28, None, SINGLE,
        "C:by pose: train P00,P02,P03,P04,P07; dev P05; dev_test P01; test P06,P08",
        "Extended Yale Face Database B, 28 subjects, grey; tested on unseen poses.",
        _kaggle("souvadrahati/extended-yale-dataset-b"),
    ),
    DatasetEntry(
        "voc_2007", "Pascal 2007", "tfds:voc/2007", 20, _VOC_CLASSES, MULTI, "TVT",
        "TFDS voc/2007; multi-label: the object classes present in the image (TFDS 'labels'); the VOC host "
        "is often slow.",
    ),
    DatasetEntry(
        "ig02", "Graz-02", "handler:ig02", 3, ("bikes", "cars", "people"), SINGLE, "A",
        "INRIA-annotated Graz-02 (lear.inrialpes.fr ig02-v1.0-*.zip).",
    ),
    DatasetEntry(
        "ppmi", "PPMI", "handler:ppmi", 24, None, SINGLE, "T",
        "People Playing Musical Instruments (vision.stanford.edu norm_ppmi_12class.zip): 12 instruments x "
        "{playing, holding} = 24 classes; class count read from the archive.",
    ),
    DatasetEntry(
        "caltech256", "Caltech 256", "handler:caltech256", 257, None, SINGLE, "A",
        "Caltech-256: 256 categories plus clutter.",
        _google_drive("256_ObjectCategories.tar"),
    ),
    DatasetEntry(
        "imagenet2012", "ImageNet", "tfds:imagenet2012", 1000, None, SINGLE, "IN",
        "ILSVRC2012 via TFDS; non-commercial research terms of image-net.org; dev is 64,058 images, test is "
        "the 50,000-image official validation set.",
        "register at image-net.org, download ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar, and put "
        "them in --manual-dir (TFDS's manual download folder)",
    ),
    DatasetEntry(
        "lfw", "LFW", "handler:lfw", 423, None, SINGLE,
        "C:subjects with at least 5 images (423 subjects, 5,985 images): per subject the last 2 images test, "
        "1 dev_test, 1 dev, the rest train",
        "Labeled Faces in the Wild (vis-www.cs.umass.edu lfw.tgz), face identity.",
    ),
    DatasetEntry(
        "oxford_flowers_17", "Oxford Flowers", "handler:oxford_flowers_17", 17, None, SINGLE, "TD",
        "Oxford 17 flowers (robots.ox.ac.uk 17flowers.tgz + datasplits.mat, split 1).",
    ),
    DatasetEntry(
        "flickr_material_database", "Flicker Material Dataset", "handler:flickr_material_database", 10,
        ("fabric", "foliage", "glass", "leather", "metal", "paper", "plastic", "stone", "water", "wood"),
        SINGLE, "A",
        "Flickr Material Database (people.csail.mit.edu FMD.zip), 512x384; the display name keeps NEVIS's "
        "spelling.",
    ),
    DatasetEntry(
        "oxford_flowers102", "Oxford Flowers 102", "tfds:oxford_flowers102", 102, None, SINGLE, "TVT",
        "TFDS oxford_flowers102.",
    ),
    DatasetEntry(
        "belgium_tsc", "Belgium Traffic Sign Dataset", "handler:belgium_tsc", 62, None, SINGLE, "T",
        "BelgiumTS classification (vision.ee.ethz.ch BelgiumTSC_Training/Testing.zip; names from "
        "btsd.ethz.ch reducedSetTS.txt).",
    ),
    DatasetEntry(
        "german_tsr", "German Traffic Sign Recognition Benchmark", "handler:german_tsr", 43, None, SINGLE,
        "T",
        "GTSRB final training/test images and test ground truth (sid.erda.dk).",
    ),
    DatasetEntry(
        "vistex", "VisTex", "handler:vistex", 19, None, SINGLE, "A",
        "MIT VisTex reference textures (vismod.media.mit.edu; LZW-compressed .tar.Z inside the archive); "
        + _TEXTURE_CROP + "; class count read from the archive (19 expected).",
    ),
    DatasetEntry(
        "umd", "UMD", "handler:umd", 25, None, SINGLE, "A",
        "UMD high-resolution texture database (users.umiacs.umd.edu textures-1/2.zip), grey.",
    ),
    DatasetEntry(
        "kth_tips", "KTH-TIPS", "handler:kth_tips", 10, None, SINGLE, "A",
        "KTH-TIPS colour 200x200 (csc.kth.se); " + _TEXTURE_CROP + "; class count read from the archive.",
    ),
    DatasetEntry(
        "uiuc_texture", "UIUC texture", "handler:uiuc_texture", 25, None, SINGLE, "A",
        "UIUC texture T01-T25, grey, from a web.archive.org copy (slow host); " + _TEXTURE_CROP
        + "; class count read from the archive.",
    ),
    DatasetEntry(
        "kth_tips_2b", "KTH-TIPS2-b", "handler:kth_tips_2b", 11, None, SINGLE, "A",
        "KTH-TIPS2-b colour 200x200 (csc.kth.se); " + _TEXTURE_CROP + "; class count read from the archive.",
    ),
    DatasetEntry(
        "cvc_muscima", "CVC-MUSCIMA", "handler:cvc_muscima", 50, None, SINGLE, "T",
        "Writer identification on handwritten music scores (wwwo.cvc.uab.es CVCMUSCIMA_WI.zip + "
        "Partitions_Set.zip, official partitions).",
    ),
    DatasetEntry(
        "iaprtc12", "IAPRTC-12", "handler:iaprtc12", 276, None, MULTI, "A",
        "SAIAPR TC-12: region labels pooled per image (multi-label, 276 words); NEVIS splits only the "
        "official training+validation images, the official test images are unused.",
        _kaggle("nastyatima/iapr-tc12"),
    ),
    DatasetEntry(
        "sketch", "sketch dataset", "handler:sketch", 250, None, SINGLE, "A",
        "TU Berlin sketches, 20,000 PNGs (cybertron.cg.tu-berlin.de sketches_png.zip).",
    ),
    DatasetEntry(
        "kth_tips_2a", "KTH-TIPS2-a", "handler:kth_tips_2a", 11, None, SINGLE, "A",
        "KTH-TIPS2-a colour 200x200 (csc.kth.se); " + _TEXTURE_CROP + "; class count read from the archive.",
    ),
    DatasetEntry(
        "voc_2012", "Pascal 2012", "tfds:voc/2012", 20, _VOC_CLASSES, MULTI, "V12",
        "TFDS voc/2012; multi-label: the object classes present in the image; the VOC host is often slow.",
    ),
    DatasetEntry(
        "smallnorb", "NORB", "tfds:smallnorb", 5, ("animal", "human", "airplane", "truck", "car"), SINGLE,
        "NORB",
        "TFDS smallnorb, label_category, first camera image only (grey 96x96); tested on unseen object "
        "instances.",
    ),
    DatasetEntry(
        "wiki_paintings_style", "Wikipaintings", "handler:wiki_paintings_style", 27, _WIKIART_STYLES, SINGLE,
        "T",
        "WikiArt style labels (web.fsktm.um.edu.my wikiart.zip + wikiart_csv.zip); longest side resized to "
        "256 at extraction.",
    ),
    DatasetEntry(
        "mit_scenes", "MIT Scenes", "handler:mit_scenes", 67, None, SINGLE, "T",
        "MIT Indoor 67 scenes.",
        _kaggle("itsahmad/indoor-scenes-cvpr-2019"),
    ),
    DatasetEntry(
        "sun397", "SUN 397", "tfds:sun397", 397, None, SINGLE, "TVT",
        "TFDS sun397, default ('tfds') config with TFDS's own train/validation/test split.",
        "TFDS downloads SUN397.tar.gz from vision.princeton.edu, which now answers 404; obtain SUN397.tar.gz "
        "(37 GB, md5 8ca2778205c41d23104230ba66911c7a) from a mirror and put it in --manual-dir",
    ),
    DatasetEntry(
        "cifar10", "CIFAR 10", "tfds:cifar10", 10,
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"), SINGLE,
        "TT",
        "TFDS cifar10.",
    ),
    DatasetEntry(
        "caltech_birds2011", "CUB 200", "tfds:caltech_birds2011", 200, None, SINGLE, "TT",
        "TFDS caltech_birds2011 (CUB-200-2011), whole images.",
    ),
    DatasetEntry(
        "stanford_cars", "Stanford Cars", "handler:stanford_cars", 196, None, SINGLE, "T",
        "Stanford Cars 196 (car_ims.tgz + cars_annos.mat; official train/test flag).",
        "the original host ai.stanford.edu/~jkrause answers 404 since 2023; obtain car_ims.tgz and "
        "cars_annos.mat from a mirror and put them in --manual-dir",
    ),
    DatasetEntry(
        "fgvc_aircraft_family", "FGVC Aircraft", "handler:fgvc_aircraft_family", 70, None, SINGLE, "T",
        "FGVC-Aircraft 2013b at the family level (robots.ox.ac.uk): official trainval is split 70/15/15, "
        "official test is test; class count read from families.txt.",
    ),
    DatasetEntry(
        "dtd", "DTD", "tfds:dtd", 47, None, SINGLE, "TVT",
        "TFDS dtd (Describable Textures Dataset).",
    ),
    DatasetEntry(
        "coco_single_label", "MS COCO", "handler:coco_single_label", 90, None, SINGLE, "T",
        "MS COCO 2017 object crops, one example per box with width and height >= 16 px; train from "
        "train2017, test from val2017; label = category id - 1, so 90 ids of which 80 occur; annotations CC "
        "BY 4.0, images under their Flickr terms.",
    ),
    DatasetEntry(
        "oxford_iiit_pet", "Oxford IIIT Pets", "tfds:oxford_iiit_pet", 37, None, SINGLE, "TT",
        "TFDS oxford_iiit_pet, breed labels.",
    ),
    DatasetEntry(
        "stanford_dogs", "Stanford Dogs", "tfds:stanford_dogs", 120, None, SINGLE, "TT",
        "TFDS stanford_dogs, whole images.",
    ),
    DatasetEntry(
        "animal", "ANIMAL", "handler:animal", 20, None, SINGLE, "A",
        "Bai et al. animal shapes (silhouettes), grey; class count read from the two archives (20 expected).",
        "NEVIS's host xiang.bai.googlepages.com (Google Pages) no longer exists; obtain "
        "non_rigid_shape_A.zip and non_rigid_shape_B.zip elsewhere and put them in --manual-dir",
    ),
    DatasetEntry(
        "silhouettes_28", "Caltech 101 Silhouettes", "handler:silhouettes_28", 101, None, SINGLE, "TD",
        "Caltech 101 silhouettes 28x28 (people.cs.umass.edu, split1 .mat files), binary images.",
    ),
    DatasetEntry(
        "interact", "Interact", "handler:interact", 60, None, SINGLE,
        "C:per class, 20% test, the rest 70/15/15 train/dev/dev_test (seeded); every image of the "
        "illustration category set is added to train",
        "INTERACT human-interaction images (computing.ece.vt.edu), stand-alone and illustration sets.",
    ),
    DatasetEntry(
        "voc_actions", "VOC Actions", "handler:voc_actions", 11,
        ("jumping", "phoning", "playinginstrument", "reading", "ridingbike", "ridinghorse", "running",
         "takingphoto", "usingcomputer", "walking", "other"),
        MULTI, "A",
        "VOC2012 action boxes cropped (pjreddie.com mirror of VOCtrainval); multi-label over the actions of "
        "the person in the box.",
    ),
    DatasetEntry(
        "svhn_cropped", "SVHN", "tfds:svhn_cropped", 10, _DIGITS, SINGLE, "TT",
        "TFDS svhn_cropped; the extra split is unused.",
    ),
    DatasetEntry(
        "chars74k", "Chars74K", "handler:chars74k", 62, None, SINGLE, "A",
        "Chars74K English: natural, hand-drawn and font-rendered characters 0-9, A-Z, a-z (ee.surrey.ac.uk).",
    ),
    DatasetEntry(
        "celeb_a", "CelebA", "tfds:celeb_a", 40, _CELEB_A_ATTRIBUTES, MULTI, "TVT",
        "TFDS celeb_a, the 40 binary attributes as a multi-hot label; non-commercial research terms.",
        "TFDS downloads CelebA from Google Drive, which often refuses with a quota error; then download "
        "img_align_celeba.zip and the list_*.txt files in a browser into --manual-dir",
    ),
    DatasetEntry(
        "lfwa", "LFWA", "handler:lfwa", 423, None, SINGLE,
        "C:as LFW: subjects with at least 5 images, per subject the last 2 images test, 1 dev_test, 1 dev, "
        "the rest train",
        "LFW-a (aligned LFW), grey.",
        _google_drive("lfwa.zip"),
    ),
    DatasetEntry(
        "sun_attributes", "SUN Attribute", "handler:sun_attributes", 102, None, MULTI, "A",
        "SUN attribute database (cs.brown.edu): 102 scene attributes as a multi-hot label.",
    ),
    DatasetEntry(
        "cifar100", "CIFAR 100", "tfds:cifar100", 100, None, SINGLE, "TT",
        "TFDS cifar100, fine labels.",
    ),
    DatasetEntry(
        "tid2008", "TID2008", "handler:tid2008", 5, None, SINGLE, "A",
        "Image quality: the MSSIM values the archive ships for each distorted image (not the mean opinion "
        "scores), sorted and bucketed into 5 runs of equal length (NEVIS's rule).",
        "the archive is a .rar: install `unrar` (or `unar`/`7z`) so that it can be extracted",
    ),
    DatasetEntry(
        "tid2013", "TID2013", "handler:tid2013", 5, None, SINGLE, "A",
        "Image quality: the MSSIM values the archive ships for each distorted image (not the mean opinion "
        "scores), sorted and bucketed into 5 runs of equal length (NEVIS's rule).",
        "the archive is a .rar: install `unrar` (or `unar`/`7z`) so that it can be extracted",
    ),
    DatasetEntry(
        "usps", "USPS", "handler:usps", 10, _DIGITS, SINGLE, "T",
        "USPS digits 16x16 grey (csie.ntu.edu.tw libsvm bz2 files).",
    ),
    DatasetEntry(
        "semeion", "Semeion", "handler:semeion", 10, _DIGITS, SINGLE, "A",
        "Semeion handwritten digits, 1,593 binary 16x16 images (UCI).",
    ),
    DatasetEntry(
        "mnist_m", "MNIST-m", "handler:mnist_m", 10, _DIGITS, SINGLE, "A",
        "MNIST digits blended over BSDS500 patches (Ganin et al.).",
        _google_drive("mnist_m.tar.gz"),
    ),
    DatasetEntry(
        "office_caltech_10", "Office Caltech", "handler:office_caltech_10", 10,
        ("back_pack", "bike", "calculator", "headphones", "keyboard", "laptop_computer", "monitor", "mouse",
         "mug", "projector"),
        SINGLE,
        "C:train/dev = Office-31 images of the 10 classes 80/20 (seeded); dev_test/test = Caltech-256 images "
        "of the same classes 50/50",
        "Domain shift: trained on Office-31, tested on Caltech-256.",
        _google_drive(
            "Caltech-256 (256_ObjectCategories.tar) and Office-31 (domain_adaptation_images.tar.gz)"
        ),
    ),
    DatasetEntry(
        "pacs", "PACS", "handler:pacs", 7,
        ("dog", "elephant", "giraffe", "guitar", "horse", "house", "person"), SINGLE,
        "C:train/dev = photo, art_painting and cartoon 80/20 (seeded); dev_test/test = sketch 50/50",
        "PACS h5 files, 227x227; domain shift: tested on sketches.",
        _google_drive("the 12 PACS .hdf5 files (4 domains x train/val/test)"),
    ),
    DatasetEntry(
        "caltech_camera_traps", "Caltech Camera Traps", "handler:caltech_camera_traps", 16,
        ("bobcat", "opossum", "empty", "coyote", "raccoon", "bird", "dog", "cat", "squirrel", "rabbit",
         "skunk", "rodent", "badger", "deer", "car", "fox"),
        SINGLE, "TD",
        "Caltech Camera Traps ECCV'18 subset (eccv_18_all_images_sm + annotations): train_annotations split "
        "80/20; dev_test/test = trans_val/trans_test (unseen locations). NEVIS's "
        "lilablobssc.blob.core.windows.net URLs are retired; LILA serves the same files from its current "
        "GCP/AWS/Azure buckets.",
    ),
    DatasetEntry(
        "emnist_balanced", "EMNIST Balanced", "tfds:emnist/balanced", 47, _EMNIST_BALANCED, SINGLE, "TT",
        "TFDS emnist/balanced.",
    ),
    DatasetEntry(
        "casia_hwdb", "CASIA-HWDB1.1", "handler:casia_hwdb", 3926, None, SINGLE, "T",
        "CASIA offline handwritten characters Gnt1.1 (nlpr.ia.ac.cn): 3,755 GB2312 characters + 171 symbols; "
        "grey; class count read from the archive.",
    ),
    DatasetEntry(
        "melanoma", "ISBI-ISIC 2017 melanoma classification challenge", "handler:melanoma", 3,
        ("melanoma", "seborrheic keratosis", "benign nevi"), SINGLE,
        "C:ISIC 2017 training set 80/20 train/dev (seeded); official validation set dev_test; official test "
        "set test",
        "ISIC 2017 part 3 (isic-challenge-data S3); dev_test has 150 images.",
    ),
    DatasetEntry(
        "trancos", "Trancos", "handler:trancos", 10, None, SINGLE, "TD",
        "Traffic-jam vehicle counting, counts bucketed into 10 classes of about equal size.",
        "NEVIS's source is a SharePoint share link (universidaddealcala-my.sharepoint.com), which usually "
        "needs a browser; download TRANCOS_v3.tar.gz by hand into --manual-dir",
    ),
    DatasetEntry(
        "mall", "Mall dataset", "handler:mall", 10, None, SINGLE,
        "C:frames 1-800 70/15/15 train/dev/dev_test (seeded permutation); frames 801-2000 test",
        "Crowd counting (personal.ie.cuhk.edu.hk mall_dataset.zip); counts bucketed into 10 classes of about "
        "equal size.",
    ),
    DatasetEntry(
        "fashion_mnist", "Fashion MNIST", "tfds:fashion_mnist", 10,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"),
        SINGLE, "TT",
        "TFDS fashion_mnist; licence MIT.",
    ),
    DatasetEntry(
        "not_mnist", "NotMNIST", "handler:not_mnist", 10, tuple("ABCDEFGHIJ"), SINGLE, "A",
        "notMNIST letters A-J rendered in many fonts, grey; two unreadable files are skipped.",
        _kaggle("jwjohnson314/notmnist"),
    ),
    DatasetEntry(
        "tiny_imagenet", "Tiny Imagenet", "handler:tiny_imagenet", 200, None, SINGLE, "T",
        "Tiny ImageNet 64x64 (cs231n.stanford.edu): official train split 70/15/15, official val used as "
        "test.",
    ),
    DatasetEntry(
        "stl10", "STL10", "tfds:stl10", 10,
        ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"), SINGLE, "TT",
        "TFDS stl10; the unlabelled split is unused.",
    ),
    DatasetEntry(
        "food101", "Food 101", "handler:food101", 101, None, SINGLE, "T",
        "Food-101 (data.vision.ee.ethz.ch food-101.tar.gz), official meta/train.txt and test.txt.",
    ),
    DatasetEntry(
        "mnist_rotation", "MNIST-rot", "handler:mnist_rotation", 10, _DIGITS, SINGLE, "T",
        "MNIST with train images rotated by a random 0-359 degrees and test images NOT rotated (tested "
        "upright). NEVIS reads yann.lecun.com, which answers 403; the same files are mirrored at "
        "storage.googleapis.com/cvdf-datasets/mnist/.",
    ),
    DatasetEntry(
        "awa2", "AWA2", "handler:awa2", 85, None, MULTI,
        "C:images of the 40 training classes 70/15/15 train/dev/dev_test (seeded); test = the images of the "
        "10 unseen test classes",
        "Animals with Attributes 2 (cvml.ist.ac.at AwA2-data.zip): predicts the 85 binary attributes, tested "
        "on unseen classes; longest side resized to 256 at extraction.",
    ),
    DatasetEntry(
        "food101n", "Food 101 N", "handler:food101n", 101, None, SINGLE, "T",
        "Food-101N: verified_train.tsv split 70/15/15, verified_val.tsv is test; noisy web labels.",
        _google_drive("Food-101N_release.zip"),
    ),
    DatasetEntry(
        "shanghai_tech", "ShanghaiTech", "handler:shanghai_tech", 10, None, SINGLE,
        "C:official train 70/15/15 train/dev/dev_test (seeded permutation); official test is test",
        "Crowd counting parts A+B; counts bucketed into 10 classes of about equal size.",
        _kaggle("tthien/shanghaitech"),
    ),
    DatasetEntry(
        "animal_web", "AnimalWeb", "handler:animal_web", 352, None, SINGLE, "A",
        "AnimalWeb animal faces, species labels (352 names; the archive is a .rar inside a .tar.gz).",
        _google_drive("animal_dataset_v1_c.tar.gz"),
    ),
    DatasetEntry(
        "biwi", "BIWI", "handler:biwi", 15, _BIWI_BINS, MULTI,
        "C:by person: test 1,4,8,10; dev_test 3,9; dev 2,7; train the other 16",
        "BIWI Kinect head pose: yaw, pitch and roll each quantised into 5 equal-count bins, one active bin "
        "per angle (3 of 15 labels); NEVIS patches an off-by-one in these bins when loading.",
        _kaggle("kmader/biwi-kinect-head-pose-database"),
    ),
    DatasetEntry(
        "domainnet", "DomainNet-Real", "tfds:domainnet", 345, None, SINGLE, "DNET",
        "TFDS domainnet/{real,painting,clipart,quickdraw,infograph,sketch}; despite the name 'Real' the test "
        "domain is sketch (trained on the other five domains).",
    ),
    DatasetEntry(
        "pneumonia_chest_xray", "Pneumonia Chest X-ray", "handler:pneumonia_chest_xray", 2,
        ("NORMAL", "PNEUMONIA"), SINGLE, "TD",
        "Paediatric chest X-rays (Kermany et al.), official train/val/test folders.",
        _kaggle("paultimothymooney/chest-xray-pneumonia"),
    ),
    DatasetEntry(
        "path_mnist", "Path MNIST", "handler:path_mnist", 8, None, SINGLE, "A",
        "Colorectal histology tiles (Kather et al. 2016), 8 tissue classes.",
        _kaggle("kmader/colorectal-histology-mnist"),
    ),
    DatasetEntry(
        "nih_chest_xray", "NIH Chest X-ray", "handler:nih_chest_xray", 15,
        ("Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema", "Fibrosis",
         "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule", "Mass", "Hernia",
         "No Finding"),
        MULTI, "T",
        "NIH ChestX-ray14 findings as a multi-hot label (14 findings + 'No Finding'); official "
        "train_val_list.txt / test_list.txt.",
        _kaggle("nih-chest-xrays/data"),
    ),
    DatasetEntry(
        "tubercolosis", "Tubercolosis", "handler:tubercolosis", 2, ("Normal", "Tuberculosis"), SINGLE, "A",
        "TB chest X-ray database; key and display name keep NEVIS's spelling.",
        _kaggle("tawsifurrahman/tuberculosis-tb-chest-xray-dataset"),
    ),
    DatasetEntry(
        "covid_19_xray", "covid-19 x-ray", "handler:covid_19_xray", 4,
        ("COVID", "Lung_Opacity", "Normal", "Viral Pneumonia"), SINGLE, "A",
        "COVID-19 radiography database.",
        _kaggle("tawsifurrahman/covid19-radiography-database"),
    ),
    DatasetEntry(
        "patch_camelyon", "PatchCamelyon", "tfds:patch_camelyon", 2, ("no_tumor", "tumor"), SINGLE, "TVT",
        "TFDS patch_camelyon, 96x96 histopathology patches; label = tumour tissue in the centre region; CC0.",
    ),
    DatasetEntry(
        "ddsm", "DDSM", "handler:ddsm", 3, ("BENIGN", "MALIGNANT", "BENIGN_WITHOUT_CALLBACK"), SINGLE, "T",
        "CBIS-DDSM mammography (JPEG version).",
        _kaggle("awsaf49/cbis-ddsm-breast-cancer-image-dataset"),
    ),
    DatasetEntry(
        "synthetic_covid19_xray", "Synthetic COVID-19 Chest X-ray Dataset", "handler:synthetic_covid19_xray",
        2,
        ("Normal", "Pneumonia"), SINGLE, "A",
        "GAN-generated chest X-rays (github.com/hasibzunair synthetic-covid-cxr-dataset release zips).",
    ),
)

# Datasets whose label a left-right mirror image can change, with the reason: flip augmentation must not
# touch them (`TaskInfo.flip_invariant` False; learners' `flip: auto`). dm_nevis flipped every task.
MIRROR_CHANGES_LABEL: dict[str, str] = {
    "mnist": "digits",
    "mnist_m": "digits",
    "mnist_rotation": "digits (no rotation undoes a mirror image)",
    "svhn_cropped": "digits",
    "usps": "digits",
    "semeion": "digits",
    "emnist_balanced": "digits and letters",
    "chars74k": "digits and letters",
    "not_mnist": "letters",
    "casia_hwdb": "handwritten Chinese characters",
    "cvc_muscima": "handwriting: a writer's slant and strokes mirrored",
    "german_tsr": "traffic signs that point left or right (turn, keep, bend left/right)",
    "belgium_tsc": "traffic signs that point left or right",
    "biwi": "head-pose bins: a mirror image negates yaw and roll",
}

CATALOGUE: dict[str, DatasetEntry] = {entry.key: entry for entry in _ENTRIES}
KEY_BY_DISPLAY_NAME: dict[str, str] = {entry.display_name: entry.key for entry in _ENTRIES}

if len(CATALOGUE) != len(_ENTRIES) or len(KEY_BY_DISPLAY_NAME) != len(_ENTRIES):
  raise ValueError("nevis22 catalogue: keys and display names must be unique")
if set(MIRROR_CHANGES_LABEL) - set(CATALOGUE):
  raise ValueError(f"nevis22 catalogue: unknown keys in MIRROR_CHANGES_LABEL: {set(MIRROR_CHANGES_LABEL) - set(CATALOGUE)}")


def entry(key: str) -> DatasetEntry:
  """The catalogue entry of a dataset key, or a UserError naming the closest key."""
  if key not in CATALOGUE:
    raise UserError(f"unknown NEVIS'22 dataset {key!r}{closest(key, CATALOGUE)}")
  return CATALOGUE[key]


def entry_by_display_name(display_name: str) -> DatasetEntry:
  """The catalogue entry of one of NEVIS's display names ("Pascal 2007", "COIL 20", ...)."""
  if display_name not in KEY_BY_DISPLAY_NAME:
    raise UserError(f"unknown NEVIS'22 dataset {display_name!r}{closest(display_name, KEY_BY_DISPLAY_NAME)}")
  return CATALOGUE[KEY_BY_DISPLAY_NAME[display_name]]


def needing_manual_step() -> list[DatasetEntry]:
  """Entries whose source may need a manual step (download by hand, credentials, a system tool)."""
  return [e for e in _ENTRIES if e.manual is not None]
