"""`zhida user` end to end on a data directory's embedded database (typer's CliRunner)."""

import pytest
from typer.testing import CliRunner

from zhida.cli import app

FIRM = "913303001226008564"
runner = CliRunner()


@pytest.fixture
def zhida(tmp_path):
    def run(*args, stdin=""):
        return runner.invoke(app, ["user", *args], input=stdin,
                             env={"ZHIDA_DATA_DIR": str(tmp_path), "ZHIDA_DATABASE_URL": None, "COLUMNS": "200"})

    return run


def test_departments_users_and_roles_from_the_command_line(zhida):
    assert zhida("dept-add", "hrss", "人力资源和社会保障局").exit_code == 0
    added = zhida("add", "zhang", "--name", "张三", "--role", "审核人员", "--department", "hrss", "--password-stdin",
                  stdin="spring-rain-2026\n")
    assert added.exit_code == 0 and "审核人员" in added.stdout, added.output
    firm = zhida("add", "firm1", "--name", "演示企业", "--role", "enterprise", "--uscc", FIRM.lower(),
                 "--password-stdin", stdin="spring-rain-2026\n")
    assert firm.exit_code == 0, firm.output
    granted = zhida("grant", "zhang", "leader")
    assert granted.exit_code == 0 and "领导/审计" in granted.stdout
    listed = zhida("list").stdout
    assert "zhang" in listed and "hrss" in listed and FIRM in listed and "启用" in listed
    revoked = zhida("revoke", "zhang", "leader")
    assert revoked.exit_code == 0 and "领导/审计" not in revoked.stdout


def test_the_password_is_prompted_twice_when_not_read_from_stdin(zhida):
    done = zhida("add", "li", "--name", "李四", "--role", "finance", stdin="spring-rain-2026\nspring-rain-2026\n")
    assert done.exit_code == 0 and "已新建用户 li" in done.stdout, done.output


def test_bad_input_exits_non_zero_with_the_fix_and_no_traceback(zhida):
    cases = [
        (["add", "x", "--name", "x", "--role", "boss", "--no-password"], "没有名为“boss”的角色"),
        (["add", "x", "--name", "x", "--role", "reviewer", "--no-password"], "须属于一个部门"),
        (["add", "x", "--name", "x", "--role", "reviewer", "--department", "tax", "--no-password"], "没有部门 tax"),
        (["add", "x", "--name", "x", "--role", "enterprise", "--uscc", "91330300MA00000000", "--no-password"],
         "无效"),
        (["add", "x", "--name", "x", "--role", "admin", "--password-stdin"], "密码不符合要求"),
        (["grant", "nobody", "leader"], "没有用户 nobody"),
    ]
    for args, message in cases:
        done = zhida(*args, stdin="short\n")
        assert done.exit_code == 2 and message in done.stderr, (args, done.output)
        assert isinstance(done.exception, SystemExit)   # a clean exit, not an uncaught error
    assert "还没有用户" in zhida("list").stdout


def test_a_taken_username_is_refused_the_second_time(zhida):
    args = ["add", "li", "--name", "李四", "--role", "leader", "--no-password"]
    assert zhida(*args).exit_code == 0
    again = zhida(*args)
    assert again.exit_code == 2 and "已被使用" in again.stderr
