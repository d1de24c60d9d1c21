"""`zhida policy draft FILE.txt`: 政策拆解 — a policy's text → a YAML draft of its clauses."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zhida.cli.errors import fail, translate_errors
from zhida.extract import extract, render_yaml

_out = Console(soft_wrap=True, highlight=False)
_err = Console(stderr=True, soft_wrap=True, highlight=False)


@translate_errors
def draft(
    file: Annotated[Path, typer.Argument(help="政策原文（UTF-8 文本文件；“-” 为标准输入）")],
    out: Annotated[Path | None, typer.Option("--out", help="把草稿写入此 YAML 文件（默认打印）")] = None,
    policy_id: Annotated[str, typer.Option("--id", help="草稿的政策编号")] = "todo-policy",
) -> None:
    """政策拆解：从政策原文生成规则草稿（条件、金额、来源位置与置信度），供政策主管部门逐项核对。"""
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"无法读取 {file}：{e}", "提供 UTF-8 编码的文本文件")
    if not text.strip():
        fail(f"{file} 是空文件", "粘贴政策原文（一段或全文）")
    d = extract(text)
    yaml_text = render_yaml(d, policy_id)
    if out is None:
        _out.print(yaml_text, markup=False, end="")
    else:
        out.write_text(yaml_text, encoding="utf-8")
    low = d.low_confidence()
    todo = sum(line.split("#")[0].strip().endswith("TODO") for line in yaml_text.splitlines())
    summary = (f"拆解出 {len(d.clauses)} 个条款、{len(d.atoms())} 个条件、{len(d.amounts())} 个金额要素；"
               f"低置信度 {len(low)} 处，待填写（TODO）{todo} 处")
    _err.print(summary + (f"；草稿已写入 {out}" if out else ""), markup=False)
    for x in low:
        quote = text[x.span[0]:x.span[1]]
        _err.print(f"  待核对 [{x.span[0]}:{x.span[1]}] “{quote}” 置信度 {x.confidence:.2f}", markup=False)
