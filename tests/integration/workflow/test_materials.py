"""The 材料银行's size limit (20 MB): a file at the limit is kept; one byte more is refused with a
message in Chinese saying the size, the limit and what to do, and nothing is stored."""

import pytest
import sqlalchemy as sa

from zhida.db import tables as t
from zhida.workflow import materials as bank

from .conftest import firm

USCC = "91330300MA2M000001"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _padded(size: int) -> bytes:
    return PDF + b"%" + b" " * (size - len(PDF) - 1)


def test_a_material_above_twenty_megabytes_is_refused_in_chinese_and_nothing_is_stored(database, tmp_path):
    me, files = firm(USCC), tmp_path / "files"
    assert bank.MAX_BYTES == 20 * 1024 * 1024
    with pytest.raises(bank.MaterialError) as refused:
        bank.upload(database.uow(), files, actor=me, file_name="营业执照.pdf", content=_padded(bank.MAX_BYTES + 1))
    assert str(refused.value) == "文件“营业执照.pdf”有 20.0 MB，超过 20 MB 的上限；请压缩或分成几个文件上传。"
    with database.uow() as uow:
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.materials)).scalar_one() == 0
    assert not [p for p in files.rglob("*") if p.is_file()]

    kept = bank.upload(database.uow(), files, actor=me, file_name="营业执照.pdf", content=_padded(bank.MAX_BYTES))
    assert kept.size == bank.MAX_BYTES and kept.kind == bank.classify("营业执照.pdf")
