"""`zhida policy draft`: prints the draft and a summary (text read from standard input)."""

from __future__ import annotations

from typer.testing import CliRunner

from zhida.cli import app


def test_policy_draft_prints_the_draft_and_a_summary():
    result = CliRunner().invoke(app, ["policy", "draft", "-"],
                                input="上年度营业收入超过2000万元的高新技术企业，给予10万元奖励。\n")
    assert result.exit_code == 0, result.output
    assert "revenue[last_year] > 2000万" in result.output
    assert 'listed("高新技术企业")' in result.output
    assert "拆解出 1 个条款、2 个条件" in result.output
