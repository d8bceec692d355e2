import numpy as np

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import flat, write_zip


def test_tubercolosis_folders(manual, prepare):
  root = "TB_Chest_Radiography_Database"
  members = {f"{root}/Normal.metadata.xlsx": b"xlsx", f"{root}/Tuberculosis.metadata.xlsx": b"xlsx",
             f"{root}/README.md.txt": "readme"}
  for k in range(7):
    members[f"{root}/Normal/Normal-{k + 1}.png"] = flat(50, "PNG", (16, 16))
  for k in range(4):
    members[f"{root}/Tuberculosis/Tuberculosis-{k + 1}.png"] = flat(150, "PNG", (16, 16, 3))
  write_zip(manual / "tuberculosis-tb-chest-xray-dataset.zip", members)
  ds = prepare("tubercolosis", checksums=True)  # Kaggle archives carry no checksum
  assert ds.class_names == ["Normal", "Tuberculosis"]
  plan = splits.recipe_all({"all": 11})
  assert ds.counts() == splits.plan_sizes(plan)
  # sorted names: Normal-1..7 then Tuberculosis-1..4, so example i is Tuberculosis when i >= 7
  for split in SPLITS:
    if plan[split]:
      indices = plan[split][0][1]
      assert ds.labels(split) == [int(i >= 7) for i in indices]
      assert np.allclose(ds.means(split), [150 if i >= 7 else 50 for i in indices])
