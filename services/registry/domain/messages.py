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

MESSAGES: dict[str, LocalText] = {
    "required": LocalText(zh_hant="必須填寫", zh_hans="必须填写", en="is required"),
    "unknown_item": LocalText(
        zh_hant="事項清單中沒有事項 {item}", zh_hans="事项清单中没有事项 {item}", en="no catalogue item {item}"
    ),
    "capital_not_positive": LocalText(
        zh_hant="必須是正數金額", zh_hans="必须是正数金额", en="must be a positive amount"
    ),
    "currency_unknown": LocalText(
        zh_hant="幣種必須是 {allowed} 之一", zh_hans="币种必须是 {allowed} 之一", en="currency must be one of {allowed}"
    ),
    "currency_mismatch": LocalText(
        zh_hant="幣種必須與註冊資本相同（{currency}）",
        zh_hans="币种必须与注册资本相同（{currency}）",
        en="must be in the registered capital's currency ({currency})",
    ),
    "subscribed_sum": LocalText(
        zh_hant="各投資者認繳出資之和必須等於註冊資本",
        zh_hans="各投资者认缴出资之和必须等于注册资本",
        en="the investors' subscribed capital must add up to the registered capital",
    ),
    "uscc_invalid": LocalText(
        zh_hant="不是有效的統一社會信用代碼：{why}",
        zh_hans="不是有效的统一社会信用代码：{why}",
        en="not a valid USCC: {why}",
    ),
    "certificate_fingerprint": LocalText(
        zh_hant="必須是證書的 SHA-256 指紋（64 位十六進制）",
        zh_hans="必须是证书的 SHA-256 指纹（64 位十六进制）",
        en="must be the certificate's SHA-256 fingerprint (64 hex digits)",
    ),
    "trade_name_short": LocalText(
        zh_hant="字號至少須有兩個漢字",
        zh_hans="字号至少须有两个汉字",
        en="the trade name must have at least two Chinese characters",
    ),
    "trade_name_long": LocalText(
        zh_hant="字號不得超過 {max} 個漢字",
        zh_hans="字号不得超过 {max} 个汉字",
        en="the trade name may have at most {max} characters",
    ),
    "chinese_only": LocalText(zh_hant="只能使用漢字", zh_hans="只能使用汉字", en="may contain Chinese characters only"),
    "forbidden_word": LocalText(
        zh_hant="不得使用「{word}」", zh_hans="不得使用「{word}」", en="may not contain 「{word}」"
    ),
    "industry_unknown": LocalText(
        zh_hant="行業表述「{industry}」不在可用行業之列",
        zh_hans="行业表述「{industry}」不在可用行业之列",
        en="「{industry}」 is not a recognised industry term",
    ),
    "form_not_allowed": LocalText(
        zh_hant="組織形式必須是 {allowed} 之一",
        zh_hans="组织形式必须是 {allowed} 之一",
        en="organisational form must be one of {allowed}",
    ),
    "division_missing": LocalText(
        zh_hant="名稱必須以行政區劃 {allowed} 之一開頭",
        zh_hans="名称必须以行政区划 {allowed} 之一开头",
        en="the name must begin with one of the divisions {allowed}",
    ),
    "full_name_mismatch": LocalText(
        zh_hant="完整名稱必須由行政區劃、字號、行業、組織形式依次組成",
        zh_hans="完整名称必须由行政区划、字号、行业、组织形式依次组成",
        en="the full name must be division + trade name + industry + organisational form, in that order",
    ),
    "name_taken": LocalText(
        zh_hant="同一城市同一行業已有相同字號的名稱「{name}」",
        zh_hans="同一城市同一行业已有相同字号的名称「{name}」",
        en="the trade name is already used or reserved in this industry in this city ({name})",
    ),
    "name_required": LocalText(
        zh_hant="本事項須先申報企業名稱", zh_hans="本事项须先申报企业名称", en="this item requires a declared name"
    ),
    "material_missing": LocalText(
        zh_hant="缺少必需材料「{title}」", zh_hans="缺少必需材料「{title}」", en="required material missing: {title}"
    ),
    "material_unsigned": LocalText(
        zh_hant="材料「{title}」尚缺 {signer} 的有效簽名",
        zh_hans="材料「{title}」尚缺 {signer} 的有效签名",
        en="material {title} still needs a valid signature of {signer}",
    ),
    "material_type_unknown": LocalText(
        zh_hant="本事項不需要材料類型 {type}",
        zh_hans="本事项不需要材料类型 {type}",
        en="this item has no material type {type}",
    ),
    "material_empty": LocalText(zh_hant="文件不能為空", zh_hans="文件不能为空", en="the document is empty"),
    "material_too_large": LocalText(
        zh_hant="文件不得超過 {max} 位元組",
        zh_hans="文件不得超过 {max} 字节",
        en="the document may not exceed {max} bytes",
    ),
    "digest_mismatch": LocalText(
        zh_hant="SHA-256 與文件內容不符", zh_hans="SHA-256 与文件内容不符", en="the SHA-256 does not match the content"
    ),
    "signature_not_required": LocalText(
        zh_hant="材料「{title}」無須簽名", zh_hans="材料「{title}」无须签名", en="material {title} needs no signature"
    ),
    "signature_failed": LocalText(
        zh_hant="簽名未通過驗證（{detail}）",
        zh_hans="签名未通过验证（{detail}）",
        en="the signature did not verify ({detail})",
    ),
    "timestamp_unavailable": LocalText(
        zh_hant="時間戳服務暫時無法使用，簽名未儲存，請稍後再試（{detail}）",
        zh_hans="时间戳服务暂时无法使用，签名未保存，请稍后再试（{detail}）",
        en="the time-stamping service is unavailable; the signature was not stored, try again later ({detail})",
    ),
    "pades_not_pdf": LocalText(
        zh_hant="此材料不是內含電子簽署的 PDF 文件（application/pdf）",
        zh_hans="此材料不是内含电子签名的 PDF 文件（application/pdf）",
        en="this material is not a PDF (application/pdf) carrying its signatures",
    ),
    "pades_and_cms": LocalText(
        zh_hant="請提供獨立簽名或 PDF 內嵌簽名其中之一，不可兩者皆有",
        zh_hans="请提供独立签名或 PDF 内嵌签名其中之一，不可两者皆有",
        en="give either a detached signature or the PDF's own signatures, not both",
    ),
    "signer_not_party": LocalText(
        zh_hant="簽名證書不屬於本申請所列須簽署此材料的投資者或法定代表人",
        zh_hans="签名证书不属于本申请所列须签署此材料的投资者或法定代表人",
        en="the signing certificate belongs to none of the investors or legal representative who must sign it",
    ),
    "illegal_transition": LocalText(
        zh_hant="申請當前狀態為 {state}，不能{action}",
        zh_hans="申请当前状态为 {state}，不能{action}",
        en="the application is {state}; it cannot be {action}",
    ),
    "conditions_missing": LocalText(
        zh_hant="尚未滿足：{missing}", zh_hans="尚未满足：{missing}", en="not yet met: {missing}"
    ),
    "stale_version": LocalText(
        zh_hant="申請已被修改（當前版本 {version}）",
        zh_hans="申请已被修改（当前版本 {version}）",
        en="the application has changed (now version {version})",
    ),
    "not_own_authority": LocalText(
        zh_hant="此申請不屬於登記機關 {authority}",
        zh_hans="此申请不属于登记机关 {authority}",
        en="the application is not one of authority {authority}",
    ),
    "not_negative": LocalText(zh_hant="不能為負數", zh_hans="不能为负数", en="must not be negative"),
    "offset_past_end": LocalText(
        zh_hant="超出文件大小（{size} 位元組）",
        zh_hans="超出文件大小（{size} 字节）",
        en="is past the end of the content ({size} bytes)",
    ),
    "not_own_applicant": LocalText(
        zh_hant="不是此申請的申請人", zh_hans="不是此申请的申请人", en="not this application's applicant"
    ),
    "page_token": LocalText(zh_hant="分頁標記無效", zh_hans="分页标记无效", en="not a page token of this listing"),
    "reasons_required": LocalText(
        zh_hant="必須說明理由（至少一種語言）",
        zh_hans="必须说明理由（至少一种语言）",
        en="a reason is required (in at least one language)",
    ),
    "authority_unknown": LocalText(
        zh_hant="沒有登記機關 {authority}", zh_hans="没有登记机关 {authority}", en="no authority {authority}"
    ),
    "request_id_reused": LocalText(
        zh_hant="該 request_id 已用於另一申請內容",
        zh_hans="该 request_id 已用于另一申请内容",
        en="this request_id was used for a different draft",
    ),
}


ACTIONS: dict[str, LocalText] = {
    "updated": LocalText(zh_hant="修改", zh_hans="修改", en="updated"),
    "named": LocalText(zh_hant="申報名稱", zh_hans="申报名称", en="given a new name"),
    "attached": LocalText(zh_hant="添加材料", zh_hans="添加材料", en="given materials"),
    "signed": LocalText(zh_hant="簽署材料", zh_hans="签署材料", en="signed"),
    "submitted": LocalText(zh_hant="提交", zh_hans="提交", en="submitted"),
    "resubmitted": LocalText(zh_hant="重新提交", zh_hans="重新提交", en="resubmitted"),
    "withdrawn": LocalText(zh_hant="撤回", zh_hans="撤回", en="withdrawn"),
    "review_started": LocalText(zh_hant="開始審查", zh_hans="开始审查", en="taken up for review"),
    "approved": LocalText(zh_hant="核准", zh_hans="核准", en="approved"),
    "rejected": LocalText(zh_hant="駁回", zh_hans="驳回", en="rejected"),
    "returned": LocalText(zh_hant="退回補正", zh_hans="退回补正", en="returned for correction"),
    "material_read": LocalText(zh_hant="調閱材料", zh_hans="调阅材料", en="read by the authority"),
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
