"""`zhida offer …`: 免申即享兑现事项：审核、公示、企业确认、逾期。"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
