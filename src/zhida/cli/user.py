"""`zhida user`: accounts, roles and departments (docs/users.md).

The command line acts as the local operator (`zhida.accounts.SYSTEM`, an administrator): whoever
runs it on the server already holds the database. The services still check that actor's
permissions, as they check every web user's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import fail, translate_errors

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]


def _password(from_stdin: bool, none: bool) -> str | None:
    if none:
        return None
    if from_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            fail("标准输入中没有密码", "例如：echo '密码' | zhida user add …  --password-stdin")
        return line
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt="再输入一次"))


@app.command("add", help="新建用户：角色可多个；企业用户须绑定统一社会信用代码，审核人员须属于一个部门。")
@translate_errors
def add(
    username: Annotated[str, typer.Argument(help="用户名（登录名）")],
    name: Annotated[str, typer.Option("--name", help="显示名，如 张三（人社局）")],
    roles: Annotated[list[str], typer.Option("--role", help="角色：enterprise、policy_officer、reviewer、finance、"
                                                            "data_officer、leader、admin（可写中文名）")],
    uscc: Annotated[str | None, typer.Option("--uscc", help="企业用户绑定的统一社会信用代码")] = None,
    department: Annotated[str | None, typer.Option("--department", help="所属部门代码，如 hrss")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="不设本地密码（经统一身份认证登录）")] = False,
    oidc_subject: Annotated[str | None, typer.Option("--oidc-subject", help="统一身份认证中的用户标识")] = None,
    data_dir: DataDir = None,
) -> None:
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import add_user, parse_role

    parsed = [parse_role(r) for r in roles]
    user = add_user(make_app(data_dir).uow(), username=username, display_name=name,
                    password=_password(password_stdin, no_password), roles=parsed, uscc=uscc,
                    department=department, oidc_subject=oidc_subject, actor=SYSTEM)
    console.print(f"已新建用户 {user.username}（{user.display_name}）：{user.role_labels}", markup=False)


@app.command("list", help="列出全部用户、角色、绑定的企业与部门。")
@translate_errors
def list_(data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import list_users

    rows = list_users(make_app(data_dir).uow(), actor=SYSTEM)
    if not rows:
        console.print("还没有用户；用 zhida user add 新建，或运行 zhida run 创建演示账号。")
        return
    t = Table("用户名", "显示名", "角色", "企业", "部门", "状态")
    for u in rows:
        t.add_row(u.username, u.display_name, u.role_labels, u.uscc or "", u.department or "",
                  "启用" if u.active else "停用")
    console.print(t)


@app.command("grant", help="授予角色（企业用户角色须 --uscc，审核人员角色须 --department）。")
@translate_errors
def grant(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Argument(help="角色")],
    uscc: Annotated[str | None, typer.Option("--uscc", help="统一社会信用代码")] = None,
    department: Annotated[str | None, typer.Option("--department", help="部门代码")] = None,
    data_dir: DataDir = None,
) -> None:
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import grant as grant_role
    from zhida.accounts.service import parse_role

    user = grant_role(make_app(data_dir).uow(), username, parse_role(role), uscc=uscc,
                      department=department, actor=SYSTEM)
    console.print(f"用户 {user.username} 现有角色：{user.role_labels}", markup=False)


@app.command("revoke", help="撤销一个角色（不能撤销唯一的角色）。")
@translate_errors
def revoke(username: Annotated[str, typer.Argument(help="用户名")],
           role: Annotated[str, typer.Argument(help="角色")], data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import parse_role
    from zhida.accounts.service import revoke as revoke_role

    user = revoke_role(make_app(data_dir).uow(), username, parse_role(role), actor=SYSTEM)
    console.print(f"用户 {user.username} 现有角色：{user.role_labels}", markup=False)


@app.command("dept-add", help="新建部门（审核人员按部门划分可见范围）。")
@translate_errors
def dept_add(code: Annotated[str, typer.Argument(help="部门代码，如 hrss")],
             name: Annotated[str, typer.Argument(help="部门名称，如 人力资源和社会保障局")],
             data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import add_department

    add_department(make_app(data_dir).uow(), code, name, actor=SYSTEM)
    console.print(f"已新建部门 {code}（{name}）", markup=False)
