"""`zhida pay …`: 资金拨付：预算、拨付批次、代发文件、银行回单。"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
