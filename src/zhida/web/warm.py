"""Reports made before the first view: a worker process that, after every new run, computes the
match report of each firm with an enterprise account (`zhida.reports.warm_reports`) and keeps it
in the server's report store on disk, where the server's requests find it.

A first view would otherwise compute its report (~0.2–0.4 s of CPU), and a burst of first
views — everyone opening the notice of a new run — would queue behind each other. The worker
is a separate process, so its computing never holds the server's interpreter (and a report
the server is computing meanwhile is not computed twice: zhida.reportstore); it looks again
every `every` seconds (a run made meanwhile, a new account), and stops with the server (or when
the server is gone). Each report it computes is a data use by `system`, with its own purpose.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zhida.settings import Settings

log = logging.getLogger(__name__)


def start(settings: Settings, root: Path, *, every: float = 30.0) -> BaseProcess:
    """Start the worker (spawned: a fresh interpreter, nothing of the server's threads). It
    keeps reports under the server's code version, so that the server reads them."""
    from zhida import reports as firm_reports

    worker = multiprocessing.get_context("spawn").Process(
        target=_work, args=(settings, root, os.getpid(), every, firm_reports.code()), name="zhida-warm-reports",
        daemon=True)
    worker.start()
    return worker


def stop(worker: BaseProcess, timeout: float = 5.0) -> None:
    worker.terminate()    # a report half computed is not written; its data use rolls back with it
    worker.join(timeout)


def _work(settings: Settings, root: Path, server: int, every: float, code: str) -> None:
    from zhida import reports as firm_reports
    from zhida.accounts import SYSTEM
    from zhida.bootstrap import bootstrap
    from zhida.reportstore import ReportStore

    firm_reports.use_code(code)
    wired = bootstrap(settings)
    reports = ReportStore(root, size=1)      # kept on disk; the server reads them from there
    try:
        while os.getppid() == server:
            # no run yet, the store busy…: the server computes first views itself; look again later,
            # saying why this round made nothing (a worker that fails silently is never fixed)
            try:
                firm_reports.warm_reports(wired.uow, wired.schema, wired.zones_dir, reports, actor=SYSTEM,
                                          stop=lambda: os.getppid() != server)
            except Exception:
                log.exception("预先生成企业匹配报告失败，%s 秒后重试", every)
            time.sleep(every)
    finally:
        wired.close()
