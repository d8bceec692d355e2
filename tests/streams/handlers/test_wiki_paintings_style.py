from nevis.streams import splits

from .kit import flat, level, write_zip


def test_wiki_paintings_style_drops_first_csv_row_and_damaged_images(manual, prepare):
  from nevis.streams.handlers import wiki_paintings_style as wiki

  train = [("Impressionism/claude-monet_a.jpg", 12), ("Baroque/rembrandt_b.jpg", 4),
           ("Ukiyo_e/hokusai_c.jpg", 26), ("Impressionism/edgar-degas_d.jpg", 12),
           ("Cubism/pablo-picasso_e.jpg", 7), ("Baroque/rembrandt_damaged.jpg", 4)]
  test = [("Rococo/boucher_f.jpg", 22), ("Pop_Art/warhol_g.jpg", 19), ("Baroque/rubens_h.jpg", 4)]
  # the damaged member's bytes occur once in the zip (another shape than rembrandt_b's), so the flip lands in it
  damaged = flat(level(4), "JPEG", (20, 31, 3))
  write_zip(manual / "wikiart.zip", {f"wikiart/{image}": damaged if "damaged" in image else
                                     flat(level(label), "JPEG", (20, 30, 3)) for image, label in train + test})
  # flip a byte inside the stored damaged member: its CRC no longer matches
  raw = bytearray((manual / "wikiart.zip").read_bytes())
  at = raw.index(damaged) + len(damaged) // 2
  raw[at] ^= 0xFF
  (manual / "wikiart.zip").write_bytes(bytes(raw))
  rows = lambda pairs: "".join(f"{image},{label}\n" for image, label in pairs).encode()
  write_zip(manual / "wikiart_csv.zip", {"style_train.csv": rows(train), "style_val.csv": rows(test),
                                         "genre_train.csv": b"x.jpg,1\n"})
  ds = prepare("wiki_paintings_style")
  # train: first row dropped, damaged image skipped -> 4; test: first row dropped -> 2
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 4, "test": 2}))
  assert ds.labels("test") == [19, 4]
  assert ds.class_names[26] == "Ukiyo_e"
  assert wiki.HANDLER.image_rule == "max_side:256"
  ds.assert_levels_follow_labels()
