from nevis.streams import splits

from .kit import flat, write_zip


def test_not_mnist_dedups_and_skips_unreadable(manual, prepare):
  small = "notMNIST_small/notMNIST_small"
  png = lambda value: flat(value, "PNG", (28, 28))
  members = {}
  for k in range(4):
    members[f"{small}/A/Rm9udEE{k}.png"] = png(10 + k)
    members[f"{small}/J/Rm9udEo{k}.png"] = png(10 + k)  # same pixels as A's: other label, kept
  members[f"{small}/A/Rm9udEE9.png"] = png(10)  # repeats an A: dropped
  members[f"{small}/A/RGVtb2NyYXRpY2FCb2xkT2xkc3R5bGUgQm9sZC50dGY=.png"] = b""  # unreadable
  members[f"{small}/F/Q3Jvc3NvdmVyIEJvbGRPYmxpcXVlLnR0Zg==.png"] = b"broken"
  members["notMNIST_large/notMNIST_large/B/QQ.png"] = png(99)  # other set: unused
  write_zip(manual / "notmnist.zip", members)
  ds = prepare("not_mnist", checksums=True)  # Kaggle archives carry no checksum
  assert ds.class_names == list("ABCDEFGHIJ")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 8}))
  assert sorted(ds.labels()) == [0] * 4 + [9] * 4
