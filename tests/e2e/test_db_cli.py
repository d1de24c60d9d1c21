"""`zhida db current|upgrade|downgrade` on a data directory's embedded database."""

import os
import subprocess
import sys
from pathlib import Path

ZHIDA = Path(sys.executable).parent / "zhida"


def zhida(*args, data_dir):
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ZHIDA_DATABASE_URL", None)
    return subprocess.run([str(ZHIDA), "db", *args], capture_output=True, text=True, env=env)


def test_current_upgrade_and_downgrade_say_where_the_schema_is(tmp_path):
    from zhida.db.migrate import head

    first = zhida("current", data_dir=tmp_path)
    assert first.returncode == 0 and "未初始化" in first.stdout and "zhida db upgrade" in first.stdout
    up = zhida("upgrade", data_dir=tmp_path)
    assert up.returncode == 0 and f"→ {head()}" in up.stdout
    assert "无需升级" in zhida("upgrade", data_dir=tmp_path).stdout
    assert "结构已是最新" in zhida("current", data_dir=tmp_path).stdout
    down = zhida("downgrade", "0002_json_columns", data_dir=tmp_path)
    assert down.returncode == 0 and "0002_json_columns" in down.stdout
    assert "结构需要升级" in zhida("current", data_dir=tmp_path).stdout


def test_an_unknown_revision_is_a_clear_error(tmp_path):
    done = zhida("upgrade", "--revision", "9999_nothing", data_dir=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
