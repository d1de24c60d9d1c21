"""专用信用报告: a signed PDF of a firm's credit records for a period, over the demo city's 信用 feed."""

import hashlib
import io
import re
from datetime import date
from pathlib import Path

import polars as pl
import pypdf
import pytest
from cryptography.exceptions import InvalidSignature
from pypdf.generic import ByteStringObject, ContentStream, TextStringObject

from zhida.accounts import SYSTEM, NotAllowed
from zhida.audit import log as audit_log
from zhida.audit.note import Signer
from zhida.db import Database, create_engine
from zhida.db.migrate import upgrade
from zhida.profiles.datause import uses_of_enterprise
from zhida.profiles.registry import load_registry
from zhida.services import report_pdf, report_seal, signing
from zhida.services.credit_content import ATTACHMENT
from zhida.services.credit_report import issue_report, verify_report_code, verify_report_file
from zhida.services.enterprise_code import payload_for
from zhida.services.errors import FontMissing, ServiceError, VerificationFailed

from ..matching.conftest import AS_OF, city_store, store  # noqa: F401
from ..workflow.conftest import REVIEWER, firm

ISSUED = date(2024, 7, 2)
START, END = date(2020, 1, 1), AS_OF
REGISTRY = load_registry()


def credit_entries(city) -> pl.DataFrame:
    batch = next(b for b in city.batches() if b.source == "credit")
    return city.lists(batch).collect()


@pytest.fixture(scope="module")
def penalised(city_store):  # noqa: F811
    """The firm with the most 行政处罚 decisions in the demo city, and its decisions by date."""
    penalties = credit_entries(city_store).filter(pl.col("list") == "行政处罚")
    uscc = penalties.group_by("uscc").len().sort(["len", "uscc"], descending=[True, False])["uscc"][0]
    return uscc, penalties.filter(pl.col("uscc") == uscc).sort("listed_on")


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return signing.load_or_create_signer(signing.key_path(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    """One SQLite store for the tests that only look at the file (the PDF is the same on every backend)."""
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'zhida.sqlite'}")
    upgrade(engine)
    yield Database(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def report(sqlite_db, city_store, penalised, signer):  # noqa: F811
    uscc, _ = penalised
    return issue_report(sqlite_db.uow(), city_store, REGISTRY, uscc, START, END, actor=firm(uscc), as_of=AS_OF,
                        issued=ISSUED, signer=signer)


def pdf_text(pdf: bytes) -> str:
    """The text shown on the report's pages (whitespace removed), read with pypdf.

    The glyph codes are decoded through each font's ToUnicode map, two bytes per code. (pypdf 7.1's
    `extract_text` takes an embedded encoding CMap, which fpdf2 writes for a CID-keyed CFF font such
    as Noto CJK, for a one-byte encoding: it puts a NUL before every character, and garbles codes
    above 255. PDF viewers, pdfium and poppler read these files as written.)"""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    out = []
    for page in reader.pages:
        maps = {name: to_unicode(font.get_object()["/ToUnicode"].get_object().get_data())
                for name, font in page["/Resources"]["/Font"].items()}
        font: dict[bytes, str] = {}
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"Tf":
                font = maps[operands[0]]
            elif op in (b"Tj", b"TJ"):
                for s in operands[0] if op == b"TJ" else operands[:1]:
                    if isinstance(s, (TextStringObject, ByteStringObject)):
                        raw = s.get_original_bytes() if isinstance(s, TextStringObject) else bytes(s)
                        out.extend(font.get(raw[i:i + 2], "") for i in range(0, len(raw), 2))
    return re.sub(r"\s+", "", "".join(out))


def to_unicode(cmap: bytes) -> dict[bytes, str]:
    return {bytes.fromhex(code.decode()): bytes.fromhex(text.decode()).decode("utf-16-be")
            for code, text in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)}


def test_the_report_pdf_renders_chinese_text_that_can_be_extracted(report, penalised):
    uscc, penalties = penalised
    text = pdf_text(report.pdf)
    assert report.content.name and report.content.name in text
    for word in ("专用信用报告", "行政处罚", "经营异常名录", "严重违法失信名单", "统一社会信用代码", uscc):
        assert word in text
    for ref in penalties["ref"]:
        assert ref in text


def test_a_report_verifies_from_its_file_and_from_its_code(report, signer, penalised):
    uscc, penalties = penalised
    from_file = verify_report_file(report.pdf, [signer.verifier()])
    assert from_file.content == report.content
    assert (from_file.code.uscc, from_file.code.start, from_file.code.end, from_file.code.issued) == (
        uscc, START, END, ISSUED)
    assert from_file.code.records == report.content.records == penalties.height + sum(
        1 for s in report.content.sections if s.name != "行政处罚" for _ in s.entries)
    from_code = verify_report_code(report.code, [signer.verifier()])
    assert from_code.code == from_file.code and from_code.content is None


def test_a_third_party_finds_the_content_whose_hash_the_code_signs(report, signer):
    attached = pypdf.PdfReader(io.BytesIO(report.pdf)).attachments[ATTACHMENT][0]
    assert hashlib.sha256(attached).digest() == verify_report_code(report.code, [signer.verifier()]).code.digest
    assert signer.verifier() in pdf_text(report.pdf)      # the verifier key is printed on the report


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_a_report_with_one_changed_byte_fails_verification(report, signer, where):
    tampered = bytearray(report.pdf)
    tampered[int(len(tampered) * where)] ^= 0x01
    with pytest.raises(VerificationFailed):
        verify_report_file(bytes(tampered), [signer.verifier()])


def test_a_changed_record_in_the_attached_content_fails_verification(report, signer, penalised):
    _, penalties = penalised
    ref = penalties["ref"][0].encode()                    # 温市监处罚〔2023〕1190号
    assert report.pdf.count(ref) == 1                     # only in the (uncompressed) attachment
    other = ref[:-4] + bytes([ref[-4] ^ 1]) + ref[-3:]    # its last digit changed: 1190号 → 1191号
    tampered = report.pdf.replace(ref, other)
    with pytest.raises(VerificationFailed, match="签名不成立"):
        verify_report_file(tampered, [signer.verifier()])


def test_a_changed_verification_code_fails_wherever_the_change_is(report, signer):
    key = [signer.verifier()]
    for i, ch in enumerate(report.code):
        changed = report.code[:i] + ("1" if ch != "1" else "2") + report.code[i + 1:]
        with pytest.raises(VerificationFailed):
            verify_report_code(changed, key)
    seal = report_seal.read_seal(report.pdf)
    altered = report.code.replace(f".{report.content.records}.", f".{report.content.records + 1}.")
    with pytest.raises(VerificationFailed, match="签名不成立"):
        verify_report_file(report.pdf.replace(seal.code.encode(), altered.encode()), key)


def test_a_report_does_not_verify_with_another_key(report):
    with pytest.raises(VerificationFailed, match="密钥"):
        verify_report_file(report.pdf, [Signer.generate(signing.KEY_NAME).verifier()])


def test_a_file_that_is_no_report_says_so(signer):
    with pytest.raises(VerificationFailed, match="没有验证信息"):
        verify_report_file(b"%PDF-1.4\n%%EOF\n", [signer.verifier()])


def test_the_report_covers_only_the_period_asked(database, store, penalised, signer):  # noqa: F811
    uscc, penalties = penalised
    first, later = penalties.row(0, named=True), penalties.filter(pl.col("listed_on") > penalties["listed_on"][0])
    assert later.height, "the demo city should give this firm decisions on different dates"
    one_day = issue_report(database.uow(), store, REGISTRY, uscc, first["listed_on"], first["listed_on"],
                           actor=firm(uscc), as_of=AS_OF, issued=ISSUED, signer=signer)
    listed = [e for s in one_day.content.sections for e in s.entries]
    assert [e.ref for e in listed] == [first["ref"]]
    text = pdf_text(one_day.pdf)
    assert first["ref"] in text and not any(ref in text for ref in later["ref"])
    before = issue_report(database.uow(), store, REGISTRY, uscc, date(2000, 1, 1), date(2000, 12, 31),
                          actor=firm(uscc), as_of=AS_OF, issued=ISSUED, signer=signer)
    assert before.content.records == 0 and "未发现该企业有下列信用记录" in pdf_text(before.pdf)
    assert verify_report_file(before.pdf, [signer.verifier()]).code.records == 0


def test_a_firm_cannot_get_another_firms_report(database, store, penalised, signer):  # noqa: F811
    uscc, _ = penalised
    other = next(u for u in credit_entries(store)["uscc"] if u != uscc)
    with pytest.raises(NotAllowed, match=uscc):
        issue_report(database.uow(), store, REGISTRY, uscc, START, END, actor=firm(other), as_of=AS_OF,
                     issued=ISSUED, signer=signer)
    assert uses_of_enterprise(database.uow(), uscc) == []


def test_staff_get_any_firms_report_and_every_report_is_recorded(database, store, penalised, signer):  # noqa: F811
    uscc, _ = penalised
    made = issue_report(database.uow(), store, REGISTRY, uscc, START, END, actor=REVIEWER, as_of=AS_OF,
                        issued=ISSUED, signer=signer)
    [use] = uses_of_enterprise(database.uow(), uscc)
    assert use.actor == REVIEWER.username and "专用信用报告" in use.purpose and "list:行政处罚" in use.fields
    [entry] = audit_log.entries(database.uow(), actor=SYSTEM, kind="credit_report.issue")
    assert entry.subject == f"enterprise:{uscc}" and entry.data["code"] == made.code


def test_no_report_is_issued_from_stale_or_missing_credit_data(database, store, penalised, signer):  # noqa: F811
    uscc, _ = penalised
    with pytest.raises(ServiceError, match="未导入或已超过更新期限"):
        issue_report(database.uow(), store, REGISTRY, uscc, START, END, actor=firm(uscc), as_of=date(2025, 6, 30),
                     issued=date(2025, 7, 1), signer=signer)


def test_a_period_that_ends_after_the_issue_date_is_refused(store, penalised, signer, sqlite_db):  # noqa: F811
    uscc, _ = penalised
    with pytest.raises(ServiceError, match="晚于出具日"):
        issue_report(sqlite_db.uow(), store, REGISTRY, uscc, START, date(2030, 1, 1), actor=firm(uscc),
                     as_of=AS_OF, issued=ISSUED, signer=signer)


def test_a_missing_cjk_font_names_the_debian_package(monkeypatch, store, penalised, signer, sqlite_db, tmp_path):  # noqa: F811
    monkeypatch.setattr(report_pdf, "DEBIAN_NOTO", report_pdf.CjkFont(tmp_path / "no.ttc", tmp_path / "no.ttc", 2))
    uscc, _ = penalised
    with pytest.raises(FontMissing, match="apt-get install -y fonts-noto-cjk"):
        issue_report(sqlite_db.uow(), store, REGISTRY, uscc, START, END, actor=firm(uscc), as_of=AS_OF,
                     issued=ISSUED, signer=signer)


def offline_verifier() -> dict:
    """The verification code of docs/enterprise-services.md, as a third party would copy it."""
    doc = (Path(__file__).parents[3] / "docs" / "enterprise-services.md").read_text(encoding="utf-8")
    source = re.search(r"```python\n(# offline verification.*?)```", doc, re.S).group(1)
    namespace: dict = {}
    exec(compile(source, "docs/enterprise-services.md", "exec"), namespace)
    return namespace


def test_a_third_party_verifies_offline_as_the_docs_say(report, signer, penalised):
    docs = offline_verifier()
    uscc, _ = penalised
    assert docs["verify_report_file"](report.pdf, signer.verifier())[1:5] == [
        uscc, START.isoformat(), END.isoformat(), ISSUED.isoformat()]
    assert docs["verify_report_code"](report.code, signer.verifier())[5] == str(report.content.records)
    payload = payload_for("https://zhida.example.gov.cn", uscc, ISSUED, signer)
    assert docs["verify_code"](payload, signer.verifier()).startswith("https://zhida.example.gov.cn/e/")
    tampered = bytearray(report.pdf)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(InvalidSignature):
        docs["verify_report_file"](bytes(tampered), signer.verifier())
    with pytest.raises(InvalidSignature):
        docs["verify_code"](payload.replace("2024-07-02", "2024-07-03"), signer.verifier())
