"""Source mappings: how a department's own columns and formats become registry fields.

A mapping is YAML data (see docs/feeds.md). The mappings for the synthetic city's feeds ship
in `zhida/profiles/mappings/<source>.yaml`; a real feed brings its own file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from zhida.profiles.errors import MappingError
from zhida.profiles.registry import Registry

UNIT_EXPONENTS = {None: 0, "元": 0, "分": -2, "千元": 3, "万元": 4, "亿元": 8, "%": -2, "‰": -3,
                  "人": 0, "件": 0, "度": 0}
FORMATS = ("csv", "xlsx", "parquet")


@dataclass(frozen=True)
class ColumnSpec:
    """One target (field or list attribute) read from one source column."""

    column: str
    unit: str | None = None
    formats: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    true: tuple[str, ...] = ("是", "1", "true", "True", "Y", "y")
    false: tuple[str, ...] = ("否", "0", "false", "False", "N", "n")
    strip_prefix: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class ListSpec:
    """List entries produced by the rows of a feed."""

    name: str | None
    name_column: str | None
    names: Mapping[str, str]
    listed_on: ColumnSpec | None
    expires_on: ColumnSpec | None = None
    removed_on: ColumnSpec | None = None
    kind: ColumnSpec | None = None
    reason: ColumnSpec | None = None
    ref: ColumnSpec | None = None
    valid_years: int | None = None
    present: str | None = None  # only rows with a value in this column are entries

    @property
    def list_names(self) -> tuple[str, ...]:
        return (self.name,) if self.name else tuple(dict.fromkeys(self.names.values()))


@dataclass(frozen=True)
class SourceMapping:
    source: str
    key: str
    fields: Mapping[str, ColumnSpec]
    lists: tuple[ListSpec, ...] = ()
    format: str | None = None
    encoding: str = "utf-8"
    sheet: str | int = 0
    period: str = "none"
    period_column: str | None = None
    period_format: str | None = None
    record_id: str | None = None
    uscc_check: str = "strict"
    digest: str = ""

    def required_columns(self) -> list[str]:
        cols = [self.key]
        if self.period_column:
            cols.append(self.period_column)
        if self.record_id:
            cols.append(self.record_id)
        specs: list[ColumnSpec | None] = list(self.fields.values())
        for ls in self.lists:
            specs += [ls.listed_on, ls.expires_on, ls.removed_on, ls.kind, ls.reason, ls.ref]
            if ls.name_column:
                cols.append(ls.name_column)
            if ls.present:
                cols.append(ls.present)
        cols += [s.column for s in specs if s is not None and not s.optional]
        return list(dict.fromkeys(cols))


def _spec(raw: Any, where: str) -> ColumnSpec:
    if isinstance(raw, str):
        return ColumnSpec(column=raw)
    if not isinstance(raw, Mapping) or "column" not in raw:
        raise MappingError(f"{where}：应写成 {{column: 源列名, ...}}")
    fmt = raw.get("format", ())
    return ColumnSpec(
        column=str(raw["column"]),
        unit=raw.get("unit"),
        formats=(fmt,) if isinstance(fmt, str) else tuple(fmt),
        values={str(k): str(v) for k, v in (raw.get("values") or {}).items()},
        # YAML 1.1 reads a bare `true:` key as the boolean True
        true=tuple(str(x) for x in raw.get("true", raw.get(True, ColumnSpec.true))),
        false=tuple(str(x) for x in raw.get("false", raw.get(False, ColumnSpec.false))),
        strip_prefix=raw.get("strip_prefix"),
        optional=bool(raw.get("optional", False)),
    )


def parse_mapping(doc: Mapping[str, Any], registry: Registry, origin: str = "映射文件") -> SourceMapping:
    """Check a mapping document against the registry; every problem is reported at once."""
    problems: list[str] = []
    source = doc.get("source")
    if source not in registry.sources:
        problems.append(f"source “{source}” 未在字段注册表中登记（可选：{', '.join(registry.sources)}）")
    if source == "received":  # zhida.profiles.received.SOURCE
        problems.append("已获资金（received）由本平台拨付台账发布（zhida.workflow.received），不能作为部门数据导入")
    period = doc.get("period", "none")
    if period not in ("none", "year", "month"):
        problems.append(f"period 应为 none/year/month，实际为 {period}")
    if period != "none" and not doc.get("period_column"):
        problems.append("按年或按月的数据必须写 period_column（所属期所在的列）")
    fields: dict[str, ColumnSpec] = {}
    for fid, raw in (doc.get("fields") or {}).items():
        f = registry.fields.get(fid)
        if f is None or not f.importable:
            problems.append(f"fields.{fid}：不是可导入的注册字段（派生字段、名单字段和主键不能映射）")
            continue
        if f.period not in ("none", period):
            problems.append(f"fields.{fid}：字段周期为 {f.period}，而本数据按 {period} 报送")
        spec = _spec(raw, f"{origin} fields.{fid}")
        if spec.unit not in UNIT_EXPONENTS:
            problems.append(f"fields.{fid}：单位 {spec.unit} 不受支持（可选：元、万元、千元、亿元、分、%）")
        fields[fid] = spec
    lists = tuple(_list_spec(x, registry, problems) for x in doc.get("lists") or ())
    fmt = doc.get("format")
    if fmt is not None and fmt not in FORMATS:
        problems.append(f"format 应为 {'/'.join(FORMATS)}，实际为 {fmt}")
    if doc.get("uscc_check", "strict") not in ("strict", "warn"):
        problems.append("uscc_check 应为 strict（校验位错误即拒收）或 warn（只警告，用于早期试点代码）")
    if not doc.get("key"):
        problems.append("缺少 key：统一社会信用代码所在的列名")
    if problems:
        raise MappingError(f"{origin} 有误：\n" + "\n".join(f"  - {p}" for p in problems))
    return SourceMapping(
        source=str(source),
        key=str(doc["key"]),
        fields=fields,
        lists=lists,
        format=fmt,
        encoding=str(doc.get("encoding", "utf-8")),
        sheet=doc.get("sheet", 0),
        period=period,
        period_column=doc.get("period_column"),
        period_format=doc.get("period_format"),
        record_id=doc.get("record_id"),
        uscc_check=doc.get("uscc_check", "strict"),
        digest=hashlib.sha256(repr(sorted(doc.items(), key=str)).encode()).hexdigest()[:16],
    )


def _list_spec(raw: Mapping[str, Any], registry: Registry, problems: list[str]) -> ListSpec:
    def opt(key: str) -> ColumnSpec | None:
        return _spec(raw[key], f"lists.{key}") if key in raw else None

    spec = ListSpec(
        name=raw.get("name"),
        name_column=raw.get("name_column"),
        names={str(k): str(v) for k, v in (raw.get("names") or {}).items()},
        listed_on=opt("listed_on"),
        expires_on=opt("expires_on"),
        removed_on=opt("removed_on"),
        kind=opt("kind"),
        reason=opt("reason"),
        ref=opt("ref"),
        valid_years=raw.get("valid_years"),
        present=raw.get("present"),
    )
    if bool(spec.name) == bool(spec.name_column):
        problems.append("lists：name（固定名单名）与 name_column（名单名所在列）须且只能写一个")
    for n in spec.list_names:
        info = registry.list_or_tag(n)
        if info is None:
            problems.append(f"lists：名单“{n}”未在字段注册表的 lists/tags 中登记")
        elif info.kind == "list" and spec.listed_on is None:
            problems.append(f"lists：名单“{n}”必须写 listed_on（列入日期）")
    return spec


def builtin_mappings() -> list[str]:
    """Names of the mappings shipped for the synthetic city's feeds."""
    folder = resources.files("zhida.profiles") / "mappings"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mapping(source: str, registry: Registry, path: Path | None = None, name: str | None = None) -> SourceMapping:
    """The mapping at `path`, or the shipped mapping `name` (default: the source's own name)."""
    if path is None:
        name = name or source
        ref = resources.files("zhida.profiles") / "mappings" / f"{name}.yaml"
        if not ref.is_file():
            raise MappingError(f"没有名为“{name}”的内置映射（内置：{'、'.join(builtin_mappings())}）；"
                               "请用 --mapping 指定映射文件（见 docs/feeds.md）。")
        text, origin = ref.read_text(encoding="utf-8"), f"内置映射 {name}.yaml"
    else:
        try:
            text, origin = Path(path).read_text(encoding="utf-8"), str(path)
        except OSError as e:
            raise MappingError(f"读不到映射文件 {path}：{e}") from e
    doc = YAML(typ="safe", pure=True).load(text) or {}
    doc.setdefault("source", source)
    if doc["source"] != source:
        raise MappingError(f"{origin} 声明的来源是“{doc['source']}”，但命令指定的是“{source}”；请改成一致。")
    return parse_mapping(doc, registry, origin)
