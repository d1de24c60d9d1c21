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
    found, expected = migrate.current(engine), migrate.head()
    console.print(f"数据库：{engine.url.render_as_string(hide_password=True)}", markup=False)
    console.print(f"当前版本：{found or '（未初始化）'}；程序需要：{expected}", markup=False)
    console.print("结构已是最新。" if found == expected else "结构需要升级：运行 zhida db upgrade（升级前请备份）。",
                  markup=False)
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
