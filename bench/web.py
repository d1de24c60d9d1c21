"""Web benchmark: the enterprise match-report page under concurrent users, over loopback.

    python bench/web.py --enterprises 230000 --users 50 --seconds 30 [--think 2] [--json]

Sets up (once per data directory, default /tmp/zhida-web-bench-<N>) the demo city of N firms
with `zhida run`, then one enterprise account per user bound to a firm of the run, starts
`zhida serve` in its own process, and lets each user log in and open its report (`GET /me`)
again and again for `--seconds`. Every request's latency and status is kept; printed: requests,
throughput, p50 / p95 / p99 and errors (a non-200 answer or a failed connection). With --json
the last line is one JSON object with the keys users, requests, p50_ms, p95_ms, p99_ms, errors,
first_p95_ms (the first view of each firm in this benchmark), rps, think_s, ramp_s and cold.
Unless `--cold`, the setup also computes the users' reports as the server's warm-up worker does
after a run (zhida.portal.warm_reports; kept under <data dir>/reports, so usually already
there): the normal day, a run finished earlier. `--cold` removes the kept reports instead, as
right after a new run: the server's worker computes them while the users arrive, and a firm
that comes first computes its own.
`--think S`: each user reads a page for about S seconds before the next (uniform in
[S/2, 3S/2]), as people do; without it the users ask again at once (a closed-loop stress).
`--ramp S`: the users arrive over S seconds (locust's spawn rate) instead of all in one instant.

`--database-url postgresql+psycopg://…` runs the app on PostgreSQL instead of the embedded
SQLite file (the setup writes there too). The load generator is plain threads with
http.client keep-alive connections: a user waits for each page before asking the next.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

PASSWORD = "bench-web-2026"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=230_000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a user reads a page before the next (uniform in [0.5, 1.5] × this); "
                         "0: closed loop, each user asks again at once")
    ap.add_argument("--ramp", type=float, default=0.0,
                    help="seconds over which the users arrive, evenly spread (as locust's spawn rate); 0: all at once")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--cold", action="store_true",
                    help="remove the reports kept on disk first (as after a new run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = args.data_dir or Path(f"/tmp/zhida-web-bench-{args.enterprises}")
    env = {**os.environ, "ZHIDA_DATA_DIR": str(data)}
    if args.database_url:
        env["ZHIDA_DATABASE_URL"] = args.database_url
    zhida = str(Path(sys.executable).with_name("zhida"))
    usernames = setup(data, args, env, zhida)

    server = subprocess.Popen([zhida, "serve", "--port", str(args.port)], env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until_up(args.port)
        first, steady, errors = load(args.port, usernames, args.seconds, args.think, args.ramp)
    finally:
        server.terminate()
        server.wait(timeout=30)
    everything = first + steady
    q = statistics.quantiles(everything, n=100) if len(everything) >= 2 else [float("nan")] * 99
    figures = {"users": args.users, "enterprises": args.enterprises, "requests": len(everything) + errors,
               "rps": round(len(everything) / args.seconds, 1), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1),
               "p99_ms": round(q[98], 1), "errors": errors,
               "first_p95_ms": round(statistics.quantiles(first, n=20)[18], 1) if len(first) >= 2 else None,
               "database": "postgresql" if args.database_url else "sqlite", "think_s": args.think, "ramp_s": args.ramp,
               "cold": args.cold}
    pace = f"，每页停留约 {args.think:g} 秒" if args.think else "，不停留（闭环压测）"
    pace += "，报告未预先生成（--cold）" if args.cold else ""
    print(f"企业匹配报告页 /me：{args.users} 个并发用户 × {args.seconds:.0f} 秒{pace}，"
          f"{args.enterprises:,} 家企业的城市（{figures['database']}）")
    print(f"  请求 {figures['requests']:,}（{figures['rps']}/秒），错误 {errors}")
    print(f"  延迟 p50 {figures['p50_ms']} ms，p95 {figures['p95_ms']} ms，p99 {figures['p99_ms']} ms；"
          f"每家企业第一次打开 p95 {figures['first_p95_ms']} ms")
    if args.json:
        print(json.dumps(figures))


def setup(data: Path, args: argparse.Namespace, env: dict[str, str], zhida: str) -> list[str]:
    """The demo city, a run, and one enterprise account per user (made once, reused)."""
    from zhida.accounts import SYSTEM, Role
    from zhida.accounts.errors import AccountError
    from zhida.accounts.service import add_user
    from zhida.bootstrap import bootstrap
    from zhida.errors import ZhidaError
    from zhida.matching.run import load_run, run_results
    from zhida.reports import warm_reports
    from zhida.reportstore import ReportStore
    from zhida.settings import Settings

    settings = Settings(data_dir=data, database_url=args.database_url)
    wired = bootstrap(settings)
    try:
        try:
            run = load_run(wired.uow())
        except ZhidaError:   # no run yet: make one
            print(f"准备演示城市（{args.enterprises:,} 家企业）并匹配……", file=sys.stderr)
            subprocess.run([zhida, "run", "--enterprises", str(args.enterprises), "--json"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            run = load_run(wired.uow())
        firms = (run_results(run, wired.data_dir).filter(status="eligible").get_column("uscc").unique().sort()
                 .head(args.users).to_list())
        names = []
        for i, uscc in enumerate(firms):
            name = f"bench{i:03d}"
            with contextlib.suppress(AccountError):   # made by an earlier run of the benchmark
                add_user(wired.uow(), username=name, display_name=f"压测企业{i}", password=PASSWORD,
                         roles=[Role.ENTERPRISE], uscc=uscc, actor=SYSTEM)
            names.append(name)
        if args.cold:
            shutil.rmtree(data / "reports", ignore_errors=True)
        else:
            made = warm_reports(wired.uow, wired.schema, wired.zones_dir, ReportStore(data / "reports"), actor=SYSTEM)
            print(f"预先生成企业匹配报告 {made} 份（其余已生成）", file=sys.stderr)
        return names
    finally:
        wired.close()


def wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/policies")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"zhida serve did not answer on port {port} within {timeout:.0f} s")


def load(port: int, usernames: list[str], seconds: float, think: float = 0.0, ramp: float = 0.0
         ) -> tuple[list[float], list[float], int]:
    first: list[float] = []
    steady: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = threading.Barrier(len(usernames) + 1)

    def view(conn: http.client.HTTPConnection, cookie: str) -> bool:
        conn.request("GET", "/me", headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        return r.status == 200

    def user(name: str, arrives: float) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = urllib.parse.urlencode({"username": name, "password": PASSWORD, "next": "/me"})
        conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        answer.read()
        cookie = (answer.getheader("set-cookie") or "").split(";")[0]
        start.wait()
        deadline, views = time.monotonic() + seconds, 0
        time.sleep(arrives)
        while time.monotonic() < deadline:
            t = time.perf_counter()
            try:
                ok = view(conn, cookie)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed a keep-alive connection left idle (a user reading): reconnect, as
                # browsers do, and ask again
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                t = time.perf_counter()
                try:
                    ok = view(conn, cookie)
                except OSError:
                    ok = False
            except OSError:
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            ms = (time.perf_counter() - t) * 1000
            with lock:
                if not ok:
                    errors += 1
                else:
                    (first if views == 0 else steady).append(ms)
            views += 1
            if think:
                time.sleep(random.uniform(0.5 * think, 1.5 * think))

    threads = [threading.Thread(target=user, args=(n, ramp * i / len(usernames))) for i, n in enumerate(usernames)]
    for th in threads:
        th.start()
    start.wait()
    for th in threads:
        th.join()
    return first, steady, errors


if __name__ == "__main__":
    main()
