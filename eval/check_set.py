"""Mechanically check an eval set (format: eval/README.md) against the briefings.

Usage: python eval/check_set.py eval/sets/briefings-v1.jsonl [--data data]

``--data`` is a project's data directory (for regulations-v1, the ``data/`` of a home built by
``python eval/corpora/regulations.py OUT``). An item's ``source`` names any briefing there, by
file name, title or the original name in ``briefings.toml``, so a set about a document the user
added checks as ``rag eval`` runs it. Spans are looked up in each briefing's cleaned text, as
ingestion reads it (PDFs and Word files included).

Every problem is printed as one line "id: what is wrong" and the exit status is 1;
a clean set prints counts by type and by briefing and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.eval_set import HISTORY_TYPES, TYPES, UNANSWERABLE_TYPES, history_problems
from rag.ingest import list_sources, load_document
from rag.metadata import load_metadata
from rag.text import normalize_for_match

FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "question": str,
    "answerable": bool,
    "evidence_any": list,
    "answer_keywords": list,
    "source": (str, type(None)),
    "type": str,
}


def load_sources(data_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The normalised cleaned text of every briefing in ``data_dir`` (read as ingestion reads it,
    so PDFs and Word files work too) under each name a set may give as its ``source``: the file
    name, the title, and the original file name recorded in ``briefings.toml``; and the
    briefings that could not be read."""
    metadata = load_metadata(data_dir)
    texts: dict[str, str] = {}
    failed: list[str] = []
    for path in list_sources(data_dir):
        meta = metadata.get(path.name, {})
        try:
            document = load_document(path, meta)
        except DocumentError as e:
            failed.append(e.message)
            continue
        text = normalize_for_match(document.text)
        for name in (path.name, document.title, meta.get("original")):
            if name:
                texts[name] = text
    return texts, failed


def check_item(item: dict[str, Any], texts: dict[str, str]) -> list[str]:
    """Problems with one parsed item (empty when it is fine)."""
    item = {"source": None, **item}  # source may be omitted on unanswerable items
    problems = [f"缺少字段 {k}" for k in FIELDS if k not in item]
    problems += history_problems(item.get("history", []))
    problems += [
        f"字段 {k} 类型错误：{type(item[k]).__name__}"
        for k, t in FIELDS.items()
        if k in item and not isinstance(item[k], t)
    ]
    if problems:
        return problems
    if not item["question"].strip():
        problems.append("question 为空")
    if item["type"] not in TYPES:
        problems.append(f"未知 type {item['type']!r}（可选：{'、'.join(TYPES)}）")
    if item["type"] in HISTORY_TYPES and not item.get("history"):
        problems.append(f"type={item['type']} 的条目需要非空的 history（之前的对话）")
    for key in ("evidence_any", "answer_keywords"):
        if not all(isinstance(s, str) and s.strip() for s in item[key]):
            problems.append(f"{key} 须为非空字符串列表")
            return problems
    if not item["answerable"]:
        return problems + _unanswerable_problems(item)
    return problems + _answerable_problems(item, texts)


def _unanswerable_problems(item: dict[str, Any]) -> list[str]:
    problems = []
    if item["evidence_any"] or item["answer_keywords"]:
        problems.append("不可回答的条目不应有 evidence_any / answer_keywords")
    if item["type"] not in UNANSWERABLE_TYPES:
        problems.append(f"answerable=false 的条目 type 应为 {'、'.join(UNANSWERABLE_TYPES)} 之一")
    return problems


def _answerable_problems(item: dict[str, Any], texts: dict[str, str]) -> list[str]:
    """An answerable item's evidence and keywords must be in its source briefing's text."""
    problems = []
    if item["type"] in UNANSWERABLE_TYPES:
        problems.append(f"type={item['type']} 的条目 answerable 应为 false")
    if not item["evidence_any"]:
        problems.append("可回答的条目至少需要一个证据片段")
    text = texts.get(item["source"] or "")
    if text is None:
        return [
            *problems,
            f"source {item['source']!r} 不是 data/ 中任何简报的文件名或标题"
            "（用 rag list 查看；source 写文件名，如 合肥量子信息.md）",
        ]
    problems += [
        f"证据片段不在原文中：{span}"
        for span in item["evidence_any"]
        if normalize_for_match(span) not in text
    ]
    problems += [
        f"答案关键词不在原文中：{keyword}"
        for keyword in item["answer_keywords"]
        if normalize_for_match(keyword) not in text
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="检查评测集 JSONL 的格式与证据")
    parser.add_argument("eval_set", type=Path, help="评测集 JSONL")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data"),
        help="简报目录（含 briefings.toml）；regulations-v1 用 eval/corpora/regulations.py 生成的 OUT/data",
    )
    args = parser.parse_args(argv)

    if not args.eval_set.is_file():
        print(f"找不到评测集：{args.eval_set}")
        return 1
    texts, unreadable = load_sources(args.data)
    for message in unreadable:
        print(f"无法读取简报：{message}")
    if not texts:
        print(f"{args.data}: 没有找到可读的简报（请用 --data 指向项目的 data/ 目录）")
        return 1
    problems: list[str] = []
    seen: set[str] = set()
    by_type: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    with_history = 0
    lines = args.eval_set.read_text(encoding="utf-8-sig").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"第 {number} 行: JSON 无效（{e}）")
            continue
        if not isinstance(item, dict):
            problems.append(f"第 {number} 行: 不是 JSON 对象")
            continue
        label = str(item.get("id", f"第 {number} 行"))
        if label in seen:
            problems.append(f"{label}: id 重复")
        seen.add(label)
        problems += [f"{label}: {p}" for p in check_item(item, texts)]
        by_type[str(item.get("type"))] += 1
        by_source[str(item.get("source") or "（无来源）")] += 1
        with_history += bool(item.get("history"))

    for problem in problems:
        print(problem)
    if problems:
        print(f"共 {len(problems)} 个问题", file=sys.stderr)
        return 1
    print(f"{args.eval_set}: {sum(by_type.values())} 条，全部通过")
    print("按类型: " + "，".join(f"{t} {n}" for t, n in sorted(by_type.items())))
    print("按简报: " + "，".join(f"{s} {n}" for s, n in sorted(by_source.items())))
    print(f"带对话历史（history）: {with_history} 条")
    return 0


if __name__ == "__main__":
    sys.exit(main())
