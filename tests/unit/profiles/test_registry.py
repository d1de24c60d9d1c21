import pytest

from zhida.profiles.derive import DERIVATIONS
from zhida.profiles.errors import MappingError, RegistryError
from zhida.profiles.mapping import load_mapping, parse_mapping
from zhida.profiles.registry import load_registry, parse_registry
from zhida.rules.lang.schema import Schema

REG = load_registry()
CONTRACT_LISTS = {"专精特新小巨人", "省专精特新", "省隐形冠军", "高新技术企业", "科技型中小企业",
                  "经营异常名录", "严重违法失信名单", "四上企业"}


def test_registry_has_at_least_60_fields_from_at_least_8_sources():
    stored = [f for f in REG.fields.values() if not f.derived]
    assert len(REG.fields) >= 60
    assert len({f.source for f in stored}) >= 8


def test_every_field_is_fully_described_and_labels_are_unique():
    labels = [f.label for f in REG.fields.values()]
    assert len(labels) == len(set(labels))
    for f in REG.fields.values():
        assert f.id.isidentifier() and f.id == f.id.lower(), f.id
        assert f.description and f.type and f.period in ("none", "month", "year")


def test_personal_information_is_flagged_and_masked():
    assert REG.fields["legal_representative"].pii and REG.fields["legal_representative"].mask
    assert REG.fields["bank_account"].pii and REG.fields["bank_account"].mask == "account"


def test_every_derivation_named_in_the_registry_exists():
    assert {f.derivation for f in REG.fields.values() if f.derived} <= set(DERIVATIONS)


def test_rules_schema_contract():
    schema = REG.to_rules_schema()
    assert isinstance(schema, Schema)
    assert set(schema.lists) >= CONTRACT_LISTS
    assert schema.region_field == "district_code" and schema.location_fields == ("longitude", "latitude")
    assert "uscc" not in schema.fields
    assert schema.resolve("营业收入").id == "revenue"
    assert schema.fields["district_code"].codes and "330383" in schema.fields["district_code"].codes
    assert schema.fields["layoff_rate"].type == "percent" and schema.fields["layoff_rate"].numeric_scale == 4


def test_a_registry_with_duplicate_labels_and_unknown_sources_is_refused_with_every_problem():
    doc = {"sources": {"tax": {"label": "税务", "department": "税务局", "freshness_days": 1}},
           "code_lists": {},
           "fields": [
               {"id": "a", "label": "甲", "type": "money", "period": "year", "source": "tax", "pii": False,
                "description": "x"},
               {"id": "b", "label": "甲", "type": "float", "period": "day", "source": "nowhere", "pii": False,
                "description": "x"},
           ]}
    with pytest.raises(RegistryError) as e:
        parse_registry(doc)
    text = str(e.value)
    for word in ("中文名称重复", "float", "day", "nowhere"):
        assert word in text


def test_shipped_mappings_are_valid():
    for source in REG.sources:
        try:
            m = load_mapping(source, REG)
        except MappingError as e:
            assert "内置映射" in str(e)  # sources without a synthetic feed (received: the ledger publishes it)
            continue
        assert m.source == source


def test_a_wrong_mapping_reports_every_problem():
    doc = {"source": "tax", "period": "year", "fields": {
        "nope": "x", "insured": "参保人数", "size_row": "y", "revenue": {"column": "营收", "unit": "美元"}}}
    with pytest.raises(MappingError) as e:
        parse_mapping(doc, REG)
    text = str(e.value)
    for word in ("nope", "insured", "size_row", "美元", "period_column", "key"):
        assert word in text


def test_requirement_columns_name_the_fields_they_read():
    from zhida.profiles.datause import requirement_fields

    cols = ["revenue@2023", "revenue@2024", "insured@2024-03", "status", "list@高新技术企业", "zone@园区"]
    assert requirement_fields(cols) == ["insured", "list:高新技术企业", "revenue", "status", "zone:园区"]
