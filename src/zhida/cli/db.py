"""`zhida db`: the transactional store's schema (migrations; docs/database.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console

from zhida.cli.context import app as make_app
from zhida.cli.errors import translate_errors

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]


def _engine(data_dir: Path | None) -> sa.Engine:
    """The store's engine without upgrading it (these commands decide that themselves)."""
    from zhida.db import create_engine

    return create_engine(make_app(data_dir).settings.database())


@app.command("current", help="显示数据库当前的结构版本与本程序需要的版本。")
@translate_errors
def current(data_dir: DataDir = None) -> None:
    from zhida.db import migrate

    engine = _engine(data_dir)
    found, expected, old = migrate.current(engine), migrate.head(), migrate.legacy(engine)
    console.print(f"数据库：{engine.url.render_as_string(hide_password=True)}", markup=False)
    console.print(f"当前版本：{found or ('早期版本创建（尚无结构版本记录）' if old else '（未初始化）')}；"
                  f"程序需要：{expected}", markup=False)
    if found == expected:
        console.print("结构已是最新。", markup=False)
    else:
        console.print("结构需要升级：运行 zhida db upgrade（升级前请备份）"
                      + ("；已有的数据原样保留。" if old else "。"), markup=False)
    engine.dispose()


@app.command("upgrade", help="把数据库结构升级到最新版本（或 --revision 指定的版本）；"
                             "早期版本创建的数据库原样保留数据。")
@translate_errors
def upgrade(data_dir: DataDir = None,
            revision: Annotated[str, typer.Option("--revision", help="目标版本（默认 head，即最新）")] = "head",
            ) -> None:
    from zhida.db import migrate

    engine = _engine(data_dir)
    before = migrate.current(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current(engine)
    console.print(f"数据库结构：{before or '（未初始化）'} → {after}" if before != after
                  else f"数据库结构已是 {after}，无需升级。", markup=False)
    engine.dispose()


@app.command("downgrade", help="把数据库结构降级到指定版本（会删除较新版本的表和列，请先备份）。")
@translate_errors
def downgrade(revision: Annotated[str, typer.Argument(help="目标版本，如 0003_policy_versions；base 为清空")],
              data_dir: DataDir = None) -> None:
    from zhida.db import migrate

    engine = _engine(data_dir)
    before = migrate.current(engine)
    migrate.downgrade(engine, revision)
    console.print(f"数据库结构：{before} → {migrate.current(engine) or '（未初始化）'}", markup=False)
    engine.dispose()


Message = Annotated[str, typer.Option("-m", "--message", help="这次结构变化是什么（英文，也用作文件名）")]
RevId = Annotated[str | None, typer.Option("--id", help="版本号（默认：下一个编号加说明，如 0006_add_notes）")]
Out = Annotated[Path | None, typer.Option("--out", help="写到哪个目录（默认：本程序的 zhida/db/migrations/versions）")]


@app.command("revision", help="开发用：比较 zhida/db/tables 中声明的表与现有迁移，写出一个迁移草稿"
                              "（Alembic autogenerate），须逐行检查后再提交。")
@translate_errors
def revision(message: Message, rev_id: RevId = None, out: Out = None) -> None:
    from zhida.db import migrate

    path = migrate.draft(message, rev_id, out or migrate.SCRIPTS / "versions")
    console.print(f"已写出迁移草稿 {path}", markup=False)
    console.print("请检查：约束命名、数据保留（转换而非删除重建）、PostgreSQL 的类型转换（postgresql_using）、降级；"
                  "然后运行 tests/integration/db/test_migrations.py。", markup=False)
