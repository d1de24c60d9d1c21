"""The assistant's data kept in the repo: the FAQ and the synonym / colloquial-name table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from zhida.errors import ZhidaError

HERE = Path(__file__).resolve().parent
FAQ_FILE = HERE / "faq.yaml"
SYNONYMS_FILE = HERE / "synonyms.yaml"


class AssistantDataError(ZhidaError):
    """The FAQ or synonym file is malformed."""


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    policy: str
    clause: str | None = None


@dataclass(frozen=True)
class Route:
    words: tuple[str, ...]
    department: str


@dataclass(frozen=True)
class Vocabulary:
    synonyms: dict[str, tuple[str, ...]]
    user_words: tuple[str, ...]
    stopwords: frozenset[str]
    routes: tuple[Route, ...]
    default_department: str


def _read(path: Path) -> dict[str, Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except Exception as e:  # a YAML syntax error, with its line
        raise AssistantDataError(f"{path}：无法读取（{e}）；请检查 YAML 语法。") from e
    if not isinstance(data, dict):
        raise AssistantDataError(f"{path}：顶层应为映射。")
    return data


def load_faq(path: Path = FAQ_FILE) -> list[FaqEntry]:
    """The FAQ entries; every problem of the file is reported at once."""
    data, out, problems = _read(path), [], []
    for n, e in enumerate(data.get("faq") or [], 1):
        missing = [k for k in ("id", "question", "answer", "policy") if not e.get(k)]
        if missing:
            problems.append(f"第 {n} 条缺少 {'、'.join(missing)}")
            continue
        out.append(FaqEntry(str(e["id"]), str(e["question"]), str(e["answer"]), str(e["policy"]),
                            str(e["clause"]) if e.get("clause") else None))
    if problems:
        raise AssistantDataError(f"{path}：" + "；".join(problems) + "。每条需要 id、question、answer、policy。")
    return out


def load_vocabulary(path: Path = SYNONYMS_FILE) -> Vocabulary:
    data = _read(path)
    synonyms = {str(k): tuple(str(v) for v in (vs or [])) for k, vs in (data.get("synonyms") or {}).items()}
    deps = data.get("departments") or {}
    routes = tuple(Route(tuple(str(w) for w in r["words"]), str(r["department"])) for r in deps.get("routes") or [])
    return Vocabulary(synonyms=synonyms, user_words=tuple(str(w) for w in data.get("user_words") or []),
                      stopwords=frozenset(str(w) for w in data.get("stopwords") or []), routes=routes,
                      default_department=str(deps.get("default", "12345政务服务便民热线")))
