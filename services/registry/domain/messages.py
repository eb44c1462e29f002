"""What the registry tells people when it refuses something, in zh-Hant, zh-Hans and en.

Rules raise through the helpers here so that every refusal is a ``baylink.errors`` error
whose text is in the caller's language (``text.language_scope``), with stable field paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from baylink import errors
from services.registry.domain.text import LocalText, current_language

T = LocalText
MESSAGES: dict[str, LocalText] = {
    "required": T("必须填写", "必須填寫", "is required"),
    "unknown_item": T("事项清单中没有事项 {item}", "事項清單中沒有事項 {item}", "no catalogue item {item}"),
    "capital_not_positive": T("必须是正数金额", "必須是正數金額", "must be a positive amount"),
    "currency_unknown": T(
        "币种必须是 {allowed} 之一", "幣種必須是 {allowed} 之一", "currency must be one of {allowed}"
    ),
    "currency_mismatch": T(
        "币种必须与注册资本相同（{currency}）",
        "幣種必須與註冊資本相同（{currency}）",
        "must be in the registered capital's currency ({currency})",
    ),
    "subscribed_sum": T(
        "各投资者认缴出资之和必须等于注册资本",
        "各投資者認繳出資之和必須等於註冊資本",
        "the investors' subscribed capital must add up to the registered capital",
    ),
    "uscc_invalid": T(
        "不是有效的统一社会信用代码：{why}", "不是有效的統一社會信用代碼：{why}", "not a valid USCC: {why}"
    ),
    "certificate_fingerprint": T(
        "必须是证书的 SHA-256 指纹（64 位十六进制）",
        "必須是證書的 SHA-256 指紋（64 位十六進制）",
        "must be the certificate's SHA-256 fingerprint (64 hex digits)",
    ),
    "trade_name_short": T(
        "字号至少须有两个汉字", "字號至少須有兩個漢字", "the trade name must have at least two Chinese characters"
    ),
    "trade_name_long": T(
        "字号不得超过 {max} 个汉字", "字號不得超過 {max} 個漢字", "the trade name may have at most {max} characters"
    ),
    "chinese_only": T("只能使用汉字", "只能使用漢字", "may contain Chinese characters only"),
    "forbidden_word": T("不得使用「{word}」", "不得使用「{word}」", "may not contain 「{word}」"),
    "industry_unknown": T(
        "行业表述「{industry}」不在可用行业之列",
        "行業表述「{industry}」不在可用行業之列",
        "「{industry}」 is not a recognised industry term",
    ),
    "form_not_allowed": T(
        "组织形式必须是 {allowed} 之一", "組織形式必須是 {allowed} 之一", "organisational form must be one of {allowed}"
    ),
    "division_missing": T(
        "名称必须以行政区划 {allowed} 之一开头",
        "名稱必須以行政區劃 {allowed} 之一開頭",
        "the name must begin with one of the divisions {allowed}",
    ),
    "full_name_mismatch": T(
        "完整名称必须由行政区划、字号、行业、组织形式依次组成",
        "完整名稱必須由行政區劃、字號、行業、組織形式依次組成",
        "the full name must be division + trade name + industry + organisational form, in that order",
    ),
    "name_taken": T(
        "同一城市同一行业已有相同字号的名称「{name}」",
        "同一城市同一行業已有相同字號的名稱「{name}」",
        "the trade name is already used or reserved in this industry in this city ({name})",
    ),
    "name_required": T("本事项须先申报企业名称", "本事項須先申報企業名稱", "this item requires a declared name"),
    "material_missing": T("缺少必需材料「{title}」", "缺少必需材料「{title}」", "required material missing: {title}"),
    "material_unsigned": T(
        "材料「{title}」尚缺 {signer} 的有效签名",
        "材料「{title}」尚缺 {signer} 的有效簽名",
        "material {title} still needs a valid signature of {signer}",
    ),
    "material_type_unknown": T(
        "本事项不需要材料类型 {type}", "本事項不需要材料類型 {type}", "this item has no material type {type}"
    ),
    "material_empty": T("文件不能为空", "文件不能為空", "the document is empty"),
    "material_too_large": T(
        "文件不得超过 {max} 字节", "文件不得超過 {max} 位元組", "the document may not exceed {max} bytes"
    ),
    "digest_mismatch": T("SHA-256 与文件内容不符", "SHA-256 與文件內容不符", "the SHA-256 does not match the content"),
    "signature_not_required": T(
        "材料「{title}」无须签名", "材料「{title}」無須簽名", "material {title} needs no signature"
    ),
    "signature_failed": T(
        "签名未通过验证（{detail}）", "簽名未通過驗證（{detail}）", "the signature did not verify ({detail})"
    ),
    "signer_not_party": T(
        "签名证书不属于本申请所列须签署此材料的投资者或法定代表人",
        "簽名證書不屬於本申請所列須簽署此材料的投資者或法定代表人",
        "the signing certificate belongs to none of the investors or legal representative who must sign it",
    ),
    "illegal_transition": T(
        "申请当前状态为 {state}，不能{action}",
        "申請當前狀態為 {state}，不能{action}",
        "the application is {state}; it cannot be {action}",
    ),
    "conditions_missing": T("尚未满足：{missing}", "尚未滿足：{missing}", "not yet met: {missing}"),
    "stale_version": T(
        "申请已被修改（当前版本 {version}）",
        "申請已被修改（當前版本 {version}）",
        "the application has changed (now version {version})",
    ),
    "not_own_authority": T(
        "此申请不属于登记机关 {authority}",
        "此申請不屬於登記機關 {authority}",
        "the application is not one of authority {authority}",
    ),
    "not_negative": T("不能为负数", "不能為負數", "must not be negative"),
    "offset_past_end": T(
        "超出文件大小（{size} 字节）", "超出文件大小（{size} 位元組）", "is past the end of the content ({size} bytes)"
    ),
    "not_own_applicant": T("不是此申请的申请人", "不是此申請的申請人", "not this application's applicant"),
    "page_token": T("分页标记无效", "分頁標記無效", "not a page token of this listing"),
    "reasons_required": T(
        "必须说明理由（至少一种语言）",
        "必須說明理由（至少一種語言）",
        "a reason is required (in at least one language)",
    ),
    "authority_unknown": T("没有登记机关 {authority}", "沒有登記機關 {authority}", "no authority {authority}"),
    "request_id_reused": T(
        "该 request_id 已用于另一申请内容",
        "該 request_id 已用於另一申請內容",
        "this request_id was used for a different draft",
    ),
}


ACTIONS: dict[str, LocalText] = {
    "updated": T("修改", "修改", "updated"),
    "named": T("申报名称", "申報名稱", "given a new name"),
    "attached": T("添加材料", "添加材料", "given materials"),
    "signed": T("签署材料", "簽署材料", "signed"),
    "submitted": T("提交", "提交", "submitted"),
    "resubmitted": T("重新提交", "重新提交", "resubmitted"),
    "withdrawn": T("撤回", "撤回", "withdrawn"),
    "review_started": T("开始审查", "開始審查", "taken up for review"),
    "approved": T("核准", "核准", "approved"),
    "rejected": T("驳回", "駁回", "rejected"),
    "returned": T("退回补正", "退回補正", "returned for correction"),
    "material_read": T("调阅材料", "調閱材料", "read by the authority"),
}


def say(key: str, **params: Any) -> str:
    """The message ``key`` in the current call's language, with ``params`` filled in."""
    return MESSAGES[key].in_(current_language()).format(**params)


@dataclass(frozen=True)
class Problem:
    """One bad field: a dotted path and a message key with its parameters."""

    field: str
    key: str
    params: dict[str, Any] = default(default_factory=dict)

    def violation(self) -> errors.FieldViolation:
        return errors.FieldViolation(self.field, say(self.key, **self.params))


def invalid(problems: list[Problem], reason: str = "INVALID_APPLICATION") -> errors.InvalidInput:
    violations = [p.violation() for p in problems]
    summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return errors.InvalidInput(summary, violations, reason=reason)


def raise_if_any(problems: list[Problem], reason: str = "INVALID_APPLICATION") -> None:
    if problems:
        raise invalid(problems, reason)


def precondition(application_id: str, state: str, key: str, **params: Any) -> errors.FailedPrecondition:
    """Refuse a command the application's current state does not allow; names the state."""
    if "action" in params:
        params["action"] = ACTIONS[params["action"]].in_(current_language())
    return errors.FailedPrecondition(
        say(key, state=state, **params),
        [errors.PreconditionViolation("STATE", f"applications/{application_id}", state)],
        reason="APPLICATION_STATE",
    )
