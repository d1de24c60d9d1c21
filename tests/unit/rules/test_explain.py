from tests.unit.rules.support import clause, policy, run


def explain(when, facts, amount="1"):
    _batch, explained = run(policy([clause(when, amount)]), [facts])
    return explained[0]["demo/c"]


def test_near_miss_says_what_is_missing_to_qualify():
    e = explain("参保人数 >= 10 and revenue[last_year] >= 100万",
                {"facts": {"employees": 8, "revenue": {"2023": "200万"}}})
    assert e.status == "ineligible"
    assert e.reasons == ["参保人数 8，需 ≥ 10"]
    assert [a.verdict_text for a in e.atoms] == ["不满足", "满足"]


def test_each_atom_shows_the_values_seen():
    e = explain("revenue[last_year] >= 100万", {"facts": {"revenue": {"2023": "1234567.8"}}})
    assert e.atoms[0].facts[0].label == "营业收入[2023]"
    assert e.atoms[0].facts[0].value == "1,234,567.80元"


def test_code_membership_hint_lists_the_allowed_codes():
    e = explain('industry_code in ["C39", "C40"]', {"facts": {"industry_code": "F52"}})
    assert e.reasons == ["行业代码 为 F52，需属于［C39、C40］"]


def test_list_and_flag_hints():
    e = explain('listed("专精特新小巨人")', {"facts": {}, "lists": {"专精特新小巨人": []}})
    assert e.reasons == ["未列入名单“专精特新小巨人”"]
    e = explain("high_tech", {"facts": {"high_tech": False}})
    assert e.reasons == ["高新技术企业：否，需为是"]


def test_unknown_lists_the_missing_facts_by_label():
    e = explain("参保人数 >= 10 and not listed(\"严重违法失信名单\")", {"facts": {}})
    assert e.status == "unknown"
    assert e.missing == ["参保人数", "名单“严重违法失信名单”"]
    assert e.atoms[0].hint == "缺少：参保人数"


def test_percent_fields_display_as_percent():
    e = explain("layoff_rate[last_year] <= 5.5%", {"facts": {"layoff_rate": {"2023": "6%"}}})
    assert e.reasons == ["裁员率[2023] 6%，需 ≤ 5.5%"]
    assert e.atoms[0].facts[0].value == "6%"


def test_only_deciding_atoms_are_reasons():
    # employees fails the first atom; the false branch inside the `or` that holds is no reason
    e = explain("参保人数 >= 10 and (参保人数 >= 100 or high_tech) and not (参保人数 > 500)",
                {"facts": {"employees": 5, "high_tech": True}})
    assert e.reasons == ["参保人数 5，需 ≥ 10"]


def test_a_negated_condition_that_holds_is_explained_as_such():
    listed = {"严重违法失信名单": [{"from": "2020-01-01"}]}
    e = explain('not listed("严重违法失信名单")', {"facts": {}, "lists": listed})
    assert e.reasons == ["列入名单“严重违法失信名单” 成立，但条件要求其不成立"]


def test_percent_parameter_is_shown_as_percent():
    from tests.unit.rules.support import policy as make_policy

    params = {"target": {"label": "控制目标", "unit": "percent", "source": "测试", "values": {2020: "5.5%"}}}
    _b, explained = run(make_policy([clause('layoff_rate[last_year] <= param("target")', "1")], parameters=params),
                        [{"facts": {"layoff_rate": {"2023": "6%"}}}])
    assert explained[0]["demo/c"].reasons == ["裁员率[2023] 6%，需 ≤ 5.5%"]


def test_prefix_hint_shows_the_code_seen():
    e = explain('starts_with(industry_code, ["51", "52"])', {"facts": {"industry_code": "C39"}})
    assert e.reasons == ['行业代码 为 C39，需以 "51", "52" 开头']
