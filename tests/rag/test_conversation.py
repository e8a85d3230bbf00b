"""The offline follow-up rewrite: a follow-up becomes the standalone question a user meant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.conversation import Rewrite, Turn, condense_offline, format_history, rewrite_follow_up
from rag.conversation.phrases import Parsed
from rag.conversation.saved import MAX_EXCHANGES, load_conversation, save_conversation
from rag.question import Question

WUXI = "无锡高新区物联网产业规模有多大？"


def user(text: str) -> Turn:
    return Turn("user", text)


def assistant(text: str) -> Turn:
    return Turn("assistant", text)


def test_a_new_place_replaces_the_place_of_the_previous_question() -> None:
    rewrite = condense_offline("那长春高新区呢？", [user(WUXI), assistant("约3000亿元[1]。")])
    assert rewrite.unresolved is None
    assert "长春高新区" in rewrite.query and "物联网产业规模" in rewrite.query
    assert "无锡" not in rewrite.query


def test_a_bare_city_replaces_the_city_and_keeps_the_predicate() -> None:
    rewrite = condense_offline("深圳呢？", [user("上海对科技创新中心建设有哪些财政支持？")])
    assert rewrite == Rewrite("深圳对科技创新中心建设有哪些财政支持？")


def test_a_new_year_replaces_the_year() -> None:
    rewrite = condense_offline("那2021年呢？", [user("2020年" + WUXI)])
    assert rewrite.query == "2021年" + WUXI
    assert "2020" not in rewrite.query


def test_a_new_document_after_a_which_aspects_question_asks_what_it_says_not_how_much() -> None:
    history = [
        Turn("user", "江苏2022年那份促进科技人才发展的决定，是从哪几个方面提出措施的？"),
        Turn("assistant", "《关于促进科技人才发展的决定》提出了八个方面的重点措施[1]。"),
    ]
    assert rewrite_follow_up("那上海的基础研究意见呢？", history) == "上海的基础研究意见是什么？"


def test_a_topic_replaces_the_noun_phrase_with_the_same_head() -> None:
    rewrite = condense_offline("集成电路产业呢？", [user(WUXI)])
    assert rewrite.query.startswith("无锡高新区集成电路产业规模")
    assert "物联网" not in rewrite.query


def test_a_level_replaces_the_level() -> None:
    rewrite = condense_offline("国家级的呢？", [user("省级制造业创新中心奖励多少？")])
    assert rewrite.query == "国家级制造业创新中心奖励多少？"


def test_an_article_number_replaces_the_article_number() -> None:
    rewrite = condense_offline("第十二条呢？", [user("青岛市科技创新促进条例第十条规定了什么？")])
    assert rewrite.query == "青岛市科技创新促进条例第十二条规定了什么？"


@pytest.mark.parametrize("question", ["第二点展开说说", "第二点具体是什么？", "详细讲讲第二点"])
def test_an_item_asked_with_nothing_else_is_that_item_of_the_previous_list(question: str) -> None:
    asked = "樊杰提出要重塑科技创新体系、优化重大生产力布局，具体讲了哪几点？"
    rewrite = condense_offline(question, [user(asked), assistant("一是……[1]；二是……[1]。")])
    assert rewrite.query.startswith("樊杰提出要重塑科技创新体系") and "第二点" in rewrite.query


def test_how_an_item_reads_is_asking_for_the_item() -> None:
    asked = "樊杰在重塑科技创新体系、优化重大生产力布局方面提了哪些办法？"
    rewrite = condense_offline(
        "那第一条具体怎么说的？", [user(asked), assistant("比如第二条是加强创新[1]。")]
    )
    assert rewrite.query.startswith("樊杰在重塑科技创新体系") and "第一条" in rewrite.query
    assert Question(rewrite.query).item_asked == "一"  # 办法中的第一条 is an item, not an article
    assert "第三项" in condense_offline("那第三项是怎么写的？", [user(asked)]).query
    # how to do it is something asked of the item
    assert condense_offline("第一条怎么实现？", [user(asked)]).query == "第一条怎么实现？"


@pytest.mark.parametrize("question", ["第二点为什么重要？", "第二点是否已经实施？"])
def test_a_question_asking_something_of_an_item_is_not_read_as_asking_for_the_item(question: str) -> None:
    asked = "樊杰提出要重塑科技创新体系、优化重大生产力布局，具体讲了哪几点？"
    assert condense_offline(question, [user(asked), assistant("一是……[1]；二是……[1]。")]).query == question


def test_a_demonstrative_refers_to_the_named_plan() -> None:
    rewrite = condense_offline("该计划由谁牵头？", [user("广东的“卓粤”计划是什么？")])
    assert rewrite.unresolved is None
    assert "“卓粤”计划" in rewrite.query and "牵头" in rewrite.query
    assert rewrite.query == "广东的“卓粤”计划由谁牵头？"


def test_this_project_refers_to_the_whole_name_of_the_project() -> None:
    # The abbreviation in brackets and the adjective opening the name belong to it.
    facility = [user("精密重力测量研究设施（PGMF）项目的法人单位是谁？")]
    rewrite = condense_offline("这个项目计划总投资多少？", facility)
    assert rewrite.query == "精密重力测量研究设施（PGMF）项目计划总投资多少？"
    # jieba cuts 该项目的 as 该项 + 目的.
    rewrite = condense_offline("该项目的投入规模是多少？", [user("新基石研究员项目由谁出资？")])
    assert rewrite.query == "新基石研究员项目的投入规模是多少？"
    # 这项 + 目标 is “this goal”, not a project.
    assert "项目" not in [token.text for token in Parsed("这项目标什么时候完成？").tokens]


def test_it_refers_to_what_the_previous_question_asked_for() -> None:
    history = [user("兰州高新区与金城资本合作设立了什么基金？"), assistant("兰州高新区生物医药产业基金[1]。")]
    rewrite = condense_offline("它的规模是多少？", history)
    assert "金城资本" in rewrite.query and "基金" in rewrite.query and "规模" in rewrite.query


def test_it_refers_to_what_has_the_property_asked_for() -> None:
    # “X有什么亮点？” asks a property of X: the next question's 它 is X, not the 亮点
    history = [
        user("长春高新区的长光卫星有什么亮点？"),
        assistant("长光卫星成为东北地区唯一的独角兽企业[1]。"),
    ]
    assert condense_offline("它现在估值多少？", history).query == "长春高新区的长光卫星现在估值多少？"
    # a thing X has is what 它 means then
    fund = [user("深圳有什么政府引导基金？"), assistant("深圳设立了天使母基金[1]。")]
    assert condense_offline("它的规模有多大？", fund).query == "深圳的政府引导基金的规模有多大？"


def test_this_noun_refers_to_the_turn_that_names_it() -> None:
    # 母 alone is no noun: “这个母基金” is the 天使母基金 the answer named, not the question's 国务院
    history = [
        user("国务院督查通报里，深圳在科技金融方面有什么做法？"),
        assistant("深圳成立了全国首个科技金融联盟，设立了国内规模最大的天使母基金[1]。"),
    ]
    rewrite = condense_offline("这个母基金主要投向什么阶段的企业？", history)
    assert rewrite.query == "天使母基金主要投向什么阶段的企业？"
    # 区 + 人口 was never written before: 这个区 is the district
    district = condense_offline("这个区人口有多少？", [user("浦东新区有哪些重点产业园？")])
    assert district.query == "浦东新区人口有多少？"


def test_among_them_refers_to_the_list_asked_for() -> None:
    rewrite = condense_offline("其中有多少家上市公司？", [user("无锡高新区有哪些物联网企业？")])
    assert rewrite.query == "无锡高新区的物联网企业中有多少家上市公司？"


def test_he_refers_to_the_person_of_the_previous_question() -> None:
    rewrite = condense_offline("他还担任什么职务？", [user("王贻芳院士提出了什么建议？")])
    assert rewrite.query == "王贻芳还担任什么职务？"


def test_he_refers_to_a_person_named_by_surname_and_title_not_to_a_place() -> None:
    history = [
        user("万力轮胎在华转网上发布了什么技术需求？"),
        assistant("万力轮胎发布的技术需求与吉林大学卢教授的研究方向高度匹配[1]。"),
    ]
    assert condense_offline("他是什么时候被派驻过去的？", history).query == "卢教授是什么时候被派驻过去的？"
    # with nobody to point to, 他 is not the one character jieba cut out of 在华转网 …
    nobody = condense_offline("他是什么时候被派驻过去的？", [user("万力轮胎在华转网上发布了什么技术需求？")])
    assert nobody.unresolved is not None
    # … but may be the one asked about
    leader = condense_offline("他还兼任什么职务？", [user("联合工作小组的组长是谁？")])
    assert leader.query == "联合工作小组的组长还兼任什么职务？"


def test_a_pronoun_after_small_talk_is_unresolved_with_a_reason() -> None:
    history = [user("你好"), assistant("你好，请问有什么可以帮您？")]
    rewrite = condense_offline("它的营收是多少？", history)
    assert rewrite.unresolved is not None
    assert "指代不明" in rewrite.unresolved and "它的营收是多少？" in rewrite.unresolved
    assert rewrite.query == "它的营收是多少？"


@pytest.mark.parametrize(
    "said", ["帮我查点资料。", "帮我查点资料，谢谢", "我想问个问题。", "帮我看看这个东西。"]
)
def test_a_pronoun_cannot_point_back_to_only_generic_words(said: str) -> None:
    # Nothing before “它” names a thing that has an investment: not 资料, 问题, 东西, 谢谢 or 哪方面内容.
    history = [user(said), assistant("好的，请问您想了解哪份简报里的哪方面内容？")]
    rewrite = condense_offline("它的总投资是多少？", history)
    assert rewrite.unresolved is not None and "指代不明" in rewrite.unresolved
    named = condense_offline("它的总投资是多少？", [user("兰州高新区与金城资本合作设立了什么基金？")])
    assert named.unresolved is None and "兰州高新区" in named.query


def test_an_acronym_is_something_a_pronoun_can_point_back_to() -> None:
    history = [
        user("全球制造业吸收的外国直接投资这几年是什么走势？"),
        assistant("全球制造业吸收FDI规模下降[1]。"),
    ]
    rewrite = condense_offline("它占全球吸收FDI的比重又是怎么变的？", history)
    assert rewrite.unresolved is None and "全球制造业" in rewrite.query
    # two capitals are a word, not a name: after “OK。” there is nothing to point back to
    assert condense_offline("它的总投资是多少？", [user("OK。")]).unresolved is not None


def test_a_demonstrative_points_back_to_the_thing_with_the_quoted_name_that_qualifies_it() -> None:
    history = [user("欧阳宏伟建议设立的“投早投小”政府产业项目探索基金，参考的是什么管理方式？")]
    rewrite = condense_offline("设立这个基金主要想化解谁的什么顾虑？", history)
    assert rewrite.unresolved is None
    assert "“投早投小”政府产业项目探索基金" in rewrite.query and "这个基金" not in rewrite.query


def test_a_demonstrative_points_back_to_what_the_question_asked_about_with_all_that_qualifies_it() -> None:
    history = [
        user("2023年全国工业和信息化工作会议部署的第二项重点工作是什么？"),
        assistant("二是深入推进产业基础再造，重点发展一批市场急需的基础零部件和关键材料[1]。"),
    ]
    rewrite = condense_offline("这项工作里提到要加快突破哪些行业的工业软件？", history)
    assert rewrite.unresolved is None
    assert "2023年全国工业和信息化工作会议部署的第二项重点工作里" in rewrite.query
    # only the subject's last clause: not “根据《意见》，”
    rewrite = condense_offline("该实验室有多少人员？", [user("根据《意见》，广东省重点支持的实验室是什么？")])
    assert rewrite.query == "广东省重点支持的实验室有多少人员？"


@pytest.mark.parametrize("question", ["它的营收是多少？", "那长春高新区呢？", "该计划由谁牵头？"])
def test_a_follow_up_without_any_conversation_is_unresolved(question: str) -> None:
    rewrite = condense_offline(question, [])
    assert rewrite.query == question
    assert rewrite.unresolved is not None and "没有此前的对话" in rewrite.unresolved


def test_a_pronoun_may_refer_to_the_previous_answer_when_the_question_named_nothing() -> None:
    history = [user("请介绍一下"), assistant("海港高新区举办了第三期蓝色创业训练营[1]。")]
    rewrite = condense_offline("它有多少人参加？", history)
    assert rewrite.unresolved is None and "海港高新区" in rewrite.query


@pytest.mark.parametrize(
    "question", ["深圳的研发投入强度是多少？", "科技成果转化引导基金的总规模是多少？", "企业该如何申报？"]
)
def test_a_question_that_stands_alone_is_unchanged(question: str) -> None:
    assert condense_offline(question, [user(WUXI), assistant("约3000亿元[1]。")]) == Rewrite(question)
    assert condense_offline(question, []) == Rewrite(question)


def test_the_most_recent_user_question_is_used() -> None:
    history = [
        user("广东的“卓粤”计划是什么？"),
        assistant("“卓粤”计划是……[1]"),
        user(WUXI),
        assistant("约3000亿元[1]。"),
    ]
    assert condense_offline("那长春高新区呢？", history).query == "长春高新区物联网产业规模有多大？"


def test_a_chain_of_follow_ups_keeps_its_topic() -> None:
    history = [user(WUXI), assistant("……"), user("那长春高新区呢？"), assistant("……")]
    assert condense_offline("2021年呢？", history).query == "2021年长春高新区物联网产业规模有多大？"


def test_small_talk_between_questions_is_skipped() -> None:
    history = [user(WUXI), assistant("约3000亿元[1]。"), user("谢谢"), assistant("不客气。")]
    assert condense_offline("那长春高新区呢？", history).query == "长春高新区物联网产业规模有多大？"


def test_what_else_repeats_the_previous_question() -> None:
    question = "广东的“卓粤”计划包括哪些措施？"
    assert condense_offline("还有呢？", [user(question)]).query == question


def test_a_subject_left_out_is_taken_from_the_previous_question() -> None:
    assert (
        condense_offline("由谁牵头？", [user("广东的“卓粤”计划是什么？")]).query
        == "广东的“卓粤”计划由谁牵头？"
    )


def test_rewrite_follow_up_gives_the_query() -> None:
    assert rewrite_follow_up("深圳呢？", [user("上海对科技创新中心建设有哪些财政支持？")]).startswith(
        "深圳对"
    )
    assert rewrite_follow_up("它的营收是多少？", []) == "它的营收是多少？"


def test_format_history_drops_citation_markers() -> None:
    assert format_history([user("问题一"), assistant("回答一[1]。")]) == "用户：问题一\n助手：回答一。"


def test_saved_conversation_keeps_the_last_exchanges(tmp_path: Path) -> None:
    path = tmp_path / ".rag" / "conversation.json"
    turns = [turn for n in range(MAX_EXCHANGES + 3) for turn in (user(f"问题{n}"), assistant(f"回答{n}"))]
    save_conversation(path, turns)
    loaded = load_conversation(path)
    assert len(loaded) == 2 * MAX_EXCHANGES
    assert loaded[0] == user("问题3") and loaded[-1] == assistant(f"回答{MAX_EXCHANGES + 2}")
    assert [p.name for p in path.parent.iterdir()] == ["conversation.json"], "no temporary file is left"


def test_an_unreadable_saved_conversation_counts_as_none(tmp_path: Path) -> None:
    path = tmp_path / "conversation.json"
    assert load_conversation(path) == []
    path.write_text("{not json", encoding="utf-8")
    assert load_conversation(path) == []
    path.write_text(json.dumps({"turns": [{"role": "user", "content": "问"}]}), encoding="utf-8")
    assert load_conversation(path) == [user("问")]


def test_these_with_a_noun_takes_the_owner_and_the_verbs_that_qualify_it() -> None:
    history = [
        Turn("user", "长春高新区的孵化载体有多少个？"),
        Turn("assistant", "长春高新区各类孵化载体发展到144个[1]。"),
    ]
    rewrite = condense_offline("这些载体里一共有多少家在孵企业？", history)
    assert rewrite.query == "长春高新区的孵化载体里一共有多少家在孵企业？"


def test_a_region_named_by_its_provinces_is_a_place() -> None:
    history = [Turn("user", "樊杰认为京津冀世界级城市群的科技创新应该以什么为主体？")]
    assert condense_offline("粤港澳大湾区呢？", history).query.startswith("樊杰认为粤港澳大湾区")
    assert condense_offline("那京津冀呢？", [Turn("user", "长三角的集成电路产业规模有多大？")]).query == (
        "京津冀的集成电路产业规模有多大？"
    )


@pytest.mark.parametrize(
    ("follow_up", "asked_before", "subject"),
    [
        (
            "和2017年底相比增长了多少？",
            "截至2022年底，高端制造行业上市公司数量是多少？",
            "高端制造行业上市公司数量",
        ),
        ("较上年增长了多少？", "深圳研发投入强度是多少？", "深圳研发投入强度"),
        ("与全国平均水平相比高多少？", "深圳研发投入强度是多少？", "深圳研发投入强度"),
        # what “有多少家X” counted, where it was counted
        (
            "比2012年多了多少家？",
            "2021年世界500强榜单里有多少家中国的战略性新兴产业企业？",
            "榜单里中国的战略性新兴产业企业",
        ),
        ("比上年增加了多少家？", "无锡高新区有多少家物联网企业？", "无锡高新区物联网企业"),
        ("比2012年多了多少家？", "全国共有多少家国家级高新区？", "全国国家级高新区"),
        # the count's noun is left out: the previous question's subject, not “它们家”
        ("比去年多多少？", "长春高新区有哪些孵化载体？它们有多少家？", "长春高新区"),
    ],
)
def test_a_comparison_that_leaves_out_its_subject_takes_the_previous_one(
    follow_up: str, asked_before: str, subject: str
) -> None:
    rewrite = condense_offline(follow_up, [user(asked_before)])
    assert rewrite.unresolved is None
    assert subject in rewrite.query and follow_up.rstrip("？") in rewrite.query


def test_a_comparison_that_names_its_own_subject_stands_alone() -> None:
    question = "与长春高新区相比，青岛高新区的企业数量是多少？"
    assert condense_offline(question, [user("深圳研发投入强度是多少？")]).query == question


def test_this_and_a_measure_word_points_at_the_one_the_conversation_named() -> None:
    history = [
        user("广州数控设备有限公司是哪一年成立的？"),
        assistant("广州数控设备有限公司成立于1991年[1]。"),
    ]
    assert condense_offline("这家公司的总经理是谁？", history).query == "广州数控设备有限公司的总经理是谁？"
    said = [
        user("海尔生物的刘占杰在哪家公司任职？"),
        assistant("刘占杰是海尔生物医疗股份有限公司总经理[1]。"),
    ]
    assert condense_offline("那家公司是什么时候上市的？", said).query.startswith("海尔生物医疗股份有限公司")


def test_that_company_is_not_read_as_something_else_the_conversation_named() -> None:
    # Only a count of firms was asked and given: “那家公司” is not 威海高新区, nor its 公司.
    history = [
        user("威海高新区现在有多少家高新技术企业？"),
        assistant("威海高新区高新技术企业总数突破260家[1]。"),
    ]
    assert condense_offline("那家公司的董事长是谁？", history).query == "那家公司的董事长是谁？"
    # 这位/那名 + a title points at the person named
    said = [user("杨华勇院士对重大技术装备有什么建议？"), assistant("中国工程院院士杨华勇建议……[1]。")]
    assert condense_offline("那名院士是哪个单位的？", said).query.startswith("杨华勇")
    # 这种 is no measure word of a thing: “这种情况下” stays as asked
    assert condense_offline("这种情况下企业还能申请补贴吗？", history).unresolved is None


def test_another_one_is_not_the_one_just_discussed() -> None:
    history = [
        user("长春高新区和哪个高新区签署了合作协议？"),
        assistant("长春高新区与威海高新区签署了合作协议[1]。"),
    ]
    assert condense_offline("另外那个高新区呢？", history).query.startswith("威海高新区")
    alone = [user("长春高新区生物医药产业规模有多大？"), assistant("长春高新区集聚生物医药企业558家[1]。")]
    rewrite = condense_offline("另外那个园区呢？", alone)
    assert rewrite.unresolved is not None and "指代不明" in rewrite.unresolved


def test_a_respect_asks_the_same_question_in_that_respect() -> None:
    previous = "国务院办公厅督查室通报的深圳经验里，深圳在基础研究投入上是怎么做的？"
    rewrite = condense_offline("科研人员自主权方面呢？", [user(previous)])
    assert rewrite.query == "国务院办公厅督查室通报的深圳经验里，深圳在科研人员自主权方面是怎么做的？"
    rewrite = condense_offline("那校企融合这块呢？", [user("李陟说尖端装备领域的国家级实验室存在什么问题？")])
    assert "校企融合" in rewrite.query and rewrite.query.endswith("存在什么问题？")
    # a place's side is that place: it replaces the place, not the respect
    rewrite = condense_offline("深圳方面呢？", [user("青岛在海洋科技上是怎么做的？")])
    assert rewrite.query.startswith("深圳") and "青岛" not in rewrite.query
