"""A firm's own profile with each value's source and who used its data; a 诉求 raised by the
firm, answered by the department and closed with a rating; the auditor's log verification."""

import re

from playwright.sync_api import Page, expect

from .test_pages import log_in, no_serious_violations, shot


def test_a_firm_sees_where_each_value_came_from_and_who_used_its_data(page: Page, site: str):
    log_in(page, site, "firm1")
    page.goto(f"{site}/me/profile")
    expect(page.get_by_role("heading", name="本企业画像")).to_be_visible()
    expect(page.get_by_role("columnheader", name="这条数据来自哪里")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text("导入")
    expect(page.get_by_text("企业查看本企业画像").first).to_be_visible()        # this very view, recorded
    no_serious_violations(page)
    shot(page, "enterprise-profile")


def test_a_request_is_answered_by_the_department_and_closed_with_a_rating(page: Page, site: str):
    log_in(page, site, "firm1")
    page.goto(f"{site}/me/enquiries")
    page.get_by_label("遇到了什么问题？涉及哪项政策或资金？").fill("稳岗返还什么时候到账？")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_contain_text("已提交，转人力资源和社会保障局办理")  # its name, not its code
    expect(page.get_by_text("承办部门 人力资源和社会保障局")).to_be_visible()
    address = page.url.split("?")[0]
    no_serious_violations(page)

    page.context.clear_cookies()
    log_in(page, site, "reviewer")
    page.goto(f"{site}/review/enquiries")
    expect(page.get_by_text("稳岗返还什么时候到账？")).to_be_visible()
    page.goto(address)
    page.get_by_label("答复内容").fill("已于本月拨付，请查收。")
    page.get_by_role("button", name="答复").click()
    expect(page.get_by_text("已于本月拨付，请查收。")).to_be_visible()

    page.context.clear_cookies()
    log_in(page, site, "firm1")
    page.goto(address)
    page.get_by_label("满意度").select_option("5")
    page.get_by_role("button", name="办结").click()
    expect(page.get_by_text("满意度 5 分")).to_be_visible()


def test_an_auditor_verifies_the_log_in_the_browser(page: Page, site: str):
    log_in(page, site, "leader")
    page.get_by_role("link", name="审计核验").click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    expect(page.get_by_role("status")).to_contain_text("审计日志完好")
    no_serious_violations(page)


def test_a_scanned_enterprise_code_opens_the_firms_public_page_and_a_tampered_one_is_refused(page: Page, site: str,
                                                                                              city):
    from datetime import date

    from zhida.accounts.service import get_user
    from zhida.bootstrap import bootstrap
    from zhida.services import signing
    from zhida.services.enterprise_code import payload_for
    from zhida.settings import Settings

    wired = bootstrap(Settings(data_dir=city))
    uscc = get_user(wired.uow(), "firm1").uscc                            # a firm of the demo city
    wired.close()
    signer = signing.load_or_create_signer(signing.key_path(city))
    payload = payload_for(site, uscc, date(2024, 6, 30), signer)
    page.goto(payload)
    expect(page.get_by_role("status")).to_contain_text("企业码核验通过")
    expect(page.get_by_role("heading", name="信用状况")).to_be_visible()
    no_serious_violations(page)
    shot(page, "enterprise-code")
    page.goto(payload.replace("d=2024-06-30", "d=2024-06-29"))
    expect(page.get_by_role("heading", name="企业码核验未通过")).to_be_visible()
