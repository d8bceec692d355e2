import numpy as np

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import flat, write_zip


def test_synthetic_covid_two_release_zips(manual, prepare):
  write_zip(manual / "G_NC.zip", {f"G1/{k}.png": flat(30, "PNG", (16, 16, 3)) for k in range(6)})
  write_zip(manual / "G_PC.zip", {f"G2/{k}.png": flat(200, "PNG", (16, 16, 3)) for k in range(5)})
  ds = prepare("synthetic_covid19_xray")
  plan = splits.recipe_all({"all": 11})
  assert ds.counts() == splits.plan_sizes(plan)
  for split in SPLITS:
    if plan[split]:
      indices = plan[split][0][1]
      assert ds.labels(split) == [int(i >= 6) for i in indices]  # G_NC.zip (normal) first
      assert np.allclose(ds.means(split), [200 if i >= 6 else 30 for i in indices])
