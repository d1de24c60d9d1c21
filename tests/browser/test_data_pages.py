"""The data officer's pages in a real browser (数据管理): every registered source with its
freshness and quality, then one source's quarantined rows — the very defects the demo city's
generator injected into its feeds; a firm is refused in Chinese. No serious or critical
accessibility violation; screenshots of each page."""

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from zhida.profiles.registry import load_registry

from .test_pages import log_in, no_serious_violations, shot


def test_a_data_officer_sees_every_source_and_the_rows_a_feed_had_quarantined(page: Page, site: str, city: Path):
    log_in(page, site, "data")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="数据管理").click()
    expect(page).to_have_url(re.compile(r"/data$"))
    expect(page.get_by_role("heading", name="数据管理", level=1)).to_be_visible()
    sources = page.get_by_role("table", name=re.compile("各数据来源的新鲜度"))
    expect(sources.get_by_role("rowheader")).to_have_count(len(load_registry().sources))
    market = sources.get_by_role("row", name=re.compile("市场监管"))
    expect(market.locator(".tag")).to_have_text("正常")
    expect(market).to_contain_text("时限 35 天")
    expect(sources.get_by_role("row", name=re.compile("已获资金"))).to_contain_text("未导入")
    expect(page.get_by_role("table", name="各来源最近的导入批次")).to_contain_text("市场监管_企业登记信息.csv")
    no_serious_violations(page)
    shot(page, "data-sources")

    sources.get_by_role("link", name="市场监管").click()
    expect(page).to_have_url(re.compile(r"/data/source/market$"))
    expect(page.get_by_role("heading", name=re.compile("^市场监管"), level=1)).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("全部导入批次"))).to_contain_text("市场监管_企业登记信息.csv")
    quarantined = page.get_by_role("table", name=re.compile("被隔离的行：按文件"))
    [manifest] = city.glob("demo-city/*/manifest.json")
    injected = json.loads(manifest.read_text(encoding="utf-8"))["feeds"]["market"]["defects"]
    assert injected
    expect(quarantined.get_by_role("rowheader", name="文件：市场监管_企业登记信息.csv")).to_be_visible()
    for defect in injected:                                  # every injected defect, by row number and column
        row = re.compile("^" + re.escape(f"{defect['row']} {defect['column']}"))
        expect(quarantined.get_by_role("row", name=row)).to_have_count(1)
    no_serious_violations(page)
    shot(page, "data-source-market")


def test_a_firm_is_refused_the_data_pages_in_chinese(page: Page, site: str):
    log_in(page, site, "firm1")
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="数据管理")).to_have_count(0)
    response = page.goto(f"{site}/data")
    assert response is not None and response.status == 403
    expect(page.locator(".error")).to_contain_text("需要“管理部门数据”权限")
    response = page.goto(f"{site}/data/source/market")
    assert response is not None and response.status == 403
