"""The kind of answer a question asks for, and whether a sentence gives it.

A near-miss question often keeps a passage's topic and asks for something the passage does not
state: “是哪一年成立的？” of a company the briefing only introduces, “规模有多大？” of a fund it
only names, “排第几？” of a park it calls 唯一. The passage's best sentence then matches the
question's words and still does not answer it. The kinds (Chinese grammar, not any document's
vocabulary):

- a **quantity** (多少、几、多大、how many…) is given by a number other than those the question
  states itself (“104个项目里，外资项目有多少个？” is not answered by “……项目104个”), in
  digits or in words (百分之五十, 六十日, 两名, 五至七年, 三成, 半数; not an article number such as
  第十一条, a year, a date, nor the digits of a model name such as G60 or H100), in the unit
  asked for when the question names one
  (多少家 → “1100家”, 多少个工作日 → “三十个工作日”: every measure word is a unit; 多少钱 → a
  sum in 元 or another currency; 罚款多少, 产值是多少 → a sum of money, or a multiple or share of
  one: 违法所得一倍以上五倍以下);
- a **share** (比例、比重、占比、占多少、几成、几折、同比增长多少) by a share: 30%, 百分之五十, 三成, 1/10, 2倍;
  a share of something (占全国的比例) by a sentence that names it (not one on 全省's share);
  a share also by a rule that leaves it open (“……的比例，可以由出资各方协商约定”);
- a **place in an order** (第几) by an ordinal (第3位, 首批, 榜首; not 第三方);
- a **year** (哪一年、what year) by a year written out (2021年, 二〇二一年; 今年 says nothing of
  which year without the briefing's date, and the sentence may speak of another event);
- a **date** (哪一天、几月几日) by a month and a day;
- a **place** (哪个区、哪个城市、哪个国家; the kind a whole word: not 哪个国家实验室) by a sentence
  that names one (``rag.names``: not 上市, which jieba tags as a place), or a name of three
  characters or more ending in the kind asked (海淀区; not 园区).

A noun that names a share (比例、占比…) makes a quantity question only when nothing else is asked:
“为什么说……财政的占比和美国差不多” asks why, “登记和国有资产占比有什么放宽” asks what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rag.attribute import is_specific
from rag.lexicon import jieba, tagged
from rag.names import place_words
from rag.text import normalize_for_match, to_simplified

CHINESE_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_NUMERAL = rf"(?:\d+(?:\.\d+)?|[{CHINESE_DIGITS}]+)"
# Measure words and units a quantity question may name; longest first so 个百分点 wins over 个
# and 个工作日 over 个.
_UNITS = sorted(
    "个百分点 百分点 亿元 万元 元 亿美元 美元 万人 万台 万辆 万吨 亿块 万家 家 个 名 位 人 人次 项 件 台 辆 颗 所 座 "
    "条 款 倍 年 周年 月 天 日 工作日 小时 周 周岁 岁 次 种 批 支 篇 部 届 期 层 级 类 吨 亩 公顷 平方米 公里 "
    # the other measure words (量词) a count is given in
    "只 门 户 套 张 块 本 场 架 艘 处 枚 栋 间 根 片 份 册 幅 把 笔 轮".split(),
    key=len,
    reverse=True,
)
# Units that answer for each other: “多少天” is answered by “六十日”, “几人” by “两名”.
_SAME_UNIT = {
    "天": ("天", "日"),
    "日": ("天", "日"),
    "人": ("人", "名", "位"),
    "名": ("人", "名", "位"),
    "位": ("人", "名", "位"),
    "家": ("家", "户"),  # enterprises are counted in either
    "户": ("家", "户"),
    "周岁": ("周岁", "岁"),
    "岁": ("周岁", "岁"),
    # a sum of money, in any currency (人民币8亿 and $150 million: ``_MONEY_BEFORE``)
    "元": tuple("元 美元 美金 欧元 日元 港元 港币 英镑 澳元 加元 韩元 卢布 人民币".split()),
    "时长": tuple("年 月 日 天 周 星期 季度 小时 分钟 工作日".split()),
    "面积": tuple("平方米 平方公里 平方千米 平米 亩 公顷 ㎡ m² m2 km² km2".split()),
    # 个 is the general measure word: “多少个孵化载体” is answered by “15家”.
    "个": tuple("个家户项所座名位人件台辆颗条支批种次篇部类只门款处套张间"),
}
# How long (多久, 多长时间, 建设期多长) and how large an area (占地面积有多大): a span of time
# (or, how often, 每年, 每季度) and an area, under the keys 时长 and 面积 of ``_SAME_UNIT``.
_DURATION_QUESTION = re.compile(r"多久|多长时间|多少时间|(?:期限|周期|时限|期)[是为有]?多长")
_AREA_QUESTION = re.compile(r"面积[是为有约达]{0,2}(?:多大|多少|几)(?![\u3400-\u9fff]*各)")
# A span asked of a change in time (“能延长多久”, “缩短了几天”): only a sentence on that change gives it.
_TIME_SHIFT = re.compile(r"(延长|缩短|提前|推迟|延期|压缩)[了到至]?(?:多久|多长|多少|几)")
_EVERY_PERIOD = re.compile(r"每(?:年|半年|季度?|个?月|周|星期|天|日)")
# “多少钱”: a sum of money, asked without a measure word.
_MONEY_QUESTION = re.compile(r"多少钱|how much money", re.I)
# “罚款多少”, “产值是多少”: a sum of money asked through the noun that names it (any measure word
# after 多少 names the unit instead). It is also given as a multiple or a share (处违法所得一倍以上
# 五倍以下罚款).
_MONEY_NOUN_QUESTION = re.compile(
    r"(?:罚款|罚金|产值|销售额|出口额|进口额|投资额|交易额|营业额|营收|收入|经费|资金|预算|投资|税收|生产总值|"
    r"增加值|奖金|资助|贷款|融资|估值|市值|利润|补贴|补助|成本)(?:总额)?(?:了|能|最多|最高|一共|总共|共|大概|大约|约|为|是|有|达|达到|高达)*"
    r"(?:多少|几)(?![\u3400-\u9fff])"
)
# A currency written before the amount: 人民币8亿, $150 million, US$2 billion.
_MONEY_BEFORE = re.compile(r"(?:人民币|(?:US)?[$＄¥￥])\s*\d")
# A sum written in 万 or 亿 with its currency left out (“实现产值1.2万亿”, “总投资约80亿”).
_BARE_SUM = re.compile(rf"{_NUMERAL}\s*[万亿]+[多余]?(?![个家项名位人件台辆颗所座条款倍次种批支篇部吨块])")
_ASKED_UNIT = re.compile(rf"(?:多少|几)(个)?({'|'.join(map(re.escape, _UNITS))})")
_ASKS_QUANTITY = re.compile(
    # 这几年/近几年 is a span of time, not a count
    rf"多少|百分之几|(?<![哪这近前头])几[成折{''.join(u for u in _UNITS if len(u) == 1)}]|多大|多高|多快|多长|多久|多猛|第几|"
    r"how (?:many|much|long)|what (?:share|percentage|proportion)",
    re.I,
)
_SHARE_NOUN = re.compile(r"比例|比重|占比|份额|增幅|增速|增长率")
# Question words that ask for something other than the share a question names.
_ASKS_OTHERWISE = re.compile(r"为什么|为何|原因|怎么|怎样|如何|哪|什么|是否|吗")
# A number in digits or in words; not one of (其中一项, 另一, 唯一), nor 零 of 零部件.
_STATES_NUMBER = re.compile(
    rf"(?<![第\d.{CHINESE_DIGITS}])(?:\d|(?!一[级类种批]|零(?![{CHINESE_DIGITS}])|(?<=其中)一(?![{CHINESE_DIGITS}])|(?<=[另每同唯])一(?![{CHINESE_DIGITS}]))[{CHINESE_DIGITS}]+(?:分之|[成倍个家项天年月周日次位名人条件台元吨米亩座所款批篇部岁届期层级类种]))"
    r"|[%％]|百分之|半数|一半|过半"
)
# “千亿级”, “1万亿级”: a class of size, not an amount.
_SIZE_CLASS = re.compile(rf"[\d.{CHINESE_DIGITS}]+级")
# “一批” is some, not a count (第一批 is an ordinal, 十一批 a count).
_A_BATCH = re.compile(rf"(?<![第\d.{CHINESE_DIGITS}])一批")
_ORDINAL_QUESTION = re.compile(r"第几|(?:which|what) (?:place|rank)", re.I)
# 首位/首批/榜首 are places in an order too; 第三方 and 第一时间 are not.
_STATES_ORDINAL = re.compile(rf"第\s*{_NUMERAL}(?!方|时间)|首[位批届期家个]|榜首")
_SHARE_QUESTION = re.compile(
    _SHARE_NOUN.pattern
    + r"|百分比|百分之几|几成|几折|占多少(?![\u3400-\u9fff])|(?:同比|环比)[^，。？?]{0,4}?(?:增长|增加|提高|提升|上升|下降|下滑|减少|降低)了?多少(?![\u3400-\u9fff])"
    r"|what (?:share|percentage|proportion)",
    re.I,
)
# A change asked for (同比增长了多少, 增速, 增幅): a share that is not a change (占全市比重约66%),
# nor a multiple of something else than an earlier time (超广东产量的两倍), does not give it.
_CHANGE_QUESTION = re.compile(
    r"同比|环比|增幅|增速|增长率|降幅|(?:增长|增加|提高|提升|上升|下降|下滑|减少|降低)了?多少"
)
_STATES_CHANGE = re.compile(
    r"同比|环比|增长|增加(?!值)|增幅|增速|增至|新增|猛增|激增|上升|提升|攀升|回升|升至|下降|降低|降至|降幅|下跌|跌幅|"
    r"上涨|涨幅|大涨|涨了|涨至|减少|减幅|缩减|压缩|压减|缩短|扩大|升到|提至|(?:由|从)[^，。；]{1,15}?(?:至|到)|下滑|提高|翻番|翻了|翻一番|高出|多出|回落|放缓|"
    r"(?:比|较)(?:上年|去年|上月|上季度|同期|\d{4}年)[^，。；]{0,6}?(?:高|低|快|慢|多|少|扩大|缩小|上浮|下浮)|"
    r"(?:上年|去年|同期|\d{4}年)[^，。；]{0,6}倍"
)
_STATES_SHARE = re.compile(
    rf"[%％]|百分之|百分点|分之|\d+\s*/\s*\d+|\d+(?:\.\d+)?\s*[:：比]\s*\d+|(?<!第)[{CHINESE_DIGITS}\d.]+\s*[成倍折]|半数|一半|过半|大半|多数|少数"
)
_YEAR_QUESTION = re.compile(r"哪一?年(?!级)|何年|什么年份|哪个年份|(?:what|which) year", re.I)
_STATES_YEAR = re.compile(
    r"(?<!\d)(?:1[89]|20)\d{2}\s*年|[〇零一二三四五六七八九]{4}年|(?<!\d)(?:1[89]|20)\d{2}[-/.]\d{1,2}"
)
# “哪个区”, “哪个城市”: the kind of place, a whole word before no noun (not 哪个国家实验室, 哪个省长).
_PLACE_QUESTION = re.compile(
    r"哪一?个?(城市|国家|省份|[省市区县])|(?:which|what) (?:city|country|province|district)", re.I
)
_DATE_QUESTION = re.compile(r"哪一?天|几月几[日号]|什么日期|哪个日期|(?:what|which) (?:date|day)", re.I)
_STATES_DATE = re.compile(
    rf"\d{{1,2}}\s*月\s*\d{{1,2}}\s*[日号]|[{CHINESE_DIGITS}]{{1,3}}月[{CHINESE_DIGITS}]{{1,3}}[日号]|\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}"
)
# “占全国的比例”: a share of what (a sentence giving the share of 全省 does not answer).
_SHARE_BASE = re.compile(
    r"占(?!比|有|据|地|用)([^，。？?、的]{1,8}?)的?(?:比例|比重|份额|百分比|百分之几|几成|多少)"
)
# A year or a date is when, not how much (“2021年国务院……”).
_DATE = re.compile(
    r"(?<![\d.])(?:(?:19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}(?:\s*[～~至到\-—–]\s*\d{1,2})?月(?:\d{1,2}日)?)"
)
# A rule that leaves a share to agreement sets none: “……的比例，可以由出资各方协商约定”, “比例不受限制”.
_LEFT_OPEN = re.compile(
    r"(?:各方|双方|当事人|自行|协商)约定|协商确定|不受[^，。；]{0,8}限制|不设上限|不作限制"
)
_SHARE_WORD = re.compile(r"比例|比重|份额|上限|额度")
# A number the question states, with the measure word after it (“104个”, “3年”).
_KNOWN_NUMBER = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])([个家名位人项件台辆颗所座条款倍次种批年月日天周岁元万亿%％]?)"
)
# The digits of a model or a programme's name (G60, H100, A100) count nothing.
LATIN_CODE = re.compile(r"[A-Za-z]+-?\d+[A-Za-z\d]*")


@dataclass(frozen=True)
class AnswerType:
    """What kind of answer ``question`` (simplified) asks for."""

    question: str

    @cached_property
    def wants_quantity(self) -> bool:
        if _ASKS_QUANTITY.search(self.question):
            return True
        return bool(_SHARE_NOUN.search(self.question)) and not _ASKS_OTHERWISE.search(self.question)

    @cached_property
    def unit(self) -> str | None:
        """The unit a quantity question names (多少家 → 家, 几个工作日 → 工作日), if any. A
        measure word is one only where jieba ends a word after it: 多少本地企业, 多少份额 and
        多少个项目 name none (个 for the last); 多少钱 asks for 元."""
        if _MONEY_QUESTION.search(self.question):
            return "元"
        match = _ASKED_UNIT.search(self.question)
        if not match:
            if _DURATION_QUESTION.search(self.question):
                return "时长"
            if _MONEY_NOUN_QUESTION.search(self.question):
                return "金额"
            return "面积" if _AREA_QUESTION.search(self.question) else None
        general, unit = match.groups()
        if len(unit) == 1 and match.end() not in _word_ends(self.question):
            return "个" if general else None
        return unit

    @cached_property
    def known_numbers(self) -> frozenset[tuple[str, str]]:
        """The numbers the question states itself (“104个项目里，外资项目有多少个？”): a sentence
        that gives only these gives nothing the question does not know. Each with the measure
        word after it, if any: “3年内投资多少亿元？” is answered by “3年内投资3亿元”."""
        return frozenset(_KNOWN_NUMBER.findall(LATIN_CODE.sub("", self.question)))

    @cached_property
    def share_base(self) -> str | None:
        """What a share is asked of (“占全国的比例” → 全国, “占固定资产投资的比重” → 投资,
        “占员工总数” → 员工): the last word of the phrase after 占 that is not generic (总数, 总量),
        unless it is written in Latin letters (GDP, which a briefing writes 地区生产总值)."""
        match = _SHARE_BASE.search(self.question)
        if not match:
            return None
        words = [
            word for word in jieba.cut(match[1]) if len(word.strip()) >= 2 and not _ASKS_QUANTITY.search(word)
        ]
        while len(words) > 1 and not is_specific(words[-1]):
            words.pop()
        return words[-1] if words and not words[-1].isascii() else None

    @cached_property
    def place_kind(self) -> str | None:
        """The kind of place asked for (区 of “在哪个区建立”; "" in English), or None."""
        match = _PLACE_QUESTION.search(self.question)
        if match is None or (match[1] and not _ends_a_word_before_no_noun(self.question, match.end())):
            return None
        return match[1] or ""

    @cached_property
    def kind(self) -> str | None:
        """What is asked, in the words of a refusal (数字、比例、名次、年份、日期、地点), or None."""
        if _YEAR_QUESTION.search(self.question):
            return "年份"
        if _DATE_QUESTION.search(self.question):
            return "日期"
        if self.place_kind is not None:
            return "地点"
        if not self.wants_quantity:
            return None
        if _ORDINAL_QUESTION.search(self.question):
            return "名次"
        if self.unit is None and _SHARE_QUESTION.search(self.question):
            return "比例"
        return "数字"

    def _unless_known(self, number: re.Match[str]) -> str:
        known = (number[1], number[2]) in self.known_numbers or (number[1], "") in self.known_numbers
        return "" if known else number[0]

    def given_by(self, sentence: str) -> bool:
        """Whether ``sentence`` gives the kind of answer asked for."""
        if self.kind is None:
            return True
        flat = LATIN_CODE.sub("", to_simplified(normalize_for_match(sentence)))
        if self.kind in ("数字", "比例"):
            flat = _KNOWN_NUMBER.sub(self._unless_known, flat)
            if _CHANGE_QUESTION.search(self.question) and not _STATES_CHANGE.search(flat):
                return False  # 增长了多少 ← a number that is not a change
        # A sentence with a share of its own (占全省71%) must say of what; “占比40%” says nothing else.
        if self.share_base and re.search(r"占(?!比|有)", flat) and self.share_base not in flat:
            return False
        if self.kind == "年份":
            return bool(_STATES_YEAR.search(flat))
        if self.kind == "日期":
            return bool(_STATES_DATE.search(flat))
        if self.kind == "地点":
            # a place name, or a name ending in the kind asked (海淀区; not 园区)
            kind = self.place_kind or ""
            return bool(place_words(flat)) or (
                len(kind) == 1 and any(len(w) >= 3 and w.endswith(kind) for w in jieba.cut(flat))
            )
        if self.kind == "名次":
            return bool(_STATES_ORDINAL.search(flat))
        if self.kind == "比例":
            return bool(_STATES_SHARE.search(flat)) or bool(
                _LEFT_OPEN.search(flat) and _SHARE_WORD.search(flat)
            )
        if self.unit is None:
            return bool(_STATES_NUMBER.search(_DATE.sub("", flat)))
        return self._gives_unit(flat)

    def _gives_unit(self, flat: str) -> bool:
        """Whether ``flat`` gives an amount in the unit asked for (or a sum of money, how often)."""
        assert self.unit is not None
        if self.unit in ("元", "金额") and _MONEY_BEFORE.search(flat):
            return True
        if self.unit == "金额" and (
            _STATES_SHARE.search(flat) or _BARE_SUM.search(_SIZE_CLASS.sub("", flat))
        ):
            return True
        if self.unit == "时长":
            if "一次" in self.question and _EVERY_PERIOD.search(flat):
                return True  # 多久发布一次 ← 每年发布
            flat = _DATE.sub("", flat)  # 2021年3月 is when, not how long
            shift = _TIME_SHIFT.search(self.question)
            if shift and shift.group(1) not in flat:
                return False  # 能延长多久 ← 筹建期限为一年: how long it is, not how much longer
        if self.unit != "批":
            flat = _A_BATCH.sub("", flat)  # 建设一批设施 counts none of them
        # 多少个工作日 is answered by “三十个工作日” or “三十工作日”.
        unit = self.unit.removeprefix("个") if len(self.unit) > 1 else self.unit
        units = "|".join(map(re.escape, _SAME_UNIT.get("元" if unit == "金额" else unit, (unit,))))
        amount = rf"{_NUMERAL}(?:\s*(?:至|到|-|—|–|～|~)\s*{_NUMERAL})?\s*[万亿千百多余]*\s*(?:个)?"
        # Not an ordinal: “第十一条” counts no articles.
        # “9.2个百分点” is a share, not a count of 个.
        return bool(re.search(rf"(?<![第\d.{CHINESE_DIGITS}]){amount}(?:{units})(?!百分点)", flat))


@lru_cache(maxsize=2048)
def _word_ends(text: str) -> frozenset[int]:
    """The offsets at which jieba ends a word in ``text``."""
    ends, position = set(), 0
    for word in jieba.cut(text):
        position += len(word)
        ends.add(position)
    return frozenset(ends)


def _ends_a_word_before_no_noun(text: str, at: int) -> bool:
    """Whether jieba ends a word at offset ``at`` of ``text`` and the next word is not a noun it
    modifies (哪个区建立; not 哪个国家实验室)."""
    position = 0
    for word, flag in tagged(text):
        if position == at:
            return not flag.startswith("n")
        position += len(word)
        if position > at:
            return False
    return position == at
