"""`zhida serve`: the web application on embedded defaults (docs/web.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhida.cli.context import app as make_app
from zhida.cli.errors import translate_errors


@translate_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址（默认只在本机）")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = 8000,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida）")] = None,
) -> None:
    import uvicorn

    from zhida.web.app import create_app

    web = create_app(make_app(data_dir))
    typer.echo(f"政策直达网页：http://{host}:{port}/ （Ctrl-C 停止）")
    uvicorn.run(web, host=host, port=port, log_level="warning")
