"""`zhida code …` (企业码) and `zhida credit …` (专用信用报告): issue and verify.

Issuing acts for someone (`--as 用户名`; without it the local operator, who may see any firm):
a firm gets its own code and report only. Verifying is public and offline: it reads no database,
only the published verifier key (`--key`, the key text or a file holding it; by default this
machine's own key). A code or report that does not verify exits with status 1.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zhida.cli.context import app as make_app
from zhida.cli.errors import fail, parse_date, translate_errors
from zhida.cli.offer import acting
from zhida.db.uow import UnitOfWork

code_app = typer.Typer(no_args_is_help=True)
credit_app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]
As = Annotated[str | None, typer.Option("--as", help="以该用户身份办理（用户名）；默认本机操作员")]
Uscc = Annotated[str, typer.Argument(help="统一社会信用代码（18 位）")]
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="数据日期 YYYY-MM-DD（默认：最近一次匹配的评估日与今天中较早者）")]
Key = Annotated[str | None, typer.Option(
    "--key", help="签发机关公布的验证公钥（文本，或存放它的文件）；默认本机的密钥")]


def _published(key: str | None, data_dir: Path | None) -> list[str]:
    from zhida.services import signing

    if key is None:
        return [signing.published_key(signing.key_path(make_app(data_dir).data_dir))]
    path = Path(key)
    if path.is_file():
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [key]


def _data_day(uow: UnitOfWork, as_of: str | None, today: date) -> date:
    """The data's date: given, or the latest match run's evaluation date when earlier than today
    (a demo city describes mid-2024), as the firm's match report and profile pages use."""
    from zhida.portal import application_day

    return parse_date(as_of) if as_of else application_day(uow, today)


@code_app.command("issue", help="签发企业码：带签名的二维码，链接到企业的公开页面"
                                "（登记信息、资质认定、经营异常状态）。")
@translate_errors
def code_issue(uscc: Uscc,
               out: Annotated[Path, typer.Option("--out", help="二维码图片 .svg、.png、.pdf 或 .eps")],
               as_of: AsOf = None, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.profiles.registry import load_registry
    from zhida.services import signing
    from zhida.services.enterprise_code import issue_code, write_qr

    a = make_app(data_dir)
    today = date.today()
    signer = signing.load_or_create_signer(signing.key_path(a.data_dir))
    code = issue_code(a.uow(), a.matched_store(), load_registry(), uscc.strip().upper(),
                      actor=acting(a.uow(), username), as_of=_data_day(a.uow(), as_of, today), issued=today,
                      signer=signer, base_url=a.settings.public_url)
    write_qr(code.payload, out, title=f"企业码：{code.page.name}")
    page = code.page
    console.print(f"企业码已写出：{out}（{page.name}，签发日期 {code.issued}）", markup=False)
    console.print(f"链接：{code.payload}", markup=False)
    console.print(f"公开页面（数据截至 {page.as_of}）：", markup=False)
    for fact in page.registration:
        console.print(f"  {fact.label}：{fact.value}", markup=False)
    certs = "、".join(f"{c.label}（{c.since or '—'} 至 {c.until or '长期'}）" for c in page.certifications)
    console.print(f"  资质认定：{certs or '无'}", markup=False)
    licences = "、".join(f"{c.label}{f'（{c.ref}）' if c.ref else ''}（{c.since or '—'} 至 {c.until or '长期'}）"
                         for c in page.licences)
    console.print(f"  行政许可：{licences or '无'}", markup=False)
    for status in page.credit:
        console.print(f"  {status.label}：{status.text}", markup=False)


@code_app.command("verify", help="核验企业码（扫码所得的文本）：签名成立则显示企业与签发日期；"
                                 "被改动则失败（退出码 1）。")
@translate_errors
def code_verify(payload: Annotated[str, typer.Argument(help="企业码内容（二维码中的网址）")],
                key: Key = None, data_dir: DataDir = None) -> None:
    from zhida.services.enterprise_code import verify_code

    v = verify_code(payload, _published(key, data_dir))
    console.print(f"企业码有效：统一社会信用代码 {v.uscc}，签发日期 {v.issued}，签发密钥 {v.key_name}（{v.key_id}）。",
                  markup=False)
    console.print(f"公开页面：{v.url}", markup=False)


@code_app.command("key", help="打印企业码与信用报告的验证公钥（供公布，第三方用它离线核验）。")
@translate_errors
def code_key(data_dir: DataDir = None) -> None:
    from zhida.services import signing

    signer = signing.load_or_create_signer(signing.key_path(make_app(data_dir).data_dir))
    typer.echo(signer.verifier())


@credit_app.command("report", help="一键出具专用信用报告（PDF）：报告期内的经营异常、严重违法失信、"
                                   "行政处罚记录，带验证码。")
@translate_errors
def credit_report(uscc: Uscc,
                  start: Annotated[str, typer.Option("--from", help="报告期起始日 YYYY-MM-DD")],
                  end: Annotated[str, typer.Option("--to", help="报告期截止日 YYYY-MM-DD")],
                  out: Annotated[Path, typer.Option("--out", help="输出的 PDF 文件")],
                  font: Annotated[Path | None,
                                  typer.Option("--font", help="中文字体文件（默认 Debian fonts-noto-cjk）")] = None,
                  as_of: AsOf = None, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.profiles.registry import load_registry
    from zhida.services import signing
    from zhida.services.credit_report import issue_report

    a = make_app(data_dir)
    today = date.today()
    signer = signing.load_or_create_signer(signing.key_path(a.data_dir))
    report = issue_report(a.uow(), a.matched_store(), load_registry(), uscc.strip().upper(), parse_date(start),
                          parse_date(end), actor=acting(a.uow(), username), as_of=_data_day(a.uow(), as_of, today),
                          issued=today, signer=signer, font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(report.pdf)
    c = report.content
    console.print(f"专用信用报告已写出：{out}（{c.name}，报告期 {c.start} 至 {c.end}，{c.records} 条记录）",
                  markup=False)
    console.print(f"验证码：{report.code}", markup=False)


@credit_app.command("verify", help="核验专用信用报告：给 PDF 文件或验证码；内容、日期与签名一致才通过，"
                                   "被改动则失败（退出码 1）。")
@translate_errors
def credit_verify(target: Annotated[str, typer.Argument(help="报告 PDF 文件，或报告上的验证码（ZCR1.…）")],
                  key: Key = None, data_dir: DataDir = None) -> None:
    from zhida.services.credit_report import verify_report_code, verify_report_file

    published = _published(key, data_dir)
    path = Path(target)
    if path.is_file():
        v = verify_report_file(path.read_bytes(), published)
    elif path.suffix.lower() == ".pdf":
        fail(f"找不到文件 {path}", "请给出报告 PDF 的正确路径，或直接给出报告上的验证码（ZCR1.…）。")
    else:
        v = verify_report_code(target, published)
    c = v.code
    name = f"{v.content.name}，" if v.content else ""
    console.print(f"信用报告有效：{name}统一社会信用代码 {c.uscc}，报告期 {c.start} 至 {c.end}，出具日期 {c.issued}，"
                  f"记录 {c.records} 条，签发密钥 {v.key_name}。", markup=False)
    if v.content:
        console.print("文件的每个字节与出具时一致；报告内容与验证码相符。", markup=False)
    else:
        console.print(f"（只核验了验证码：请对照报告上的企业、报告期、出具日期和记录数。内容摘要 "
                      f"{c.digest.hex()}）", markup=False)
