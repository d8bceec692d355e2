import numpy as np
import pytest

from nevis.streams import splits


def _all_indices(plan, official):
  return np.concatenate([idx for parts in plan.values() for o, idx in parts if o == official])


def test_multinomial_draw_matches_dm_nevis_sorted_name_order():
  # dm_nevis draws argmax(RandomState(0).multinomial(1, p)) per example with p in sorted-name order
  # (dev, dev-test, test, train); these are the first 12 draws of that generator.
  expected_ids = [3, 3, 1, 0, 3, 1, 3, 2, 0, 2, 3, 0]
  names = ["dev", "dev_test", "test", "train"]
  assigned = splits.multinomial_assignment(12, splits.FRACTIONS_ALL_DATA)
  assert list(assigned) == [names[i] for i in expected_ids]


def test_recipe_all_is_a_disjoint_cover_with_expected_fractions():
  plan = splits.recipe_all({"all": 10_000})
  splits.check_plan(plan, {"all": 10_000})
  sizes = splits.plan_sizes(plan)
  assert sum(sizes.values()) == 10_000
  assert np.array_equal(np.sort(_all_indices(plan, "all")), np.arange(10_000))
  for split, fraction in (("train", 0.56), ("dev", 0.12), ("dev_test", 0.12), ("test", 0.2)):
    assert abs(sizes[split] / 10_000 - fraction) < 0.02


def test_recipe_all_over_several_official_splits_draws_in_concatenated_order():
  plan = splits.recipe_all({"a": 3, "b": 9})
  whole = splits.multinomial_assignment(12, splits.FRACTIONS_ALL_DATA)
  for split, parts in plan.items():
    for official, idx in parts:
      offset = 0 if official == "a" else 3
      assert all(whole[offset + i] == split for i in idx)


def test_recipe_train_keeps_official_test():
  plan = splits.recipe_train({"train": 1000, "test": 77})
  sizes = splits.plan_sizes(plan)
  assert sizes["test"] == 77 and sizes["train"] + sizes["dev"] + sizes["dev_test"] == 1000
  assert plan["test"] == [("test", plan["test"][0][1])]
  splits.check_plan(plan, {"train": 1000, "test": 77})


def test_recipe_train_and_dev():
  plan = splits.recipe_train_and_dev({"train": 500, "validation": 40, "test": 60})
  sizes = splits.plan_sizes(plan)
  assert sizes["train"] + sizes["dev"] == 500
  assert (sizes["dev_test"], sizes["test"]) == (40, 60)


def test_contiguous_tfds_recipes_hand_computed():
  assert splits.plan_sizes(splits.recipe_tt({"train": 60_000, "test": 10_000})) == {
      "train": 42_000, "dev": 9_000, "dev_test": 9_000, "test": 10_000}
  plan = splits.recipe_tt({"train": 10, "test": 3})
  assert plan["train"][0][1].tolist() == list(range(7))
  assert plan["dev"][0][1].tolist() == [7]  # int(10 * 0.15) = 1
  assert plan["dev_test"][0][1].tolist() == [8, 9]
  assert splits.plan_sizes(splits.recipe_tvt({"train": 2501, "validation": 2510, "test": 4952})) == {
      "train": 2000, "dev": 501, "dev_test": 2510, "test": 4952}
  imagenet = splits.plan_sizes(splits.recipe_imagenet({"train": 1_281_167, "validation": 50_000}))
  assert imagenet["dev"] == 64_058 and imagenet["test"] == 50_000
  assert sum(imagenet.values()) == 1_281_167 + 50_000
  voc = splits.recipe_voc2012({"train": 5717, "validation": 5823})
  assert splits.plan_sizes(voc) == {"train": 4573, "dev": 1144, "dev_test": 2911, "test": 2912}
  assert voc["test"][0][1][0] == 2911


def test_coil_view_bins_sizes_for_100_objects():
  bins = [b for _ in range(100) for b in range(72)]
  plan = splits.coil_view_bins(bins)
  assert splits.plan_sizes(plan) == {"train": 500, "dev": 500, "dev_test": 500, "test": 5700}
  train_bins = {bins[i] for i in plan["train"][0][1]}
  assert train_bins == {70, 71, 0, 1, 2}
  splits.check_plan(plan, {"all": 7200})
  with pytest.raises(ValueError):
    splits.coil_view_bins([72])


def test_norb_instances_and_by_group():
  plan = splits.norb_instances([4, 6, 7, 8, 9, 4, 7], test_count=5)
  assert [idx.tolist() for _, idx in plan["dev"]] == [[0, 5]]
  assert [idx.tolist() for _, idx in plan["dev_test"]] == [[1]]
  assert [idx.tolist() for _, idx in plan["train"]] == [[2, 3, 4, 6]]
  assert splits.plan_sizes(plan)["test"] == 5
  with pytest.raises(ValueError, match="no split"):
    splits.norb_instances([5], test_count=0)


def test_per_class_holdout_is_per_class_and_disjoint():
  labels = [0] * 10 + [1] * 20
  plan = splits.per_class_holdout(labels)
  splits.check_plan(plan, {"all": 30})
  test = plan["test"][0][1]
  assert sum(labels[i] == 0 for i in test) == 2 and sum(labels[i] == 1 for i in test) == 4
  assert splits.plan_sizes(plan) == {"train": 5 + 11, "dev": 1 + 2, "dev_test": 2 + 3, "test": 6}


def test_check_plan_rejects_overlap_and_range():
  good = splits.recipe_tt({"train": 10, "test": 2})
  bad = dict(good, dev=[("train", np.array([0]))])
  with pytest.raises(ValueError, match="twice"):
    splits.check_plan(bad, {"train": 10, "test": 2})
  with pytest.raises(ValueError, match="out of range"):
    splits.check_plan(good, {"train": 5, "test": 2})


def test_plan_from_counts_refuses_metadata_recipes():
  with pytest.raises(ValueError, match="metadata"):
    splits.plan_from_counts("COIL", {"all": 10})
  assert splits.plan_sizes(splits.plan_from_counts("TT", {"train": 100, "test": 5}))["train"] == 70
