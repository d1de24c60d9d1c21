"""The public verification page of a 专用信用报告 (no login; SQLite and PostgreSQL, though it reads
no database): a code or the PDF itself says 有效 with the firm, period and date; a tampered code or
file says 无效 with the reason, by the same functions as `zhida credit verify`."""

from __future__ import annotations

import pytest

from zhida.accounts.service import get_user

from .conftest import Site


def issue(site: Site, start: str, end: str) -> tuple[bytes, str]:
    """A report of firm1, issued through its page: the PDF and its verification code."""
    c = site.client("firm1")
    uscc = get_user(site.wired.uow(), "firm1").uscc
    r = c.post(f"/enterprises/{uscc}/credit-report", data={"csrf": c.csrf, "start": start, "end": end})
    assert r.status_code == 200, r.text[:500]
    return r.content, r.headers["x-verification-code"]


@pytest.fixture(scope="module")
def report(site: Site) -> tuple[bytes, str]:
    return issue(site, "2021-01-01", "2024-06-30")


def test_a_pasted_code_is_valid_and_says_for_whom_which_period_and_when(site: Site, report):
    _, code = report
    uscc = get_user(site.wired.uow(), "firm1").uscc
    for r in (site.client().post("/credit/verify", data={"code": code}),
              site.client().get("/credit/verify", params={"code": code})):       # as a scanned link
        assert r.status_code == 200 and "有效" in r.text and "无效" not in r.text
        assert uscc in r.text and "2021-01-01 至 2024-06-30" in r.text and "出具日期" in r.text


def test_an_uploaded_report_is_checked_byte_for_byte_and_names_the_firm(site: Site, report):
    pdf, code = report
    r = site.client().post("/credit/verify", files={"file": ("报告.pdf", pdf, "application/pdf")})
    assert r.status_code == 200 and "文件的每个字节与出具时一致" in r.text and "企业名称" in r.text
    both = site.client().post("/credit/verify", data={"code": code}, files={"file": ("r.pdf", pdf, "application/pdf")})
    assert both.status_code == 200 and "有效" in both.text


@pytest.mark.parametrize("change", [
    lambda code: code.replace("2021-01-01", "2020-01-01"),          # another period
    lambda code: code[:-1] + ("A" if code[-1] != "A" else "B"),     # the signature's last character
    lambda code: code.replace("ZCR1.", "ZCR2."),
])
def test_a_tampered_code_is_invalid_with_the_reason(site: Site, report, change):
    _, code = report
    r = site.client().post("/credit/verify", data={"code": change(code)})
    assert r.status_code == 400 and "无效" in r.text and 'role="alert"' in r.text
    assert any(reason in r.text for reason in ("签名不成立", "编码不规范", "不是本平台的信用报告验证码"))


def test_a_tampered_or_foreign_file_is_invalid_with_the_reason(site: Site, report):
    pdf, _ = report
    middle = len(pdf) // 2
    changed = pdf[:middle] + bytes([pdf[middle] ^ 1]) + pdf[middle + 1:]
    r = site.client().post("/credit/verify", files={"file": ("r.pdf", changed, "application/pdf")})
    assert r.status_code == 400 and "无效" in r.text and "请勿采信" in r.text
    other = site.client().post("/credit/verify", files={"file": ("x.pdf", b"%PDF-1.4 nothing", "application/pdf")})
    assert other.status_code == 400 and "这不是本平台出具的信用报告" in other.text


def test_a_valid_file_with_another_reports_code_is_invalid(site: Site, report):
    pdf, _ = report
    _, other_code = issue(site, "2022-01-01", "2024-06-30")
    r = site.client().post("/credit/verify", data={"code": other_code},
                           files={"file": ("r.pdf", pdf, "application/pdf")})
    assert r.status_code == 400 and "无效" in r.text and "不是同一份报告" in r.text


def test_an_empty_form_asks_for_a_code_or_a_file(site: Site):
    r = site.client().post("/credit/verify", data={"code": " "})
    assert r.status_code == 400 and "请粘贴报告上的验证码" in r.text and "无效" not in r.text
    assert site.client().get("/credit/verify").status_code == 200
