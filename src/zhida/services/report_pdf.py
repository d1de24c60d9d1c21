"""The special credit report as a PDF (fpdf2), with an embedded, subset CJK font.

The font is Debian's Noto Sans CJK (package fonts-noto-cjk): fpdf2 reads the `.ttc` collection
directly (`collection_font_number`; face 2 is Noto Sans CJK SC) and embeds only the glyphs used,
so a report stays small. Another font (.ttf/.otf/.ttc, face 0) may be named instead.

The PDF carries the report's content as an attachment (`credit-report.json`, the bytes whose
hash the verification code signs) and, in its Keywords, the seal that `report_seal` fills in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from zhida.services.credit_content import ATTACHMENT, ReportContent, Section
from zhida.services.errors import FontMissing

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
INSTALL = "apt-get install -y fonts-noto-cjk"
FAMILY = "cjk"
NUMERALS = "一二三四五六七八九十"
WIDTH = 174              # A4 (210 mm) less 18 mm margins


@dataclass(frozen=True)
class CjkFont:
    regular: Path
    bold: Path
    face: int = 0        # the face inside a .ttc collection


DEBIAN_NOTO = CjkFont(NOTO_DIR / "NotoSansCJK-Regular.ttc", NOTO_DIR / "NotoSansCJK-Bold.ttc", face=2)


def find_font(path: Path | None = None) -> CjkFont:
    """The font to embed: `path` if given, else Debian's Noto Sans CJK SC; a clear error if absent."""
    if path is not None:
        if not path.is_file():
            raise FontMissing(f"找不到字体文件 {path}；请指定一个存在的中文字体文件（.ttf、.otf 或 .ttc）。")
        return CjkFont(path, path)
    if not DEBIAN_NOTO.regular.is_file():
        raise FontMissing(f"找不到中文字体 {DEBIAN_NOTO.regular}，无法生成含中文的 PDF；"
                          "请安装 Debian 的 Noto CJK 字体："
                          f"{INSTALL}（或用 --font 指定一个中文字体文件）。")
    bold = DEBIAN_NOTO.bold if DEBIAN_NOTO.bold.is_file() else DEBIAN_NOTO.regular
    return CjkFont(DEBIAN_NOTO.regular, bold, DEBIAN_NOTO.face)


class _Report(FPDF):
    footer_note = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(110)
        self.cell(0, 6, f"{self.footer_note}    第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


def _load_fonts(pdf: FPDF, font: CjkFont) -> None:
    try:
        pdf.add_font(FAMILY, "", str(font.regular), collection_font_number=font.face)
        pdf.add_font(FAMILY, "B", str(font.bold), collection_font_number=font.face)
    except Exception as e:  # fontTools raises many kinds for a file that is not a usable font
        raise FontMissing(f"字体文件 {font.regular} 无法读取（{type(e).__name__}: {e}）；请安装 {INSTALL}，"
                          "或用 --font 指定另一个中文字体文件。") from None


def render(content: ReportContent, code: str, verifier: str, *, font: CjkFont, created: datetime,
           keywords: str) -> bytes:
    """The report's PDF bytes (not yet sealed: `keywords` holds the seal's placeholder)."""
    pdf = _Report(format="A4")
    _load_fonts(pdf, font)
    pdf.footer_note = f"{content.name}（{content.uscc}）专用信用报告"
    pdf.set_creation_date(created)
    pdf.set_title(f"专用信用报告：{content.name}")
    pdf.set_author(content.issuer)
    pdf.set_creator("zhida 政策直达")
    pdf.set_keywords(keywords)
    pdf.set_lang("zh-CN")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    _heading(pdf, content)
    _summary(pdf, content)
    for i, section in enumerate(content.sections):
        _section(pdf, NUMERALS[i] if i < len(NUMERALS) else str(i + 1), section, content.as_of)
    _sources(pdf, content)
    _verification(pdf, code, verifier)
    pdf.embed_file(bytes=content.to_json(), basename=ATTACHMENT, mime_type="application/json",
                   modification_date=created, desc="报告内容（JSON）；其 SHA-256 即验证码中的内容摘要")
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, size: float, *, bold: bool = False, align: str = "L", gap: float = 0,
          color: int = 0) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.set_text_color(color)
    pdf.multi_cell(0, size * 0.55, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if gap:
        pdf.ln(gap)


def _heading(pdf: FPDF, c: ReportContent) -> None:
    _line(pdf, "专用信用报告", 20, bold=True, align="C", gap=1)
    _line(pdf, "（企业信用状况专用报告，可代替无违法违规证明）", 10, align="C", gap=5, color=90)
    pdf.set_font(FAMILY, "", 10)
    with pdf.table(col_widths=(34, WIDTH - 34), first_row_as_headings=False, line_height=7) as table:
        for key, value in (("企业名称", c.name or "（画像库中无企业名称）"), ("统一社会信用代码", c.uscc),
                           ("报告期", f"{c.start} 至 {c.end}（列入或处罚决定日期在此期间的记录）"),
                           ("信用数据截至", c.as_of.isoformat()), ("出具日期", c.issued.isoformat()),
                           ("出具方", f"政策直达平台（签名密钥 {c.issuer}）")):
            row = table.row()
            row.cell(key)
            row.cell(value)
    pdf.ln(4)


def _summary(pdf: FPDF, c: ReportContent) -> None:
    names = "、".join(s.name for s in c.sections)
    if c.records == 0:
        text = f"结论：报告期内，未发现该企业有下列信用记录：{names}。"
    else:
        parts = "，".join(f"{s.name} {len(s.entries)} 条" for s in c.sections)
        text = f"结论：报告期内，该企业共有 {c.records} 条信用记录（{parts}），明细如下。"
    _line(pdf, text, 11, bold=True, gap=3)


def _section(pdf: FPDF, number: str, s: Section, as_of: date) -> None:
    _line(pdf, f"{number}、{s.name}", 12, bold=True, gap=1)
    _line(pdf, f"{s.description}。提供部门：{s.department}", 8.5, gap=1, color=90)
    if not s.entries:
        _line(pdf, "报告期内无记录。", 10, gap=3)
        return
    pdf.set_font(FAMILY, "", 9)
    with pdf.table(col_widths=(22, 44, 46, 22, 40), line_height=6) as table:
        head = table.row()
        for title in ("日期", "事由", "文号", "公示截止", "状态"):
            head.cell(title)
        for e in s.entries:
            row = table.row()
            for value in (e.listed_on.isoformat() if e.listed_on else "—", e.reason or "—", e.ref or "—",
                          e.expires_on.isoformat() if e.expires_on else "—", e.status(as_of)):
                row.cell(value)
    _line(pdf, f"日期为列入或处罚决定日期；状态截至 {as_of}。", 8, gap=3, color=90)


def _sources(pdf: FPDF, c: ReportContent) -> None:
    _line(pdf, "数据来源", 12, bold=True, gap=1)
    pdf.set_font(FAMILY, "", 9)
    with pdf.table(col_widths=(40, 56, 48, 30), line_height=6) as table:
        head = table.row()
        for title in ("信用信息", "提供部门", "数据文件", "数据日期"):
            head.cell(title)
        for s in c.sections:
            row = table.row()
            for value in (s.name, s.department, s.file, s.known_on):
                row.cell(value)
    pdf.ln(3)


def _verification(pdf: FPDF, code: str, verifier: str) -> None:
    if pdf.get_y() > pdf.h - pdf.b_margin - 56:     # keep the code, its QR and the key together
        pdf.add_page()
    _line(pdf, "验证信息", 12, bold=True, gap=1)
    top = pdf.get_y()
    image = io.BytesIO()
    segno.make(code, error="m").save(image, kind="png", scale=4, border=2)
    pdf.image(image, x=pdf.l_margin + WIDTH - 34, y=top, w=34)
    pdf.set_right_margin(18 + 38)
    _line(pdf, "验证码：", 9, bold=True)
    _line(pdf, code, 8.5, gap=2)
    _line(pdf, "本报告由政策直达平台以 Ed25519 数字签名出具。核验：zhida credit verify <本 PDF 文件或上面的验证码>；"
               "或用签发机关公布的验证公钥离线核验（方法见 docs/enterprise-services.md）。"
               "文件的任何改动都会使核验失败。",
          8.5, gap=2, color=60)
    _line(pdf, f"验证公钥：{verifier}", 8, color=60)
    pdf.set_right_margin(18)
    pdf.set_y(max(pdf.get_y(), top + 36))

