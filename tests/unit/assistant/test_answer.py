"""政策问答 over the real pack: colloquial names, typos, citations, validity, hand-off."""

from datetime import date
from pathlib import Path

import pytest

from zhida.assistant import answer, build_index, load_faq

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2024, 6, 30)


@pytest.fixture(scope="module")
def index():
    from zhida.rules.model.policy import load_policies

    return build_index([(p.spec.model_dump(mode="json"), p.content_hash) for p in load_policies([ROOT / "policies"])])


@pytest.mark.parametrize(("question", "policy"), [
    ("稳岗补贴怎么申请", "cn-hrss-2024-40-job-retention"),
    ("高企认定奖励多少", "guangzhou-2021-4-hitech"),
    ("一般人能享受6税2费吗", "cn-mof-sat-2023-12-six-taxes-two-fees"),
    ("小微企业所得税怎么优惠", "cn-mof-sat-2023-12-small-low-profit"),
    ("温州小巨人奖励", "wenzhou-2023-8-specialized"),
    ("小微企业招大学生有社保补贴吗", "cn-mof-2017-164-graduate-social-insurance"),
])
def test_a_colloquial_name_finds_its_policy(index, question, policy):
    a = answer(index, question, today=TODAY)
    assert a.answered and a.handoff is None
    assert policy in a.policies[:3]


@pytest.mark.parametrize(("question", "seen", "fixed", "policy"), [
    ("稳刚返还能返多少", "稳刚返还", "稳岗返还", "cn-hrss-2024-40-job-retention"),
    ("六税两肥减半征收", "六税两肥", "六税两费", "cn-mof-sat-2023-12-six-taxes-two-fees"),
    ("南京首次通过高新技木企业认定奖励", "高新技木企业", "高新技术企业", "nanjing-2018-hitech-first-cert"),
])
def test_a_one_character_typo_is_corrected_and_finds_its_policy(index, question, seen, fixed, policy):
    a = answer(index, question, today=TODAY)
    assert (seen, fixed) in a.corrections
    assert a.answered and a.policies[0] == policy


def test_correct_text_is_not_corrected(index):
    assert answer(index, "南京首次认定高新技术企业要申报吗", today=TODAY).corrections == []


def test_an_answer_cites_the_clause_its_source_and_document_number(index):
    a = answer(index, "温州专精特新小巨人奖励多少", today=TODAY)
    c = a.citations[0]
    assert (c.policy, c.clause) == ("wenzhou-2023-8-specialized", "little-giant")
    assert c.document_number == "温政发〔2023〕8号" and "100万元" in c.source
    assert "温政发〔2023〕8号" in a.text and c.source in a.text
    assert "该政策现行有效，有效期至 2025-12-31" in a.text


def test_an_expired_policy_says_it_is_expired(index):
    a = answer(index, "留工培训补助按每个参保职工多少钱", today=TODAY)
    assert a.answered and a.citations[0].policy == "cn-hrss-2022-23-retention-training"
    assert a.citations[0].expired
    assert "该政策已于 2022-12-31 失效" in a.text


def test_a_policy_not_yet_in_force_says_so(index):
    a = answer(index, "稳岗返还能返多少", today=date(2022, 1, 1))
    assert "该政策自 2022-04-25 起施行，尚未生效" in a.text


@pytest.mark.parametrize(("question", "department"), [
    ("出口退税多久能到账", "国家税务总局（主管税务机关）"),
    ("人才落户需要什么条件", "人力资源和社会保障局"),
    ("商标注册要多久", "市场监督管理局"),
    ("今天天气怎么样", "12345政务服务便民热线（企业诉求）"),
])
def test_a_question_outside_the_pack_hands_off_to_a_person(index, question, department):
    a = answer(index, question, today=TODAY)
    assert not a.answered and a.citations == []
    assert a.handoff is not None and a.handoff.kind == "诉求"
    assert a.handoff.question == question and a.handoff.department == department
    assert "转人工" in a.text


def test_a_handoff_on_a_low_confidence_match_goes_to_that_policys_department(index):
    a = answer(index, "失业保险金怎么领取，需要什么材料", today=TODAY)
    assert a.handoff is not None


def test_every_faq_entry_cites_a_policy_and_clause_of_the_pack(index):
    for e in load_faq():
        assert e.policy in index.policies, e.id
        assert e.clause is None or e.clause in index.policies[e.policy].clauses, e.id


def test_an_faq_entry_of_an_unpublished_policy_is_not_indexed():
    from zhida.rules.model.policy import load_policies

    only = load_policies([ROOT / "policies" / "wenzhou-2023-8-specialized.yaml"])
    small = build_index([(p.spec.model_dump(mode="json"), p.content_hash) for p in only])
    assert {d.policy for d in small.documents} == {"wenzhou-2023-8-specialized"}
    a = answer(small, "稳岗补贴怎么申请", today=TODAY)
    assert a.handoff is not None
