"""The PostgreSQL server itself crashes (`pg_ctl stop -m immediate`: every server process killed,
no checkpoint, recovery from the WAL at the next start) in the middle of 20 firms' confirmations,
and is started again: every confirmation that was acknowledged is there, none is half there or
twice. The server is a private throwaway cluster (initdb in a temporary directory, a free
loopback port), never the shared test server. As root, the cluster runs as the `postgres` user
(initdb refuses root). If the cluster cannot be made or started the test fails, saying why."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.db import Database, create_engine
from zhida.db import tables as t
from zhida.db.migrate import upgrade
from zhida.errors import ZhidaError
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.packs.cache import load_or_compile
from zhida.published import publish, published_pack
from zhida.workflow.offers import accept, create_offers, transition
from zhida.workflow.states import OfferAction

from ..matching.conftest import AS_OF
from .conftest import CLAUSE, REVIEWER, firm, offers_like

pytestmark = pytest.mark.slow
DEADLINE = 120          # seconds for the decisions, the crash and the restart together


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    log: Path
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> None:
        done = self.ctl("-l", str(self.log), "-w", "-t", "60", "-o",
                        f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}", "start", timeout=90)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(f"the throwaway PostgreSQL cluster did not start: {done.stderr or done.stdout}\n{log}",
                        pytrace=False)

    def crash(self) -> None:
        done = self.ctl("-m", "immediate", "stop")
        assert done.returncode == 0, done.stderr


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    on_path = shutil.which("initdb")
    if found:
        return Path(found[-1]).parent
    if on_path:
        return Path(on_path).parent
    pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or on PATH: "
                "install the server package (apt-get install postgresql) to run this test", pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _binaries()
    root = Path(tempfile.mkdtemp(prefix="zhida-pgcrash-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:                       # initdb refuses root: the cluster is the postgres user's
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.fail("running as root without runuser: cannot start PostgreSQL as the postgres user",
                        pytrace=False)
        as_postgres = [runuser, "-u", "postgres", "--"]
        shutil.chown(root, user="postgres")
    c = Cluster(bin=bin_dir, data=root / "data", port=_free_port(), log=root / "server.log", as_postgres=as_postgres)
    made = subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(c.data), "-A", "trust", "-U", "postgres",
                           "-E", "UTF8", "--locale=C", "--no-sync"], capture_output=True, text=True, timeout=120,
                          check=False)
    if made.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {made.stderr or made.stdout}", pytrace=False)
    try:
        c.start()
        yield c
    finally:
        c.ctl("-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_the_server_crashing_during_twenty_acknowledged_decisions_loses_none(cluster, setup, store, policies):
    engine = create_engine(cluster.url, pool_size=20, max_overflow=0)   # pre-ping: a dead connection is replaced
    db = Database(engine)
    try:
        upgrade(engine)
        publish(db.uow(), policies, actor=SYSTEM)
        documents, mapping = published_pack(db.uow())
        pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
        run = run_match(db.uow(), setup, store, pack, AS_OF, published=mapping)
        (template, *_) = create_offers(db.uow(), run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM)
        for action in (OfferAction.APPROVE, OfferAction.START_NOTICE, OfferAction.CLOSE_NOTICE):
            transition(db.uow(), template.id, action, actor=REVIEWER)
        ids, rows = offers_like(db, template.id, "91330300MA2C", [100_000] * 20)
        uscc = {i: r["uscc"] for i, r in zip(ids, rows, strict=True)}

        acknowledged: set[int] = set()
        before_crash: set[int] = set()
        cut_off = 0
        lock = threading.Lock()
        second_half = threading.Event()
        until = time.monotonic() + DEADLINE

        def decide(offer_id: int) -> None:
            nonlocal cut_off
            if ids.index(offer_id) >= 10:
                second_half.wait(DEADLINE)
            while time.monotonic() < until:
                try:
                    accept(db.uow(), offer_id, actor=firm(uscc[offer_id]), account_name="某公司",
                           account_bank="温州银行", account_no="62220000", pledge=True)
                    with lock:
                        acknowledged.add(offer_id)
                    return
                except ZhidaError:           # the attempt cut off by the crash had committed: done, not twice
                    return
                except sa.exc.DBAPIError:    # no answer (the server is down or recovering): try again
                    with lock:
                        cut_off += 1
                    time.sleep(0.05)

        def crash_mid_way() -> None:
            while len(acknowledged) < 10 and time.monotonic() < until:
                time.sleep(0.005)
            with lock:
                before_crash.update(acknowledged)
            second_half.set()                 # the other ten are on their way as the server dies
            time.sleep(0.01)
            cluster.crash()
            time.sleep(0.5)
            cluster.start()

        crasher = threading.Thread(target=crash_mid_way)
        crasher.start()
        try:
            with ThreadPoolExecutor(max_workers=20) as pool:
                list(pool.map(decide, ids))
        finally:
            second_half.set()
            crasher.join(DEADLINE)
        assert not crasher.is_alive(), "the server was not restarted in time"
        assert time.monotonic() < until, f"the decisions did not finish within {DEADLINE} s of the restart"
        assert len(before_crash) >= 10, "the crash came before the first ten decisions were acknowledged"
        assert cut_off > 0, "no decision met the crash: the test proved nothing"

        with db.uow() as uow:                # read from the restarted server, after recovery
            states = dict(uow.conn.execute(sa.select(t.offers.c.id, t.offers.c.state)
                                           .where(t.offers.c.id.in_(ids))).all())
            accepts = dict(uow.conn.execute(sa.select(t.offer_events.c.offer_id, sa.func.count())
                                            .where(t.offer_events.c.offer_id.in_(ids))
                                            .where(t.offer_events.c.action == "accept")
                                            .group_by(t.offer_events.c.offer_id)).all())
        assert all(states[i] == "confirmed" for i in acknowledged)           # nothing acknowledged is lost
        assert states == {i: "confirmed" for i in ids} and accepts == {i: 1 for i in ids}   # none half, none twice
    finally:
        engine.dispose()
