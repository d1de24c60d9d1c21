"""`zhida policy …`: lint, test and evaluate policies."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import fail, parse_date, translate_errors
from zhida.rules.check.cases import evaluate_doc, run_cases
from zhida.rules.check.lint import lint_policies
from zhida.rules.lang.numbers import yuan_text
from zhida.rules.model.policy import load_policies

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)

STATUS_LABELS = {"eligible": "符合", "unknown": "待补充数据", "ineligible": "不符合", "excluded": "不重复享受"}
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]
Paths = Annotated[list[Path] | None, typer.Argument(help="政策文件或目录，默认 policies/")]


@app.command("lint")
@translate_errors
def lint(paths: Paths = None, strict: Annotated[bool, typer.Option(help="警告也视为失败")] = False) -> None:
    """静态检查：未知字段/名单/参数/区域、类型与期间错误、恒假条件、缺少测试、条款重叠。"""
    a = make_app()
    policies = load_policies(paths or [a.policies_dir])
    problems = lint_policies(policies, a.schema)
    for p in problems:
        console.print(p.render(), style="red" if p.severity == "error" else "yellow", markup=False)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    console.print(f"检查了 {len(policies)} 份政策、{sum(len(p.clauses) for p in policies)} 个条款："
                  f"{errors} 个错误，{warnings} 个警告")
    if errors or (strict and warnings):
        raise typer.Exit(1)


@app.command("test")
@translate_errors
def test(paths: Paths = None) -> None:
    """运行政策文件中的测试用例；失败时显示期望与实际的差异并以非零状态退出。"""
    a = make_app()
    policies = load_policies(paths or [a.policies_dir])
    results = run_cases(policies, a.schema)
    failed = [r for r in results if not r.ok]
    for r in failed:
        console.print(f"✗ {r.where} {r.policy.id}/{r.clause} 「{r.name}」", style="red", markup=False)
        for d in r.diffs:
            console.print(f"    {d}", markup=False)
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@app.command("eval")
@translate_errors
def eval_(
    policy_id: Annotated[str, typer.Argument(help="政策编号（policy id）")],
    facts: Annotated[Path, typer.Option("--facts", help="企业事实 JSON 文件")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="评估日期 YYYY-MM-DD，默认今天")] = None,
    policies_path: Annotated[Path | None, typer.Option("--policies", help="政策目录")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """测算一家企业：逐条款给出状态、金额与逐项条件解释。"""
    on, a = parse_date(as_of), make_app()
    policies = [p for p in load_policies([policies_path or a.policies_dir]) if p.id == policy_id]
    if not policies:
        fail(f"找不到政策 “{policy_id}”", "用 zhida policy lint 列出的政策编号")
    try:
        doc = json.loads(facts.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        fail(f"无法读取事实文件 {facts}：{err}", "提供 UTF-8 编码的 JSON，格式见 docs/rules.md「事实文件」")
    if not isinstance(doc, dict) or "facts" not in doc:
        fail(f"{facts}：缺少 \"facts\" 对象", "格式：{\"facts\": {...}, \"lists\": {...}}")
    explanations, _batch = evaluate_doc(policies, a.schema, doc, on)
    if as_json:
        print(json.dumps({"policy": policy_id, "as_of": on.isoformat(),
                          "clauses": [e.to_dict() for e in explanations]}, ensure_ascii=False, indent=2))
        return
    for item in explanations:
        amount = "" if item.amount_fen is None else (
            f"  金额 {yuan_text(item.amount_fen)}" if item.status == "eligible"
            else f"  （若条件满足可得 {yuan_text(item.amount_fen)}）")
        console.print(f"[bold]{item.title}[/bold]（{item.key}，{item.mode_label}）："
                      f"{STATUS_LABELS[item.status]}{amount}")
        table = Table(show_header=True, header_style="bold")
        table.add_column("条件")
        table.add_column("判定")
        table.add_column("数据")
        table.add_column("说明")
        for atom in item.atoms:
            table.add_row(atom.text, atom.verdict_text, "；".join(f"{f.label}={f.value}" for f in atom.facts),
                          atom.hint)
        console.print(table)
        for r in item.reasons:
            console.print(f"  原因：{r}", markup=False)
        if item.missing:
            console.print(f"  待补充：{'、'.join(item.missing)}", markup=False)



@app.command("ask")
@translate_errors
def ask(
    policy: Annotated[str, typer.Argument(help="政策编号（policy id）或政策文件路径")],
    facts: Annotated[Path | None, typer.Option(
        "--facts", help="已知事实：YAML/JSON 文件（问题→回答，或 eval 的事实文件）")] = None,
    fact: Annotated[list[str] | None, typer.Option(
        "--fact", help="一条回答 字段=值，可重复，如 企业规模[2023]=小型")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="评估日期 YYYY-MM-DD，默认今天")] = None,
    policies_path: Annotated[Path | None, typer.Option("--policies", help="政策目录")] = None,
) -> None:
    """政策问答：给出各条款当前的判定和下一个最能决定结果的问题；答完则给出结果与金额。"""
    import yaml

    from zhida.calculator import answer_key, answers_from_document, calculate
    from zhida.rules.explanation.explain import amount_text
    from zhida.rules.lang.errors import FrameError

    on, a = parse_date(as_of), make_app()
    path = Path(policy)
    chosen = (load_policies([path]) if path.suffix in (".yaml", ".yml") and path.is_file() else
              [p for p in load_policies([policies_path or a.policies_dir]) if p.id == policy])
    if not chosen:
        fail(f"找不到政策 “{policy}”", "用 zhida policy lint 列出的政策编号，或给出政策文件路径")
    answers: dict[str, str] = {}
    try:
        if facts is not None:
            try:
                doc = yaml.safe_load(facts.read_text(encoding="utf-8"))  # JSON is YAML too
            except (OSError, yaml.YAMLError) as err:
                fail(f"无法读取事实文件 {facts}：{err}", "提供 UTF-8 编码的 YAML 或 JSON 映射，如 企业规模[2023]: 小型")
            if not isinstance(doc, dict):
                fail(f"{facts}：应为 字段→值 的映射", "如 企业规模[2023]: 小型，或 eval 的事实文件 {\"facts\": {...}}")
            answers |= answers_from_document(a.schema, doc)
        for item in fact or []:
            key, eq, value = item.partition("=")
            if not eq or not value.strip():
                fail(f"--fact “{item}” 缺少值", "写成 字段=值，如 --fact 企业规模[2023]=小型")
            answers[answer_key(a.schema, key)] = value.strip()
    except FrameError as err:
        fail(str(err))
    result = calculate(chosen, a.schema, on, answers, max_questions=1)
    for column, problem in result.errors.items():
        fail(f"{result.labels.get(column, column)}（{column}）的回答“{answers[column]}”无法使用：{problem}",
             f"重新回答 --fact {column}=…")
    console.print(f"评估日 {on.isoformat()}：", markup=False)
    for c in result.clauses:
        amount = f"，{amount_text(c.amount_fen)}" if c.status == "eligible" and c.amount_fen is not None else ""
        console.print(f"  {c.title}（{c.key}，{c.mode_label}）：{STATUS_LABELS[c.status]}{amount}", markup=False)
        for r in c.reasons:
            console.print(f"    原因：{r}", markup=False)
    if result.questions:
        q = result.questions[0]
        choices = f"（{'/'.join(q.options)}）" if q.options else f"（{q.hint}）" if q.hint else ""
        console.print(f"下一个问题：{q.label}{choices}", markup=False)
        decides = f"，回答后可能直接确定：{'、'.join(q.decides)}" if q.decides else ""
        console.print(f"  影响 {q.clauses} 个待定条款{decides}", markup=False)
        console.print(f"  回答：--fact {q.column}=…", markup=False)
    elif result.decided:
        console.print(f"结果：可享受合计 {amount_text(result.eligible_fen)}" if result.eligible_fen
                      else "结果：没有可享受的条款", markup=False)
    else:
        console.print("结果：仍有条款待定，但再回答任何问题都不会改变它（如除数为零）", markup=False)


@app.command("publish")
@translate_errors
def publish(
    paths: Paths = None,
    data_dir: DataDir = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="以哪个用户的名义发布（须有政策主管部门角色；默认本机操作员）")] = None,
) -> None:
    """发布政策：校验后把每个文件的内容存为已发布版本（同一内容再次发布不产生新版本）；匹配只使用已发布版本。"""
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import get_user
    from zhida.published import publish as publish_versions

    a = make_app(data_dir)
    actor = get_user(a.uow(), by) if by else SYSTEM
    policies = load_policies(paths or [a.policies_dir])
    errors = [p for p in lint_policies(policies, a.schema) if p.severity == "error"]
    for p in errors:
        console.print(p.render(), style="red", markup=False)
    if errors:
        fail(f"{len(errors)} 个校验错误，未发布任何政策", "修正后重新运行 zhida policy publish")
    outcome = publish_versions(a.uow(), policies, actor=actor)
    for v in outcome.published:
        console.print(f"已发布 {v.policy_id} 版本 {v.content_hash[:12]}（{v.title}）", markup=False)
    console.print(f"新发布 {len(outcome.published)} 个版本，未变化 {len(outcome.unchanged)} 个，"
                  f"被替换的旧版本 {len(outcome.retired)} 个")


@app.command("versions")
@translate_errors
def versions(
    policy_id: Annotated[str | None, typer.Argument(help="政策编号（默认全部）")] = None,
    data_dir: DataDir = None,
) -> None:
    """列出政策的已发布版本：内容哈希、有效期、发布与停用的时间和人员。"""
    from zhida.published import versions as list_versions

    rows = list_versions(make_app(data_dir).uow(), policy_id)
    if not rows:
        console.print("还没有已发布的政策版本；用 zhida policy publish 发布。")
        return
    t = Table("政策", "版本（内容哈希）", "标题", "有效期", "发布", "状态")
    for v in rows:
        validity = f"{v.valid_from or ''} 至 {v.valid_to or '长期'}"
        state = "现行" if v.in_force else f"已停用 {v.retired_at:%Y-%m-%d %H:%M} {v.retired_by}"
        t.add_row(v.policy_id, v.content_hash[:16], v.title, validity,
                  f"{v.published_at:%Y-%m-%d %H:%M} {v.published_by}", state)
    console.print(t)


@app.command("generate")
@translate_errors
def generate(
    clauses: Annotated[int, typer.Option(help="条款总数")] = 4314,
    seed: Annotated[int, typer.Option(help="随机种子")] = 4314,
    out: Annotated[Path, typer.Option(help="输出目录")] = Path("generated-policies"),
) -> None:
    """生成用于基准测试的政策包（形状仿真实政策，非真实政策）。"""
    from zhida.policygen import write_pack

    if clauses < 1:
        fail(f"条款数应为正整数，实为 {clauses}", "例如 --clauses 4314")
    written = write_pack(clauses, seed, out)
    console.print(f"已生成 {len(written)} 份政策、{clauses} 个条款：{out}")


from zhida.cli.draft import draft  # noqa: E402  (政策拆解, docs/extract.md)

app.command("draft")(draft)
