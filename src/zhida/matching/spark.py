"""The Spark engine: the same compiled rules, run on partitions of the population (decision 0019).

A run on Spark gives what an embedded run gives — the same results, dictionaries and digest —
so that `record_run` stores and records it exactly as it does an embedded run:

1. the enterprises are range-partitioned by USCC (`repartitionByRange`): partition i holds a
   contiguous run of sorted codes, below those of partition i + 1;
2. each partition is one `mapInArrow` task: it builds its own frame (from the profile store's
   Parquet files, only its enterprises' rows — `population_frame(usccs=…)`, exact by
   construction — or takes the rows of a frame written as Parquet), and runs
   `match_codes` on it with the compiled pack, shipped once as a broadcast and restored once
   per Python worker (`_pack`);
3. the task writes its coded results (enterprise codes local to the partition) and its
   enterprises as Arrow files under a staging directory shared with the driver, and returns
   one summary row;
4. the driver numbers the enterprises: partition i's local code k is global code
   offset(i) + k, offset(i) the number of enterprises of the partitions before it. No task
   sees more than its own partition; the driver sees counts, then reads the files into the
   run's single results file (decision 0007), in (clause, enterprise) order.

Only `zhida match run --engine spark`, the tests and the benchmark import this module, and it
imports PySpark inside its functions: the embedded engine never needs PySpark or Java.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from zhida.matching.errors import MatchError
from zhida.matching.evaluate import CODED_SCHEMA, Matched, Progress, by_key, clause_table, match_codes, size_column
from zhida.matching.run import population_frame
from zhida.packs.state import dumps, loads, restore, state_of
from zhida.profiles.facts import FactView
from zhida.profiles.registry import load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.evaluate.engine import CompiledPolicies
from zhida.rules.lang.frame import ID_COLUMN
from zhida.rules.lang.schema import Schema

if TYPE_CHECKING:
    from pyspark.broadcast import Broadcast
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
DESCRIPTIVE = ("enterprise_name", "district_code", "industry_code")  # and the size column (evaluate.size_column)
SUMMARY = pa.schema([("part", pa.int32()), ("enterprises", pa.int64()), ("results", pa.int64()),
                     ("pack_s", pa.float64()), ("frame_s", pa.float64()), ("match_s", pa.float64()),
                     ("write_s", pa.float64())])
LOG4J = """\
rootLogger.level = error
logger.shell.name = org.apache.spark.api.python.PythonGatewayServer
logger.shell.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


class SparkUnavailable(MatchError):
    """PySpark or Java is missing: the Spark engine cannot start."""


def spark_session(master: str = "local[2]", *, driver_memory: str = "1g", shuffle_partitions: int = 4,
                  app_name: str = "zhida match") -> SparkSession:
    """A quiet session (errors only, no progress bars, no web UI). On a local master the
    Python workers are this interpreter, and each task's Polars uses one thread per task CPU
    (Spark runs as many tasks at once as there are cores)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise SparkUnavailable(f"Spark 引擎需要 PySpark（{e}）：pip install -c constraints.txt -e '.[spark]'，"
                               "并安装 Java 17。") from e
    if master.startswith("local") and not shutil.which("java"):
        raise SparkUnavailable("Spark 引擎需要 Java 17：找不到 java 命令；请安装 JDK 17（或把它加入 PATH）。")
    log4j = Path(tempfile.gettempdir()) / f"zhida-spark-{hashlib.sha256(LOG4J.encode()).hexdigest()[:12]}.properties"
    if not log4j.exists():
        tmp = log4j.with_name(f".{log4j.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(LOG4J)
        os.replace(tmp, log4j)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.driver.memory", driver_memory)
               .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.executorEnv.POLARS_MAX_THREADS", "1"))
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    spark = builder.getOrCreate()
    if master.startswith("local"):
        # the Python workers run this interpreter (PySpark otherwise takes $PYSPARK_PYTHON or `python3`,
        # which on a fresh machine is not the one zhida is installed in); read when a function is shipped
        spark.sparkContext.pythonExec = sys.executable
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def spark_engine(master: str, staging: Path, *, partitions: int | None = None) -> Iterator[SparkEngine]:
    """A Spark engine on its own session, stopped on exit (for one run from the command line)."""
    spark = spark_session(master)
    try:
        yield SparkEngine(spark, staging, partitions)
    finally:
        spark.stop()


@dataclass(frozen=True)
class SparkEngine:
    """zhida.matching.run.Engine on a Spark session. `staging` must be readable and writable
    by the driver and every executor under the same path (a local directory for `local[N]`;
    a shared file system on a cluster, where the profile store and zones must be too).
    `partitions`: how many range partitions (default: the session's parallelism)."""

    spark: SparkSession
    staging: Path
    partitions: int | None = None

    def match(self, store: ProfileStore, compiled: CompiledPolicies, as_of: date, *,
              zones_dir: Path | None = None, near_misses: str | Collection[int] = "marked",
              progress: Progress | None = None) -> tuple[pl.DataFrame, Matched]:
        """(the run's descriptive frame — uscc, name, district, industry, size columns — and
        its coded results), from the profile store: the enterprises of the population
        batches (as FactView.population reads them), each partition's frame built by its task."""
        if compiled.as_of != as_of:
            raise ValueError(f"the pack was compiled for {compiled.as_of}, not for {as_of}")
        facts = [str(store.batch_dir(b.id) / "facts.parquet")
                 for b in FactView(store, load_registry(), as_of).population_batches()]
        usccs = self.spark.read.parquet(*facts).select(ID_COLUMN) if facts else None
        return self._run(usccs, compiled, _Job(as_of, near_misses, store=store, zones_dir=zones_dir), progress)

    def match_frame(self, path: Path, compiled: CompiledPolicies, *, near_misses: str | Collection[int] = "marked",
                    progress: Progress | None = None) -> tuple[pl.DataFrame, Matched]:
        """The same from a population frame written as Parquet (a file or a directory of
        `*.parquet` files, e.g. one per range of USCCs): what benchmarks and tests feed it.
        Each task restores the frame's Polars types (Spark has no Categorical or unsigned)."""
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        dtypes = dict(pl.scan_parquet(files).collect_schema())
        rows = self.spark.read.parquet(*map(str, files))
        return self._run(rows, compiled, _Job(compiled.as_of, near_misses, dtypes=dtypes), progress)

    def _run(self, rows: DataFrame | None, compiled: CompiledPolicies, job: _Job,
             progress: Progress | None) -> tuple[pl.DataFrame, Matched]:
        compiled = by_key(compiled)
        if progress:
            progress("match", 0, 1)
        t = time.perf_counter()
        payload = dumps(state_of(compiled.policies, compiled, documents=True))
        log.info("pack serialised: %.1f MB in %.1f s", len(payload) / 2**20, time.perf_counter() - t)
        staging = self.staging / f"spark-{uuid.uuid4().hex[:12]}"
        staging.mkdir(parents=True)
        job = dataclasses.replace(job, key=hashlib.sha256(payload).hexdigest(), staging=str(staging))
        pack = self.spark.sparkContext.broadcast(
            (payload, compiled.schema, [p.source for p in compiled.policies]))
        try:
            t = time.perf_counter()
            summaries = [] if rows is None else (
                rows.repartitionByRange(self.partitions or self.spark.sparkContext.defaultParallelism, ID_COLUMN)
                .mapInArrow(partial(_partition, job, pack), _spark_schema(SUMMARY)).collect())
            log.info("Spark job: %.1f s", time.perf_counter() - t)
            for r in sorted(summaries, key=lambda r: int(r["part"])):
                log.info("partition %d: %d enterprises, %d results; pack %.1f s, frame %.1f s, match %.1f s, "
                         "write %.1f s", r["part"], r["enterprises"], r["results"], r["pack_s"], r["frame_s"],
                         r["match_s"], r["write_s"])
            if progress:
                progress("match", 1, 1)
            t = time.perf_counter()
            assembled = _assemble(staging, sorted((int(r["part"]), int(r["enterprises"])) for r in summaries),
                                  compiled, _descriptive_schema(compiled.as_of))
            log.info("results assembled: %.1f s", time.perf_counter() - t)
            return assembled
        finally:
            pack.destroy()
            shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class _Job:
    """What every task of a run needs besides the pack (pickled with the task)."""

    as_of: date
    near_misses: str | Collection[int]
    store: ProfileStore | None = None             # build each partition's frame from the store …
    zones_dir: Path | None = None
    dtypes: dict[str, pl.DataType] | None = None  # … or take the rows given, with these types
    key: str = ""                                 # SHA-256 of the pack's payload
    staging: str = ""


_PACKS: dict[str, CompiledPolicies] = {}  # per Python worker: the packs of runs it took part in


def _pack(job: _Job, broadcast: Broadcast[tuple[bytes, Schema, list[str]]]) -> CompiledPolicies:
    """The run's pack, restored from the broadcast once per worker process (workers are
    reused across tasks): restoring the 温州-size pack takes seconds, a task should not."""
    compiled = _PACKS.get(job.key)
    if compiled is not None:
        return compiled
    payload, schema, sources = broadcast.value
    gc.disable()  # ~10^6 new objects and no garbage: collections would rescan them again and again (0006)
    try:
        state = loads(payload)
        if state is None or state.documents is None:
            raise RuntimeError("the broadcast pack is not one this worker's code can read (zhida versions differ?)")
        restored = restore(state, [None] * len(state.documents), [(s, h) for s, h, _ in state.documents], sources,
                           [lines for _, _, lines in state.documents], schema, job.as_of)
    finally:
        gc.enable()
    if restored is None:
        raise RuntimeError("the broadcast pack does not fit its policies")
    gc.freeze()  # kept while the worker lives: later collections need not scan it
    _PACKS.clear()  # one run's pack at a time
    compiled = _PACKS[job.key] = by_key(restored)
    return compiled


def _partition(job: _Job, broadcast: Broadcast[tuple[bytes, Schema, list[str]]],
               batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One range partition: its frame, its coded results and enterprises written to the
    staging directory (under names fixed by the partition, so a retried task overwrites its
    own files), and one summary row."""
    from pyspark import TaskContext

    context = TaskContext.get()
    part = context.partitionId() if context is not None else 0
    table = pa.Table.from_batches(list(batches))
    summary: dict[str, float] = dict.fromkeys(SUMMARY.names, 0)
    if table.num_rows:
        t = time.perf_counter()
        compiled = _pack(job, broadcast)
        summary["pack_s"], t = time.perf_counter() - t, time.perf_counter()
        if job.store is not None:
            usccs = table.column(ID_COLUMN).unique().to_pylist()
            df = population_frame(job.store, compiled.requirements, job.as_of, compiled.schema, job.zones_dir,
                                  usccs=usccs)
        else:
            assert job.dtypes is not None
            raw = pl.from_arrow(table)
            assert isinstance(raw, pl.DataFrame)
            df = raw.select(list(job.dtypes)).cast(job.dtypes)  # type: ignore[arg-type]
        df = df.sort(ID_COLUMN)
        summary["frame_s"], t = time.perf_counter() - t, time.perf_counter()
        matched = match_codes(compiled, df, near_misses=job.near_misses)
        summary["match_s"], t = time.perf_counter() - t, time.perf_counter()
        _write(matched.results, Path(job.staging) / f"part-{part:05d}.results.arrow")
        descriptive = _descriptive_schema(job.as_of)
        _write(df.select([pl.col(c).cast(pl.String) if c in df.columns else pl.lit(None, pl.String).alias(c)
                          for c in descriptive]), Path(job.staging) / f"part-{part:05d}.enterprises.arrow")
        summary |= {"write_s": time.perf_counter() - t, "enterprises": df.height, "results": matched.results.height}
    summary["part"] = part
    yield pa.RecordBatch.from_pydict({k: [v] for k, v in summary.items()}, schema=SUMMARY)


def _spark_schema(schema: pa.Schema) -> str:
    """A flat Arrow schema as Spark's DDL."""
    names = {pa.int32(): "int", pa.int64(): "long", pa.float64(): "double"}
    return ", ".join(f"{f.name} {names[f.type]}" for f in schema)


def _write(df: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    df.write_ipc(tmp, compression="uncompressed")
    os.replace(tmp, path)


def _descriptive_schema(as_of: date) -> list[str]:
    """The frame columns a run keeps of each enterprise (run.enterprises_table reads them)."""
    return [ID_COLUMN, *DESCRIPTIVE, size_column(as_of)]


def _assemble(staging: Path, parts: Sequence[tuple[int, int]], compiled: CompiledPolicies,
              descriptive: list[str]) -> tuple[pl.DataFrame, Matched]:
    """The partitions' files as one run: enterprise codes offset by the enterprises of the
    partitions before (range partitions: their USCCs ascend from one partition to the next),
    results in (clause, enterprise) order."""
    parts = [(p, n) for p, n in parts if n]
    offsets = np.concatenate([[0], np.cumsum([n for _, n in parts])]).astype(np.int64)
    frames = [pl.read_ipc(staging / f"part-{p:05d}.enterprises.arrow") for p, _ in parts]
    enterprises = pl.concat(frames) if frames else pl.DataFrame(schema=dict.fromkeys(descriptive, pl.String))
    usccs = enterprises.get_column(ID_COLUMN)
    if not (usccs.slice(1) > usccs.slice(0, max(usccs.len() - 1, 0))).all():
        raise RuntimeError("Spark's range partitions do not give ascending, distinct USCCs")
    coded = [pl.read_ipc(staging / f"part-{p:05d}.results.arrow")
             .with_columns(pl.col("enterprise") + pl.lit(int(offset), pl.UInt32))
             for (p, _), offset in zip(parts, offsets, strict=False)]
    # each partition's rows by (clause, local code), partitions in USCC order: a stable sort by
    # clause gives (clause, enterprise)
    results = (pl.concat(coded) if coded else pl.DataFrame(schema=CODED_SCHEMA)).sort("clause", maintain_order=True)
    results = results.cast(CODED_SCHEMA)  # type: ignore[arg-type]
    return enterprises, Matched(results, usccs.rename(ID_COLUMN), clause_table(compiled))
