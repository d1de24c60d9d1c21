"""政策问答 with its hand-off to a 诉求, a firm's 企业码 and 专用信用报告 in one click each, and the
public verification page of a report, in a real browser."""

import re

from playwright.sync_api import Page, expect

from .test_pages import log_in, no_serious_violations, shot


def test_a_firm_asks_and_hands_an_unanswerable_question_to_a_person(page: Page, site: str):
    log_in(page, site, "firm1")
    page.get_by_role("link", name="政策问答").click()
    expect(page).to_have_url(re.compile(r"/ask$"))
    page.get_by_label("您的问题").fill("稳刚补贴能返多少")
    page.get_by_role("button", name="提问").click()                       # htmx swaps the answer in
    expect(page.get_by_role("heading", name="答复", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile("依据：《失业保险稳岗返还"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("贵企业的情况"))).to_be_visible()
    no_serious_violations(page)
    shot(page, "ask-answer")

    page.get_by_label("您的问题").fill("出口退税多久能到账")
    page.get_by_role("button", name="提问").click()
    expect(page.get_by_role("heading", name="暂不能可靠回答")).to_be_visible()
    page.get_by_role("button", name="转人工：把问题作为诉求提交").click()
    expect(page.get_by_role("status")).to_contain_text("已作为诉求")
    no_serious_violations(page)
    shot(page, "ask-handoff")
    page.get_by_role("link", name=re.compile("查看诉求")).click()
    expect(page).to_have_url(re.compile(r"/enquiries/\d+$"))
    expect(page.get_by_text("出口退税多久能到账").first).to_be_visible()


def test_a_firm_gets_its_code_and_report_and_anyone_verifies_the_report(page: Page, site: str, tmp_path):
    log_in(page, site, "firm1")
    page.get_by_role("link", name="企业码与信用报告").click()
    page.get_by_role("button", name="生成企业码").click()
    expect(page.get_by_role("status")).to_contain_text("企业码已生成")
    expect(page.get_by_role("img", name=re.compile("企业码二维码"))).to_be_visible()
    no_serious_violations(page)
    shot(page, "enterprise-services")
    with page.expect_download() as got:
        page.get_by_role("button", name="出具并下载信用报告（PDF）").click()
    pdf = tmp_path / "report.pdf"
    got.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    page.context.clear_cookies()                                          # a bank clerk, no account
    page.goto(f"{site}/policies")
    page.get_by_role("link", name="信用报告核验").click()
    page.get_by_label("或上传报告 PDF").set_input_files(str(pdf))
    page.get_by_role("button", name="核验").click()
    expect(page.get_by_role("status")).to_contain_text("报告有效")
    expect(page.get_by_role("row", name=re.compile("报告期"))).to_contain_text("至")
    no_serious_violations(page)
    shot(page, "verify-report")

    code = re.search(rb"zhida-seal/v1 (ZCR1\.\S+) ", pdf.read_bytes()).group(1).decode()   # as printed on it
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="核验").click()
    expect(page.get_by_role("status")).to_contain_text("验证码有效")
    start = code.split(".")[2]
    page.get_by_label("验证码").fill(code.replace(f".{start}.", ".2000-01-01.", 1))   # another period
    page.get_by_role("button", name="核验").click()
    expect(page.get_by_role("heading", name=re.compile("无效"))).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("签名不成立")


def test_an_error_shows_where_the_answer_would_have_gone(page: Page, site: str):
    log_in(page, site, "firm1")
    page.goto(f"{site}/ask")
    page.get_by_label("您的问题").fill("   ")                                 # passes `required`, not the service
    page.get_by_role("button", name="提问").click()
    expect(page.get_by_role("alert")).to_contain_text("请先输入问题")          # htmx swapped the 400 in
    expect(page.get_by_role("heading", name="政策问答")).to_be_visible()      # the page itself stayed
    no_serious_violations(page)

    page.context.clear_cookies()                                             # the session is gone
    page.get_by_label("您的问题").fill("高企认定奖励多少钱")
    page.get_by_role("button", name="提问").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/ask$"))
