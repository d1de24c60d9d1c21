"""The compiled-pack cache on the demo city: a pack read back from disk matches the city
(eligible, unknown, excluded, near misses, missing facts, enterprise caps) and explains its
enterprises exactly as a fresh compile does."""

from ruamel.yaml import YAML

from zhida.matching.evaluate import match_frame
from zhida.matching.run import population_frame
from zhida.packs.cache import PackCache
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.model.policy import parse_policy, policy_files

from .conftest import AS_OF, POLICIES


def test_a_cached_pack_matches_and_explains_the_city_like_a_fresh_compile(city_store, schema, tmp_path):
    files = policy_files([POLICIES])
    yaml = YAML(typ="safe")
    docs = [yaml.load(f.read_text(encoding="utf-8")) for f in files]
    sources = [str(f) for f in files]
    compiled = compile_policies([parse_policy(d, s) for d, s in zip(docs, sources, strict=True)], schema, AS_OF)
    PackCache(tmp_path).load_or_compile(docs, schema, AS_OF, sources=sources)
    cache = PackCache(tmp_path)
    cached = cache.load_or_compile(docs, schema, AS_OF, sources=sources)
    assert cache.hits == 1
    assert cached.policies == compiled.policies

    df = population_frame(city_store, compiled.requirements, AS_OF, schema)
    want = match_frame(compiled, df)
    assert want.height > 0
    assert match_frame(cached, df).equals(want)
    assert cached.evaluate(df, diagnose=True).equals(compiled.evaluate(df, diagnose=True))
    for i in range(0, df.height, 37):
        assert ([e.to_dict() for e in explain_frame(cached, df, i)]
                == [e.to_dict() for e in explain_frame(compiled, df, i)])
