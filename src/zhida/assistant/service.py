"""The Q&A service over the published set: entrypoints call `ask`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from zhida.accounts import Role, User
from zhida.assistant.answer import Answer, answer
from zhida.assistant.index import Index, cached_index
from zhida.db.uow import UnitOfWork
from zhida.portal import NotFound, my_report
from zhida.published import PublishError, published_set
from zhida.rules.lang.schema import Schema


def published_index(uow: UnitOfWork) -> Index:
    """The index of the versions in force (cached per published set)."""
    versions = published_set(uow)
    if not versions:
        raise PublishError("还没有已发布的政策，政策问答无从回答："
                           "请先运行 zhida run 或 zhida policy publish policies/。")
    return cached_index([(v.document, v.content_hash) for v in versions])


def ask(uow: UnitOfWork, question: str, *, today: date, actor: User | None = None, schema: Schema | None = None,
        zones_dir: Path | None = None) -> Answer:
    """Answer a question on the published policies. A logged-in firm (role enterprise, with its
    uscc) also gets its own status and amount from its match report; reading the report is
    recorded as a data use (zhida.portal.my_report)."""
    index = published_index(uow)
    first = answer(index, question, today=today)
    if not (first.answered and actor is not None and Role.ENTERPRISE in actor.roles and actor.uscc
            and schema is not None):
        return first
    try:
        report = my_report(uow, schema, zones_dir, actor=actor)
    except NotFound:      # no match run yet: answer without the firm's own status, and say why
        first.text += "\n还没有匹配批次，暂时不能给出贵企业自己的状态和金额。"
        return first
    return answer(index, question, today=today, report=report)
