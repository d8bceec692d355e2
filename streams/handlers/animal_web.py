"""AnimalWeb: faces of 352 animal species (species labels); split recipe A after deduplication.

The Google Drive file is animal_dataset_v1_c.rar, a flat set of <species>_<n>.jpg files. Python reads no
RAR, so it is unpacked with the first of `unrar`, `7z`, `bsdtar` or `unar` found on PATH. Images are read
in sorted file-name order (NEVIS lists a directory, whose order is unspecified), converted to RGB, and an
image repeating an earlier one of the same species is dropped. Label ids follow NEVIS's own species
order (dm_nevis handlers/animal_web.py).
"""
from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.errors import DataError
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

ARCHIVE = "animal_dataset_v1_c.rar"
CLASS_NAMES = (
    'saluki', 'kultarr', 'bighornsheep', 'bandedmongoose', 'fox', 'goat', 'tasmaniandevil', 'wallaroo',
    'whiptailwallaby', 'feralhorse', 'binturong', 'geoffroyscat', 'klipspringer', 'vervetmonkey', 'possum',
    'arcticwolf', 'rustyspottedgenet', 'capegraymongoose', 'elk', 'commonbrownlemur', 'panda', 'amurtiger',
    'quokka', 'indri', 'debrazzasmonkey', 'collaredpeccary', 'cloudedleopard', 'emperorpenguin', 'zebu',
    'wildcat', 'lionpd', 'walrus', 'irishwolfhound', 'hoodedseal', 'camel', 'patasmonkey', 'commongenet',
    'italiangreyhound', 'viverratangalungamalayancivet', 'bullmastif', 'blackbackedjackal', 'pekingesedog',
    'lumholtzstreekangaroo', 'komondor', 'toquemacaque', 'longnosedmongoose', 'matschiestreekangaroo',
    'woodchuck', 'slendermongoose', 'gundi', 'animal', 'feralcat', 'chamois', 'borneanslowloris', 'dachshund',
    'yelloweyedpenguin', 'harpseal', 'bharal', 'blueeyedblacklemur', 'treeshrew', 'dallsheep',
    'brushtailedrockwallaby', 'marmoset', 'goldenbamboolemur', 'greaterbamboolemur', 'balinesecat',
    'californiansealion', 'fallowdeer', 'adeliepenguin', 'waterbuck', 'mareebarockwallaby', 'horse', 'zebra',
    'blackrhino', 'australianterrier', 'wildebeest', 'monte', 'oncilla', 'armadillo', 'frenchbulldog',
    'swamprabbit', 'cheetah', 'gentoopenguin', 'greylangur', 'mouflon', 'alaskanmalamute', 'amurleopard',
    'dhole', 'baikalseal', 'brownrat', 'kingpenguin', 'redpanda', 'hamster', 'echidna', 'bushbaby',
    'fishingcat', 'westernlesserbamboolemur', 'beardedseal', 'colo', 'roanantelope', 'harbourseal',
    'chinstrappenguin', 'giantschnauzer', 'collaredbrownlemur', 'stripedhyena', 'opossum', 'guanaco',
    'wisent', 'visayanwartypig', 'barbarymacaque', 'onager', 'caiman', 'feralgoat', 'commonwarthog',
    'hartebeest', 'arcticfox', 'whiteheadedlemur', 'spottedseal', 'capebuffalo', 'medraneanmonkseal',
    'jaguar', 'wildass', 'barbarysheep', 'gibbons', 'spottedhyena', 'leopardcat', 'hedgehog', 'uc', 'topi',
    'commonchimpanzee', 'dunnart', 'agilewallaby', 'sundaslowloris', 'wombat', 'chinesegoral', 'caribou',
    'weddellseal', 'canadianlynx', 'husky', 'liger', 'sharpesgrysbok', 'graywolf', 'hare', 'caracal', 'hyrax',
    'platypus', 'capefox', 'eurasianlynx', 'oribi', 'northernelephantseal', 'centralchimpanzee', 'dormouse',
    'gerbil', 'cougar', 'capybara', 'ferret', 'przewalskihorse', 'crestedpenguin', 'oryx',
    'steinbucksteenbok', 'nilgai', 'mangabey', 'australianshepherd', 'spidermonkey', 'monkey', 'brownhyena',
    'roedeer', 'bull', 'pardinegenet', 'anoa', 'leopard', 'swampwallaby', 'bonobo', 'cottonrat', 'vole',
    'humboldtpenguin', 'africanpenguin', 'goldenjackal', 'gorilla', 'commonkusimanse', 'redtailmonkey',
    'aardwolf', 'suni', 'blackandwhiteruffedlemar', 'chowchow', 'raccoon', 'bolognesedog', 'kangaroo',
    'dalmatian', 'gharial', 'australiancattledog', 'ruddymongoose', 'nightmonkey', 'swiftfox', 'weasel',
    'easternchimpanzee', 'bison', 'yak', 'chital', 'titi', 'woollymonkey', 'reedbuck', 'pallascat',
    'smallasianmongoose', 'grizzlybear', 'rustyspottedcat', 'coatis', 'redruffedlemur', 'kinkajou',
    'parmawallaby', 'coypu', 'westernchimpanzee', 'asianpalmcivet', 'domesticcat', 'giantotter',
    'pygmyrabbit', 'grayfox', 'kiang', 'pademelon', 'lemur', 'wapiti', 'asiangoldencat', 'agouti',
    'bandedpalmcivet', 'fieldmouse', 'junglecat', 'anteater', 'mexicanwolf', 'largespottedgenet',
    'beatingmongoose', 'goodfellowstreekangaroo', 'flyingsquirrel', 'wolverine', 'guineapig', 'dassie',
    'orangutan', 'greyseal', 'ocelot', 'howler', 'germanpinscher', 'koala', 'bilby', 'goldenretriever',
    'galagos', 'leopardseal', 'spottedneckedotter', 'crownedlemur', 'owstonspalmcivet', 'donkey', 'duiker',
    'pygmyslowloris', 'cservalserval', 'hippopotamus', 'tamarin', 'alaskanhare', 'badger', 'dingo', 'boar',
    'goldenlangur', 'greatdane', 'jackrabbit', 'uakari', 'colobus', 'fennecfox', 'sandcat', 'bamboolemur',
    'bengalslowloris', 'dugong', 'rhesusmonkey', 'marshmongoose', 'littlebluepenguin', 'hogdeer',
    'redbelliedsquirrel', 'commondwarfmongoose', 'corsacfox', 'whitewolf', 'addax', 'stripeneckedmongoose',
    'deermouse', 'japanesemacaque', 'giraffe', 'babirusa', 'hamadryasbaboon', 'douclangur',
    'anatolianshepherddog', 'bluemonkey', 'muskox', 'yellowfootedrockwallaby', 'gerenuk', 'doberman',
    'hawaiianmonkseal', 'magellanicpenguin', 'crabeaterseal', 'bobcat', 'feralcattle', 'jaguarundi',
    'potoroo', 'muntjacdeer', 'geladababoon', 'harvestmouse', 'rhinoceros', 'olivebaboon', 'buffalo',
    'patagonianmara', 'bushbuck', 'blackbuck', 'beaver', 'zonkey', 'bordercollie', 'southernelephantseal',
    'tammarwallaby', 'olingos', 'quoll', 'easternlesserbamboolemur', 'bandicoot', 'alpineibex',
    'redneckedwallaby', 'bear', 'japaneseserow', 'galapagossealion', 'muriqui', 'blackfootedcat',
    'cacomistle', 'ringtail', 'germanshepherddog', 'ribbonseal', 'domesticdog', 'lutung', 'tarsiers',
    'margay', 'bongo', 'francoislangur', 'potto', 'whitetaileddeer', 'australiansealion', 'capuchinmonkey',
    'dikdik', 'aardvark', 'snowleopard', 'banteng', 'chihuahua', 'proboscismonkey', 'ayeaye', 'pantanalcat',
    'ethiopianwolf', 'africanwilddog', 'deer', 'alpaca', 'servalinegenet', 'chipmunk', 'degu', 'urial',
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
# How each tool unpacks ARCHIVE into DIR (folders inside the archive, if any, do not matter).
_UNPACKERS = (
    ("unrar", lambda archive, out: ["unrar", "x", "-y", "-idq", str(archive), f"{out}/"]),
    ("7z", lambda archive, out: ["7z", "x", "-y", f"-o{out}", str(archive)]),
    ("bsdtar", lambda archive, out: ["bsdtar", "-xf", str(archive), "-C", str(out)]),
    ("unar", lambda archive, out: ["unar", "-q", "-f", "-o", str(out), str(archive)]),
)
TOOL_NEEDED = "unpacking AnimalWeb's .rar needs `unrar`, `7z`, `bsdtar` or `unar` on PATH"


def unpack_rar(archive: Path, directory: Path) -> None:
  for tool, command in _UNPACKERS:
    if shutil.which(tool):
      subprocess.run(command(archive, directory), check=True, stdout=subprocess.DEVNULL)
      return
  raise DataError(TOOL_NEEDED)


def decode_rgb(data: bytes) -> np.ndarray:
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with tempfile.TemporaryDirectory(prefix="animal_web-") as scratch:
      unpack_rar(paths[ARCHIVE], Path(scratch))
      files = sorted(Path(scratch).rglob("*jpg"), key=lambda p: p.name)
      seen: set[tuple[str, int]] = set()
      for file in files:
        label = _ID[file.stem.split("_")[0]]
        image = decode_rgb(file.read_bytes())
        key = (hashlib.md5(image.tobytes()).hexdigest(), label)
        if key not in seen:
          seen.add(key)
          yield Example(image, label)

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="animal_web",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://drive.google.com/uc?export=download&id=13PbHxUofhdJLZzql3TyqL22bQJ3HwDK4&confirm=y",
            checksum="md5:d2d7e0a584ee4bd9badc74a9f2ef3b82",
            manual="Google Drive often refuses scripted downloads: open "
                   "https://drive.google.com/uc?id=13PbHxUofhdJLZzql3TyqL22bQJ3HwDK4 in a browser and save "
                   "animal_dataset_v1_c.rar",
        ),
    ),
    extract=extract,
    manual=TOOL_NEEDED,
)
