"""`zhida apply …`: 即申即办：申报、材料库、审批。"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
