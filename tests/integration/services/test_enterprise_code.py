"""企业码: a signed QR payload per firm, linking to its public page, verified offline with the published key."""

import stat
from datetime import date

import polars as pl
import pytest

from zhida.accounts import SYSTEM, NotAllowed
from zhida.audit import log as audit_log
from zhida.audit.note import Signer
from zhida.profiles.datause import uses_of_enterprise
from zhida.profiles.registry import load_registry
from zhida.services import signing
from zhida.services.enterprise_code import issue_code, payload_for, verify_code, write_qr
from zhida.services.errors import ServiceError, VerificationFailed
from zhida.services.public_page import public_page

from ..matching.conftest import AS_OF, city_store, store  # noqa: F401
from ..workflow.conftest import REVIEWER, firm

BASE = "https://zhida.example.gov.cn"
ISSUED = date(2024, 7, 2)
REGISTRY = load_registry()


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return signing.load_or_create_signer(signing.key_path(tmp_path_factory.mktemp("data")))


def entries(city, list_name: str) -> pl.DataFrame:
    batch = next(b for b in city.batches() if list_name in b.lists)
    return city.lists(batch).collect().filter(pl.col("list") == list_name)


def in_force(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter((pl.col("listed_on") <= AS_OF) & (pl.col("removed_on").is_null() | (pl.col("removed_on") > AS_OF))
                     & (pl.col("expires_on").is_null() | (pl.col("expires_on") >= AS_OF)))


@pytest.fixture(scope="module")
def uscc(city_store):  # noqa: F811
    """A firm in force on 经营异常名录 on the city's date."""
    return in_force(entries(city_store, "经营异常名录"))["uscc"].sort()[0]


def test_a_firms_code_verifies_with_the_published_key(database, store, signer, uscc):  # noqa: F811
    code = issue_code(database.uow(), store, REGISTRY, uscc, actor=firm(uscc), as_of=AS_OF, issued=ISSUED,
                      signer=signer, base_url=BASE + "/")
    assert code.payload.startswith(f"{BASE}/e/{uscc}?v=1&d=2024-07-02&k={signing.key_id(signer)}&s=")
    verified = verify_code(code.payload, [signer.verifier()])
    assert (verified.uscc, verified.issued, verified.key_name, verified.url) == (
        uscc, ISSUED, signing.KEY_NAME, code.payload)


def test_any_changed_character_of_a_payload_fails_verification(signer, uscc):
    payload = payload_for(BASE, uscc, ISSUED, signer)
    for i, ch in enumerate(payload):
        changed = payload[:i] + ("A" if ch != "A" else "B") + payload[i + 1:]
        with pytest.raises(VerificationFailed, match="企业码"):
            verify_code(changed, [signer.verifier()])


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.replace("d=2024-07-02", "d=2025-07-02"), "签名不成立"),
    (lambda p: p.replace(BASE, "https://zhida.example.com"), "签名不成立"),
    (lambda p: p.rpartition("&s=")[0], "缺少签名"),
    (lambda p: p[:-1], "签名"),
])
def test_a_tampered_payload_fails_with_a_chinese_message(signer, uscc, change, message):
    with pytest.raises(VerificationFailed, match=message):
        verify_code(change(payload_for(BASE, uscc, ISSUED, signer)), [signer.verifier()])


def test_a_code_does_not_verify_with_another_key(signer, uscc):
    other = Signer.generate(signing.KEY_NAME)
    with pytest.raises(VerificationFailed, match=f"编号为 {signing.key_id(signer)} 的验证公钥"):
        verify_code(payload_for(BASE, uscc, ISSUED, signer), [other.verifier()])
    forged = payload_for(BASE, uscc, ISSUED, other).replace(signing.key_id(other), signing.key_id(signer))
    with pytest.raises(VerificationFailed, match="签名不成立"):
        verify_code(forged, [signer.verifier()])


def test_a_firm_cannot_get_another_firms_code(database, store, signer, uscc):  # noqa: F811
    with pytest.raises(NotAllowed, match=uscc):
        issue_code(database.uow(), store, REGISTRY, uscc, actor=firm("91330302MA2A00000X"), as_of=AS_OF,
                   issued=ISSUED, signer=signer, base_url=BASE)
    assert uses_of_enterprise(database.uow(), uscc) == []


def test_staff_issue_any_firms_code_and_the_issue_is_recorded(database, store, signer, uscc):  # noqa: F811
    code = issue_code(database.uow(), store, REGISTRY, uscc, actor=REVIEWER, as_of=AS_OF, issued=ISSUED,
                      signer=signer, base_url=BASE)
    [use] = uses_of_enterprise(database.uow(), uscc)
    assert use.actor == REVIEWER.username and "企业码" in use.purpose and "list:经营异常名录" in use.fields
    [entry] = audit_log.entries(database.uow(), actor=SYSTEM, kind="enterprise_code.issue")
    assert entry.subject == f"enterprise:{uscc}" and entry.data["payload"] == code.payload


def test_the_public_page_shows_registration_certifications_and_abnormal_operation(city_store, uscc):  # noqa: F811
    page = public_page(city_store, REGISTRY, uscc, AS_OF)
    labels = [f.label for f in page.registration]
    assert labels[:2] == ["统一社会信用代码", "企业名称"] and page.name
    assert "法定代表人" not in labels                          # personal information stays off the public page
    assert "登记状态" in labels                                # 存续/吊销/注销 is public (企业信息公示暂行条例)
    [abnormal] = [c for c in page.credit if c.name == "经营异常名录"]
    assert abnormal.in_force and abnormal.text.startswith("有")
    hitech = in_force(entries(city_store, "高新技术企业"))["uscc"].sort()[0]
    listed = public_page(city_store, REGISTRY, hitech, AS_OF).certifications
    assert "高新技术企业" in [c.name for c in listed]


def test_an_unknown_firm_gets_no_code(database, store, signer):  # noqa: F811
    with pytest.raises(ServiceError, match="画像库中没有企业"):
        issue_code(database.uow(), store, REGISTRY, "91330302MA2A00000X", actor=SYSTEM, as_of=AS_OF, issued=ISSUED,
                   signer=signer, base_url=BASE)


def test_the_qr_image_is_written_as_svg_or_png(signer, uscc, tmp_path):
    payload = payload_for(BASE, uscc, ISSUED, signer)
    assert write_qr(payload, tmp_path / "code.svg", title="企业码").read_text(encoding="utf-8").lstrip().startswith("<")
    assert write_qr(payload, tmp_path / "code.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ServiceError, match=r"\.svg"):
        write_qr(payload, tmp_path / "code.jpg")


def test_the_key_is_made_once_readable_only_by_its_owner(tmp_path):
    path = signing.key_path(tmp_path)
    made = signing.load_or_create_signer(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.load_or_create_signer(path).verifier() == made.verifier() == signing.published_key(path)
    other = tmp_path / "audit.key"
    other.write_text(Signer.generate("zhida.local/audit").to_text() + "\n", encoding="utf-8")
    with pytest.raises(ServiceError, match="不是企业服务的签名密钥"):
        signing.load_or_create_signer(other)
    with pytest.raises(ServiceError, match="--key"):
        signing.published_key(tmp_path / "missing.key")
