"""A firm's match report is computed once per run and kept (zhida.reportstore), and every view
of it is still a data use, committed before the report is returned (decision 0022)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from zhida import portal
from zhida import reports as reports_
from zhida.accounts import SYSTEM
from zhida.accounts.service import get_user
from zhida.bootstrap import App
from zhida.matching.report import EnterpriseReport
from zhida.profiles.datause import uses_of_enterprise
from zhida.profiles.datause_writer import DataUseWriter
from zhida.reportstore import ReportStore


def views(wired: App, uscc: str, purpose: str) -> list[str]:
    return [u.actor for u in uses_of_enterprise(wired.uow(), uscc) if u.purpose == purpose]


def show(wired: App, username: str, reports: ReportStore, uses: DataUseWriter | None = None) -> EnterpriseReport:
    return portal.my_report(wired.uow(), wired.schema, wired.zones_dir, actor=get_user(wired.uow(), username),
                            reports=reports, uses=uses)


def test_a_firms_second_view_reads_the_kept_report_and_is_recorded_again(wired: App, tmp_path: Path):
    reports = ReportStore(tmp_path / "reports")
    uses = DataUseWriter(wired.uow)
    firm = get_user(wired.uow(), "firm1")
    before = len(views(wired, firm.uscc, reports_.REPORT_PURPOSE))
    first = show(wired, "firm1", reports, uses)
    again = show(wired, "firm1", reports, uses)
    assert reports.computed == 1 and uses.commits == 1       # computed once; the second view's use by the writer
    assert again.to_dict() == first.to_dict() and first.uscc == firm.uscc
    assert views(wired, firm.uscc, reports_.REPORT_PURPOSE)[:2] == ["firm1", "firm1"]
    assert len(views(wired, firm.uscc, reports_.REPORT_PURPOSE)) == before + 2


def test_kept_reports_are_read_after_a_restart(wired: App, tmp_path: Path):
    first = show(wired, "firm2", ReportStore(tmp_path / "reports"))
    restarted = ReportStore(tmp_path / "reports")            # a new process: nothing in memory
    assert show(wired, "firm2", restarted).to_dict() == first.to_dict()
    assert restarted.computed == 0


def test_concurrent_first_views_of_a_firm_compute_its_report_once(wired: App, tmp_path: Path):
    reports = ReportStore(tmp_path / "reports")
    uses = DataUseWriter(wired.uow)
    firm = get_user(wired.uow(), "firm1")
    before = len(views(wired, firm.uscc, reports_.REPORT_PURPOSE))
    threads = [threading.Thread(target=show, args=(wired, "firm1", reports, uses)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert reports.computed == 1
    assert len(views(wired, firm.uscc, reports_.REPORT_PURPOSE)) == before + 6   # every view recorded


def test_warming_computes_each_account_firms_report_once_as_a_recorded_use(wired: App, tmp_path: Path):
    reports = ReportStore(tmp_path / "reports")
    made = reports_.warm_reports(wired.uow, wired.schema, wired.zones_dir, reports, actor=SYSTEM)
    firm = get_user(wired.uow(), "firm2")
    assert made == 2 and reports.computed == 2              # firm1 and firm2, the demo accounts
    assert views(wired, firm.uscc, reports_.WARM_PURPOSE)[0] == "system"
    assert reports_.warm_reports(wired.uow, wired.schema, wired.zones_dir, reports, actor=SYSTEM) == 0
    show(wired, "firm2", reports)
    assert reports.computed == 2                            # the firm's view read what was warmed


def test_reports_of_another_run_are_not_served_and_are_removed(tmp_path: Path):
    def report(name: str) -> tuple[EnterpriseReport, list[str]]:
        return EnterpriseReport("91330300MA2XXXXXX1", name, date(2024, 6, 30), [], [], [], []), ["revenue"]

    reports = ReportStore(tmp_path / "reports")
    reports.get_or_compute("run-1", "k1", lambda: report("一"))
    older = {p.parent for p in (tmp_path / "reports").rglob("*.pickle")}
    (found, _), computed = ReportStore(tmp_path / "reports").get_or_compute("run-2", "k2", lambda: report("二"))
    assert computed and found.name == "二"
    assert not any(d.exists() for d in older)               # run-1's directory went with run-2's first report


def test_an_unreadable_kept_report_is_computed_again(tmp_path: Path):
    reports = ReportStore(tmp_path / "reports")
    kept = EnterpriseReport("91330300MA2XXXXXX1", "甲", date(2024, 6, 30), [], [], [], []), ["revenue"]
    reports.get_or_compute("run-1", "k1", lambda: kept)
    for p in (tmp_path / "reports").rglob("*.pickle"):
        p.write_bytes(b"not a report")
    fresh = ReportStore(tmp_path / "reports")
    (_, fields), computed = fresh.get_or_compute("run-1", "k1", lambda: kept)
    assert computed and fields == ["revenue"]


@pytest.mark.parametrize("staff", ["leader", "reviewer"])
def test_staff_have_no_own_report(wired: App, tmp_path: Path, staff: str):
    with pytest.raises(portal.NotFound):
        show(wired, staff, ReportStore(tmp_path / "reports"))


def _compute_in_another_process(root: str, started: str) -> None:
    import time as _time

    def slow() -> tuple[EnterpriseReport, list[str]]:
        Path(started).touch()
        _time.sleep(1.0)
        return EnterpriseReport("91330300MA2XXXXXX1", "别的进程", date(2024, 6, 30), [], [], [], []), ["revenue"]

    ReportStore(Path(root)).get_or_compute("run-1", "k1", slow)


def test_a_report_another_process_is_computing_is_waited_for_not_computed_again(tmp_path: Path):
    import multiprocessing

    started = tmp_path / "started"
    other = multiprocessing.get_context("spawn").Process(target=_compute_in_another_process,
                                                         args=(str(tmp_path / "reports"), str(started)))
    other.start()
    for _ in range(300):
        if started.exists():
            break
        threading.Event().wait(0.1)
    assert started.exists(), "the other process did not start computing"
    here = ReportStore(tmp_path / "reports")
    (found, _), computed = here.get_or_compute("run-1", "k1", lambda: pytest.fail("computed twice"))
    other.join(30)
    assert not computed and found.name == "别的进程" and here.computed == 0
