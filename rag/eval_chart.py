"""``chart.png`` of ``rag eval``: readable in Chinese on any machine, and in a Word document.

Left, the headline measures of the whole run as horizontal bars; right, each measure by question
type as a table of coloured cells. Every value is printed, so 0 reads as 0 and a measure a type
does not have reads as “–”, never as a missing bar. The CJK font is bundled (rag/fonts, a
subset of Noto Sans CJK SC under the SIL Open Font License): a fresh machine has none.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from rag.eval_format import METRIC_NAMES, type_label
from rag.evaluate import HEADLINE, LOWER_IS_BETTER

FONT_FILE = Path(__file__).parent / "fonts" / "chart-font.otf"


@cache
def chart_font() -> str:
    """The bundled CJK font, registered with matplotlib; returns its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT_FILE))
    return font_manager.FontProperties(fname=str(FONT_FILE)).get_name()


def _label(key: str) -> str:
    return METRIC_NAMES[key] + ("（越低越好）" if key in LOWER_IS_BETTER else "")


def render_chart(report: dict[str, Any], path: Path) -> None:
    """Write the chart of ``report`` (the content of report.json) to ``path``."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    by_type = report.get("by_type", {})
    metrics = [
        key
        for key in HEADLINE
        if report.get(key) is not None or any(m.get(key) is not None for m in by_type.values())
    ]
    # The font for this chart only: matplotlib's settings for the rest of the process stay as they were.
    with rc_context({"font.family": [chart_font(), "DejaVu Sans"]}):
        figure = Figure(figsize=(13, 0.45 * len(metrics) + 2.2), dpi=120)
        FigureCanvasAgg(figure)
        widths = [1, max(1.2, 0.55 * len(by_type))]
        overall, table = figure.subplots(1, 2, gridspec_kw={"width_ratios": widths})
        _overall_bars(overall, report, metrics)
        _type_table(table, by_type, metrics)
        eval_set = report.get("config", {}).get("eval_set")
        name = Path(eval_set).stem if eval_set else "未命名评测集"
        figure.suptitle(f"评测结果：{name}（{len(report.get('items') or [])} 题）")
        figure.savefig(path, format="png", bbox_inches="tight")


def _overall_bars(axes: Any, report: dict[str, Any], metrics: list[str]) -> None:
    values = [report.get(key) for key in metrics]
    positions = range(len(metrics))
    axes.barh(positions, [v or 0.0 for v in values], color="#3b6ea8", height=0.6)
    for y, value in zip(positions, values, strict=True):
        axes.text((value or 0.0) + 0.02, y, "–" if value is None else f"{value:.2f}", va="center", fontsize=9)
    axes.set_yticks(list(positions), [_label(key) for key in metrics], fontsize=9)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.15)
    axes.axvline(0, color="black", linewidth=1)  # the baseline: a zero bar is visibly zero
    axes.set_xlabel("得分（0–1）")
    axes.set_title("全部题目", fontsize=10)
    axes.grid(axis="x", alpha=0.3)


def _type_table(axes: Any, by_type: dict[str, dict[str, Any]], metrics: list[str]) -> None:
    import numpy as np

    types = list(by_type)
    if not types:
        axes.axis("off")
        return
    grid = np.array(
        [
            [np.nan if by_type[t].get(key) is None else float(by_type[t][key]) for t in types]
            for key in metrics
        ]
    )
    # Green is good: a measure where lower is better is coloured by 1 − value.
    goodness = np.array(
        [1 - grid[row] if key in LOWER_IS_BETTER else grid[row] for row, key in enumerate(metrics)]
    )
    axes.imshow(np.ma.masked_invalid(goodness), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", alpha=0.6)
    for (row, column), value in np.ndenumerate(grid):
        shown = "–" if np.isnan(value) else f"{value:.2f}"
        axes.text(column, row, shown, ha="center", va="center", fontsize=8)
    axes.set_xticks(
        range(len(types)), [f"{type_label(t)}\n{by_type[t].get('items', '')}题" for t in types], fontsize=8
    )
    axes.set_yticks(range(len(metrics)), [])
    axes.tick_params(length=0)
    axes.set_title("按题型（绿好红差）", fontsize=10)
