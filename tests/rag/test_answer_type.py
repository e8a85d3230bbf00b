"""The kind of answer a question asks for (rag.answer_type): a sentence on the right topic that
does not give that kind of answer does not answer it."""

from __future__ import annotations

import pytest

from rag.answer_type import AnswerType
from rag.answerers.relevance import CORPUS_COVERAGE_FLOOR, corpus_coverage
from rag.question import Question


def _type(question: str) -> AnswerType:
    return Question(question).answer_type


def test_which_year_is_answered_only_by_a_sentence_that_writes_a_year() -> None:
    asked = _type("青岛高测股份首创的金刚线单晶硅截断机是哪一年研制成功的？")
    assert asked.kind == "年份"
    assert not asked.given_by(
        "其中首创的金刚线单晶硅截断机，市场占有率达95%，今年8月份成为青岛第二家科创板上市企业。"
    )
    assert asked.given_by("该截断机于2019年研制成功。")
    assert asked.given_by("该截断机于二〇一九年研制成功。")
    assert not asked.given_by("公司注册资本2000万元。")  # a four-digit amount is not a year
    assert _type("What year was the fund set up?").kind == "年份"
    assert _type("这是几年级的课程？").kind != "年份"


def test_which_day_is_answered_only_by_a_month_and_a_day() -> None:
    asked = _type("这份通知是哪一天发布的？")
    assert asked.kind == "日期"
    assert not asked.given_by("近日，科技部火炬中心与中国银行发布《通知》。")
    assert not asked.given_by("2022年，科技部火炬中心发布《通知》。")
    assert asked.given_by("3月15日，科技部火炬中心发布《通知》。")


def test_which_place_in_an_order_is_answered_by_an_ordinal() -> None:
    asked = _type("该产业园的品牌价值排第几？")
    assert asked.kind == "名次"
    assert not asked.given_by("两大产业园双双获批成为所在行业内唯一的国家新型工业化产业示范基地。")
    assert asked.given_by("该产业园连续两年蝉联山东省制造业园区品牌价值第一位。")
    assert asked.given_by("该产业园品牌价值位居全国首位。")
    assert not asked.given_by("根据第三方机构的评估，该产业园表现良好。")


def test_the_digits_of_a_name_are_not_an_amount() -> None:
    asked = _type("杨浦那只母基金的规模有多大？")
    assert asked.kind == "数字"
    assert not asked.given_by("组建G60科创走廊AI产业基金、杨浦人工智能创业投资母基金等。")
    assert not asked.given_by("需要调用英伟达H100显卡。")
    assert _type("H100显卡有多少张？").given_by("需要调用100张H100显卡。")
    assert asked.given_by("杨浦人工智能创业投资母基金规模50亿元。")


@pytest.mark.parametrize(
    ("question", "not_an_answer", "answer"),
    [
        (
            "建设用地出让价格能打几折？",
            "应当合理保障人工智能园区建设用地需求。",
            "可以按照基准地价的七折出让。",
        ),
        (
            "2021年广东集成电路产量同比增长了多少？",
            "2021年广东产量为539.4亿块，排名全国第三。",
            "产量同比增长15.2%。",
        ),
        (
            "2019年青岛引进的外籍人才占全国的比例是多少？",
            "青岛引进高端外籍人才1158人，占全省71%。",
            "约占全国1/10。",
        ),
        (
            "2021年全国工业机器人产量里，广东生产的占多少？",
            "2021年工业机器人产量超过36.6万台，持续居于全球第一。",
            "广东产量占全国的38.2%。",
        ),
    ],
)
def test_a_share_question_is_answered_by_a_share_of_what_was_asked(
    question: str, not_an_answer: str, answer: str
) -> None:
    asked = _type(question)
    assert not asked.given_by(not_an_answer)
    assert asked.given_by(answer)


@pytest.mark.parametrize(
    "question",
    [
        "为什么说我国基础研究投入里财政的占比和美国联邦政府差不多，但两国投入总额却差得很远？",
        "在上海办新型研发机构，登记和国有资产占比这两件事上有什么放宽？",
    ],
)
def test_a_share_named_while_something_else_is_asked_is_not_a_quantity_question(question: str) -> None:
    assert _type(question).kind is None
    assert _type("基础研究投入占比是多少？").kind == "比例"
    # 这几年 is a span of time, not a count of years
    assert _type("这几年集成电路的国产化率怎么变化？").kind is None
    assert _type("需要几年？").kind == "数字"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("研发投入占GDP的比重是多少？", "研发投入占地区生产总值比重达4.2%。"),  # GDP in other words
        ("研发人员占员工总数的比例是多少？", "研发人员占比达40%。"),  # no share of anything else
        ("出口占全国总量的比例是多少？", "出口占全国的15%。"),  # 总量 is generic; 全国 is what it is of
    ],
)
def test_a_share_of_something_said_in_other_words_still_answers(question: str, answer: str) -> None:
    assert _type(question).given_by(answer)


def test_a_rule_that_sets_no_figure_answers_how_much() -> None:
    asked = _type("用专利作价出资，最多能占注册资本多少比例？")
    assert asked.given_by("作价出资占企业注册资本的比例，可以由出资各方协商约定。")
    assert not asked.given_by("鼓励以专利作价出资设立企业。")
    # an amount or a year is not left open by it
    assert not _type("最高补贴多少万元？").given_by("企业申报不受注册地限制。")
    assert not _type("监管办法是哪一年出台的？").given_by("具体办法由双方约定。")


def test_how_much_money_is_answered_by_a_sum_of_money() -> None:
    asked = AnswerType("单个团队最高能拿到多少钱？")
    assert not asked.given_by("近5年来约有近2万名研发设计人员获益。")
    assert asked.given_by("对每个团队最高给予500万元奖励。")
    assert asked.given_by("最高奖励100万美元。")
    assert asked.given_by("总投资人民币8亿。") and asked.given_by("资产规模为382亿英镑。")


def test_a_sum_asked_through_its_noun_is_answered_by_money_or_a_multiple() -> None:
    fine = _type("企业筹建期内从事与筹建无关的生产经营活动的，罚款多少？")
    assert not fine.given_by("筹建期限为一年，筹建期内企业不得开展与筹建无关的生产经营活动。")
    assert fine.given_by("处五万元以上十万元以下罚款。")
    assert fine.given_by("处违法所得一倍以上五倍以下罚款。")
    output = _type("无锡高新区第三代半导体产业链去年的产值有多少？")
    assert not output.given_by("集聚100多家低碳相关企业及平台。")
    assert output.given_by("1-2月实现产值179.9亿元，同比增长29.7%。")
    assert _type("投资多少个项目？").given_by("已投资12个项目。")  # a measure word after 多少 names the unit
    # a sum in 万/亿 with its currency left out, or written before it
    assert output.given_by("实现产值1.2万亿。") and output.given_by("产值￥300亿。")
    assert not output.given_by("集聚1.2万家企业。")
    # a valuation is a sum; a “千亿级” industry is a class of size, not an amount
    value = _type("长春高新区的长光卫星现在估值多少？")
    assert not value.given_by("“吉林一号”卫星在轨总数31颗，正在打造千亿级北方航空航天产业新高地。")
    assert value.given_by("估值超过100亿元。") and not value.given_by("形成1万亿级产业集群。")


def test_a_batch_is_not_a_count() -> None:
    built = _type("这种综合体深圳现在已经建了几个？")
    assert not built.given_by("布局建设一批重大科技基础设施，构建“楼上楼下”创新创业综合体。")
    assert built.given_by("已建成3个综合体。") and built.given_by("已建成十一批设施。")
    assert _type("已经认定了几批？").given_by("目前已认定一批，第二批正在评审。")  # when batches are counted


def test_how_long_is_answered_by_a_span_of_time_and_how_large_an_area_by_an_area() -> None:
    area = AnswerType("无锡高新区的零碳科技产业园占地面积有多大？")
    assert not area.given_by("集聚100多家低碳相关企业及平台。")  # a count is not an area
    assert area.given_by("占地面积达18平方公里。") and area.given_by("占地三百亩。")
    assert (
        area.given_by("占地面积达2.5万㎡。") and area.given_by("约12km²。") and area.given_by("占地120平米。")
    )
    long = AnswerType("筹建期限是多长？")
    assert not long.given_by("已有20家企业完成筹建。")
    assert not long.given_by("项目于2021年3月开工。")  # a date is when, not how long
    assert not long.given_by("每年安排专项资金5000万元。")  # 每年 answers only how often
    assert long.given_by("筹建期限为一年。") and AnswerType("最快多久能办完？").given_by("压缩到一天办结。")
    assert AnswerType("需求清单多长时间发布一次？").given_by("需求清单每年发布。")
    # how much longer is said only by a sentence on the extension
    longer = AnswerType("企业筹建期满还没拿到审批的，筹建期能延长多久？")
    assert not longer.given_by("筹建期限为一年。") and longer.given_by("确有需要的，可以延长六个月。")


def test_a_change_is_answered_by_a_change_not_by_a_share() -> None:
    asked = AnswerType("2021年张江集成电路产业销售收入同比增长了多少？")
    assert not asked.given_by("张江集成电路产业销售收入1702.56亿元，占全市比重约66%。")
    assert asked.given_by("张江集成电路产业销售收入同比增长28%。")
    assert asked.given_by("销售收入为上年的1.3倍。")
    assert not asked.given_by("江苏为1186.1亿块，超广东产量的两倍。")
    gdp = AnswerType("GDP同比增长多少？")
    assert gdp.given_by("比上年高0.5个百分点。") and gdp.given_by("较上年回落0.3个百分点。")
    assert not AnswerType("工业增加值同比增长多少？").given_by("工业增加值占全市GDP比重约66%。")


def test_one_of_several_and_the_zero_of_a_word_are_not_amounts() -> None:
    asked = AnswerType("到2025年广东全社会研发经费投入强度要达到多少？")
    assert not asked.given_by("《规划》部署的其中一项重点任务是“聚焦经济主战场”。")
    assert not asked.given_by("发布了《进口关键零部件、原材料商品目录》。")
    assert asked.given_by("研发经费投入强度达到百分之三。")
    assert AnswerType("有几个项目由企业牵头？").given_by("其中两项由企业牵头。")
    assert AnswerType("外资企业有多少？").given_by("其中一百家为外资企业。")


def test_a_number_the_question_states_itself_is_not_the_answer() -> None:
    asked = _type("新招引的104个亿元以上重大产业项目里，外资项目有多少个？")
    assert not asked.given_by("新招引亿元以上重大产业项目104个，战略性新兴产业投资比重提高9.2个百分点。")
    assert asked.given_by("其中外资项目15个。")
    # only with its own measure word: 3年 is known, 3亿元 is the answer
    assert _type("3年内投资多少亿元？").given_by("3年内投资3亿元。")


def test_pronouns_do_not_make_a_question_off_topic_and_a_negated_word_counts_as_its_word() -> None:
    corpus = "深圳 风险 高风险的人工智能应用 低 监管 中低风险的人工智能应用应当采用事前披露和事后跟踪的监管模式 合格"
    share, absent = corpus_coverage("深圳对风险不高的那类应用是怎么监管的？", corpus)
    assert "那类" not in absent and share >= CORPUS_COVERAGE_FLOOR
    assert "不合格" not in corpus_coverage("不合格的产品怎么监管？", corpus)[1]
    # a Latin-letter question the briefings never mention stays off-topic
    assert corpus_coverage("iPhone 15 Pro Max多少钱？", corpus)[0] < CORPUS_COVERAGE_FLOOR


def test_question_words_do_not_make_a_question_off_topic() -> None:
    # a briefing never writes 哪本: the question is about the team and its results
    corpus = "许彤辉教授团队为帕金森氏病发病机理提供新线索，相关成果发表在《自然神经科学》"
    share, absent = corpus_coverage("许彤辉教授团队的成果发在哪本期刊上？", corpus)
    assert "哪本" not in absent and share >= CORPUS_COVERAGE_FLOOR
    # a name that opens with a question character is still a word the briefings lack
    assert "几内亚" in corpus_coverage("几内亚的人口有多少？", corpus)[1]


def test_how_many_places_it_holds_is_a_count_not_a_share() -> None:
    assert _type("广东生产的占多少？").kind == "比例"
    assert _type("在董事会中占多少席位？").kind == "数字"  # 占多少 followed by what is counted


def test_a_change_is_answered_by_a_change_and_percent_asked_by_bai_fen_zhi_ji() -> None:
    grown = _type("2021年以来，无锡高新区的生物医药产业增长了多少？")
    # the years of a plan's name are not a growth
    assert not grown.given_by(
        "2021年以来，无锡高新区出台《绿色发展五年行动方案（2021-2025）》，支持生物医药发展。"
    )
    assert grown.given_by("生物医药产业产值增长30%。")
    assert _type("比上年增加了多少？").given_by("2022年我国大学毕业生达到1076万人，比上年大涨167万人。")
    shortened = _type("技术合同办理时限减少了多少个工作日？")
    assert shortened.given_by("技术合同登记办理时限由30个工作日压缩至7个工作日。")
    assert not _type("比上年增加了多少？").given_by("参会热情高涨，共有100人参加。")
    share = _type("条例规定财政科技投入每年至少增长百分之几？")
    assert share.kind == "比例"
    assert not share.given_by("市、区人民政府应当加强财政科技投入的统筹与联动管理。")


def test_which_place_is_answered_by_a_place_name() -> None:
    where = _type("支持在哪个区建立科创金融服务中心？")
    assert where.kind == "地点"
    # 上市 is tagged a place name by jieba, and is none
    assert not where.given_by("鼓励金融机构提供覆盖创业投资、银行信贷、上市融资等全链条的金融服务。")
    assert where.given_by("支持在海淀区建立科创金融服务中心。")
    assert _type("哪个市场份额最大？").kind != "地点"


def test_a_place_joined_to_a_noun_is_in_the_briefings_when_both_are() -> None:
    corpus = "北京 高等院校 高校 担任领导职务 科研人员 成果转化 不得 股票 市场"
    absent = corpus_coverage("北京高校担任领导职务的科研人员成果转化有哪些限制？", corpus)[1]
    assert "北京高校" not in absent
    # a word of its own is not read as two (股票市场 is not 股票 + 市场)
    assert "股票市场" in corpus_coverage("股票市场行情如何？", corpus)[1]
