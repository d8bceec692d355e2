import zipfile

from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_zip)
from nevis.streams import splits


def test_wiki_paintings_style_drops_first_csv_row_and_damaged_images(tmp_path, monkeypatch):
  from nevis.streams.handlers import wiki_paintings_style as wiki

  manual = tmp_path / "manual"
  manual.mkdir()
  train = [("Impressionism/claude-monet_a.jpg", 12), ("Baroque/rembrandt_b.jpg", 4),
           ("Ukiyo_e/hokusai_c.jpg", 26), ("Impressionism/edgar-degas_d.jpg", 12),
           ("Cubism/pablo-picasso_e.jpg", 7), ("Baroque/rembrandt_damaged.jpg", 4)]
  test = [("Rococo/boucher_f.jpg", 22), ("Pop_Art/warhol_g.jpg", 19), ("Baroque/rubens_h.jpg", 4)]
  damaged = image_bytes(level(4), "JPEG", (20, 30, 3))
  with zipfile.ZipFile(manual / "wikiart.zip", "w", compression=zipfile.ZIP_STORED) as archive:
    for image, label in train + test:
      archive.writestr(f"wikiart/{image}", damaged if "damaged" in image else
                       image_bytes(level(label), "JPEG", (20, 30, 3)))
  # flip a byte inside the stored damaged member: its CRC no longer matches
  raw = bytearray((manual / "wikiart.zip").read_bytes())
  at = raw.index(damaged) + len(damaged) // 2
  raw[at] ^= 0xFF
  (manual / "wikiart.zip").write_bytes(bytes(raw))
  rows = lambda pairs: "".join(f"{image},{label}\n" for image, label in pairs).encode()
  write_zip(manual / "wikiart_csv.zip", {"style_train.csv": rows(train), "style_val.csv": rows(test),
                                         "genre_train.csv": b"x.jpg,1\n"})
  without_checksums(monkeypatch, wiki)
  store = prepare("wiki_paintings_style", tmp_path, manual)
  # train: first row dropped, damaged image skipped -> 4; test: first row dropped -> 2
  assert split_counts(store, "wiki_paintings_style") == splits.plan_sizes(
      splits.recipe_train({"train": 4, "test": 2}))
  assert store.read("wiki_paintings_style", "test").labels.tolist() == [19, 4]
  assert store.manifest("wiki_paintings_style")["class_names"][26] == "Ukiyo_e"
  assert wiki.HANDLER.image_rule == "max_side:256"
  assert_levels_follow_labels(store, "wiki_paintings_style")
