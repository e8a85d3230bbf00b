"""OCR for pages without a text layer (scanned PDF and OFD pages), with RapidOCR (PP-OCR models run by
onnxruntime) — the optional extra ``pip install 'briefing-rag[ocr]'``.

The models ship inside the ``rapidocr`` wheel (pinned exactly in pyproject.toml) and are named
by path, so no download is ever attempted: it works offline. Each page is rasterised with
pypdfium2 (rotation applied), read, and dropped before the next, so memory stays bounded on a
300-page scan. The orientation classifier runs only on a page that reads badly upright.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from rag.readers import join_words

INSTALL_HINT = "安装 OCR 扩展后即可识别：pip install 'briefing-rag[ocr]'"
RENDER_DPI = 200  # PP-OCR reads 10.5 pt body text reliably from 150 dpi up
_RETRY_BELOW = 0.75  # mean confidence under which a page is read again with the classifier
_MIN_SCORE = 0.5


def available() -> bool:
    """Whether the OCR extra is installed."""
    try:
        import onnxruntime  # noqa: F401
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _engine() -> Any:
    import rapidocr
    from rapidocr import RapidOCR

    models = Path(rapidocr.__file__).parent / "models"
    params = {
        "Global.log_level": "error",
        "Global.use_cls": False,
        "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
        "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
        "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
    }
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return RapidOCR(params=params)


def page_lines(page: Any) -> list[str]:
    """The text lines of a pypdfium2 page, top to bottom, left to right."""
    return image_lines(page.render(scale=RENDER_DPI / 72).to_numpy())


def image_lines(image: Any) -> list[str]:
    """The text lines of a page image (an RGB array), top to bottom, left to right."""
    engine = _engine()
    result = engine(image)
    scores = list(result.scores or ())
    if not scores or sum(scores) / len(scores) < _RETRY_BELOW:
        rotated = engine(image, use_cls=True)
        if rotated.scores and sum(rotated.scores) / len(rotated.scores) > (
            sum(scores) / len(scores) if scores else 0
        ):
            result = rotated
    if not result.txts:
        return []
    boxes = [
        (box[0][1], box[0][0], box[3][1] - box[0][1], text, score)
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
    ]
    return _lines(boxes)


def _lines(boxes: list[tuple[float, float, float, str, float]]) -> list[str]:
    """Boxes (top, left, height, text, score) grouped into lines: a box whose top lies within
    half a line height of the line's first box is on that line."""
    rows: list[list[tuple[float, float, float, str, float]]] = []
    for box in sorted(boxes):
        if box[4] < _MIN_SCORE:
            continue
        if rows and box[0] - rows[-1][0][0] < 0.5 * max(rows[-1][0][2], 1):
            rows[-1].append(box)
        else:
            rows.append([box])
    return [join_words(text for _, _, _, text, _ in sorted(row, key=lambda b: b[1])) for row in rows]
