"""`zhida audit …`: the tamper-evident audit log — checkpoints, verification, proofs (docs/audit.md).

The command line acts as the local operator (zhida.accounts.SYSTEM); the services check that
actor's permission as they check every user's.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import translate_errors

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON（哈希用十六进制）")]


def _say(text: str) -> None:
    console.print(text, markup=False)


@app.command("key", help="显示审计日志的验证公钥（公开发布，供第三方核验检查点）。")
@translate_errors
def key(data_dir: DataDir = None) -> None:
    _say(make_app(data_dir).audit_signer().verifier())


@app.command("keygen", help="为一个部门（见证方）生成联署密钥：私钥写入文件，公钥打印出来。")
@translate_errors
def keygen(name: Annotated[str, typer.Argument(help="密钥名称，如 hrss.wenzhou.gov.cn")],
           out: Annotated[Path, typer.Option("--out", help="私钥文件（不会覆盖已有文件）")]) -> None:
    from zhida.audit.keys import write_signer
    from zhida.audit.note import Signer

    signer = Signer.generate(name)
    write_signer(out, signer)
    _say(f"已写出私钥 {out}（仅本人可读）。验证公钥：")
    _say(signer.verifier())


@app.command("checkpoint", help="签发检查点：对当前日志的树根签名（日志与已有检查点不符时拒绝）；"
                                  "--schedule 则安排为当日的后台任务（zhida jobs work 执行）。")
@translate_errors
def checkpoint(schedule: Annotated[bool, typer.Option("--schedule", help="安排为当日后台任务（同日重复无效）")]
               = False, data_dir: DataDir = None) -> None:
    from datetime import date

    from zhida.accounts import SYSTEM
    from zhida.audit import log

    zhida = make_app(data_dir)
    if schedule:
        from zhida.workflow.jobkinds import schedule_checkpoint

        made = schedule_checkpoint(zhida.uow(), date.today(), actor=SYSTEM)
        _say(f"任务 {made.job.id}：" + ("已安排今日检查点" if made.created else "今日检查点此前已安排") + "。")
        return
    cp = log.checkpoint(zhida.uow(), zhida.audit_signer(), origin=zhida.settings.audit_origin, actor=SYSTEM)
    _say(f"检查点 {cp.id}：共 {cp.size} 条，根哈希 {cp.root.hex()}")
    _say(cp.note.rstrip("\n"))


@app.command("checkpoints", help="列出已签发的检查点。")
@translate_errors
def checkpoints(data_dir: DataDir = None) -> None:
    from zhida.audit import log

    table = Table("编号", "条数", "根哈希", "签发时间", "签名数")
    for cp in log.checkpoints(make_app(data_dir).uow()):
        table.add_row(str(cp.id), str(cp.size), cp.root.hex()[:16] + "…", f"{cp.created_at:%Y-%m-%d %H:%M}",
                      str(cp.note.count("\n\u2014 ")))
    console.print(table)


@app.command("cosign", help="部门作为见证方联署一个检查点（先核对检查点与日志一致）。")
@translate_errors
def cosign(checkpoint_id: Annotated[int, typer.Argument(help="检查点编号")],
           key_file: Annotated[Path, typer.Option("--key", help="部门的联署私钥文件（zhida audit keygen 生成）")],
           data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.audit import log
    from zhida.audit.keys import load_signer

    zhida = make_app(data_dir)
    witness = load_signer(key_file)
    log.cosign(zhida.uow(), checkpoint_id, witness, zhida.audit_signer().verifier(), actor=SYSTEM)
    _say(f"{witness.name} 已联署检查点 {checkpoint_id}。")


@app.command("verify", help="重新计算整个日志并核对每个检查点；发现改动、删除、插入或调换时指出第一处，退出码 1。")
@translate_errors
def verify(log_key: Annotated[str | None, typer.Option("--key", help="日志的验证公钥（默认：本机私钥的）")] = None,
           witnesses: Annotated[list[str] | None, typer.Option("--witness", help="须已联署的见证方公钥")] = None,
           data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.audit import log

    zhida = make_app(data_dir)
    report = log.verify(zhida.uow(), log_key or zhida.audit_signer().verifier(), tuple(witnesses or ()), actor=SYSTEM)
    if report.ok:
        _say(f"审计日志完好：共 {report.size} 条（{report.hash_alg}），{report.checkpoints} 个检查点均已核对。")
        return
    _say(f"审计日志有问题（共 {report.size} 条，{report.checkpoints} 个检查点核对通过）：")
    for problem in report.problems:
        _say(f"  - {problem}")
    if report.first_bad is not None:
        _say(f"第一处有问题的序号：{report.first_bad}")
    raise typer.Exit(1)


@app.command("prove", help="给出第 N 条记录的包含证明（默认对最近的检查点）。")
@translate_errors
def prove(index: Annotated[int, typer.Argument(help="记录序号（从 0 开始）")],
          size: Annotated[int | None, typer.Option("--size", help="日志树的大小（默认：最近检查点的）")] = None,
          as_json: AsJson = False, data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.audit import log

    p = log.inclusion(make_app(data_dir).uow(), index, size, actor=SYSTEM)
    out = {"index": p.index, "size": p.size, "hash": p.hash_alg, "entry": p.entry, "leaf_hash": p.leaf_hash.hex(),
           "proof": [x.hex() for x in p.proof], "root": p.root.hex(), "root_base64": base64.b64encode(p.root).decode()}
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
        return
    _say(f"第 {p.index} 条在 {p.size} 条的日志树中（{p.hash_alg}）：")
    _say(f"  记录：{p.entry}")
    _say(f"  叶子哈希：{out['leaf_hash']}")
    for i, x in enumerate(p.proof):
        _say(f"  证明[{i}]：{x.hex()}")
    _say(f"  树根：{out['root']}")
    _say("核验：zhida.audit.merkle.verify_inclusion(index, size, leaf_hash, proof, root)")


@app.command("consistency", help="给出日志从 A 条到 B 条的一致性证明（两个检查点之间没有改写历史）。")
@translate_errors
def consistency(first: Annotated[int, typer.Argument(help="较早的日志大小 A")],
                second: Annotated[int, typer.Argument(help="较晚的日志大小 B")],
                as_json: AsJson = False, data_dir: DataDir = None) -> None:
    from zhida.audit import log

    c = log.consistency(make_app(data_dir).uow(), first, second)
    out = {"first": c.first, "second": c.second, "hash": c.hash_alg, "first_root": c.first_root.hex(),
           "second_root": c.second_root.hex(), "proof": [x.hex() for x in c.proof]}
    if as_json:
        print(json.dumps(out))
        return
    _say(f"日志 {c.first} 条 → {c.second} 条（{c.hash_alg}）：")
    _say(f"  前者树根：{out['first_root']}")
    _say(f"  后者树根：{out['second_root']}")
    for i, x in enumerate(c.proof):
        _say(f"  证明[{i}]：{x.hex()}")
    _say("核验：zhida.audit.merkle.verify_consistency(A, B, proof, first_root, second_root)")


@app.command("log", help="最近的审计记录（可按对象或类型筛选）。")
@translate_errors
def show(subject: Annotated[str | None, typer.Option("--subject", help="对象，如 offer:12")] = None,
         kind: Annotated[str | None, typer.Option("--kind", help="类型，如 offer.approve")] = None,
         limit: Annotated[int, typer.Option("--limit", help="最多几条")] = 50, data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.audit import log

    table = Table("序号", "时间", "操作人", "类型", "对象", "内容")
    for e in log.entries(make_app(data_dir).uow(), actor=SYSTEM, subject=subject, kind=kind, limit=limit):
        table.add_row(str(e.idx), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.kind, e.subject,
                      json.dumps(e.data, ensure_ascii=False))
    console.print(table)


@app.command("reconcile", help="核对事项与拨付表中的企业、金额、状态是否与审计日志最近的记录一致（发现直接改表），"
                                 "不一致时逐条列出，退出码 1。")
@translate_errors
def reconcile(data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.workflow.reconcile import reconcile as compare

    found = compare(make_app(data_dir).uow(), actor=SYSTEM)
    if found.ok:
        _say(f"事项 {found.offers} 条、拨付 {found.payments} 笔均与审计日志一致。")
        return
    _say(f"事项 {found.offers} 条、拨付 {found.payments} 笔中有 {len(found.mismatches)} 处与审计日志不符：")
    for mismatch in found.mismatches:
        _say(f"  - {mismatch}")
    _say("请先运行 zhida audit verify 确认日志本身完好，再按审计日志核对并追查改动。")
    raise typer.Exit(1)
