"""``to_simplified`` skips opencc when the text holds no character its t2s dictionaries
replace; the result must still be exactly opencc's conversion."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import opencc
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.text import chinese_to_int, int_to_chinese, to_simplified
from tests.fixtures.corpus import BUNDLED_DATA


@cache
def _opencc() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _dictionary_characters() -> str:
    folder = Path(opencc.__file__).parent / "dictionary"
    text = "".join(
        (folder / name).read_text(encoding="utf-8") for name in ("TSPhrases.txt", "TSCharacters.txt")
    )
    return "".join(sorted(set(text) - set("\t\n ")))


# Traditional characters, the Simplified ones they become, the phrases' other characters, and
# punctuation: text that is partly converted, fully Simplified, or mixed.
_ALPHABET = _dictionary_characters() + "的是了在和有中大成一年工力能重上科技创新发展。，、；：“”（）\n "


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_generated_text_converts_exactly_as_opencc_does(text: str) -> None:
    assert to_simplified(text) == _opencc().convert(text)


def test_every_line_of_the_briefings_converts_exactly_as_opencc_does() -> None:
    lines = [
        line for path in BUNDLED_DATA.glob("*.txt") for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) > 1000
    assert [to_simplified(line) for line in lines] == [_opencc().convert(line) for line in lines]


def test_traditional_and_mixed_text_is_converted() -> None:
    assert to_simplified("廣東的「卓粵」計劃是什麼？") == "广东的「卓粤」计划是什么？"
    assert to_simplified("一目瞭然的沈沒成本") == _opencc().convert("一目瞭然的沈沒成本")
    assert to_simplified("广东的卓粤计划") == "广东的卓粤计划"


@given(st.integers(min_value=1, max_value=9999))
def test_chinese_numerals_are_read_back_as_the_number(number: int) -> None:
    assert chinese_to_int(int_to_chinese(number)) == number


def test_chinese_numerals_are_written_as_documents_write_them() -> None:
    assert [int_to_chinese(n) for n in (14, 20, 105, 110, 1005)] == [
        "十四",
        "二十",
        "一百零五",
        "一百一十",
        "一千零五",
    ]
