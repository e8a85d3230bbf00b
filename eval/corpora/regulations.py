"""把八部公有领域的地方科技法规排成三种版式，生成一个供 rag 评测的项目目录（OUT_DIR/data/）。

    python eval/corpora/regulations.py OUT_DIR [--source DIR] [--force]

版式固定（见 README.md）：三部保持 Markdown，三部排成“从 PDF 抽出的文本”（硬换行、页码、换页符），
两部用 reportlab 排成 PDF（页眉、页脚）。同一来源每次生成的文件逐字节相同。
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "regulations" / "source"
INFO_END = "<!-- INFO END -->"
FONT = "STSong-Light"
PAGE_LINES = 35  # 抽取文本每页的正文行数（在 33–37 之间取第一个能让换页落在句中的值）
NO_LINE_START = "，。、；：？！）”’》」』"  # 排版禁则：这些标点不出现在行首
NO_LINE_END = "（“‘《「『"  # 这些不出现在行尾


@dataclass(frozen=True)
class TextStyle:
    """一种“PDF 抽取文本”的样子。"""

    width: int  # 每行字数
    double_spaced: bool  # 行与行之间有空行（有些抽取工具如此）
    indent: bool  # 段首两个全角空格
    form_feed: bool  # 换页用 \f；否则用空行
    number: str  # 页码格式


MARKDOWN = (
    "上海市推进科技创新中心建设条例",
    "深圳经济特区人工智能产业促进条例",
    "北京市促进科技成果转化条例",
)
TEXT = {
    "北京国际科技创新中心建设条例": TextStyle(30, False, True, True, "- {} -"),
    "广东省知识产权保护条例": TextStyle(28, True, False, True, "— {} —"),
    "郑洛新国家自主创新示范区条例": TextStyle(32, False, False, False, "- {} -"),
}
PDF = {"中关村国家自主创新示范区条例": "第 {} 页", "青岛市科技创新促进条例": "- {} -"}


@dataclass(frozen=True)
class Regulation:
    """一部法规：标题、题注（日期与机关）、正文块（是否标题, 文字）。"""

    name: str
    title: str
    preamble: list[str]
    blocks: list[tuple[bool, str]]


def parse(path: Path) -> Regulation:
    """读 LawRefBook 格式的 Markdown：# 标题、题注、<!-- INFO END -->、## 章标题与条文。"""
    head, found, body = path.read_text(encoding="utf-8").partition(INFO_END)
    head_lines = [line.strip() for line in head.splitlines() if line.strip()]
    if not found or not head_lines or not head_lines[0].startswith("# "):
        raise ValueError(f"{path.name}：不是预期的格式（缺少 # 标题或 {INFO_END}）")
    blocks: list[tuple[bool, str]] = []
    for raw in body.splitlines():
        line = raw.replace("\u200b", "").strip()
        if not line:
            continue
        if match := re.match(r"^#+\s*(.+)$", line):
            blocks.append((True, re.sub(r"[ \u3000]+", "\u3000", match.group(1).strip())))
        else:
            blocks.append((False, re.sub(r"^(第[一二三四五六七八九十百零]+条) +", "\\1\u3000", line)))
    return Regulation(path.stem, head_lines[0][2:].strip(), head_lines[1:], blocks)


def dated_lines(reg: Regulation) -> list[str]:
    """题注排成正式文本的样子：“（2019年11月27日北京市……会议通过）”。"""
    return ["（" + re.sub(r"^(\d{4}年\d{1,2}月\d{1,2}日)\s+", r"\1", line) + "）" for line in reg.preamble]


def metadata(reg: Regulation) -> dict[str, str]:
    """briefings.toml 的一项：标题、制定机关（人大或其常委会）、通过或最后修改日期、原文件名。"""
    publisher, dates = "", []
    for line in reg.preamble:
        if not re.search(r"通过|修正|修订|修改", line):
            continue
        if day := re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", line):
            dates.append(f"{day[1]}-{int(day[2]):02d}-{int(day[3]):02d}")
        organ = re.search(r"日\s*(\S+?)第[一二三四五六七八九十]+届(人民代表大会(?:常务委员会)?)", line)
        if organ and not publisher:
            publisher = organ[1] + organ[2]
    return {
        "title": reg.title,
        "publisher": publisher,
        "date": max(dates, default=""),
        "original": f"{reg.name}.md",
    }


def wrap(text: str, too_long: Callable[[str], bool]) -> list[str]:
    """硬换行：一行加上下一个字就 ``too_long`` 时换行；遵守行首、行尾禁则。"""
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and too_long(current + ch) and ch not in NO_LINE_START:
            carry = current[-1] if len(current) > 1 and current[-1] in NO_LINE_END else ""
            lines.append(current.removesuffix(carry))
            current = carry
        current += ch
    return [*lines, current] if current else lines


def by_count(width: int) -> Callable[[str], bool]:
    """每行至多 ``width`` 字（禁则标点可以多出一个）。"""
    return lambda line: len(line) > width


def text_layout(reg: Regulation, style: TextStyle) -> tuple[str, int]:
    """“PDF 抽取文本”：标题行、题注、按字数硬换行的正文，每页末尾一行居中页码。返回（文本, 页数）。"""
    lines = [reg.title] + [part for line in dated_lines(reg) for part in wrap(line, by_count(style.width))]
    for is_heading, text in reg.blocks:
        if is_heading:
            lines.append(text)
        else:
            lines.extend(wrap(("\u3000\u3000" if style.indent else "") + text, by_count(style.width)))
    headings = {text for is_heading, text in reg.blocks if is_heading}
    for size in (PAGE_LINES, 34, 36, 33, 37):
        pages = [lines[i : i + size] for i in range(0, len(lines), size)]
        # 至少有一处换页落在句子中间（上一页末行未完句，下一页首行不是新标题）。
        if any(
            p[-1][-1] not in "。：；" and n[0] not in headings for p, n in zip(pages, pages[1:], strict=False)
        ):
            break
    else:
        raise ValueError(f"{reg.name}：找不到落在句中的换页位置")
    between = "\n\n" if style.double_spaced else "\n"
    blocks = []
    for number, page in enumerate(pages, start=1):
        footer = " " * (style.width - 3) + style.number.format(number)
        blocks.append(between.join(page) + ("\n\n" if style.form_feed else "\n\n\n") + footer)
    return ("\f" if style.form_feed else "\n\n").join(blocks) + "\n", len(pages)


def pdf_layout(reg: Regulation, footer: str, path: Path) -> int:
    """A4 PDF：首页大字标题与题注，正文按版面宽度换行；每页页眉为法规标题、页脚为页码。返回页数。"""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    width, height = A4
    left, right, top, bottom = 72.0, width - 72.0, height - 84.0, 80.0
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)  # invariant：不写时间戳，输出可复现
    page, y = 0, 0.0

    def new_page() -> None:
        nonlocal page, y
        if page:
            pdf.showPage()
        page += 1
        pdf.setFont(FONT, 9)
        pdf.drawCentredString(width / 2, height - 52, reg.title)
        pdf.line(left, height - 58, right, height - 58)
        pdf.drawCentredString(width / 2, 44, footer.format(page))
        y = top

    def put(text: str, size: float, centred: bool = False, indent: float = 0.0, space: float = 0.0) -> None:
        nonlocal y
        limit = right - left - indent
        for i, line in enumerate(wrap(text, lambda s: pdfmetrics.stringWidth(s, FONT, size) > limit)):
            step = size * 1.7 + (space if i == 0 else 0.0)
            if y - step < bottom:
                new_page()
                step = size * 1.7
            y -= step
            pdf.setFont(FONT, size)
            if centred:
                pdf.drawCentredString(width / 2, y, line)
            else:
                pdf.drawString(left + (indent if i == 0 else 0.0), y, line)

    new_page()
    put(reg.title, 18, centred=True, space=10)
    for line in dated_lines(reg):
        put(line, 10.5, centred=True, space=4)
    for is_heading, text in reg.blocks:
        if is_heading:
            put(text, 12.5, centred=True, space=10)
        else:
            put(text, 11, indent=22.0, space=2)
    pdf.showPage()
    pdf.save()
    return page


def build(source: Path, data: Path) -> list[str]:
    """把八部法规按固定版式写进 ``data``，并写 briefings.toml；返回每个文件一行的说明。"""
    names = [*MARKDOWN, *TEXT, *PDF]
    missing = [f"{name}.md" for name in names if not (source / f"{name}.md").is_file()]
    if missing:
        raise FileNotFoundError(f"来源目录 {source} 缺少：{'、'.join(missing)}")
    data.mkdir(parents=True, exist_ok=True)
    entries, report = [], []
    for name in names:
        reg = parse(source / f"{name}.md")
        if name in MARKDOWN:
            target = data / f"{name}.md"
            target.write_bytes((source / f"{name}.md").read_bytes())
            what = "Markdown 原样"
        elif name in TEXT:
            target = data / f"{name}.txt"
            text, pages = text_layout(reg, TEXT[name])
            target.write_text(text, encoding="utf-8", newline="\n")
            what = f"PDF 抽取文本，{pages} 页"
        else:
            target = data / f"{name}.pdf"
            what = f"PDF，{pdf_layout(reg, PDF[name], target)} 页"
        rows = [f"[{json.dumps(target.name, ensure_ascii=False)}]"]  # JSON 字符串也是合法的 TOML 字符串
        rows += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in metadata(reg).items()]
        entries.append("\n".join(rows) + "\n")
        report.append(f"{target.name}：{what}")
    header = (
        "# 评测语料：八部地方科技法规（公有领域，见 eval/corpora/README.md）。\n"
        "# 由 eval/corpora/regulations.py 生成，请勿手工修改；original 为 source/ 中的原始 Markdown 文件名。\n\n"
    )
    (data / "briefings.toml").write_text(header + "\n".join(entries), encoding="utf-8", newline="\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="把八部公有领域的地方科技法规排成 Markdown、PDF 抽取文本和 PDF 三种版式，生成评测用的项目目录。",
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="项目目录；文件写到 OUT_DIR/data/")
    parser.add_argument(
        "--source",
        metavar="DIR",
        type=Path,
        default=SOURCE,
        help="法规 Markdown 所在目录（默认为脚本旁的 regulations/source/）",
    )
    parser.add_argument(
        "--force", action="store_true", help="OUT_DIR/data/ 已有文件时仍然写入（覆盖同名文件）"
    )
    args = parser.parse_args(argv)
    data = args.out_dir / "data"
    try:
        if data.is_dir() and any(data.iterdir()) and not args.force:
            raise FileExistsError(f"{data} 已存在且不为空；确认要覆盖其中的同名文件请加 --force")
        report = build(args.source, data)
    except (OSError, ValueError) as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    print("\n".join(report))
    print(f"已写入 {data}（{len(report)} 篇法规与 briefings.toml）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
