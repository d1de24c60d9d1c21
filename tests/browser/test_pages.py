"""Each role's main page in a real browser: the visitor's policy library (search without a
page reload, through htmx), a policy's page, an enterprise's match report after logging in, a
leader's dashboard with its chart; wrong passwords and other roles' pages refused in Chinese;
no serious or critical accessibility violation (axe-core, vendored); screenshots of each."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from zhida.accounts.demo import DEMO_PASSWORD
from zhida.web.assets import VENDOR

from .conftest import SCREENSHOTS


def no_serious_violations(page: Page) -> None:
    assert (VENDOR / "axe.min.js").is_file()
    page.add_script_tag(url="/static/vendor/axe.min.js")   # same origin: the page's CSP forbids inline scripts
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, ensure_ascii=False)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, site: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_a_visitor_searches_the_policy_library_and_reads_a_policy(page: Page, site: str):
    page.goto(f"{site}/")
    expect(page).to_have_url(re.compile(r"/policies$"))
    expect(page.get_by_role("heading", name="政策库")).to_be_visible()
    everything = page.locator(".policies > li").count()
    assert everything >= 10
    page.get_by_label("关键词").fill("稳岗")                      # htmx swaps the list in place
    expect(page.locator(".count")).not_to_have_text(f"共 {everything} 份政策")
    assert 1 <= page.locator(".policies > li").count() < everything
    no_serious_violations(page)
    shot(page, "visitor-policies")
    page.locator(".policies h2 a").first.click()
    expect(page.get_by_role("heading", name=re.compile("条款"))).to_be_visible()
    assert page.locator("section.clause").count() >= 1
    no_serious_violations(page)


def test_an_enterprise_logs_in_and_reads_its_match_report(page: Page, site: str):
    log_in(page, site, "firm1")
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.locator(".total")).to_contain_text("可享受合计")
    expect(page.get_by_role("heading", name=re.compile(r"^可享受（[1-9]"))).to_be_visible()
    no_serious_violations(page)
    shot(page, "enterprise-report")
    page.goto(f"{site}/dashboard")                               # not an enterprise's page
    expect(page.locator(".error")).to_contain_text("需要“查看统计看板”权限")
    page.get_by_role("button", name="退出").click()
    page.goto(f"{site}/me")
    expect(page).to_have_url(re.compile(r"/login\?next=/me$"))


def test_a_wrong_password_is_refused_in_chinese(page: Page, site: str):
    log_in(page, site, "leader", "not-the-password-1")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")


def test_a_leader_sees_the_dashboard_with_its_chart(page: Page, site: str):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, site, "leader")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("#by-policy[data-ready=true] svg")).to_be_visible()
    expect(page.locator("#funnel[data-ready=true] svg")).to_be_visible()
    expect(page.get_by_role("heading", name="兑现进度：匹配 → 通知 → 确认 → 到账")).to_be_visible()
    expect(page.get_by_text("兑现率（已到账 ÷ 匹配符合金额）")).to_be_visible()
    assert page.locator("tbody tr").count() >= 10
    no_serious_violations(page)
    shot(page, "leader-dashboard")


@pytest.mark.parametrize("path", ["/policies", "/static/vendor/htmx.min.js", "/static/zhida.css"])
def test_nothing_is_loaded_from_another_site(page: Page, site: str, path: str):
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(site) else None)
    page.goto(f"{site}{path}")
    page.wait_for_load_state("networkidle")
    assert foreign == []


def test_the_api_answers_with_json_and_problem_details(page: Page, site: str):
    listed = page.request.get(f"{site}/api/policies?q=稳岗")
    assert listed.ok and all("稳岗" in p["title"] + p["summary"] for p in listed.json())
    missing = page.request.get(f"{site}/api/policies/no-such-policy")
    assert missing.status == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert "不存在" in missing.json()["detail"]
    assert page.request.get(f"{site}/api/me/report").status == 401
    spec = page.request.get(f"{site}/api/openapi.json").json()
    assert "/api/policies" in spec["paths"]


def test_templates_reference_no_remote_assets():
    templates = Path(__file__).parents[2] / "src" / "zhida" / "web" / "templates"
    for t in templates.glob("*.html"):
        assert not re.search(r"""(src|href)=["']https?://(?!\{)""", t.read_text(encoding="utf-8")), t.name


ANSWERS = {"企业规模[2023]": "小型", "年度足额缴费月数[2023]": "12", "裁员率[2023]": "1%", "年末参保人数[2023]": "25",
           "名单“严重违法失信名单”": "否", "标签“僵尸企业”": "否", "年度失业保险实缴金额[2023]": "36000"}


def test_a_visitor_uses_the_calculator_and_is_asked_only_what_decides(page: Page, site: str):
    page.goto(f"{site}/calculator?policy=cn-hrss-2024-40-job-retention&as_of=2024-06-30")
    expect(page.get_by_role("heading", name="请回答")).to_be_visible()
    asked = []
    for _ in range(len(ANSWERS) + 1):
        if page.get_by_role("heading", name="已全部测算").count():
            break
        question = page.locator(".question").first
        label = question.locator("label").inner_text()
        asked.append(label)
        field = question.locator("select, input")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(ANSWERS[label])       # htmx re-evaluates on change
        else:
            field.fill(ANSWERS[label])
            page.get_by_role("button", name="测算").click()
        expect(page.locator(".question label", has_text=label)).to_have_count(0)   # answered: not asked again
    expect(page.get_by_role("heading", name="已全部测算")).to_be_visible()
    expect(page.locator(".result.eligible")).to_contain_text("21,600.00元")
    expect(page.locator(".result.ineligible")).to_contain_text("大型企业")
    assert len(asked) == len(set(asked)) <= len(ANSWERS)
    no_serious_violations(page)
    shot(page, "visitor-calculator")
