"""A firm's 企业码 and 专用信用报告 from its pages, one click each (SQLite and PostgreSQL): the code
and the PDF verify with the published key; another firm's request is refused and nothing is
recorded; a report refused for missing credit data is a message on the page, not an error page."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pytest

from zhida.accounts import SYSTEM
from zhida.accounts.service import get_user
from zhida.audit import log as audit_log
from zhida.services import signing
from zhida.services.credit_report import verify_report_file
from zhida.services.enterprise_code import verify_code

from .conftest import Site, serve, settings_of

HTMX = {"HX-Request": "true"}


def published(site: Site) -> list[str]:
    return [signing.published_key(signing.key_path(site.wired.data_dir))]


def issued(site: Site, uscc: str) -> list[str]:
    """The kinds of every audit entry about the firm (issues of codes and reports among them)."""
    return [e.kind for e in audit_log.entries(site.wired.uow(), actor=SYSTEM, subject=f"enterprise:{uscc}",
                                             limit=10_000)]


def test_a_firm_issues_its_code_in_one_click_and_it_verifies(site: Site):
    firm = get_user(site.wired.uow(), "firm1")
    c = site.client("firm1")
    page = c.get("/me/services")
    assert page.status_code == 200 and f'action="/enterprises/{firm.uscc}/code"' in page.text
    assert 'href="/me/services"' in page.text                                # in the firm's navigation
    r = c.post(f"/enterprises/{firm.uscc}/code", data={"csrf": c.csrf}, headers=HTMX)
    assert r.status_code == 200 and "企业码已生成" in r.text
    png = re.search(r'<img src="data:image/png;base64,([^"]+)"', r.text)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
    payload = re.search(r'<a href="([^"]+/e/[^"]+)">打开公开页面', r.text).group(1).replace("&amp;", "&")
    v = verify_code(payload, published(site))
    assert (v.uscc, v.issued) == (firm.uscc, date.today())
    opened = c.get(payload.removeprefix(site.url))                           # the public page it opens
    assert opened.status_code == 200 and "登记状态" in opened.text and "行政许可（有效期内）" in opened.text
    full = c.post(f"/enterprises/{firm.uscc}/code", data={"csrf": c.csrf})   # without JavaScript: the whole page
    assert full.status_code == 200 and "<html" in full.text and "重新生成企业码" in full.text


def test_a_firm_downloads_its_credit_report_and_the_file_verifies(site: Site):
    firm = get_user(site.wired.uow(), "firm1")
    c = site.client("firm1")
    r = c.post(f"/enterprises/{firm.uscc}/credit-report",
               data={"csrf": c.csrf, "start": "2021-01-01", "end": "2024-06-30"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    assert "专用信用报告" in unquote(r.headers["content-disposition"])
    v = verify_report_file(r.content, published(site))
    assert (v.code.uscc, v.code.start, v.code.end, v.code.issued) == (firm.uscc, date(2021, 1, 1),
                                                                      date(2024, 6, 30), date.today())
    assert v.content is not None and v.content.as_of == date(2024, 6, 30)   # the demo city's data date
    assert "credit_report.issue" in issued(site, firm.uscc)


def test_a_firm_cannot_get_another_firms_code_or_report_and_nothing_is_recorded(site: Site):
    other = get_user(site.wired.uow(), "firm2").uscc
    before = issued(site, other)
    c = site.client("firm1")
    code = c.post(f"/enterprises/{other}/code", data={"csrf": c.csrf}, headers=HTMX)
    report = c.post(f"/enterprises/{other}/credit-report", data={"csrf": c.csrf})
    for refused in (code, report):
        assert refused.status_code == 403 and "不能查看或办理企业" in refused.text
        assert "%PDF" not in refused.text and "data:image/png" not in refused.text
    assert issued(site, other) == before


def test_staff_without_a_firm_have_no_services_page(site: Site):
    assert site.client("finance").get("/me/services").status_code == 404


@pytest.fixture(scope="module")
def before_the_credit_data(request: pytest.FixtureRequest, city: Path) -> Iterator[Site]:
    """The app on a day before the credit list was ever loaded (SQLite: the refusal comes before any write)."""
    yield from serve(settings_of("sqlite", city, None), today=lambda: date(2020, 1, 1))


def test_a_report_without_fresh_credit_data_is_refused_with_a_message_on_the_page(before_the_credit_data: Site):
    site = before_the_credit_data
    firm = get_user(site.wired.uow(), "firm1")
    before = issued(site, firm.uscc)
    c = site.client("firm1")
    r = c.post(f"/enterprises/{firm.uscc}/credit-report", data={"csrf": c.csrf})   # the default period
    assert r.status_code == 409 and r.headers["content-type"].startswith("text/html")
    assert "暂时无法出具报告" in r.text and "未导入或已超过更新期限" in r.text
    assert "无法完成请求" not in r.text                                           # not the error page
    assert 'value="2017-01-01"' in r.text and 'value="2020-01-01"' in r.text   # the form, kept for another try
    assert issued(site, firm.uscc) == before
