"""The money flow in a real browser, as the people who do it: a reviewer approves the whitelist
and runs the 公示 (with its export), the firm confirms its account and signs the 承诺, one finance
clerk prepares the batch and cannot approve it, a second approves it and downloads the bank
file, the bank's result is uploaded, and the firm sees 已到账."""

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from zhida.accounts import SYSTEM, Role
from zhida.accounts.demo import DEMO_PASSWORD
from zhida.accounts.service import add_user
from zhida.bootstrap import bootstrap
from zhida.cli import app as cli
from zhida.matching.run import load_run
from zhida.profiles.store import ProfileStore
from zhida.settings import Settings
from zhida.workflow.firms import accounts_on_file
from zhida.workflow.offers import create_offers

from .conftest import serve
from .test_pages import log_in, no_serious_violations, shot

CLAUSE = "cn-hrss-2023-job-expansion/expansion-2023-2024"
POLICY = CLAUSE.split("/")[0]


@pytest.fixture(scope="module")
def money_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("money")
    made = CliRunner().invoke(cli, ["run", "--enterprises", "2000", "--json"],
                              env={"ZHIDA_DATA_DIR": str(data), "ZHIDA_DATABASE_URL": None})
    assert made.exit_code == 0, made.output
    wired = bootstrap(Settings(data_dir=data))
    try:
        run = load_run(wired.uow())
        offers = create_offers(wired.uow(), run, wired.data_dir, CLAUSE, department="hrss", actor=SYSTEM,
                               confirm_by=date(2030, 12, 31))
        on_file = accounts_on_file(ProfileStore(Path(run.snapshot.root)), [o.uscc for o in offers], run.as_of)
        uscc = next(o.uscc for o in offers if o.uscc in on_file)          # a firm the bank feed knows
        add_user(wired.uow(), username="firmx", display_name="演示企业X", password=DEMO_PASSWORD,
                 roles=[Role.ENTERPRISE], uscc=uscc, actor=SYSTEM)
        add_user(wired.uow(), username="finance2", display_name="财政复核", password=DEMO_PASSWORD,
                 roles=[Role.FINANCE], actor=SYSTEM)
    finally:
        wired.close()
    gen = serve(Settings(data_dir=data))
    yield next(gen), uscc
    gen.close()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()


def test_from_whitelist_to_paid_in_the_browser(page: Page, money_site: tuple[str, str], tmp_path: Path):
    site, uscc = money_site
    page.set_viewport_size({"width": 1280, "height": 900})

    log_in(page, site, "reviewer")                                    # 人社 reviewer: home is the queue
    expect(page).to_have_url(re.compile(r"/review$"))
    no_serious_violations(page)
    shot(page, "reviewer-queue")
    page.get_by_role("link", name=re.compile("一次性扩岗补助")).click()
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_role("status")).to_contain_text("已审核通过")
    page.get_by_label("公示开始日期").fill("2024-07-01")
    page.get_by_role("button", name="开始公示").click()
    expect(page.get_by_role("status")).to_contain_text("2024-07-01 至 2024-07-05")
    with page.expect_download() as got:
        page.get_by_role("link", name="CSV").click()
    exported = tmp_path / got.value.suggested_filename
    got.value.save_as(exported)
    with exported.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["序号", "企业名称", "统一社会信用代码"] and any(r[2] == uscc for r in rows[1:])
    page.get_by_role("button", name="结束公示，通知企业确认").click()
    expect(page.get_by_role("status")).to_contain_text("公示已结束")
    log_out(page)

    log_in(page, site, "firmx")                                       # the firm: inbox, then confirm
    page.get_by_role("link", name="消息").click()
    expect(page.locator(".card").first).to_contain_text("政策资金待确认")
    page.get_by_role("link", name="办理").first.click()
    page.get_by_label("开户名称").fill("演示企业X")
    page.get_by_label("开户银行").fill("温州银行鹿城支行")
    page.get_by_label("银行账号").fill("6222 0000 1234 5678")
    page.locator("#pledge").check()
    no_serious_violations(page)
    shot(page, "enterprise-confirm")
    page.get_by_role("button", name="确认领取").click()
    expect(page.get_by_role("status")).to_contain_text("已确认领取")
    expect(page.locator(".tag").first).to_have_text("已确认，待拨付")
    log_out(page)

    log_in(page, site, "finance")                                     # the preparer
    expect(page).to_have_url(re.compile(r"/finance$"))
    page.get_by_label("政策编号").fill(POLICY)
    page.get_by_label("年度").fill("2024")
    page.get_by_label("金额（元）").fill("100000")
    page.get_by_role("button", name="下达").click()
    expect(page.get_by_role("status")).to_contain_text("已下达")
    page.get_by_role("button", name="编制拨付批次").click()
    expect(page.get_by_role("status")).to_contain_text("已编制拨付批次")
    page.get_by_role("button", name="审批").click()                   # the preparer cannot approve
    expect(page.get_by_role("alert")).to_contain_text("编制人不能审批自己的批次")
    log_out(page)

    log_in(page, site, "finance2")                                    # the approver
    page.get_by_role("button", name="审批").click()
    expect(page.get_by_role("status")).to_contain_text("已审批")
    no_serious_violations(page)
    shot(page, "finance-desk")
    with page.expect_download() as got:
        page.get_by_role("link", name="下载代发文件").click()
    bank_file = tmp_path / "bank.xlsx"
    got.value.save_as(bank_file)
    sheet = openpyxl.load_workbook(bank_file).active
    header, *lines = [[str(c.value or "") for c in row] for row in sheet.iter_rows()]
    assert header == ["序号", "收款户名", "收款账号", "开户行", "金额（元）", "用途", "业务参考号"]
    assert [(r[1], r[2]) for r in lines] == [("演示企业X", "6222000012345678")]
    result = tmp_path / "回单.csv"
    with result.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["业务参考号", "金额", "结果", "失败原因"], [lines[0][6], lines[0][4], "成功", ""]])
    page.get_by_label("回单文件").set_input_files(str(result))
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("status")).to_contain_text("到账 1 笔")
    log_out(page)

    log_in(page, site, "firmx")                                       # the firm sees the money arrive
    page.get_by_role("link", name="兑现事项").click()
    page.locator(".policies h2 a").first.click()
    expect(page.get_by_role("status")).to_contain_text("资金已到账")
    expect(page.locator(".tag").first).to_have_text("已到账")
    shot(page, "enterprise-paid")


def test_a_policy_officer_edits_checks_and_publishes_in_the_workbench(page: Page, money_site: tuple[str, str]):
    site, _ = money_site
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, site, "policy")
    page.goto(f"{site}/workbench?policy=cn-hrss-2024-40-job-retention")
    expect(page.locator("#checks")).to_contain_text("没有发现问题")          # checked as the page loads
    expect(page.locator("#checks")).to_contain_text("没有变化")
    editor = page.get_by_label("cn-hrss-2024-40-job-retention.yaml")
    original = editor.input_value()
    editor.fill(original.replace('param("layoff_target")', 'param("layoff_targett")', 1))
    expect(page.locator("#checks .error").first).to_contain_text("layoff_targett")   # live lint, in Chinese
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#checks")).to_contain_text("个错误")                  # refused, nothing published
    page.goto(f"{site}/workbench?policy=cn-hrss-2024-40-job-retention")
    editor = page.get_by_label("cn-hrss-2024-40-job-retention.yaml")
    title = "title: 失业保险稳岗返还（2022—2025年度）"
    editor.fill(original.replace(title, title.replace("年度）", "年度，修订）"), 1))
    expect(page.locator("#checks")).to_contain_text("政策：修改了 title")
    no_serious_violations(page)
    shot(page, "policy-workbench")
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_role("status")).to_contain_text("已发布新版本")
    page.goto(f"{site}/policies/cn-hrss-2024-40-job-retention")
    expect(page.get_by_role("heading", level=1)).to_have_text("失业保险稳岗返还（2022—2025年度，修订）")


def test_a_policy_officer_tries_a_draft_in_the_sandbox_before_publishing(page: Page, money_site: tuple[str, str]):
    site, _ = money_site
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, site, "policy")
    page.goto(f"{site}/workbench?policy=cn-hrss-2024-40-job-retention")
    editor = page.get_by_label("cn-hrss-2024-40-job-retention.yaml")
    draft = editor.input_value().replace("      2022-01-01: 60%\n  ceiling_large:",
                                         "      2022-01-01: 50%\n  ceiling_large:", 1)
    assert draft != editor.input_value()
    editor.fill(draft)                                                  # 中小微企业 60% → 50%
    page.get_by_role("button", name="试算（政策沙盘）").click()
    sandbox = page.locator("#sandbox")
    expect(sandbox).to_contain_text("政策沙盘（试算，不发布）")
    expect(sandbox).to_contain_text("金额减少")                          # every SME gets less than in force
    expect(sandbox).to_contain_text("不再受益 0 家")
    expect(page.locator(".sandbox-chart[data-ready=true] svg").first).to_be_visible()   # by 区县 / 行业 / 规模
    expect(page.locator(".sandbox")).to_have_count(1)
    no_serious_violations(page)
    shot(page, "policy-sandbox")
