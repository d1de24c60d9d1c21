"""`zhida policy lint|test|eval` on real files, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from zhida.cli import app

runner = CliRunner()

GOOD = """\
id: demo-refund
title: 演示稳岗返还
issuer: 演示人社局
document_number: 演示〔2024〕1号
region: "330300"
source_url: https://example.invalid/demo
valid_from: 2024-01-01
valid_to: 2024-12-31
department: 演示人社局
clauses:
  - id: refund
    title: 稳岗返还
    mode: exempt
    when: |
      ui_full_months[last_year] >= 12   # 足额缴纳12个月以上
      and not listed("严重违法失信名单")
    amount: ui_paid_year[last_year] * 60%
    tests:
      - name: 足额缴费，按60%返还
        as_of: 2024-06-01
        facts: {ui_full_months: {"2023": 12}, ui_paid_year: {"2023": "10000.05"}}
        lists: {严重违法失信名单: []}
        expect: {status: eligible, amount: "{amount}"}
      - name: 只缴了11个月
        as_of: 2024-06-01
        facts: {ui_full_months: {"2023": 11}, ui_paid_year: {"2023": "10000"}}
        lists: {严重违法失信名单: []}
        expect: {status: ineligible, reasons: ["年度足额缴费月数[2023] 11，需 ≥ 12"]}
      - name: 失信名单未接入时为待定
        as_of: 2024-06-01
        facts: {ui_full_months: {"2023": 12}, ui_paid_year: {"2023": "10000"}}
        expect: {status: unknown, missing: ["严重违法失信名单"]}
"""

THREE_MISTAKES = """\
id: demo-broken
title: 有三处错误的政策
issuer: 演示
document_number: 演示〔2024〕2号
region: "330300"
source_url: https://example.invalid/broken
valid_from: 2024-01-01
department: 演示局
clauses:
  - id: a
    title: 未知字段
    mode: exempt
    when: employes_count >= 10
    amount: 1000
    tests: [{name: t, facts: {}, expect: {status: unknown}}]
  - id: b
    title: 金额与日期比较
    mode: exempt
    when: |
      revenue[last_year] >= 100万
      and revenue[last_year] >= established_on
    amount: 1000
    stackable: true
    tests: [{name: t, facts: {}, expect: {status: unknown}}]
  - id: c
    title: 按月字段取年度值
    mode: exempt
    when: insured[last_year] >= 10
    amount: 1000
    stackable: true
    tests: [{name: t, facts: {}, expect: {status: unknown}}]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_policy_test_passes_on_a_correct_policy(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD.replace("{amount}", "6000.03"))
    result = runner.invoke(app, ["policy", "test", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 passed, 0 failed" in result.output


def test_wrong_expected_amount_fails_with_a_readable_diff(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD.replace("{amount}", "6000.00"))
    result = runner.invoke(app, ["policy", "test", str(path)])
    assert result.exit_code == 1
    assert "金额：期望 6,000.00元，实际 6,000.03元" in result.output
    assert f"{path}:19" in result.output  # the failing case's line
    assert "2 passed, 1 failed" in result.output


def test_lint_reports_all_three_mistakes_with_file_and_line(tmp_path):
    path = write(tmp_path, "broken.yaml", THREE_MISTAKES)
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 1
    out = result.output.replace("\n", " ")
    assert f"{path}:13" in out and "未知字段 “employes_count”" in out
    assert f"{path}:21" in out and "金额不能与日期比较" in out
    assert f"{path}:28" in out and "按月记录，不能取年度值" in out
    assert "3 个错误" in out


def test_schema_errors_name_field_line_and_fix(tmp_path):
    text = GOOD.replace("{amount}", "1").replace("mode: exempt", "mode: automatic").replace(
        "department: 演示人社局\n", "department: 演示人社局\nbudjet: 100万\n")
    path = write(tmp_path, "bad.yaml", text)
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 2
    out = result.output.replace("\n", " ")
    assert f"{path}:10" in out and "budjet" in out and "删除此项，或检查拼写" in out
    assert f"{path}:14" in out and "clauses.0.mode" in out and "'automatic'" in out


def test_eval_prints_status_amount_and_explanation_as_json(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    write(policies, "good.yaml", GOOD.replace("{amount}", "6000.03"))
    facts = write(tmp_path, "facts.json", json.dumps(
        {"facts": {"ui_full_months": {"2023": 8}, "ui_paid_year": {"2023": "10000"}},
         "lists": {"严重违法失信名单": []}}, ensure_ascii=False))
    result = runner.invoke(app, ["policy", "eval", "demo-refund", "--facts", str(facts), "--as-of", "2024-06-01",
                                 "--policies", str(policies), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    clause = doc["clauses"][0]
    assert clause["status"] == "ineligible"
    assert clause["reasons"] == ["年度足额缴费月数[2023] 8，需 ≥ 12"]
    assert clause["atoms"][0]["facts"][0] == {"field": "年度足额缴费月数[2023]", "column": "ui_full_months@2023",
                                             "value": "8"}


def test_eval_with_unreadable_facts_file_says_what_to_do(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    write(policies, "good.yaml", GOOD.replace("{amount}", "1"))
    facts = write(tmp_path, "facts.json", "{not json")
    result = runner.invoke(app, ["policy", "eval", "demo-refund", "--facts", str(facts), "--policies", str(policies)])
    assert result.exit_code == 2
    assert "无法读取事实文件" in result.output


def test_publish_twice_is_one_version_and_a_changed_file_retires_the_old(tmp_path):
    data = tmp_path / "data"
    policies = tmp_path / "policies"
    policies.mkdir()
    path = write(policies, "good.yaml", GOOD.replace("{amount}", "6000.03"))
    env = {"ZHIDA_DATA_DIR": str(data), "ZHIDA_DATABASE_URL": None, "COLUMNS": "200"}

    def zhida(*args):
        return runner.invoke(app, ["policy", *args], env=env)

    first = zhida("publish", str(policies))
    assert first.exit_code == 0, first.output
    assert "已发布 demo-refund" in first.output and "新发布 1 个版本，未变化 0 个" in first.output
    again = zhida("publish", str(policies))
    assert again.exit_code == 0 and "新发布 0 个版本，未变化 1 个，被替换的旧版本 0 个" in again.output

    path.write_text(path.read_text(encoding="utf-8").replace("* 60%", "* 50%"), encoding="utf-8")
    changed = zhida("publish", str(path))
    assert changed.exit_code == 0 and "新发布 1 个版本，未变化 0 个，被替换的旧版本 1 个" in changed.output
    listed = zhida("versions", "demo-refund")
    assert listed.exit_code == 0
    assert listed.output.count("现行") == 1 and listed.output.count("已停用") == 1


def test_publishing_a_policy_with_errors_or_by_an_unknown_user_publishes_nothing(tmp_path):
    env = {"ZHIDA_DATA_DIR": str(tmp_path / "data"), "ZHIDA_DATABASE_URL": None, "COLUMNS": "200"}
    broken = write(tmp_path, "broken.yaml", THREE_MISTAKES)
    refused = runner.invoke(app, ["policy", "publish", str(broken)], env=env)
    assert refused.exit_code == 2 and "未发布任何政策" in refused.output
    good = write(tmp_path, "good.yaml", GOOD.replace("{amount}", "1"))
    nobody = runner.invoke(app, ["policy", "publish", str(good), "--by", "nobody"], env=env)
    assert nobody.exit_code == 2 and "没有用户 nobody" in nobody.output
    listed = runner.invoke(app, ["policy", "versions"], env=env)
    assert listed.exit_code == 0 and "还没有已发布的政策版本" in listed.output


def test_ask_gives_the_next_deciding_question_then_the_result(tmp_path):
    policies = tmp_path / "p"
    policies.mkdir()
    write(policies, "good.yaml", GOOD.replace("{amount}", "6000.03"))
    answers = tmp_path / "answers.yaml"
    answers.write_text("年度足额缴费月数[2023]: 12\n", encoding="utf-8")

    def ask(*extra: str):
        return runner.invoke(app, ["policy", "ask", "demo-refund", "--policies", str(policies),
                                   "--as-of", "2024-06-01", "--facts", str(answers), *extra])

    first = ask()
    assert first.exit_code == 0, first.output
    assert "稳岗返还（demo-refund/refund，免申即享）：待补充数据" in first.output
    assert "下一个问题：" in first.output and "回答：--fact" in first.output
    asked = first.output.split("回答：--fact ")[1].split("=")[0]
    follow = {"ui_paid_year@2023": "10000", "list@严重违法失信名单": "否"}
    second = ask(*[a for k, v in follow.items() for a in ("--fact", f"{k}={v}")])
    assert asked in follow
    assert second.exit_code == 0, second.output
    assert "稳岗返还（demo-refund/refund，免申即享）：符合，6,000.00元" in second.output
    assert "结果：可享受合计 6,000.00元" in second.output and "下一个问题" not in second.output


def test_ask_with_an_unknown_field_or_a_bad_value_names_it_and_the_fix(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD.replace("{amount}", "6000.03"))
    base = ["policy", "ask", str(path), "--as-of", "2024-06-01"]
    unknown = runner.invoke(app, [*base, "--fact", "足额月数[2023]=12"])
    assert unknown.exit_code == 2 and "没有名为“足额月数”的字段" in unknown.output
    bad = runner.invoke(app, [*base, "--fact", "ui_full_months@2023=十二"])
    assert bad.exit_code == 2 and "“十二”无法使用" in bad.output and "--fact ui_full_months@2023=" in bad.output
