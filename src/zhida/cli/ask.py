"""`zhida ask`: 政策问答 over the published policies (docs/assistant.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from zhida.cli.context import app as make_app
from zhida.cli.errors import parse_date, translate_errors

echo = typer.echo


@translate_errors
def ask(
    question: Annotated[str, typer.Argument(help="问题，如“稳岗补贴怎么申请”")],
    as_user: Annotated[str | None, typer.Option(
        "--as", help="以哪个用户的名义提问；企业账号会同时看到本企业的匹配状态与金额（记入数据使用记录）")] = None,
    today: Annotated[str | None, typer.Option("--today", help="按哪天判断政策是否有效（YYYY-MM-DD，默认今天）")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    handoff: Annotated[bool, typer.Option(
        "--handoff", help="没有可靠答案时，把问题作为本企业的诉求提交给建议的部门（须 --as 企业账号）")] = False,
) -> None:
    from zhida.accounts.service import get_user
    from zhida.assistant.service import ask as ask_service

    a = make_app(data_dir)
    actor = get_user(a.uow(), as_user) if as_user else None
    ans = ask_service(a.uow(), question, today=parse_date(today), actor=actor, schema=a.schema, zones_dir=a.zones_dir)
    if as_json:
        sys.stdout.write(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    for seen, fixed in ans.corrections:
        echo(f"（已按“{fixed}”理解“{seen}”）")
    echo(ans.text)
    if ans.citations:
        echo("\n相关政策：")
        for n, c in enumerate(ans.citations, 1):
            clause = f"「{c.clause_title}」" if c.clause_title else ""
            echo(f"{n}. 《{c.policy_title}》（{c.document_number}）{clause} —— {c.validity}")
    if ans.handoff is not None:
        echo(f"\n转人工（{ans.handoff.kind}）：建议部门 {ans.handoff.department}；问题：{ans.handoff.question}")
        if handoff:
            from zhida.workflow.enquiries import submit

            if actor is None:
                raise typer.BadParameter("转为诉求须以企业账号提问：加上 --as <企业用户名>")
            e = submit(a.uow(), actor=actor, text=ans.handoff.question, department_hint=ans.handoff.department,
                       source="assistant")
            echo(f"已作为诉求 {e.id} 提交给 {e.department}，答复时限 {e.due_by:%Y-%m-%d %H:%M}。")
