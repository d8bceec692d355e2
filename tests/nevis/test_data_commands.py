"""`nevis data status`: where the data folder is, and lines wrapped to the terminal."""
import re

from nevis.streams.handlers import get_handler


def test_data_status_names_the_data_folder_and_wraps_long_lines(run_cli, tmp_path, monkeypatch):
  monkeypatch.setenv("COLUMNS", "100")
  code, out, _ = run_cli("data", "status", "--quick")
  assert code == 0
  lines = out.splitlines()
  assert lines[0] == f"data folder: {tmp_path / 'data'} (NEVIS_DATA_DIR)"
  assert all(len(line) <= 100 for line in lines[1:-1]), max(lines, key=len)
  assert re.fullmatch(r"\d+ datasets: .*; sizes only \(--quick\)", lines[-1])
  # The longest instructions (PACS's manual step) continue, indented, under the instructions column.
  pacs = next(i for i, line in enumerate(lines) if line.startswith("pacs "))
  indent = lines[pacs].index("nevis data prepare pacs")
  assert lines[pacs + 1].startswith(" " * indent) and lines[pacs + 1].strip()
  text = " ".join(line.strip() for line in lines[pacs:pacs + 6]).split("nevis data prepare pacs", 1)[1]
  assert get_handler("pacs").instructions()[:60] in text


def test_data_status_says_the_default_folder_when_nevis_data_dir_is_unset(run_cli, monkeypatch):
  monkeypatch.delenv("NEVIS_DATA_DIR")
  code, out, _ = run_cli("data", "status", "mini", "--quick")
  assert code == 0
  assert re.fullmatch(r"data folder: .*store \(the default; set NEVIS_DATA_DIR to use another folder\)",
                      out.splitlines()[0])
