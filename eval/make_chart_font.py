"""Make the CJK font the eval charts use (rag/fonts/chart-font.otf) from Noto Sans CJK SC.

    python eval/make_chart_font.py NotoSansCJKsc-Regular.otf

A chart must show Chinese on a fresh machine, which has no CJK font; a whole CJK font is 16 MB.
The subset keeps ASCII, Chinese punctuation and the 3,755 characters of GB 2312 level 1 (the
common characters, which cover the chart's own labels and nearly every set name): 0.9 MB.
Noto Sans CJK SC is under the SIL Open Font License 1.1 (rag/fonts/OFL.txt); the subset is a
Modified Version under another name, as the licence asks. The source font is in, for example,
the ``mplfonts`` wheel on PyPI (mplfonts/fonts/NotoSansCJKsc-Regular.otf).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parents[1] / "rag" / "fonts" / "chart-font.otf"
FAMILY = "briefing-rag chart font"
PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…·％～"


def gb2312_level1() -> str:
    """The 3,755 characters of GB 2312 level 1 (rows 16–55)."""
    chars = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="NotoSansCJKsc-Regular.otf")
    args = parser.parse_args()
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + PUNCTUATION + gb2312_level1()
    font = TTFont(args.source)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.layout_features = []
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "-")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT}: {OUT.stat().st_size / 1e6:.1f} MB, {len(text)} characters")


if __name__ == "__main__":
    main()
