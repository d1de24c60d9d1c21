"""Settings: one typed object read by entrypoints; nothing below them reads the environment."""

import ast
from pathlib import Path

import pytest

from zhida.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src" / "zhida"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
ENTRYPOINTS = {SRC / "settings.py"} | set((SRC / "cli").rglob("*.py"))


def _environment_reads(path: Path, root: Path = SRC.parent) -> list[str]:
    where = path.relative_to(root)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("environ", "getenv", "environb", "putenv"):
            found.append(f"{where}:{node.lineno} os.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{where}:{node.lineno} from os import {a.name}" for a in node.names
                      if a.name in ("environ", "getenv", "environb")]
    return sorted(found)


def test_nothing_below_the_entrypoints_reads_the_environment():
    reads = [r for p in sorted(SRC.rglob("*.py")) if p not in ENTRYPOINTS for r in _environment_reads(p)]
    assert reads == [], "read settings in an entrypoint and pass them down: " + ", ".join(reads)


def test_the_environment_check_finds_a_read(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom os import getenv\nx = os.environ.get('ZHIDA_X')\nos.replace('a', 'b')\n",
                   encoding="utf-8")
    assert _environment_reads(bad, tmp_path) == ["bad.py:2 from os import getenv", "bad.py:3 os.environ"]


def test_settings_come_from_zhida_variables_and_a_dot_env_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ZHIDA_POLICIES=/srv/policies\nZHIDA_DATA_DIR=/from/dotenv\n", encoding="utf-8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path / "env-wins"))
    s = Settings()
    assert s.policies == Path("/srv/policies")
    assert s.data_dir == tmp_path / "env-wins"          # the environment wins over .env
    assert s.database() == f"sqlite:///{(tmp_path / 'env-wins' / 'zhida.sqlite').resolve()}"
    assert Settings(data_dir=tmp_path / "option").data_dir == tmp_path / "option"  # a command-line option wins


def test_a_bad_setting_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZHIDA_AUTO_UPGRADE", "perhaps")
    with pytest.raises(ValueError, match="auto_upgrade"):
        Settings()


def test_every_setting_is_documented_with_its_default():
    text = DOCS.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`ZHIDA_{name.upper()}`" in text, f"docs/settings.md lacks ZHIDA_{name.upper()}"
