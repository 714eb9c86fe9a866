"""Record contracts: the subjects and credit records the product scores from.

Every record kind is declared once, here, as data: its fields with their types,
their official Chinese column headers and English names, its natural key and the
date on which the platform learned of it. The bulk validator (:mod:`creditscore.records.parsing`),
the store's tables (:mod:`creditscore.store.tables`) and the ingest command are
all derived from these declarations, so adding a field is one edit.

Money is integer fen (1 yuan = 100 fen) in the store; dates are dates.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from creditscore.errors import UnknownKind

__all__ = [
    "KINDS",
    "ContractStatus",
    "Field",
    "FieldType",
    "ListType",
    "RecordKind",
    "Severity",
    "SizeClass",
    "SubjectType",
    "TaxGrade",
    "Utility",
    "VillageEvaluation",
    "get_kind",
]


class LabelledEnum(str, enum.Enum):
    """A string enumeration whose members also carry the Chinese labels found in official exports."""

    zh: str
    aliases: tuple[str, ...]

    def __new__(cls, value: str, zh: str, *aliases: str) -> LabelledEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.zh = zh
        obj.aliases = aliases
        return obj

    @classmethod
    def lookup(cls) -> dict[str, str]:
        """Every accepted spelling (value, Chinese label, aliases; case-insensitive) → canonical value."""
        table: dict[str, str] = {}
        for member in cls:
            for spelling in (member.value, member.zh, *member.aliases):
                table[spelling.lower()] = member.value
        return table


class SubjectType(LabelledEnum):
    ENTERPRISE = "enterprise", "企业", "法人", "organisation", "firm"
    HOUSEHOLD = "household", "农户", "个人", "自然人", "person"


class TaxGrade(LabelledEnum):
    A = "A", "A级"
    B = "B", "B级"
    M = "M", "M级"
    C = "C", "C级"
    D = "D", "D级"


class SizeClass(LabelledEnum):
    MICRO = "micro", "微型"
    SMALL = "small", "小型"
    MEDIUM = "medium", "中型"


class Severity(LabelledEnum):
    MINOR = "minor", "轻微", "简易"
    GENERAL = "general", "一般"
    SERIOUS = "serious", "严重", "较重"


class ContractStatus(LabelledEnum):
    PERFORMING = "performing", "履行中"
    FULFILLED = "fulfilled", "履行完毕", "已履行"
    BREACHED = "breached", "违约"
    DISPUTED = "disputed", "纠纷", "争议"


class ListType(LabelledEnum):
    ABNORMAL = "abnormal", "经营异常名录", "经营异常"
    SERIOUS_ILLEGALITY = "serious_illegality", "严重违法失信名单", "严重违法失信"


class Utility(LabelledEnum):
    WATER = "water", "水", "水费"
    ELECTRICITY = "electricity", "电", "电费"
    GAS = "gas", "气", "燃气", "燃气费"


class VillageEvaluation(LabelledEnum):
    EXCELLENT = "excellent", "优秀"
    GOOD = "good", "良好"  # committees' own spellings (优/良/中/差, 好/较好/一般/差, A–D): vocabularies/
    FAIR = "fair", "一般"
    POOR = "poor", "较差", "差"


class ObjectionStatus(LabelledEnum):
    PENDING = "pending", "处理中", "待核查"
    UPHELD = "upheld", "异议成立"
    REJECTED = "rejected", "异议不成立"


class FieldType(enum.StrEnum):
    TEXT = "text"
    USCC = "uscc"
    RESIDENT_ID = "resident_id"
    SUBJECT_ID = "subject_id"  # a USCC or a resident ID, told apart by the record's subject_type
    DIVISION = "division"  # administrative division code of a given length
    DATE = "date"
    MONTH = "month"  # stored as the first day of the month
    YEAR = "year"
    INT = "int"
    DECIMAL = "decimal"
    MONEY = "money"  # integer fen
    ENUM = "enum"


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a record kind."""

    name: str
    type: FieldType
    zh: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    choices: type[LabelledEnum] | None = None
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None  # for DIVISION codes: 6 county, 9 township, 12 village
    max_length: int = 200

    def headers(self) -> tuple[str, ...]:
        """Every header under which this column may arrive."""
        return (self.name, self.zh, *self.aliases)


@dataclass(frozen=True, slots=True)
class RowCheck:
    """A rule across fields: rows where ``ok`` is false are rejected with ``reason`` against ``column``."""

    column: str
    reason: str
    ok: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True, slots=True)
class RecordKind:
    """A kind of record: its contract, natural key and point-in-time dating.

    ``event_date`` names the field dating the behaviour (or a year field, read as
    31 December of that year). When a row has no ``published_on``, the platform is
    taken to have learned of it ``publication_lag_days`` after the event: that
    default belongs to the kind, not to the caller.
    """

    name: str
    zh: str
    subject: SubjectType | None  # None: either kind of subject (a subject_type column says which)
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    event_date: str | None
    publication_lag_days: int = 0
    checks: tuple[RowCheck, ...] = ()
    is_subject_table: bool = False
    description: str = ""

    @property
    def subject_column(self) -> str:
        return self.fields[0].name

    @property
    def has_published_on(self) -> bool:
        return not self.is_subject_table and self.name != "objections"

    def get_field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _after(later: str, earlier: str) -> Callable[[pd.DataFrame], pd.Series]:
    def ok(df: pd.DataFrame) -> pd.Series:
        return df[later].isna() | df[earlier].isna() | (df[later] >= df[earlier])

    return ok


def _not_before(later: str, earlier: str, what: str) -> RowCheck:
    return RowCheck(later, f"{later} is before {earlier}: {what}", _after(later, earlier))


def _F(name: str, type_: FieldType, zh: str, **kw: object) -> Field:  # noqa: N802 - reads as a table
    return Field(name, type_, zh, **kw)  # type: ignore[arg-type]


_USCC = _F("uscc", FieldType.USCC, "统一社会信用代码", aliases=("社会信用代码", "信用代码"))
_SUBJECT_TYPE = _F("subject_type", FieldType.ENUM, "主体类型", choices=SubjectType, required=False)
_SUBJECT_ID = _F("subject_id", FieldType.SUBJECT_ID, "证件号码",
                 aliases=("统一社会信用代码/身份证号", "被执行人证件号码", "主体证件号码"))
_PUBLISHED = _F("published_on", FieldType.DATE, "公示日期", required=False, aliases=("发布日期", "公开日期"))
_MONEY = {"minimum": 0}

ENTERPRISES = RecordKind(
    name="enterprises", zh="企业基本信息", subject=SubjectType.ENTERPRISE, is_subject_table=True,
    fields=(
        _USCC,
        _F("name", FieldType.TEXT, "企业名称", aliases=("名称", "市场主体名称")),
        _F("registered_on", FieldType.DATE, "成立日期", aliases=("注册日期",)),
        _F("industry", FieldType.TEXT, "行业门类", aliases=("国民经济行业门类",), max_length=1),
        _F("division_code", FieldType.DIVISION, "行政区划代码", length=6, aliases=("住所所在地行政区划代码",)),
        _F("size_class", FieldType.ENUM, "企业规模", choices=SizeClass),
        _F("registered_capital", FieldType.MONEY, "注册资本", required=False, **_MONEY),
    ),
    key=("uscc",), event_date="registered_on",
    description="One row per enterprise, individual business or farmers' cooperative.",
)

HOUSEHOLDS = RecordKind(
    name="households", zh="农户信息采集", subject=SubjectType.HOUSEHOLD, is_subject_table=True,
    fields=(
        _F("head_id", FieldType.RESIDENT_ID, "户主身份证号", aliases=("身份证号", "身份证号码", "户主身份证号码")),
        _F("head_name", FieldType.TEXT, "户主姓名", aliases=("姓名",)),
        _F("county_code", FieldType.DIVISION, "县区代码", length=6),
        _F("county_name", FieldType.TEXT, "县区", aliases=("县(市、区)",)),
        _F("township_code", FieldType.DIVISION, "乡镇代码", length=9),
        _F("township_name", FieldType.TEXT, "乡镇", aliases=("乡(镇)", "乡镇(街道)")),
        _F("village_code", FieldType.DIVISION, "村代码", length=12),
        _F("village_name", FieldType.TEXT, "村", aliases=("村/村民委员会", "村民委员会", "行政村")),
        _F("members", FieldType.INT, "家庭人口", minimum=1, maximum=30, aliases=("家庭人口数",)),
        _F("labourers", FieldType.INT, "劳动力", minimum=0, maximum=30, aliases=("劳动力人数",)),
        _F("land_mu", FieldType.DECIMAL, "承包地面积", required=False, minimum=0, maximum=100_000,
           aliases=("耕地面积", "承包地面积(亩)")),
        _F("annual_income", FieldType.MONEY, "家庭年收入", aliases=("年收入",), **_MONEY),
        _F("assets", FieldType.MONEY, "家庭资产", aliases=("资产总额",), **_MONEY),
        _F("liabilities", FieldType.MONEY, "家庭负债", aliases=("负债总额",), **_MONEY),
        _F("village_evaluation", FieldType.ENUM, "村委会评价", choices=VillageEvaluation, required=False),
        _F("surveyed_on", FieldType.DATE, "采集日期", aliases=("调查日期", "评议日期")),
    ),
    key=("head_id", "surveyed_on"), event_date="surveyed_on",
    checks=(RowCheck("labourers", "labourers exceed household members",
                     lambda d: d["labourers"].isna() | d["members"].isna() | (d["labourers"] <= d["members"])),
            RowCheck("township_code", "township code does not start with the county code",
                     lambda d: d["township_code"].str[:6] == d["county_code"]),
            RowCheck("village_code", "village code does not start with the township code",
                     lambda d: d["village_code"].str[:9] == d["township_code"])),
    description="One row per household survey (农户信息采集): facts as of surveyed_on; the latest survey "
    "on or before an as-of date is the one that counts.",
)

TAX_GRADES = RecordKind(
    name="tax_grades", zh="纳税信用等级", subject=SubjectType.ENTERPRISE,
    fields=(_USCC, _F("year", FieldType.YEAR, "评价年度", aliases=("年度",)),
            _F("grade", FieldType.ENUM, "纳税信用等级", choices=TaxGrade, aliases=("信用等级", "等级")), _PUBLISHED),
    key=("uscc", "year"), event_date="year", publication_lag_days=120,  # published each April
)

TAX_PAYMENTS = RecordKind(
    name="tax_payments", zh="纳税情况", subject=SubjectType.ENTERPRISE,
    fields=(_USCC, _F("year", FieldType.YEAR, "纳税年度", aliases=("年度",)),
            _F("amount", FieldType.MONEY, "实缴税额", aliases=("纳税总额", "缴纳税款"), **_MONEY), _PUBLISHED),
    key=("uscc", "year"), event_date="year", publication_lag_days=151,  # annual settlement by 31 May
)

WAGE_ARREARS = RecordKind(
    name="wage_arrears", zh="拖欠工资", subject=SubjectType.ENTERPRISE,
    fields=(
        _USCC,
        _F("started_on", FieldType.DATE, "欠薪开始日期", aliases=("拖欠开始日期",)),
        _F("amount", FieldType.MONEY, "拖欠金额", aliases=("欠薪金额",), **_MONEY),
        _F("workers", FieldType.INT, "涉及人数", minimum=1, maximum=100_000, aliases=("涉及工人数",)),
        _F("resolved_on", FieldType.DATE, "清偿日期", required=False, aliases=("结案日期",)),
        _F("blacklisted_on", FieldType.DATE, "列入黑名单日期", required=False,
           aliases=("列入拖欠农民工工资失信联合惩戒对象名单日期",)),
        _F("delisted_on", FieldType.DATE, "移出黑名单日期", required=False),
        _PUBLISHED,
    ),
    key=("uscc", "started_on", "amount", "workers"), event_date="started_on", publication_lag_days=30,
    checks=(_not_before("resolved_on", "started_on", "arrears cannot be paid before they start"),
            _not_before("blacklisted_on", "started_on", "a case cannot be blacklisted before it starts"),
            _not_before("delisted_on", "blacklisted_on", "removal from the blacklist precedes listing")),
)

PENALTIES = RecordKind(
    name="penalties", zh="行政处罚", subject=SubjectType.ENTERPRISE,
    fields=(
        _USCC,
        _F("decision_no", FieldType.TEXT, "行政处罚决定书文号", aliases=("决定书文号", "处罚决定书文号")),
        _F("decided_on", FieldType.DATE, "处罚决定日期", aliases=("处罚日期", "作出处罚决定日期")),
        _F("authority", FieldType.TEXT, "处罚机关", aliases=("处罚机关名称",)),
        _F("severity", FieldType.ENUM, "处罚类别", choices=Severity, aliases=("严重程度", "失信严重程度")),
        _F("amount", FieldType.MONEY, "罚款金额", required=False, aliases=("罚款金额(万元)",), **_MONEY),
        _F("repaired_on", FieldType.DATE, "信用修复日期", required=False, aliases=("修复日期",)),
        _PUBLISHED,
    ),
    key=("uscc", "decision_no"), event_date="decided_on", publication_lag_days=10,  # 双公示: 7 working days
    checks=(_not_before("repaired_on", "decided_on", "a penalty cannot be repaired before it is decided"),),
)

CONTRACTS = RecordKind(
    name="contracts", zh="合同履约", subject=SubjectType.ENTERPRISE,
    fields=(
        _USCC,
        _F("contract_no", FieldType.TEXT, "合同编号"),
        _F("signed_on", FieldType.DATE, "签订日期"),
        _F("due_on", FieldType.DATE, "履行期限", aliases=("到期日期",)),
        _F("value", FieldType.MONEY, "合同金额", **_MONEY),
        _F("status", FieldType.ENUM, "履约状态", choices=ContractStatus),
        _F("settled_on", FieldType.DATE, "履行完毕日期", required=False, aliases=("结清日期",)),
        _PUBLISHED,
    ),
    key=("uscc", "contract_no"), event_date="signed_on", publication_lag_days=0,
    checks=(_not_before("due_on", "signed_on", "a contract falls due before it is signed"),
            _not_before("settled_on", "signed_on", "a contract is settled before it is signed")),
    description="A contract's record as published; its status is the one known on published_on.",
)

COURT_LISTINGS = RecordKind(
    name="court_listings", zh="失信被执行人", subject=None,
    fields=(
        _SUBJECT_ID, _SUBJECT_TYPE,
        _F("case_no", FieldType.TEXT, "案号", aliases=("执行案号",)),
        _F("court", FieldType.TEXT, "执行法院", required=False),
        _F("listed_on", FieldType.DATE, "列入日期", aliases=("发布时间", "立案时间")),
        _F("removed_on", FieldType.DATE, "撤销日期", required=False, aliases=("屏蔽日期", "移出日期")),
        _PUBLISHED,
    ),
    key=("subject_id", "case_no"), event_date="listed_on", publication_lag_days=3,
    checks=(_not_before("removed_on", "listed_on", "removal precedes listing"),),
)

MARKET_LISTINGS = RecordKind(
    name="market_listings", zh="经营异常名录和严重违法失信名单", subject=SubjectType.ENTERPRISE,
    fields=(
        _USCC,
        _F("list_type", FieldType.ENUM, "名录类型", choices=ListType, aliases=("名单类型",)),
        _F("entered_on", FieldType.DATE, "列入日期"),
        _F("reason", FieldType.TEXT, "列入原因", required=False),
        _F("exited_on", FieldType.DATE, "移出日期", required=False),
        _PUBLISHED,
    ),
    key=("uscc", "list_type", "entered_on"), event_date="entered_on", publication_lag_days=3,
    checks=(_not_before("exited_on", "entered_on", "exit precedes entry"),),
)

SOCIAL_INSURANCE_ARREARS = RecordKind(
    name="social_insurance_arrears", zh="社会保险欠缴", subject=SubjectType.ENTERPRISE,
    fields=(
        _USCC,
        _F("month", FieldType.MONTH, "所属期", aliases=("欠缴月份", "费款所属期")),
        _F("amount", FieldType.MONEY, "欠缴金额", **_MONEY),
        _F("paid_on", FieldType.DATE, "补缴日期", required=False),
        _PUBLISHED,
    ),
    key=("uscc", "month"), event_date="month", publication_lag_days=45,
    checks=(_not_before("paid_on", "month", "arrears paid before the month they belong to"),),
)

UTILITY_ARREARS = RecordKind(
    name="utility_arrears", zh="水电气欠费", subject=None,
    fields=(
        _SUBJECT_ID, _SUBJECT_TYPE,
        _F("utility", FieldType.ENUM, "费用类型", choices=Utility, aliases=("类型",)),
        _F("month", FieldType.MONTH, "欠费月份", aliases=("所属期",)),
        _F("amount", FieldType.MONEY, "欠费金额", **_MONEY),
        _F("paid_on", FieldType.DATE, "缴清日期", required=False),
        _PUBLISHED,
    ),
    key=("subject_id", "utility", "month"), event_date="month", publication_lag_days=60,
    checks=(_not_before("paid_on", "month", "arrears paid before the month they belong to"),),
)

LOANS = RecordKind(
    name="loans", zh="信贷记录", subject=None,
    fields=(
        _SUBJECT_ID, _SUBJECT_TYPE,
        _F("loan_no", FieldType.TEXT, "借据编号", aliases=("贷款编号", "合同编号")),
        _F("bank", FieldType.TEXT, "贷款机构", aliases=("放款机构",)),
        _F("opened_on", FieldType.DATE, "放款日期"),
        _F("amount", FieldType.MONEY, "贷款金额", minimum=1),
        _F("term_months", FieldType.INT, "贷款期限", minimum=1, maximum=600, aliases=("期限(月)",)),
        _F("default_on", FieldType.DATE, "违约日期", required=False,
           aliases=("逾期90天日期",)),
        _F("written_off_on", FieldType.DATE, "核销日期", required=False),
        _F("closed_on", FieldType.DATE, "结清日期", required=False),
        _PUBLISHED,
    ),
    key=("subject_id", "loan_no"), event_date="opened_on", publication_lag_days=0,
    checks=(_not_before("default_on", "opened_on", "default before the loan was made"),
            _not_before("closed_on", "opened_on", "closed before the loan was made"),
            _not_before("written_off_on", "default_on", "written off before default")),
    description="Loans and their outcome: default_on is the day the loan reached 90 days past due.",
)

DELINQUENCIES = RecordKind(
    name="delinquencies", zh="逾期记录", subject=None,
    fields=(
        _SUBJECT_ID, _SUBJECT_TYPE,
        _F("loan_no", FieldType.TEXT, "借据编号", aliases=("贷款编号",)),
        _F("started_on", FieldType.DATE, "逾期开始日期"),
        _F("days_past_due", FieldType.INT, "最长逾期天数", minimum=1, maximum=10_000, aliases=("逾期天数",)),
        _F("cured_on", FieldType.DATE, "逾期结清日期", required=False),
        _PUBLISHED,
    ),
    key=("subject_id", "loan_no", "started_on"), event_date="started_on", publication_lag_days=0,
    checks=(_not_before("cured_on", "started_on", "cured before it started"),),
    description="Episodes of arrears on a loan. As of a date t only min(days_past_due, t - started_on) "
    "of an episode is known, which keeps 'max DPD' features free of leakage.",
)

OBJECTIONS = RecordKind(
    name="objections", zh="异议处理", subject=None,
    fields=(
        _F("target_kind", FieldType.TEXT, "记录类型", max_length=40),
        _F("target_key", FieldType.TEXT, "记录标识", max_length=300),
        _F("filed_on", FieldType.DATE, "异议提出日期"),
        _F("filed_by", FieldType.TEXT, "异议人", required=False),
        _F("reason", FieldType.TEXT, "异议理由", required=False, max_length=2000),
        _F("status", FieldType.ENUM, "处理状态", choices=ObjectionStatus),
        _F("resolved_on", FieldType.DATE, "处理日期", required=False),
        _F("resolved_by", FieldType.TEXT, "处理人", required=False),
    ),
    key=("target_kind", "target_key", "filed_on"), event_date="filed_on",
    checks=(_not_before("resolved_on", "filed_on", "resolved before it was filed"),),
    description="Objections (异议) against a record, referenced by its kind (target_kind) and record_key (target_key).",
)

KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (ENTERPRISES, HOUSEHOLDS, TAX_GRADES, TAX_PAYMENTS, WAGE_ARREARS, PENALTIES, CONTRACTS,
              COURT_LISTINGS, MARKET_LISTINGS, SOCIAL_INSURANCE_ARREARS, UTILITY_ARREARS, LOANS,
              DELINQUENCIES, OBJECTIONS)
}


def get_kind(name: str) -> RecordKind:
    """The record kind called ``name`` (English name or Chinese title)."""
    if name in KINDS:
        return KINDS[name]
    for kind in KINDS.values():
        if kind.zh == name:
            return kind
    raise UnknownKind(f"unknown record kind {name!r}; expected one of: {', '.join(KINDS)}")
