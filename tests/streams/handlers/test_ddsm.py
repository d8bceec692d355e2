import numpy as np

from nevis.streams import splits

from .kit import flat, write_zip

_CASE_HEADER = "patient_id,breast density,left or right breast,image view,abnormality id,abnormality type," \
    "calc type,calc distribution,assessment,pathology,subtlety,image file path,cropped image file path," \
    "ROI mask file path\n"


def _case(case, abnormality, pathology):
  return (f"P_0,2,LEFT,CC,{abnormality},calcification,X,Y,4,{pathology},3,"
          f"{case}/1.3.6.1/1.3.6.2/000000.dcm,{case}_{abnormality}/1.3.6.3/1.3.6.4/000000.dcm,"
          f"{case}_{abnormality}/1.3.6.3/1.3.6.5/000001.dcm\n")


def test_ddsm_joins_cases_to_full_mammograms(manual, prepare):
  # full mammograms (PatientID = case) and one crop (PatientID = case_1, not joined)
  dicom = [("Calc-Training_P_00001_LEFT_CC", "u1", 10), ("Calc-Training_P_00002_LEFT_CC", "u2", 20),
           ("Mass-Training_P_00003_LEFT_MLO", "u3", 30), ("Mass-Training_P_00004_LEFT_MLO", "u4", 40),
           ("Calc-Training_P_00001_LEFT_CC_1", "u5", 50), ("Calc-Test_P_00005_RIGHT_CC", "u6", 60),
           ("Mass-Test_P_00006_RIGHT_CC", "u7", 70)]
  members = {"csv/dicom_info.csv": "file_path,image_path,PatientID,SeriesDescription\n" + "".join(
      f"CBIS-DDSM/dicom/{uid}.dcm,CBIS-DDSM/jpeg/{uid}/1-1.jpg,{patient},full mammogram images\n"
      for patient, uid, _ in dicom)}
  for _, uid, value in dicom:
    members[f"jpeg/{uid}/1-1.jpg"] = flat(value, "JPEG", (30, 20))
  # case 1 has two abnormalities: one image, labelled by the first row
  members["csv/calc_case_description_train_set.csv"] = _CASE_HEADER + _case(
      "Calc-Training_P_00001_LEFT_CC", 1, "MALIGNANT") + _case("Calc-Training_P_00001_LEFT_CC", 2, "BENIGN") + _case(
      "Calc-Training_P_00002_LEFT_CC", 1, "BENIGN_WITHOUT_CALLBACK")
  members["csv/mass_case_description_train_set.csv"] = _CASE_HEADER + _case(
      "Mass-Training_P_00003_LEFT_MLO", 1, "BENIGN") + _case("Mass-Training_P_00004_LEFT_MLO", 1, "MALIGNANT")
  members["csv/calc_case_description_test_set.csv"] = _CASE_HEADER + _case("Calc-Test_P_00005_RIGHT_CC", 1, "BENIGN")
  members["csv/mass_case_description_test_set.csv"] = _CASE_HEADER + _case("Mass-Test_P_00006_RIGHT_CC", 1, "MALIGNANT")
  write_zip(manual / "cbis-ddsm-breast-cancer-image-dataset.zip", members)
  ds = prepare("ddsm", checksums=True)  # Kaggle archives carry no checksum
  plan = splits.recipe_train({"train": 4, "test": 2})
  assert ds.counts() == splits.plan_sizes(plan)
  assert ds.labels("test") == [0, 1]  # calc test first, then mass test
  assert np.allclose(ds.means("test"), [60, 70], atol=3)
  expected = [1, 2, 0, 1]  # P_00001 (first row: MALIGNANT), P_00002, P_00003, P_00004
  for split in ("train", "dev", "dev_test"):
    indices = plan[split][0][1] if plan[split] else []
    assert ds.labels(split) == [expected[i] for i in indices]
