"""`zhida user` on a data directory's embedded database."""

import os
import subprocess
import sys
from pathlib import Path

ZHIDA = Path(sys.executable).parent / "zhida"
FIRM = "913303001226008564"


def zhida(*args, data_dir, stdin=""):
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("ZHIDA_DATABASE_URL", None)
    return subprocess.run([str(ZHIDA), "user", *args], capture_output=True, text=True, env=env, input=stdin)


def test_departments_users_and_roles_from_the_command_line(tmp_path):
    assert zhida("dept-add", "hrss", "人力资源和社会保障局", data_dir=tmp_path).returncode == 0
    added = zhida("add", "zhang", "--name", "张三", "--role", "审核人员", "--department", "hrss", "--password-stdin",
                  data_dir=tmp_path, stdin="spring-rain-2026\n")
    assert added.returncode == 0 and "审核人员" in added.stdout
    firm = zhida("add", "firm1", "--name", "演示企业", "--role", "enterprise", "--uscc", FIRM.lower(),
                 "--password-stdin", data_dir=tmp_path, stdin="spring-rain-2026\n")
    assert firm.returncode == 0, firm.stderr
    granted = zhida("grant", "zhang", "leader", data_dir=tmp_path)
    assert granted.returncode == 0 and "领导/审计" in granted.stdout
    listed = zhida("list", data_dir=tmp_path).stdout
    assert "zhang" in listed and "hrss" in listed and FIRM in listed


def test_bad_input_exits_non_zero_with_the_fix_and_no_traceback(tmp_path):
    cases = [
        (["add", "x", "--name", "x", "--role", "boss", "--no-password"], "没有名为“boss”的角色"),
        (["add", "x", "--name", "x", "--role", "reviewer", "--no-password"], "须属于一个部门"),
        (["add", "x", "--name", "x", "--role", "admin", "--password-stdin"], "密码不符合要求"),
        (["grant", "nobody", "leader"], "没有用户 nobody"),
    ]
    for args, message in cases:
        done = zhida(*args, data_dir=tmp_path, stdin="short\n")
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert "还没有用户" in zhida("list", data_dir=tmp_path).stdout
