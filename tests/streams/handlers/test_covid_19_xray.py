import numpy as np

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import flat, write_zip


def test_covid_folder_labels_masks_skipped_and_duplicates_dropped(manual, prepare):
  from nevis.streams.handlers import covid_19_xray

  # NEVIS's layout (<class>/<file>) and Kaggle's current one (<class>/images/<file>, <class>/masks/<file>)
  assert covid_19_xray.label_of("COVID-19 Radiography Database/Viral Pneumonia/Viral Pneumonia (1).png") == 3
  assert covid_19_xray.label_of("COVID-19_Radiography_Dataset/Lung_Opacity/images/Lung_Opacity-1.png") == 1
  assert covid_19_xray.label_of("COVID-19_Radiography_Dataset/Lung_Opacity/masks/Lung_Opacity-1.png") is None
  root = "COVID-19_Radiography_Dataset"
  png = lambda value: flat(value, "PNG", (16, 16, 3))
  members = {f"{root}/COVID.metadata.xlsx": b"xlsx", f"{root}/README.md.txt": "readme"}
  for name, count in (("COVID", 3), ("Lung_Opacity", 2), ("Normal", 4), ("Viral Pneumonia", 2)):
    for k in range(count):
      members[f"{root}/{name}/images/{name}-{k + 1}.png"] = png(20 * k)
      members[f"{root}/{name}/masks/{name}-{k + 1}.png"] = png(255)
  members[f"{root}/Normal/images/Normal-9.png"] = png(20)  # repeats Normal-2: dropped
  write_zip(manual / "covid19-radiography-database.zip", members)
  ds = prepare("covid_19_xray", checksums=True)  # Kaggle archives carry no checksum
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 11}))
  assert sorted(ds.labels()) == [0] * 3 + [1] * 2 + [2] * 4 + [3] * 2
  images = np.concatenate([ds.read(s).images for s in SPLITS])
  assert images.max() < 255  # no mask made it in
