"""`zhida jobs …`: 后台任务：提醒、逾期处理、批量生成。"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
