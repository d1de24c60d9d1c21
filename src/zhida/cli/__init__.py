"""The `zhida` command line: thin shells over service functions."""

from __future__ import annotations

import typer

from zhida.cli import apply, audit, data, db, enquiry, jobs, match, offer, pay, policy, run, serve, services, user

app = typer.Typer(
    name="zhida",
    help="政策直达 Zhida — 政策找企业、免申即享、即申即办。",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(policy.app, name="policy", help="政策规则：校验、测试、单企业测算。")
app.add_typer(data.app, name="data", help="企业画像数据：生成、导入、质量。")
app.add_typer(match.app, name="match", help="匹配服务：全量匹配、复现、企业匹配报告、白名单。")
app.add_typer(db.app, name="db", help="数据库：结构版本与迁移。")
app.add_typer(user.app, name="user", help="用户、角色与部门。")
app.add_typer(offer.app, name="offer", help="免申即享兑现事项：审核、公示、企业确认、逾期。")
app.add_typer(apply.app, name="apply", help="即申即办 / 申报审批：企业申报、材料银行、部门审核。")
app.add_typer(pay.app, name="pay", help="资金拨付：预算、拨付批次、代发文件、银行回单。")
app.add_typer(enquiry.app, name="enquiry", help="诉求：企业提出、部门答复、超时督办、满意度评价。")
app.add_typer(services.code_app, name="code", help="企业码：签发带签名的二维码、核验、公布验证公钥。")
app.add_typer(services.credit_app, name="credit", help="专用信用报告：一键出具带验证码的 PDF、核验。")
app.add_typer(jobs.app, name="jobs", help="后台任务：提醒、逾期处理、批量生成。")
app.add_typer(audit.app, name="audit", help="审计日志：检查点、核验、包含与一致性证明。")
app.command("serve", help="启动网页（默认 http://127.0.0.1:8000）。")(serve.serve)
app.command("run", help="一键运行：演示城市 × 政策包，打印匹配摘要并写出结果。")(run.run)
from zhida.cli import ask  # noqa: E402  (政策问答, docs/assistant.md)

app.command("ask", help="政策问答：回答政策问题并注明出处、有效期；答不了时建议转人工（诉求）。")(ask.ask)


def main() -> None:
    app()
