"""The pages' words: written in Chinese in the templates, translated here for the English switch.

Chinese is the pages' language (their readers are village assessors and bank credit officers); a missing
translation shows the Chinese, never a key.
"""

from __future__ import annotations

EN = {
    "信用评级": "Credit grades", "主菜单": "Main menu", "退出": "Log out", "登录": "Log in", "返回": "Back",
    "用户名": "User name", "密码": "Password",
    "银行信贷人员、村级评议员、分析人员和管理员使用本机构分配的账号登录。":
        "Bank credit officers, village assessors, analysts and administrators log in with the account their "
        "institution gave them.",
    "查询企业": "Find a firm", "查询农户": "Find a household", "农户评级": "Household files",
    "用户": "Users", "查询日志": "Audit log", "模型": "Models", "API密钥": "API keys",
    "银行": "bank", "评议员": "assessor", "分析人员": "analyst", "管理员": "admin",
    "统一社会信用代码或企业名称": "Unified social credit code or firm name", "查找": "Search",
    "查找结果": "Results", "企业名称": "Firm", "统一社会信用代码": "USCC", "成立日期": "Registered",
    "查看评级": "See its grade",
    "没有找到符合的企业。请核对统一社会信用代码（18位），或输入企业名称中的几个字。":
        "No firm found. Check the 18-character code, or type a few characters of the firm's name.",
    "查询用途": "Purpose", "必填，将记入查询日志": "required; written to the audit log",
    "评级基准日": "As-of date", "评价基准日": "Assessment date", "默认今天": "today if empty",
    "查询评级": "Get the grade", "贷款审批": "loan application", "贷后管理": "loan monitoring",
    "担保审核": "guarantee review", "信用村评定": "Credit villages", "信用乡镇评定": "Credit townships",
    "基准日": "as of", "政策": "policy", "评级（政策调整后）": "Grade (after policy)", "模型评级": "Model grade",
    "违约概率（12个月）": "PD (12 months)", "信用得分": "Score", "最新纳税信用等级": "Latest tax grade",
    "信易贷": "信易贷 terms", "可授信": "eligible", "暂不授信": "not eligible", "元": "yuan",
    "利率浮动": "Rate adjustment", "基点": "bp", "最长期限": "Longest term", "个月": "months", "依据": "Basis",
    "是": "yes", "否": "no", "政策调整": "Policy overrides", "主要扣分原因": "Main adverse reasons",
    "主要加分因素": "Main favourable facts", "无": "none", "信用记录": "Records", "日期": "Date",
    "类别": "Kind", "内容": "Content",
    "查询个人信用信息须取得本人书面授权（《征信业管理条例》第十八条）；每次查询记入日志。":
        "Querying a person's credit data needs their written authorisation (征信业管理条例 art. 18); every query "
        "is logged.",
    "户主身份证号": "Resident ID of the head of household", "授权书编号": "Authorisation reference",
    "本人签署的查询授权书的编号": "the reference of the signed consent",
    "上传农户信息表": "Upload a household file",
    "村委会填写的登记表即可：XLSX、CSV；一村一表或一乡一簿（每村一个工作表），标题、合计、签字行都可以保留。":
        "The committee's own roster will do: XLSX or CSV, one village or a township's workbook with a sheet per "
        "village; titles, totals and signature lines may stay.",
    "文件": "File", "最大": "at most", "上传并核对表头": "Upload and check the columns", "上传进度": "Upload",
    "评级任务": "Grading jobs", "提交时间": "Submitted", "状态": "Status", "已评级": "Graded", "有误": "With errors",
    "查看": "Open", "还没有评级任务。": "No jobs yet.", "排队中": "queued", "评级中": "grading", "已完成": "done",
    "失败": "failed", "已过期": "expired", "核对表头": "Check the columns",
    "系统按表头识别各列；请核对，并为未识别的列选择对应内容（或不读取）。文件没有村代码时，可指定乡镇或村代码。":
        "Each column was read by its header: check them, and say what the unrecognised ones hold (or skip them). "
        "When the file has no village codes, you may give the township or the village code.",
    "工作表": "Sheet", "没有农户信息列，不读取（如填表说明）。": "No household columns: not read (instructions).",
    "文件中的列": "Column in the file", "识别为": "Read as", "（未识别，不读取）": "(not recognised: not read)",
    "不读取": "skip", "村和乡镇": "Village and township", "乡镇": "Township",
    "按村名查找村代码时使用": "used to find villages by name", "（由文件确定）": "(from the file)",
    "村代码": "Village code", "12位；全部农户属于同一个村时填写": "12 digits; when every household is in one village",
    "农户签署的信用信息查询授权书的编号": "the reference of the households' signed consents",
    "保存列对应关系，下次上传同样格式的表时自动使用": "Save the column mapping for the next file of this layout",
    "开始评级": "Grade", "取消": "Cancel", "行": "rows", "评级进度": "Grading progress", "户": "households",
    "下载评级结果（Excel）": "Download the results (Excel)", "打印版报告": "Printable report", "户主姓名": "Head",
    "村": "Village", "信用等级": "Grade", "全部": "all", "筛选": "Filter", "第": "Page", "页": "",
    "上一页": "previous", "下一页": "next", "有误的行": "Rows with errors",
    "仅显示前200行；全部见下载的Excel“错误”表。": "The first 200 only; all are in the workbook's 错误 sheet.",
    "信用户占比": "Credit households", "按时还款率": "On-time repayment", "不良贷款率": "NPL ratio",
    "信用村占比": "Credit villages", "达标": "met", "未达标": "missed",
    "用户与密钥": "Users and keys", "新建用户": "New user", "显示名称": "Display name", "机构": "Institution",
    "角色": "Role", "创建": "Create", "停用": "Disable", "已停用": "disabled", "锁定至": "locked until",
    "创建时间": "Created", "新建API密钥": "New API key", "撤销": "Revoke", "前缀": "Prefix", "已撤销": "revoked",
    "API密钥不在网页上生成或显示（密钥只交给系统，不经过浏览器）：请在服务器上运行":
        "API keys are never made or shown on a page (a key is for a system, never for a browser): on the server, run",
    "路由": "Route", "起始日期": "From", "截止日期": "To", "导出CSV": "Export CSV", "时间": "Time",
    "主体": "Subject", "结果": "Result", "授权": "Authorisation", "用途": "Purpose",
    "模型版本": "Model versions", "细分": "Segment", "版本": "Version", "算法": "Family",
    "验证集AUC": "Validation AUC", "测试集AUC": "Test AUC", "重新加载模型": "Reload the models",
    "未识别的列": "Columns not recognised", "对应内容": "What it holds", "未识别（见上）": "not recognised (above)",
    "由标题或表名识别的村": "Villages named by the title or sheet",
    "下载信用报告（PDF）": "Download the credit report (PDF)", "信用报告（网页版）": "Credit report (web page)",
    "贷后预警": "Early warning", "等级下限": "Grade floor",
    "低于此等级即预警（可不填）": "alert below this grade (optional)",
    "到期日": "Expires", "如贷款到期日（可不填）": "e.g. the loan's maturity (optional)", "添加关注": "Watch",
    "预警": "Alerts", "级别": "Severity", "处理": "Action", "备注": "Note", "已阅": "acknowledged", "解除": "clear",
    "已解除": "cleared", "暂无预警。": "No alerts.", "关注列表": "Watched", "取消关注": "Stop watching",
    "关注的企业一旦被列为失信被执行人、新增欠薪或行政处罚、纳税信用等级下降或信用等级下调，即产生预警。农户须凭本人授权经接口添加。":
        "A watched firm raises an alert when a court lists it, wages or penalties are added, its tax grade or its "
        "grade falls. Households are watched through the API, with their consent.",
    "权限不足": "Not permitted", "出错了": "Something is wrong", "请求无效": "Invalid request",
}


def translate(text: str, lang: str) -> str:
    """``text`` (Chinese) in ``lang``: English from the table, otherwise the Chinese itself."""
    if lang != "en":
        return text
    return EN.get(text, text)
