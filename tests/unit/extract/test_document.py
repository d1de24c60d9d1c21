"""政策拆解 of a whole document: header fields, clauses, shared conditions and exclusions."""

from __future__ import annotations

from zhida.extract import extract

TEXT = """关于延续实施失业保险援企稳岗政策的通知
人社部发〔2024〕40号
一、参保企业足额缴纳失业保险费12个月以上的，可以申请失业保险稳岗返还。大型企业按不超过企业及其职工上年度实际缴纳失业保险费的30%返还，中小微企业按不超过60%返还。严重违法失信受联合惩戒的单位不可享受。
二、自2024年1月1日至2024年12月31日执行。
"""


def test_the_header_is_read_from_the_text():
    assert extract(TEXT).header == {
        "document_number": "人社部发〔2024〕40号", "title": "关于延续实施失业保险援企稳岗政策的通知",
        "valid_from": "2024-01-01", "valid_to": "2024-12-31"}


def test_conditions_before_the_benefits_and_exclusions_apply_to_each_benefit():
    d = extract(TEXT)
    assert len(d.clauses) == 2
    for clause, size in zip(d.clauses, [("大型",), ("中型", "小型", "微型")], strict=True):
        keys = [a.key() for a in clause.atoms]
        assert keys[0][0] == "ui_full_months"
        assert ("enterprise_size", "in", size, "last_year") in keys
        assert ("listed:严重违法失信名单", "==", False, None) in keys


def test_a_clause_source_starts_at_its_first_condition():
    d = extract(TEXT)
    assert TEXT[d.clauses[0].span[0]:].startswith("一、参保企业足额缴纳")
