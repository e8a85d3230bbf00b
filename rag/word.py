"""Word (.docx) export: cited answers as a draft, every citation a real Word footnote.

python-docx writes the document (styles, headings, runs); it has no footnote API, so the
footnotes part (``word/footnotes.xml``, with the separator notes Word expects) is added through
python-docx's own package layer and each ``[n]`` becomes a ``<w:footnoteReference>`` run whose
footnote holds the passage's reference (GB/T 7714 by default, see ``rag.references``). Word, WPS
and LibreOffice number the footnotes themselves, continuously through a conversation.

Fonts follow Chinese drafting habits: 宋体 小四 for the body, 黑体 for headings, 宋体 小五 for
footnotes (with Times New Roman for Latin text).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph

from rag.drafts import DraftTurn
from rag.sentences import MARKER

BODY_FONT, HEADING_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
BODY_SIZE, NOTE_SIZE = Pt(12), Pt(9)  # 小四, 小五
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def draft_docx(turns: Sequence[DraftTurn], title: str | None = None) -> bytes:
    """A .docx holding ``turns`` (under ``title`` when given): each question a heading, each
    answer's citations footnotes."""
    document = Document()
    _set_styles(document)
    notes = _Footnotes(document)
    if title:
        document.add_heading(_xml_safe(title), level=0)
    for turn in turns:
        document.add_heading(_xml_safe(turn.question), level=1)
        references = {n: _xml_safe(text) for n, text in turn.references.items()}
        for line in _xml_safe(turn.answer).split("\n"):
            if line.strip():
                _add_cited_paragraph(document.add_paragraph(), line.strip(), references, notes)
        if turn.refused and turn.refusal_reason:
            document.add_paragraph().add_run(f"（拒答：{_xml_safe(turn.refusal_reason)}）").italic = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot hold (control characters from a damaged source)."""
    return _NOT_XML.sub("", text)


def _add_cited_paragraph(
    paragraph: Paragraph, text: str, references: Mapping[int, str], notes: _Footnotes
) -> None:
    last = 0
    for match in MARKER.finditer(text):
        paragraph.add_run(text[last : match.start()])
        n = int(match.group(1))
        if n in references:
            notes.add(paragraph, references[n])
        last = match.end()
    paragraph.add_run(text[last:])


def _east_asian(style: Any, font: str, size: Pt | None = None) -> None:
    style.font.name = LATIN_FONT
    if size is not None:
        style.font.size = size
    r_fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    r_fonts.set(qn("w:eastAsia"), font)


def _set_styles(document: Any) -> None:
    styles = document.styles
    _east_asian(styles["Normal"], BODY_FONT, BODY_SIZE)
    for name in ("Title", "Heading 1"):
        _east_asian(styles[name], HEADING_FONT)
    note_text = styles.add_style("Footnote Text", WD_STYLE_TYPE.PARAGRAPH)
    note_text.base_style = styles["Normal"]
    _east_asian(note_text, BODY_FONT, NOTE_SIZE)
    note_reference = styles.add_style("Footnote Reference", WD_STYLE_TYPE.CHARACTER)
    note_reference.font.superscript = True


class _Footnotes:
    """The document's footnotes part; ``add`` puts a footnote reference at the end of a paragraph."""

    def __init__(self, document: Any) -> None:
        self._document = document
        self._text_style = document.styles["Footnote Text"].style_id
        self._reference_style = document.styles["Footnote Reference"].style_id
        separators = "".join(
            f'<w:footnote w:type="{kind}" w:id="{note_id}"><w:p><w:pPr><w:spacing w:after="0" w:line="240"'
            f' w:lineRule="auto"/></w:pPr><w:r><w:{kind}/></w:r></w:p></w:footnote>'
            for kind, note_id in (("separator", -1), ("continuationSeparator", 0))
        )
        self._element = parse_xml(f"<w:footnotes {nsdecls('w')}>{separators}</w:footnotes>")
        part = XmlPart(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, self._element, document.part.package)
        document.part.relate_to(part, RT.FOOTNOTES)
        settings = document.settings.element
        settings.append(
            parse_xml(
                f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>'
            )
        )
        self._count = 0

    def add(self, paragraph: Paragraph, text: str) -> None:
        self._count += 1
        note_id = self._count
        reference = paragraph.add_run()
        reference.style = self._document.styles["Footnote Reference"]
        reference._r.append(parse_xml(f'<w:footnoteReference {nsdecls("w")} w:id="{note_id}"/>'))
        note = parse_xml(
            f'<w:footnote {nsdecls("w")} w:id="{note_id}"><w:p><w:pPr><w:pStyle w:val="{self._text_style}"/>'
            f'</w:pPr><w:r><w:rPr><w:rStyle w:val="{self._reference_style}"/></w:rPr><w:footnoteRef/></w:r>'
            f'<w:r><w:t xml:space="preserve"> </w:t></w:r></w:p></w:footnote>'
        )
        note.findall(f".//{qn('w:t')}")[0].text = f" {text}"  # set as text: the reference is escaped
        self._element.append(note)
