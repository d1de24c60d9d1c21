"""The field registry: every profile field, source, list and tag, loaded from YAML data.

`load_registry()` reads the registry shipped with the package (`fields.yaml`);
`Registry.to_rules_schema()` is what the rules engine sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from zhida.profiles.errors import RegistryError
from zhida.rules.lang.schema import FIELD_TYPES, Field, ListDef, Schema

PERIODS = ("none", "month", "year")
REGISTRY_DIR = resources.files("zhida.profiles") / "registry"


@dataclass(frozen=True)
class Source:
    id: str
    label: str
    department: str
    freshness_days: int
    description: str = ""


LEVELS = ("public", "internal", "personal", "secret")
LEVEL_LABELS = {"public": "公开", "internal": "内部", "personal": "个人信息", "secret": "秘密"}
MASKS = ("name", "account", "id_number", "phone")   # how a personal value is shown (zhida.profiles.profile.mask)


@dataclass(frozen=True)
class FieldDef:
    id: str
    label: str
    type: str
    period: str
    source: str
    pii: bool
    description: str
    unit: str | None = None
    missing: str = "unknown"
    scale: int | None = None
    codes: str | None = None
    precedence: tuple[str, ...] = ()
    min: Any = None
    max: Any = None
    mask: str | None = None
    key: bool = False
    derivation: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    from_list: Mapping[str, str] | None = None
    level: str | None = None      # public | internal | personal | secret (default: personal if pii, else internal)

    @property
    def classification(self) -> str:
        """How the field is protected (个人信息保护法 / 等保): public and internal values are shown
        as they are; personal ones masked by default, whole only to a role and purpose that need
        them (each view recorded); secret ones never shown."""
        return self.level or ("personal" if self.pii else "internal")

    @property
    def importable(self) -> bool:
        """Read from a feed column (not derived, not read from a list, not the key)."""
        return not (self.derived or self.from_list or self.key)

    @property
    def derived(self) -> bool:
        return self.derivation is not None

    @property
    def sources(self) -> tuple[str, ...]:
        """Sources that may supply this field, in precedence order (first wins)."""
        order = list(self.precedence)
        if self.source not in order:
            order.append(self.source)
        return tuple(order)

    def rules_field(self, code_values: tuple[str, ...] | None,
                    code_names: tuple[tuple[str, str], ...] | None = None) -> Field:
        return Field(
            id=self.id,
            label=self.label,
            type=self.type,  # type: ignore[arg-type]
            period=self.period,  # type: ignore[arg-type]
            missing=self.missing,  # type: ignore[arg-type]
            scale=self.scale,
            codes=code_values,
            code_names=code_names,
        )


@dataclass(frozen=True)
class ListInfo:
    name: str
    label: str
    source: str
    description: str
    freshness_days: int | None = None
    kind: str = "list"  # "list" or "tag"


@dataclass(frozen=True)
class Registry:
    version: str
    sources: Mapping[str, Source]
    fields: Mapping[str, FieldDef]
    lists: Mapping[str, ListInfo]
    tags: Mapping[str, ListInfo]
    code_lists: Mapping[str, Mapping[str, str]]
    population_source: str

    def field(self, field_id: str) -> FieldDef:
        try:
            return self.fields[field_id]
        except KeyError:
            raise RegistryError(
                f"字段“{field_id}”不在字段注册表中；请检查拼写，或先在 fields.yaml 中登记该字段。") from None

    def codes_of(self, f: FieldDef) -> tuple[str, ...] | None:
        return tuple(self.code_lists[f.codes]) if f.codes else None

    def list_or_tag(self, name: str) -> ListInfo | None:
        return self.lists.get(name) or self.tags.get(name)

    def to_rules_schema(self) -> Schema:
        """The rules engine's view: every field except the key, every list, tag and zone name."""
        fields = [f.rules_field(self.codes_of(f), tuple(self.code_lists[f.codes].items()) if f.codes else None)
                  for f in self.fields.values() if not f.key]
        lists = [ListDef(x.name, x.label, x.freshness_days) for x in self.lists.values()]
        return Schema.build(fields, lists, tags=self.tags.keys(), region_field="district_code")


def _yaml_load(path: Path | Any) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def parse_registry(doc: Mapping[str, Any]) -> Registry:
    """Build and check a registry from its YAML document."""
    sources = {k: Source(id=k, **v) for k, v in doc["sources"].items()}
    code_lists = {k: {str(c): str(lbl) for c, lbl in v.items()} for k, v in doc["code_lists"].items()}
    fields: dict[str, FieldDef] = {}
    labels: set[str] = set()
    problems: list[str] = []
    for raw in doc["fields"]:
        raw = dict(raw)
        raw["precedence"] = tuple(raw.get("precedence", ()))
        raw["min"], raw["max"] = _bound(raw.get("min")), _bound(raw.get("max"))
        f = FieldDef(**raw)
        if f.id in fields:
            problems.append(f"字段 id 重复：{f.id}")
        if f.label in labels:
            problems.append(f"中文名称重复：{f.label}（字段 {f.id}）")
        if f.type not in FIELD_TYPES:
            problems.append(f"字段 {f.id} 的类型 {f.type} 不受支持，应为 {'/'.join(FIELD_TYPES)}")
        if f.period not in PERIODS:
            problems.append(f"字段 {f.id} 的周期 {f.period} 不受支持，应为 none/month/year")
        if f.source != "derived" and f.source not in sources:
            problems.append(f"字段 {f.id} 的来源 {f.source} 未在 sources 中登记")
        if f.codes and f.codes not in code_lists:
            problems.append(f"字段 {f.id} 引用的代码表 {f.codes} 不存在")
        if (f.source == "derived") != f.derived:
            problems.append(f"字段 {f.id}：派生字段必须写 source: derived 和 derivation")
        problems += [f"字段 {f.id} 的优先来源 {s} 未登记" for s in f.precedence if s not in sources]
        if f.classification not in LEVELS:
            problems.append(f"字段 {f.id} 的分级 {f.level} 应为 {'/'.join(LEVELS)}")
        elif f.pii and f.classification not in ("personal", "secret"):
            problems.append(f"字段 {f.id} 含个人信息（pii: true），分级应为 personal 或 secret，"
                            f"而非 {f.classification}")
        if f.mask is not None and f.mask not in MASKS:
            problems.append(f"字段 {f.id} 的脱敏方式 {f.mask} 应为 {'/'.join(MASKS)}")
        if f.from_list and f.from_list.get("attr") not in ("listed_on", "kind", "ref", "expires_on"):
            problems.append(f"字段 {f.id} 的 from_list.attr 应为 listed_on/kind/ref/expires_on")
        fields[f.id] = f
        labels.add(f.label)
    lists = {x["name"]: _list_info(x, "list") for x in doc.get("lists", ())}
    tags = {x["name"]: _list_info(x, "tag") for x in doc.get("tags", ())}
    problems += [
        f"字段 {f.id} 引用的名单 {f.from_list['list']} 未登记"
        for f in fields.values() if f.from_list and f.from_list.get("list") not in lists
    ]
    if problems:
        raise RegistryError("字段注册表有误：\n" + "\n".join(problems))
    return Registry(
        version=str(doc.get("version", "")),
        sources=sources,
        fields=fields,
        lists=lists,
        tags=tags,
        code_lists=code_lists,
        population_source=doc.get("population_source", "market"),
    )


def _bound(value: Any) -> Any:
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _list_info(raw: Mapping[str, Any], kind: str) -> ListInfo:
    return ListInfo(
        name=raw["name"],
        label=raw.get("label", raw["name"]),
        source=raw["source"],
        description=raw.get("description", ""),
        freshness_days=raw.get("freshness_days"),
        kind=kind,
    )


@lru_cache(maxsize=4)
def load_registry(path: str | None = None) -> Registry:
    """The registry at `path`, or the one shipped with the package."""
    src = Path(path) if path else REGISTRY_DIR / "fields.yaml"
    return parse_registry(_yaml_load(src))


def load_table(name: str) -> Any:
    """Another YAML table shipped beside the registry (size_standard, industry)."""
    return _yaml_load(REGISTRY_DIR / f"{name}.yaml")
