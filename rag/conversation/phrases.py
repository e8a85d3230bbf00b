"""The phrases of a question that a follow-up can replace or refer to.

A question is cut with jieba (part-of-speech tags) into phrases of a few kinds:

- ``place``: a place or organisation name: a jieba ``ns``/``nt``/``nr`` word, or a word ending
  in an administrative suffix (区、市、省、县…), with the suffix words that follow it
  (无锡 + 高新区, 中关村 + 科技园, 全国政协 + … + 委员会);
- ``org``: a run of common nouns ending in an organisation word (科技创新中心, 火炬中心);
- ``person`` (jieba ``nr``), ``name`` (a quoted name and the noun after it: “卓粤”计划);
- ``time`` (2020年, 上半年), ``level`` (省级, 国家级), ``ordinal`` (第十条, 第四项);
- ``topic``: any other run of nouns (物联网产业规模), whose last word is its head.

Only the structure of the question and jieba's tags are used, no list of names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lexicon import posseg, tagged
from rag.text import to_simplified

PUNCTUATION = "？?！!。，,、；;：: "
ANCHORS = frozenset({"place", "org", "person", "name"})
_DIGITS = "零〇一二两三四五六七八九十百千"
_PROTECTED = re.compile(
    r"(?P<QUOTE>[“「『《\"][^“”「」『』《》\"]{1,40}[”」』》\"])"
    r"|(?P<TIME>(?:19|20)\d{2}\s*年度?|\d{1,2}月份?|[一二三四1-4]季度)"
    rf"|(?P<ORDINAL>第[\d{_DIGITS}]+[条项款章节批期届次个名点部类])"
)
# Administrative suffixes end a place name; organisation suffixes end an institution's.
_ADMIN_END = tuple("区市省县州镇乡村")
_ORG_END = (
    *_ADMIN_END,
    "园",
    "部",
    "厅",
    "局",
    "委",
    "办",
    "院",
    "所",
    "城",
    "中心",
    "实验室",
    "集团",
    "公司",
    "银行",
    "基地",
    "大学",
    "学院",
    "委员会",
    "协会",
)
# The one-character names of China's provinces and regions (the national list, as on licence plates).
_PROVINCE_CHARACTERS = frozenset(
    "京津沪渝冀晋辽吉黑苏浙皖闽赣鲁豫鄂湘粤琼川蜀贵黔云滇陕秦甘陇青蒙桂藏宁新港澳台"
)
_NOMINAL = frozenset({"n", "nz", "ng", "nl", "vn", "j", "zg", "eng", "an", "nr", "nrfg", "nrt", "ns", "nt"})
_PROPER = frozenset({"ns", "nt"})
_PERSON = frozenset({"nr", "nrfg", "nrt"})
# Interrogatives, and the pronouns and connectives a follow-up opens with (closed word classes).
INTERROGATIVES = frozenset(
    "什么 多少 哪 哪些 哪个 哪里 哪儿 哪家 哪年 哪一年 哪几 哪类 哪种 哪项 谁 几 如何 怎么 怎样 怎么样 是否 吗 "
    "多大 多久 多高 多长 多快 多少次 何 何时 为何 为什么 几个 几家".split()
)
CONNECTIVES = frozenset("那 那么 而 还有 另外 此外 以及 至于 换成 换作 如果是 要是 再 又 那如果".split())
PRONOUNS = frozenset(
    "它 它们 其 他 她 他们 她们 其中 这 这个 这些 这项 这一 此 此项 该 那个 那些 那项 上述 前者 后者".split()
)
PERSONAL = frozenset({"他", "她", "他们", "她们"})
# 这/那 with a measure word (这家, 那位, 这所): pointing at one thing the conversation named,
# of the kind the noun after it says (“那家公司”).
_MEASURED = re.compile(r"[这那]一?[家位所座款只份条批篇名支部台]")  # not 种 (这种情况下)


@dataclass(frozen=True)
class Token:
    text: str
    tag: str
    start: int
    end: int

    @property
    def nominal(self) -> bool:
        return self.tag in _NOMINAL and self.text not in INTERROGATIVES | PRONOUNS

    @property
    def predicate(self) -> bool:
        """A verb or adjective, or an interrogative: what a question asks of its subject."""
        return (self.tag[:1] in ("v", "a") and self.tag != "vn") or self.text in INTERROGATIVES


@dataclass(frozen=True)
class Phrase:
    kind: str
    start: int
    end: int
    text: str
    head: str  # the suffix of a place (高新区, 市), the head noun of a topic or name, the 条 of 第十条
    words: tuple[Token, ...]


def _tokens(text: str) -> list[Token]:
    """jieba's words with tags; quoted names, years and ordinals kept whole (tags QUOTE, TIME, ORDINAL)."""
    tokens: list[Token] = []
    position = 0
    for match in [*_PROTECTED.finditer(text), None]:
        stop = match.start() if match else len(text)
        for word, flag in tagged(text[position:stop]):
            if word.strip():
                tokens.extend(_split_connective(Token(word, flag, position, position + len(word))))
            position += len(word)
        if match:
            tokens.append(Token(match.group(), str(match.lastgroup), match.start(), match.end()))
            position = match.end()
    return _join_measured(_rejoin_project(tokens))


def is_measured(text: str) -> bool:
    """Whether ``text`` is 这/那 with a measure word (这家, 那位)."""
    return bool(_MEASURED.fullmatch(text))


def _join_measured(tokens: list[Token]) -> list[Token]:
    """jieba cuts “那家公司” as 那 + 家 + 公司 and “这所大学” as 这 + 所 + 大学: 那家, 这所 are one
    demonstrative."""
    out: list[Token] = []
    for token in tokens:
        before = out[-1] if out else None
        if before is not None and before.end == token.start and is_measured(before.text + token.text):
            out[-1] = Token(before.text + token.text, "r", before.start, token.end)
            continue
        out.append(token)
    return out


def _rejoin_project(tokens: list[Token]) -> list[Token]:
    """jieba cuts “该项目的” as 该项 + 目的: 该 + 项目 + 的, so that 该 points at the project."""
    out: list[Token] = []
    for token in tokens:
        before = out[-1] if out else None
        if (
            before is not None
            and before.text in ("该项", "这项", "此项")
            and token.text == "目的"
            and token.start == before.end
        ):
            out[-1] = Token(before.text[0], "r", before.start, before.start + 1)
            out.append(Token("项目", "n", before.start + 1, token.start + 1))
            out.append(Token("的", "uj", token.start + 1, token.end))
            continue
        out.append(token)
    return out


def _split_connective(token: Token) -> list[Token]:
    """jieba joins a connective to the pronoun after it (那它): two tokens."""
    for k in range(1, len(token.text)):
        if token.text[:k] in CONNECTIVES and token.text[k:] in PRONOUNS:
            middle = token.start + k
            return [
                Token(token.text[:k], "c", token.start, middle),
                Token(token.text[k:], "r", middle, token.end),
            ]
    return [token]


def _is_time(token: Token) -> bool:
    return token.tag in ("t", "TIME") or (token.tag == "mq" and bool(re.search(r"年|季度|月", token.text)))


def _time_unit(text: str) -> str:
    """What a time phrase counts in: 2020年 → 年, 上半年 → 半年, 一季度 → 季度."""
    return re.sub(r"^[\d\s上下前后本今去明第一二三四]+", "", text) or text


def _is_org_word(token: Token) -> bool:
    """高新区, 科技部, 实验室; or a lone 区/市 that jieba split off (大湾 + 区)."""
    return (
        token.nominal and (len(token.text) >= 2 or token.text in _ADMIN_END) and token.text.endswith(_ORG_END)
    )


def _is_proper_place(token: Token) -> bool:
    """Tagged ``ns``/``nt`` here or in jieba's dictionary (jieba retags 无锡 by context), or a
    region named by its provinces' one-character names (京津冀, 粤港澳, 川渝)."""
    return (
        token.tag in _PROPER
        or posseg.dt.word_tag_tab.get(token.text) in _PROPER
        or (len(token.text) >= 2 and all(char in _PROVINCE_CHARACTERS for char in token.text))
    )


def _is_place_start(token: Token) -> bool:
    return _is_proper_place(token) or (
        token.nominal and len(token.text) >= 2 and token.text.endswith(_ADMIN_END)
    )


class Parsed:
    """A question cut into tokens and phrases (see the module docstring)."""

    def __init__(self, text: str) -> None:
        simplified = to_simplified(text)
        # Offsets come from the simplified text; they hold for the original when lengths agree.
        self.text = text if len(simplified) == len(text) else simplified
        self.tokens = _tokens(simplified)
        self.phrases = self._phrases()

    def _phrases(self) -> list[Phrase]:
        tokens, phrases, i = self.tokens, [], 0
        while i < len(tokens):
            token = tokens[i]
            entity = self._place_or_person(i)
            if token.tag == "QUOTE":
                j = (
                    i + 1
                    if i + 1 < len(tokens) and tokens[i + 1].nominal and not self._starts_unit(i + 1)
                    else i
                )
                phrases.append(self._phrase("name", i, j, tokens[j].text if j > i else token.text[1:-1]))
            elif token.tag == "ORDINAL" or (token.text.endswith("级") and token.tag in ("b", "n")):
                j = i
                phrases.append(
                    self._phrase("ordinal" if token.tag == "ORDINAL" else "level", i, i, token.text[-1])
                )
            elif _is_time(token):
                j = i
                phrases.append(self._phrase("time", i, i, _time_unit(token.text)))
            elif entity:
                phrase, j = entity
                phrases.append(phrase)
            elif token.nominal or self._modifies_noun(i):
                j = i
                while j + 1 < len(tokens) and not self._starts_unit(j + 1):
                    if tokens[j + 1].nominal or self._sandwiched(j + 1) or self._modifies_noun(j + 1):
                        j += 1
                    elif self._bracketed(j + 1):
                        j += 3  # the closing bracket; the noun after it comes next
                    else:
                        break
                # A run ending in an organisation word is an organisation (科技创新中心 + 建设).
                last_org = max((k for k in range(i, j + 1) if _is_org_word(tokens[k])), default=None)
                if last_org is None:
                    phrases.append(self._phrase("topic", i, j, tokens[j].text))
                else:
                    phrases.append(self._phrase("org", i, last_org, tokens[last_org].text))
                    if last_org < j:
                        phrases.append(self._phrase("topic", last_org + 1, j, tokens[j].text))
            else:
                j = i
            i = j + 1
        return phrases

    def _place_or_person(self, i: int) -> tuple[Phrase, int] | None:
        """The place, organisation or person starting at token ``i`` and its last token."""
        tokens = self.tokens
        token = tokens[i]
        if token.tag in ("QUOTE", "ORDINAL") or _is_time(token):
            return None
        # 绿洲 + 高新区, 雄安 + 新区: the word right before an administrative word is the place's name.
        follows = tokens[i + 1] if i + 1 < len(tokens) else None
        absorbs = (
            follows is not None
            and follows.start == token.end
            and len(follows.text) >= 2
            and follows.text.endswith(_ADMIN_END)
            and (token.nominal or (token.tag in ("a", "b") and len(token.text) >= 2))
        )
        if not token.nominal and not absorbs:
            return None
        if not (_is_place_start(token) or absorbs or token.tag in _PERSON):
            return None
        # Extend over the suffix words: the last organisation word in the noun run that follows.
        end, j = i, i + 1
        while j < len(tokens) and tokens[j].nominal and not self._starts_unit(j, inner=True):
            if _is_org_word(tokens[j]):
                end = j
            j += 1
        if end == i and not _is_place_start(token):
            return (self._phrase("person", i, i, ""), i) if 2 <= len(token.text) <= 4 else None
        suffix = "".join(t.text for t in tokens[i + 1 : end + 1])
        if not suffix:
            suffix = next((s for s in _ORG_END if token.text.endswith(s) and len(token.text) > len(s)), "")
        return self._phrase("place", i, end, suffix), end

    def _starts_unit(self, i: int, inner: bool = False) -> bool:
        token = self.tokens[i]
        if token.tag in ("QUOTE", "TIME", "ORDINAL") or _is_time(token) or token.text.endswith("级"):
            return True
        return not inner and (_is_proper_place(token) or token.tag in _PERSON)

    def _modifies_noun(self, i: int) -> bool:
        """An adjective or a set phrase right before a noun belongs to its noun phrase
        (精密 + 重力测量研究设施, 新 + 基石研究员项目, 自然科学 + 基金)."""
        tokens = self.tokens
        return (
            tokens[i].tag in ("a", "l")
            and i + 1 < len(tokens)
            and tokens[i + 1].start == tokens[i].end
            and tokens[i + 1].nominal
            and not self._starts_unit(i + 1)
        )

    def _bracketed(self, i: int) -> bool:
        """An abbreviation in brackets inside a noun phrase: （PGMF） of “……设施（PGMF）项目”."""
        tokens = self.tokens
        return (
            i + 3 < len(tokens)
            and tokens[i].text in ("（", "(")
            and (tokens[i + 1].nominal or tokens[i + 1].tag == "eng")
            and tokens[i + 2].text in ("）", ")")
            and tokens[i + 3].nominal
            and not self._starts_unit(i + 3)
        )

    def _sandwiched(self, i: int) -> bool:
        """Two-character verbs between nouns belong to the noun phrase (科技 创新 促进 条例)."""
        tokens = self.tokens
        k = i
        while (
            k < len(tokens)
            and tokens[k].tag == "v"
            and len(tokens[k].text) == 2
            and tokens[k - 1].end == tokens[k].start
        ):
            k += 1
        return k > i and k < len(tokens) and tokens[k].nominal and not self._starts_unit(k)

    def _phrase(self, kind: str, first: int, last: int, head: str) -> Phrase:
        start, end = self.tokens[first].start, self.tokens[last].end
        return Phrase(kind, start, end, self.text[start:end], head, tuple(self.tokens[first : last + 1]))


def tidy(text: str) -> str:
    """A rewritten question without doubled 的 (广东的的 → 广东的) or outer spaces."""
    return re.sub(r"的+", "的", text).strip()
