"""What a question asks for (rag.question): the checks an extractive answer must pass."""

from __future__ import annotations

import pytest

from rag.attribute import asked_attribute
from rag.question import Question


def test_stated_numbers_and_places_must_be_in_the_passage() -> None:
    asked = Question("杭州高新区2021年集聚了多少家高新技术企业？")
    assert asked.specifics == ("2021年",)
    assert "杭州" in asked.places
    assert asked.missing_from("无锡高新区2021年底高新技术企业突破1100家。") == ["杭州"]
    assert asked.missing_from("杭州高新区2020年高新技术企业达到900家。") == ["2021年"]
    assert asked.missing_from("2021年，杭州高新区高新技术企业突破1100家。") == []


def test_a_model_the_question_names_must_be_named_whole() -> None:
    asked = Question("Sora模型要达到ChatGPT的训练量，需要多少张英伟达A100显卡？")
    assert asked.specifics == ("A100",)
    assert asked.missing_from("大约需要调用6至7万张英伟达H100显卡。") == ["A100"]
    assert asked.missing_from("大约需要调用6至7万张英伟达a100显卡。") == []
    # a quarter, a half-year and a ranking are not models
    assert Question("2023年Q1集成电路产量是多少？").specifics == ("2023年",)
    assert Question("全球Top10企业有哪些？").specifics == ()


def test_a_place_named_in_the_title_or_by_我省_counts() -> None:
    asked = Question("广东省集成电路产量是多少？")
    assert asked.places == ("广东",)
    assert asked.missing_from("集成电路产量为539.4亿块。", title="提案参考：加快广东高端制造设备进口") == []
    assert asked.missing_from("我省集成电路产量为539.4亿块。") == []
    assert asked.missing_from("集成电路产量为539.4亿块。") == ["广东"]
    # “我省” stands for a province, not for a district or a city.
    assert Question("西咸新区出台了哪些政策？").missing_from("我省出台了12条措施。") != []
    assert Question("青岛出台了哪些政策？").missing_from("本市出台了12条措施。") == []
    # A title naming other places as well does not speak for the passage.
    assert Question("深圳设立了什么基金？").missing_from(
        "设立天使母基金。", title="上海、深圳、青岛做法"
    ) == ["深圳"]


def test_person_names_count_only_with_a_surname() -> None:
    assert "吕跃广" in Question("吕跃广主张破除以什么为导向的评价机制？").places
    assert Question("智慧型手机元器件依赖进口的比例是多少？").places == ()


def test_a_cohort_the_question_names_must_be_in_the_passage() -> None:
    asked = Question("腾讯“新基石研究员项目”首批共资助了多少位科学家？")
    assert "首批" in asked.specifics
    assert asked.missing_from("腾讯“新基石研究员项目”将在10年内支持200—300位杰出科学家。") == ["首批"]
    assert asked.missing_from("“新基石研究员项目”首批共资助58位科学家。") == []
    assert Question("第二批试点有哪些高校？").missing_from("启动第一批高校试点。") == ["第二批"]


def test_pinyin_names_in_an_english_question_must_be_in_the_passage() -> None:
    asked = Question("What special policies has Chengdu issued to support its chip industry?")
    assert asked.latin_names == ("chengdu",)
    assert asked.missing_from("成都市出台了集成电路专项政策。") == []
    assert asked.missing_from("无锡高新区出台了集成电路专项政策。") == ["chengdu"]
    # A common word that sounds the same is not the name: 程度 is not Chengdu.
    assert asked.missing_from("政策支持程度不断提高。") == ["chengdu"]
    # A name may begin a longer word, and a person's name is written in two words.
    assert (
        Question("What will Dongfeng Motor produce in Xiangyang?").missing_from(
            "东风汽车在襄阳生产新能源汽车。"
        )
        == []
    )
    assert Question("According to Wang Yifang, who funds basic research?").latin_names == ("wangyifang",)


@pytest.mark.parametrize(
    "question",
    [
        "When did Japan launch the DRAM project?",
        "What did the Torch Center support?",
        "Is China's share rising in Asia?",
    ],
)
def test_english_words_are_not_taken_for_pinyin_names(question: str) -> None:
    assert Question(question).latin_names == ()


def test_a_possessive_ends_a_pinyin_name() -> None:
    asked = Question("What did Beijing's Haidian District say it would speed up building next?")
    assert asked.latin_names == ("beijing", "haidian")
    assert asked.missing_from("近日，北京市海淀区举办中关村科学城重点项目签约发布活动。") == []


def test_a_name_another_passage_gives_is_not_missing() -> None:
    asked = Question("青岛2019年引进高端人才多少人，占山东全省的比重是多少？")
    on_qingdao = ("2019年，青岛引进外国高端人才1158人。", "")
    on_shandong = ("山东2019年外国高端人才总数居全国前列。", "")
    on_wuxi = ("无锡2019年引进外国高端人才900人。", "")
    assert asked.missing_from(*on_qingdao) == ["山东"]
    assert asked.missing_from_each([on_qingdao, on_shandong, on_wuxi]) == [[], [], ["青岛", "山东"]]
    # A name that no passage gives is still missing.
    assert asked.missing_from_each([on_qingdao, on_wuxi]) == [["山东"], ["青岛", "山东"]]


def test_a_place_inside_a_quoted_documents_name_does_not_let_a_passage_stand_in_for_another() -> None:
    # 中国 is part of the report's name: a passage quoting the name on 青岛 does not answer for 深圳.
    asked = Question("在《2020中国创新创业城市生态指数研究报告》里，深圳排在第几位？")
    on_qingdao = ("国家信息中心发布《2020中国创新创业城市生态指数研究报告》，青岛位居第10位。", "")
    on_shenzhen = ("为什么会是深圳？因为深圳始终致力于打造全过程创新生态链。", "")
    assert asked.missing_from_each([on_qingdao, on_shenzhen])[0] == ["深圳"]


def test_traditional_questions_are_checked_in_simplified_form() -> None:
    asked = Question("無錫高新區2022年物聯網產業規模達到多少億元？")
    assert asked.answer_type.unit == "亿元"
    assert asked.missing_from("2022年，无锡高新区物联网产业规模达到3000亿元。") == []


@pytest.mark.parametrize(
    ("question", "unit", "answers", "non_answers"),
    [
        (
            "高新区集聚了多少家企业？",
            "家",
            ["集聚企业1100家。", "企业5000余家。"],
            ["企业数量大幅增长。", "增长了12%。"],
        ),
        ("产业规模达到多少亿元？", "亿元", ["规模为539.4亿元。", "规模达1.2万亿元。"], ["规模约100%。"]),
        ("薪酬高出多少个百分点？", "百分点", ["提高3个百分点。"], ["提高了3%。"]),
        ("国产化率是多少？", None, ["提升至25.65%。", "达到三成。"], ["国产化率稳步提升。"]),
        ("设立了多大规模的基金？", None, ["设立了规模八亿元的产业基金。"], ["设立了产业基金。"]),
        ("How many companies are there?", None, ["集聚企业558家。"], ["企业不断集聚。"]),
        # Every measure word counts: a fund is counted in 只, a course in 门, an enterprise in 家 or 户.
        ("组建了多少只产业基金？", "只", ["组建产业基金11只。"], ["品牌价值621亿元。"]),
        ("开设了多少门课程？", "门", ["开设课程12门。"], ["1000多名学员参加学习。"]),
        ("新认定了多少家高新技术企业？", "家", ["新认定高新技术企业预计300户。"], ["同比增长21%。"]),
        # 个 is the measure word of 多少个项目, not 项 of 项目.
        ("三年支持了多少个项目？", "个", ["支持了17个基础研究项目。"], ["立项经费867万元。"]),
    ],
)
def test_a_quantity_question_needs_a_number_in_the_asked_unit(
    question: str, unit: str | None, answers: list[str], non_answers: list[str]
) -> None:
    asked = Question(question)
    assert asked.answer_type.wants_quantity and asked.answer_type.unit == unit
    for sentence in answers:
        assert asked.answer_type.given_by(sentence), sentence
    for sentence in non_answers:
        assert not asked.answer_type.given_by(sentence), sentence


@pytest.mark.parametrize("question", ["哪几个环节组成？", "哪三大领域？", "分别指什么？", "有哪些措施？"])
def test_list_questions_are_not_quantity_questions(question: str) -> None:
    asked = Question(question)
    assert asked.wants_list and not asked.answer_type.wants_quantity
    assert asked.answer_type.given_by("一是众创空间。")


def test_an_ordinary_question_accepts_any_sentence() -> None:
    asked = Question("“九期一”是什么产品？")
    assert not asked.answer_type.wants_quantity and not asked.wants_list
    assert asked.specifics == ("“九期一”",) and asked.places == ()
    assert asked.answer_type.given_by("“九期一”是一款治疗阿尔茨海默病的新药。")


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        (
            "What does Guangdong's 14th Five-Year Plan set for 2025?",
            "《广东省制造业高质量发展“十四五”规划》提出，到2025年……",
        ),
        ("第3期简报说了什么？", "火炬动态第三期"),
        ("评审委员会需要2名专家吗？", "评审委员会由两名专家组成。"),
    ],
)
def test_a_number_the_question_states_may_be_written_in_chinese_numerals(question: str, passage: str) -> None:
    assert Question(question).missing_from(passage) == []


def test_a_number_in_chinese_numerals_is_still_that_number() -> None:
    assert Question("第3期简报说了什么？").missing_from("第十三期") == ["3期", "第3期"]
    assert Question("14个项目在哪里？").missing_from("二十四个项目") == ["14个"]
    # A bare number is not a character of a longer numeral, nor a lone 五 in any word.
    assert Question("What does the 10th Plan say?").missing_from("十四五规划提出") == ["10"]
    assert Question("5G基站建了多少？").missing_from("五年来全省新建基站") == ["5"]


def test_a_measure_word_that_begins_a_noun_is_not_the_unit_asked() -> None:
    assert Question("有多少本地企业入驻？").answer_type.unit is None
    assert Question("有多少本地企业入驻？").answer_type.given_by("入驻本地企业120家。")
    assert Question("建设了多少场景？").answer_type.given_by("开放应用场景120个。")


def test_which_one_asks_for_one_and_which_three_for_a_list() -> None:
    assert not Question("从台湾和韩国进口的芯片各自主要是哪一类？").wants_list
    assert Question("广东提出了哪三个工程？").wants_list


@pytest.mark.parametrize(
    ("question", "attribute"),
    [
        ("联影医疗的uAngio 960介入手术系统市场售价是多少？", (("手术", "售价"),)),
        ("到2025年高端装备制造产业的利润总额目标是多少？", (("利润总额",),)),
        ("条例对科技创新券的面额上限是怎么规定的？", (("面额", "上限"),)),
        ("技术调查官的学历和职称条件有什么要求？", (("学历",), ("职称",))),
        # generic nouns (目标, 比例, 要求) and Latin abbreviations say what kind of answer is wanted
        ("广东的研发投入目标是多少？", ((),)),
        ("深圳对AI应用有什么要求？", ((),)),
        # a verb of change asks a figure of its subject as a copula does
        ("襄阳高新区规模以上工业增加值同比增长多少？", (("增加值",),)),
        ("集成电路设计销售额同比增长了多少？", (("集成电路", "销售额"),)),
        # a verb's object (“投入多少资金”) is not asked through a copula
        ("韩国计划投入多少资金？", ()),
        # 谁 asks as 什么 does
        ("联合工作小组的组长是谁？", (("组长",),)),
        # the surname 何 and 几乎 are not question words
        ("何立峰提到的市场售价是多少？", (("售价",),)),
        ("几乎全部企业的售价是多少？", (("售价",),)),
    ],
)
def test_the_attribute_asked_through_a_copula_or_a_verb_of_change(
    question: str, attribute: tuple[tuple[str, ...], ...]
) -> None:
    assert asked_attribute(question) == attribute


def test_a_passage_that_never_names_the_asked_attribute_does_not_answer() -> None:
    asked = Question("到2025年高端装备制造产业的利润总额目标是多少？")
    assert asked.missing_from("到2025年，高端装备制造产业营业收入达3000亿元以上。") == ["利润总额"]
    assert asked.missing_from("到2025年，高端装备制造产业利润总额达300亿元。") == []
    # a compound the passage splits still counts: 总产值 by 产值
    assert Question("卫星导航产业的总产值是多少？").missing_from("卫星导航产业产值达4690亿元。") == []
    # of two attributes asked together, a passage naming one answers (the other may be in other words)
    both = Question("技术调查官的学历和职称条件有什么要求？")
    assert both.missing_from("技术调查官应当具有中级以上职称。") == []
    assert both.missing_from("技术调查官负有保密义务。") == ["学历", "职称"]


def test_a_noun_and_the_modal_after_it_are_not_a_persons_name() -> None:
    # jieba cuts “这笔钱能不能” as 钱能 and tags it a person's name
    assert Question("在青岛，这笔钱能不能算作研发费用？").places == ("青岛",)
    assert "樊杰" in Question("樊杰认为应当怎样布局？").places
    assert "马可" in Question("马可认为应当怎样布局？").places  # 可 is a given name too


def test_a_quoted_name_may_have_a_的_inside_it_in_the_briefing() -> None:
    asked = Question("需要进一步激活的“科技经济三要素”分别是什么？")
    assert asked.missing_from("目前科技经济的三要素还需要进一步被激活。") == []
    assert asked.missing_from("目前科技经济的两大要素还需要进一步被激活。") == ["“科技经济三要素”"]


def test_a_figure_of_speech_in_quotes_is_not_a_name_the_passage_must_give() -> None:
    # the asker's scare quotes around a predicate that ends the question are not a name
    figurative = Question("深圳在重大科技攻关项目上如何避免“押错宝”？")
    assert figurative.missing_from("深圳实行“赛马式”制度，平行资助不同技术路线的项目。") == []
    # a quoted phrase before a noun, or standing as a noun, is a name
    assert "“星火燎原”" in Question("“星火燎原”专项行动由谁组织？").missing_from("“璀璨行动”由火炬中心组织。")
    assert Question("那“珞珈一号”呢？").missing_from("“吉林一号”卫星在轨运行。") == ["“珞珈一号”"]
    # a quoted phrase opening with a noun is a name, and 什么是 asks what a name means
    loan = "中国银行研究设计“中银创新积分贷”专属产品。"
    assert Question("企业怎么申请“科技贷”？").missing_from(loan) == ["“科技贷”"]
    assert Question("什么是“揭榜挂帅”？").missing_from("实行“赛马式”制度。") == ["“揭榜挂帅”"]


def test_an_item_asked_by_its_number_may_be_numbered_with_a_comma_in_the_passage() -> None:
    asked = Question("深圳建立全过程创新生态链的十条经验里，第九条讲的是什么？")
    assert asked.missing_from("深圳经验：九、率先形成最严格的知识产权保护体系。") == []
    assert asked.missing_from("深圳经验：十九、加强国际合作。") == ["第九条"]


def test_an_item_named_after_the_noun_of_its_list_is_an_item_and_a_documents_article_an_article() -> None:
    assert Question("他提的办法中的第一条是什么？").item_asked == "一"
    assert Question("他提的建议里第二条是什么？").item_asked == "二"
    named = Question("《管理办法》中的第三条规定了什么？")
    assert named.item_asked is None and named.articles == frozenset({3})


def test_a_sentence_of_another_article_does_not_answer_a_question_on_one_article() -> None:
    # a passage may hold 第三十六条 and 第三十七条; the question asks about one of them
    asked = Question("中关村条例第36条规定了什么？")
    assert asked.other_article("第四章 人才资源 › 第三十七条") == "第三十七条"
    assert asked.other_article("第四章 人才资源 › 第三十六条") is None
    assert asked.other_article("第四章 人才资源") is None  # no article heading: nothing to tell
    assert Question("中关村条例对人才特区有什么规定？").other_article("第三十七条") is None


def test_a_sentence_on_another_size_of_the_measured_thing_does_not_answer() -> None:
    asked = Question("广东能够规模化量产的8英寸晶圆线目前有几条？")
    assert asked.other_measure("实现规模化量产的12英寸晶圆线仅1条。") == ("12英寸晶圆线", "8英寸晶圆线")
    assert asked.other_measure("推动12英寸晶圆线及8英寸晶圆线等项目建设。") is None
    # a count the question states is not contradicted by the count it asks for
    counted = Question("104个项目里外资项目有多少个？")
    assert counted.other_measure("104个项目中外资项目30个。") is None
    assert counted.other_measure("全年引进120个项目，外资项目30个。") == ("120个项目", "104个项目")
    # every size the question states, in digits, Chinese numerals or with thousands separators
    both = Question("8英寸和12英寸晶圆线各有多少条？")
    assert both.other_measure("8英寸晶圆线2条。") is None
    assert asked.other_measure("八英寸晶圆线1条，另有12英寸晶圆线2条。") is None
    assert Question("1200家企业中有多少家上市？").other_measure("1,200家企业中有30家上市。") is None
    # a yes-or-no question is answered by the sentence giving the real figure
    assert Question("10个工作日内能办结吗？").other_measure("应当在15个工作日内办结。") is None


def test_a_word_the_dictionary_knows_only_as_a_common_word_is_not_a_place() -> None:
    # jieba tags 上马 (to launch), 伦理 and 沙龙 as places; CC-CEDICT writes them in lower case
    assert Question("郑洛新示范区明确不让上马哪类产业项目？").places == ("郑洛新",)
    assert Question("深圳市人工智能伦理委员会由谁组成？").places == ("深圳",)
    assert Question("崂山和黄岛各有什么定位？").places == ("崂山", "黄岛")
    assert Question("海港高新区举办了什么活动？").places == ("海港",)  # before 高新区 it names one
    assert Question("灯塔市的GDP是多少？").places == ("灯塔",)  # and so it does with 市
    assert Question("南亚国家的投资有多少？").places == ("南亚",)  # CC-CEDICT: nan2 Ya4


def test_a_year_or_a_date_does_not_answer_how_much() -> None:
    asked = Question("集成电路人才的缺口有多大？")
    assert not asked.answer_type.given_by("即便2021年3月国务院批准将其升级为一级学科，也远水难救近火。")
    assert not asked.answer_type.given_by("今年1～11月，多所高校加强了相关专业的人才培养。")
    assert asked.answer_type.given_by("这意味着，行业的人才缺口超过20万人。")
    assert Question("诉讼时效是多久？").answer_type.given_by("诉讼时效为一年。")


def test_how_many_tenths_asks_for_a_share() -> None:
    asked = Question("国产仪器在国内市场能占几成？")
    assert not asked.answer_type.given_by("国内有厂家几十家，北美6家，欧洲3家。")
    assert asked.answer_type.given_by("但国产品占有率仅为20%，80%依赖进口。")


def test_a_sentence_on_the_same_thing_of_another_place_does_not_answer() -> None:
    asked = Question("2021年张江集成电路产业销售收入同比增长了多少？")
    other = "2021年，上海市集成电路产业实现销售收入2578.85亿元，同比增长24.5%。"
    assert asked.other_owner(other) == ("上海市集成电路产业", "张江集成电路产业")
    assert asked.other_owner("2021年，张江集成电路产业销售收入1702.56亿元。") is None
    # the text's own place (全市, 本市), an abbreviation (深圳/深圳市) and a place the question
    # also names are the asked one
    assert asked.other_owner("全市集成电路产业实现销售收入2578.85亿元。") is None
    assert Question("深圳市人工智能产业规模多大？").other_owner("深圳人工智能产业规模达3000亿元。") is None
    both = Question("张江和上海市集成电路产业销售收入分别是多少？")
    assert both.other_owner(other) is None
    # the asked place written short, the thing also the text's own, one place of a series
    assert (
        Question("深圳市集成电路产业规模多大？").other_owner(
            "深圳集成电路产业规模达1000亿元，占广东集成电路产业规模的40%。"
        )
        is None
    )
    province = Question("广东省高新技术企业数量多少？")
    assert province.other_owner("全省高新技术企业数量达6.9万家，远超北京高新技术企业数量。") is None
    # a place inside an organisation's name owns what follows it (英国政府's 投入)
    uk = Question("2017年英国政府投入占基础研究经费的比例是多少？")
    assert uk.other_owner("据统计，2017年美国政府投入约占基础研究经费的45%。") == (
        "美国政府投入",
        "英国政府投入",
    )
    # 整个 does not change what is owned
    shenzhen = Question("2021年深圳整个集成电路产业的销售收入是多少？")
    assert shenzhen.other_owner("前一年，广东集成电路产业主营业务收入超过1200亿元。") is not None
    # a total given as the text's own, then broken down by city, answers for the total
    jiangsu = Question("江苏软件业务收入是多少？")
    total = "全省软件业务收入1.3万亿元，其中南京软件业务收入7000亿元，苏州软件业务收入2500亿元。"
    assert jiangsu.other_owner(total) is None
    region = Question("长三角集成电路产业规模是多少？")
    assert region.other_owner("上海、江苏、浙江、安徽集成电路产业规模合计3000亿元。") is None


def test_an_english_amount_is_not_a_number_the_passage_must_write_in_digits() -> None:
    # a briefing writes “100-billion-yuan” as 千亿元; a year in English is still checked
    english = Question("Which two Wuxi High-tech Zone companies joined the '100-billion-yuan club' in 2021?")
    assert english.specifics == ("2021",)
    assert Question("Did it cost 3 millions in 2021?").specifics == ("2021",)
    assert "100" in Question("投资100亿元的项目有哪些？").specifics


def test_a_sentence_on_another_organisation_of_the_kind_asked_does_not_answer() -> None:
    asked = Question("科技部火炬中心和中国建设银行联合推出的专属信贷产品叫什么？")
    said = "依托科技部火炬中心“企业创新积分制”试点，中国银行研究设计“中银创新积分贷”专属产品。"
    assert asked.other_owner(said) == ("中国银行", "中国建设银行")
    assert asked.other_owner("中国建设银行推出“创新积分贷”。") is None
    # a body named by its kind and common words is the asked one, named as laws name it
    province = Question("河南省政府及有关部门按规定可以向郑洛新示范区下放哪些经济和社会管理权限？")
    assert province.other_owner("省人民政府及有关部门可以依法下放经济和社会管理权限。") is None
    # the same body named briefly, and an organisation the question names too
    assert Question("北京市人大常委会何时通过该条例？").other_owner("经人大常委会审议通过。") is None
    # 人民政府 is also written 政府; a body named by its kind alone is no other one; 北大 is 北京大学
    liaoning = Question("辽宁省人民政府发布了什么措施来培育集成电路装备产业集群？")
    assert liaoning.other_owner("辽宁省政府发布措施培育集成电路装备产业集群。") is None
    assert (
        Question("北京大学和哪所高校共建了联合实验室？").other_owner("北大与清华大学共建了联合实验室。")
        is None
    )
    both = Question("中国银行和中国建设银行分别推出了什么产品？")
    assert both.other_owner("中国银行推出“中银创新积分贷”。") is None


def test_a_figure_for_a_series_does_not_answer_for_one_of_its_items() -> None:
    asked = Question("今年1-2月，襄阳高新区的新能源汽车产业单独实现产值多少亿元？")
    pooled = (
        "襄阳高新区以高端装备制造、电子信息、新能源新材料、新能源汽车、生物医药、节能环保为支柱的"
        "六大战略性新兴产业也保持高位增速，1-2月实现产值179.9亿元。"
    )
    assert asked.pooled_in(pooled) == "新能源汽车"
    assert asked.pooled_in("新能源汽车产业实现产值52亿元，电子信息、生物医药、节能环保产业同步增长。") is None
    # each item with its figure, or each given its own (分别), answers
    labs = Question("广东建成了多少家省实验室？")
    assert labs.pooled_in("建成10家省实验室、30家国家重点实验室、27家高水平创新研究院。") is None
    assert (
        asked.pooled_in("高端装备制造、新能源汽车、生物医药产业分别实现产值30亿元、52亿元和18亿元。") is None
    )
    # a question on several items of the series asks for their sum; a list question for the items
    both = Question("新能源汽车和生物医药产业合计实现产值多少？")
    assert both.pooled_in("高端装备制造、新能源汽车、生物医药产业实现产值100亿元。") is None
    assert Question("哪些产业实现产值超过百亿？").pooled_in(pooled) is None
    # figures in Chinese numerals, 均 (each of them), and an item only part of the asked thing
    assert labs.pooled_in("建成十家省实验室、三十家国家重点实验室、二十七家高水平创新研究院。") is None
    assert (
        Question("深圳的研发投入强度是多少？").pooled_in("北京、上海、深圳的研发投入强度均超过5%。") is None
    )
    park = Question("生物医药产业园占地面积有多大？")
    assert park.pooled_in("园区重点发展创新药、医疗器械、生物医药研发外包等产业，占地面积500亩。") is None


def test_the_years_of_a_documents_name_are_not_the_year_asked_or_stated() -> None:
    asked = Question("2021年我国直接从事集成电路产业的人员大约有多少万人？")
    sentence = "根据《中国集成电路产业人才发展报告（2020－2021年版）》，2020年，我国直接从事集成电路产业的人员约为54.1万人。"
    assert asked.other_year(sentence) == "2020"
    titled = Question(
        "《广东省培育半导体及集成电路战略性新兴产业集群行动计划（2021－2025年）》是什么时候发布的？"
    )
    assert titled.other_year("2020年9月，广东省发布了这一行动计划。") is None
    # a single year in a report's name still dates what it gives
    report = Question("《2023年政府工作报告》提出的GDP增长目标是多少？")
    assert report.other_year("2022年GDP增长目标为5.5%左右。") == "2022"


def test_a_national_figure_does_not_answer_for_a_province() -> None:
    asked = Question("截至2021年底，广东的高铁营业里程有多少公里？")
    assert asked.other_owner("截至2021年底全国高铁营业里程约4万公里。") is not None
    assert (
        Question("我国高铁营业里程有多少公里？").other_owner("截至2021年底全国高铁营业里程约4万公里。")
        is None
    )
    # the national total with the province's share is kept
    assert asked.other_owner("全国高铁营业里程约4万公里，其中广东的高铁营业里程2000公里。") is None
    # only of a figure, and not as another modifier's kind (具有全球影响力的全国科技创新中心)
    goal = Question("北京科技创新中心建设的目标是什么？")
    assert goal.other_owner("建设全国科技创新中心，打造世界主要科学中心。") is None
    size = Question("北京科技创新中心有多少家？")
    assert size.other_owner("本市基本建成具有全球影响力的全国科技创新中心。") is None
