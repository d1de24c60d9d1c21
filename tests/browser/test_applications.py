"""即申即办 in a real browser: a firm with complete data applies from its match report, puts a
file into its 材料银行, attaches it and is decided the moment it submits; a firm whose profile
lacks a fact declares it on the form, and the department's reviewer rejects with a reason, the
firm corrects and resubmits, the reviewer approves."""

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from zhida.accounts import SYSTEM, Role
from zhida.accounts.demo import DEMO_PASSWORD
from zhida.accounts.service import add_user
from zhida.bootstrap import bootstrap
from zhida.matching.run import load_run, run_results
from zhida.settings import Settings

from .conftest import serve
from .test_pages import log_in, no_serious_violations, shot

CLAUSE = "cn-mof-2017-164-graduate-social-insurance/graduate-si-subsidy"
TITLE = "小微企业吸纳高校毕业生社会保险补贴（单位缴费部分，最长1年）"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def apply_site(city: Path) -> Iterator[str]:
    wired = bootstrap(Settings(data_dir=city))
    try:
        results = run_results(load_run(wired.uow()), wired.data_dir, policies=[CLAUSE.split("/")[0]])
        mine = results.filter(pl.col("clause") == CLAUSE)
        for name, status in (("gradok", "eligible"), ("gradmiss", "unknown")):
            uscc = mine.filter(pl.col("status") == status)["uscc"][0]
            add_user(wired.uow(), username=name, display_name=name, password=DEMO_PASSWORD,
                     roles=[Role.ENTERPRISE], uscc=uscc, actor=SYSTEM)
    finally:
        wired.close()
    yield from serve(Settings(data_dir=city))


def open_application(page: Page, site: str) -> None:
    page.goto(f"{site}/me")
    card = page.locator(".card.item").filter(has_text=TITLE)
    card.get_by_role("button", name="在线申报").click()
    expect(page.get_by_role("heading", name=f"小微企业吸纳高校毕业生社会保险补贴 · {TITLE}")).to_be_visible()


def submit(page: Page) -> None:
    page.get_by_label("开户名称").fill("演示企业有限公司")
    page.get_by_label("开户银行").fill("温州银行")
    page.get_by_label("银行账号").fill("6222021100002222")
    page.get_by_label("本企业承诺").check()
    page.get_by_role("button", name="提交").click()


def test_a_firm_with_complete_data_applies_attaches_a_material_and_is_decided_at_once(
        page: Page, apply_site: str, tmp_path: Path):
    log_in(page, apply_site, "gradok")
    open_application(page, apply_site)
    expect(page.get_by_text("人社_就业补助年度汇总.csv")).to_be_visible()            # where the value came from
    expect(page.get_by_text("提交后即时办结")).to_be_visible()
    no_serious_violations(page)
    shot(page, "application")

    roster = tmp_path / "毕业生花名册.pdf"
    roster.write_bytes(PDF)
    page.goto(f"{apply_site}/me/materials")
    page.get_by_label("选择文件").set_input_files(str(roster))
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("status").or_(page.get_by_text("已存入材料银行"))).to_contain_text("人员名册")
    no_serious_violations(page)

    page.goto(f"{apply_site}/me/applications")
    page.get_by_role("link", name="1", exact=True).click()
    page.get_by_role("button", name="附上").click()
    expect(page.get_by_role("link", name="毕业生花名册.pdf")).to_be_visible()
    submit(page)
    expect(page.get_by_text("已即时办结，资金转入拨付")).to_be_visible()
    expect(page.get_by_text("已通过，转入拨付").first).to_be_visible()
    expect(page.get_by_role("link", name="查看兑现事项与到账情况")).to_be_visible()


def test_a_declared_fact_goes_to_the_reviewer_who_rejects_then_approves(page: Page, apply_site: str):
    log_in(page, apply_site, "gradmiss")
    open_application(page, apply_site)
    expect(page.get_by_text("还缺少以下事实")).to_be_visible()
    page.get_by_placeholder("画像中没有，请填写").first.fill("36000")
    page.get_by_role("button", name="保存自报事实").click()
    expect(page.get_by_text("企业自报").first).to_be_visible()
    submit(page)
    expect(page.get_by_text("日内办结")).to_be_visible()
    address = page.url.split("?")[0]

    page.context.clear_cookies()
    log_in(page, apply_site, "reviewer")
    page.goto(f"{apply_site}/review/applications")
    no_serious_violations(page)
    page.goto(address)
    page.get_by_label("不予通过（企业可修改后重新提交）").check()
    page.get_by_label("理由（不予通过时必填）").fill("缴费额与名册不符")
    page.get_by_role("button", name="办结").click()
    expect(page.get_by_text("缴费额与名册不符")).to_be_visible()

    page.context.clear_cookies()
    log_in(page, apply_site, "gradmiss")
    page.goto(address)
    page.get_by_placeholder("画像中没有，请填写").first.fill("30000")
    page.get_by_role("button", name="保存自报事实").click()
    submit(page)

    page.context.clear_cookies()
    log_in(page, apply_site, "reviewer")
    page.goto(address)
    page.get_by_label("通过（资金转入拨付）").check()
    page.get_by_role("button", name="办结").click()
    expect(page.get_by_text("已通过，资金转入拨付")).to_be_visible()
