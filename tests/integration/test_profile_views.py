"""Personal data in a firm's profile (SQLite and PostgreSQL): classified in the registry, masked
by default, shown whole only to a role that needs it and for a stated purpose, every view
recorded as a data use, a whole view also in the audit log (naming the fields, not the values)."""

from datetime import date
from pathlib import Path

import pytest

import zhida.profiles.registry as reg
from zhida.accounts import SYSTEM, NotAllowed, Role, User
from zhida.audit import log as audit_log
from zhida.profiles.datause import uses_of_enterprise
from zhida.profiles.demo import demo_store
from zhida.profiles.errors import RegistryError
from zhida.profiles.profile import view_profile
from zhida.workflow.firms import latest_facts

AS_OF = date(2024, 6, 30)
DATA_OFFICER = User(id=21, username="data", display_name="数据", roles=frozenset({Role.DATA_OFFICER}))
LEADER = User(id=22, username="leader", display_name="领导", roles=frozenset({Role.LEADER}))


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    store = demo_store(AS_OF, base=tmp_path_factory.mktemp("city"), enterprises=60, seed=5)
    firms = store.facts(store.batches()[0], ["uscc"]).collect()["uscc"].to_list()
    facts = latest_facts(store, firms, ["legal_representative"], AS_OF)
    return store, next(u for u, f in facts.items() if f.get("legal_representative"))


def test_fields_are_classified_and_personal_ones_cannot_be_made_public():
    registry = reg.load_registry()
    assert [registry.fields[f].classification for f in ("enterprise_name", "revenue", "legal_representative",
                                                         "bank_account")] == ["public", "internal", "personal",
                                                                              "personal"]
    raw = reg._yaml_load(Path(reg.__file__).parent / "fields.yaml")
    next(f for f in raw["fields"] if f["id"] == "legal_representative")["level"] = "public"
    with pytest.raises(RegistryError, match="分级应为 personal 或 secret"):
        reg.parse_registry(raw)


def test_masked_by_default_whole_only_with_a_purpose_and_every_view_recorded(database, city):
    store, uscc = city
    registry = reg.load_registry()
    masked = view_profile(database.uow(), store, registry, uscc, AS_OF, actor=DATA_OFFICER, purpose="数据核查",
                          legal_basis="数据治理职责")
    shown = masked.filter(masked["field"] == "legal_representative")["value"][0]
    assert "*" in shown
    with pytest.raises(NotAllowed):                           # a leader oversees, but reads no firm's profile
        view_profile(database.uow(), store, registry, uscc, AS_OF, actor=LEADER, purpose="看看", legal_basis="x")
    with pytest.raises(NotAllowed, match="须写明用途"):
        view_profile(database.uow(), store, registry, uscc, AS_OF, actor=DATA_OFFICER, purpose=" ",
                     legal_basis="x", whole=True)
    whole = view_profile(database.uow(), store, registry, uscc, AS_OF, actor=DATA_OFFICER, purpose="核对法定代表人",
                         legal_basis="数据治理职责", whole=True)
    name = whole.filter(whole["field"] == "legal_representative")["value"][0]
    assert "*" not in name and name[0] == shown[0] and len(name) == len(shown)
    purposes = sorted(u.purpose for u in uses_of_enterprise(database.uow(), uscc) if u.scope == "enterprise")
    assert purposes == sorted(["核对法定代表人（含完整个人信息）", "数据核查"])
    reveal = audit_log.entries(database.uow(), actor=SYSTEM, kind="data.reveal")[0]
    assert reveal.subject == f"enterprise:{uscc}" and "legal_representative" in reveal.data["fields"]
    assert name not in str(reveal.data)


def test_legal_representative_id_number_and_phone_are_masked_unless_seen_whole(database, city):
    store, uscc = city
    registry = reg.load_registry()
    masked = view_profile(database.uow(), store, registry, uscc, AS_OF, actor=DATA_OFFICER, purpose="数据核查",
                          legal_basis="数据治理职责")
    whole = view_profile(database.uow(), store, registry, uscc, AS_OF, actor=DATA_OFFICER, purpose="核对法定代表人身份",
                         legal_basis="数据治理职责", whole=True)

    def value(df, field):
        return df.filter(df["field"] == field)["value"][0]

    id_number, phone = value(whole, "legal_rep_id_number"), value(whole, "legal_rep_phone")
    assert len(id_number) == 18 and id_number[:17].isdigit() and len(phone) == 11 and phone.isdigit()
    assert value(masked, "legal_rep_id_number") == id_number[:4] + "*" * 10 + id_number[-4:]
    assert value(masked, "legal_rep_phone") == phone[:3] + "****" + phone[-4:]
    assert id_number not in masked.write_csv() and phone not in masked.write_csv()
    reveal = audit_log.entries(database.uow(), actor=SYSTEM, kind="data.reveal")[0]
    assert {"legal_rep_id_number", "legal_rep_phone"} <= set(reveal.data["fields"])
    assert id_number not in str(reveal.data) and phone not in str(reveal.data)
