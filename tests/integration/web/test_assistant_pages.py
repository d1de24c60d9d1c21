"""政策问答 over the web (SQLite and PostgreSQL): a firm's answer cites the clause, its source and
validity and adds the firm's own status; an out-of-scope question offers the hand-off, which the
firm's account turns into a 诉求 routed to the department and linked from the answer."""

from __future__ import annotations

import re

from zhida.accounts.service import get_user
from zhida.profiles.datause import uses_of_enterprise
from zhida.reports import REPORT_PURPOSE
from zhida.workflow import enquiries as enq

from .conftest import Site

HTMX = {"HX-Request": "true"}


def test_a_firm_gets_the_clause_its_source_validity_and_its_own_status(site: Site):
    firm = get_user(site.wired.uow(), "firm1")
    before = [u for u in uses_of_enterprise(site.wired.uow(), firm.uscc) if u.purpose == REPORT_PURPOSE]
    c = site.client("firm1")
    r = c.post("/ask", data={"question": "稳刚补贴能返多少", "csrf": c.csrf}, headers=HTMX)
    assert r.status_code == 200 and "<html" not in r.text                  # the fragment htmx swaps in
    assert "已按“稳岗" in r.text or "稳岗返还" in r.text                     # the typo read as 稳岗
    assert "依据：《失业保险稳岗返还" in r.text and "人社部发〔2024〕40号" in r.text
    assert re.search(r"该政策(现行有效|已于 .* 失效)", r.text)
    assert "贵企业的情况" in r.text and "转人工" not in r.text
    after = [u for u in uses_of_enterprise(site.wired.uow(), firm.uscc) if u.purpose == REPORT_PURPOSE]
    assert len(after) == len(before) + 1                                   # reading its report is a data use


def test_the_page_works_without_javascript(site: Site):
    c = site.client("firm1")
    page = c.get("/ask")
    assert page.status_code == 200 and 'hx-post="/ask"' in page.text and 'href="/ask"' in page.text
    r = c.post("/ask", data={"question": "高企认定奖励多少钱", "csrf": c.csrf})
    assert r.status_code == 200 and "<html" in r.text and "相关政策条款" in r.text


def test_an_out_of_scope_question_is_handed_off_as_the_firms_enquiry(site: Site):
    firm = get_user(site.wired.uow(), "firm1")
    c = site.client("firm1")
    r = c.post("/ask", data={"question": "出口退税多久能到账", "csrf": c.csrf}, headers=HTMX)
    assert r.status_code == 200 and "暂不能可靠回答" in r.text and "转人工：把问题作为诉求提交" in r.text
    assert "贵企业的情况" not in r.text

    done = c.post("/ask/handoff", data={"question": "出口退税多久能到账", "csrf": c.csrf}, headers=HTMX)
    assert done.status_code == 200 and "已转人工" in done.text and "转税务局办理" in done.text   # named, not a code
    number = int(re.search(r'href="/enquiries/(\d+)"', done.text).group(1))
    e = enq.get_enquiry(site.wired.uow(), number, actor=firm)
    assert (e.uscc, e.text, e.source, e.department, e.state) == (firm.uscc, "出口退税多久能到账", "assistant", "tax",
                                                                  "open")
    assert c.get(f"/enquiries/{number}").status_code == 200                  # the link opens it

    plain = c.post("/ask/handoff", data={"question": "出口退税多久能到账", "csrf": c.csrf}, allow_redirects=False)
    assert plain.status_code == 303 and re.match(r"/enquiries/\d+\?ok=", plain.headers["location"])


def test_staff_may_ask_but_only_a_firm_hands_off_and_a_forged_post_is_refused(site: Site):
    reviewer = site.client("reviewer")
    r = reviewer.post("/ask", data={"question": "出口退税多久能到账", "csrf": reviewer.csrf}, headers=HTMX)
    assert r.status_code == 200 and "转人工" in r.text and 'action="/ask/handoff"' not in r.text
    refused = reviewer.post("/ask/handoff", data={"question": "出口退税多久能到账", "csrf": reviewer.csrf})
    assert refused.status_code == 403 and "只有企业账号可以提交诉求" in refused.text

    firm = site.client("firm2")
    mine = len(enq.mine(site.wired.uow(), actor=get_user(site.wired.uow(), "firm2")))
    forged = firm.post("/ask/handoff", data={"question": "出口退税多久能到账", "csrf": "not-the-token"})
    assert forged.status_code in (400, 401, 403) and "CSRF" in forged.text
    assert len(enq.mine(site.wired.uow(), actor=get_user(site.wired.uow(), "firm2"))) == mine


def test_the_question_box_needs_a_login(site: Site):
    r = site.client().get("/ask", allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_an_error_in_a_part_of_a_page_comes_back_as_a_message_htmx_shows(site: Site):
    """htmx swaps 4xx answers too (base.html): the error is a fragment with role=alert, not a
    whole page inside the page; an expired session sends the whole page to the login form."""
    c = site.client("firm1")
    r = c.post("/ask", data={"question": "   ", "csrf": c.csrf}, headers=HTMX)
    assert r.status_code == 400 and "<html" not in r.text
    assert 'role="alert"' in r.text and "请先输入问题" in r.text
    full = c.post("/ask", data={"question": "   ", "csrf": c.csrf})
    assert full.status_code == 400 and "<html" in full.text and "请先输入问题" in full.text   # without JavaScript
    c.cookies.clear()
    expired = c.post("/ask", data={"question": "高企认定奖励多少钱", "csrf": c.csrf},
                     headers={**HTMX, "HX-Current-URL": "http://testserver/ask"})
    assert expired.status_code == 204 and expired.headers["HX-Redirect"] == "/login?next=/ask"
