"""The kiosk's languages: which one a request asks for, and the gateway's own words in each.

Kiosks in Hong Kong and Macau speak Traditional Chinese, Simplified Chinese, English and (in Macau)
Portuguese. A request names its language with ``?lang=`` or ``Accept-Language``; otherwise the
session's language holds, else the configured default. Messages from the services behind the gateway
arrive already in the caller's language where they have it (the registry has no Portuguese: English
then); the gateway's own refusals are translated here, by their stable code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from baylink import errors

ZH_HANT, ZH_HANS, EN, PT = "zh-Hant", "zh-Hans", "en", "pt"
_FALLBACK = (EN, ZH_HANT, ZH_HANS, PT)


def language_of(tag: str) -> str | None:
    """A BCP 47 tag → one of the kiosk's languages (zh-HK, zh-MO, zh-TW → zh-Hant; zh, zh-CN → zh-Hans)."""
    tag = tag.strip().lower()
    if tag.startswith("zh"):
        return ZH_HANT if any(part in tag for part in ("hant", "-hk", "-mo", "-tw")) else ZH_HANS
    if tag == "en" or tag.startswith("en-"):
        return EN
    if tag == "pt" or tag.startswith("pt-"):
        return PT
    return None


def from_accept_language(header: str | None, allowed: Sequence[str]) -> str | None:
    """The best allowed language of an ``Accept-Language`` header (by q-value, then order)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = language_of(tag)
        if language is not None and language in allowed and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def requested(lang: str | None, accept_language: str | None, allowed: Sequence[str]) -> str | None:
    """The language a request asks for, or None (then the session's holds). ``?lang`` must be allowed."""
    if lang:
        language = language_of(lang)
        if language not in allowed:
            raise errors.InvalidInput.field("lang", f"one of {', '.join(allowed)}")
        return language
    return from_accept_language(accept_language, allowed)


def pick(text: Mapping[str, str], language: str) -> str:
    """Text in ``language``, else the nearest translation there is."""
    for candidate in (language, *_FALLBACK):
        if text.get(candidate):
            return text[candidate]
    return ""


def _t(zh_hant: str, zh_hans: str, en: str, pt: str) -> dict[str, str]:
    return {ZH_HANT: zh_hant, ZH_HANS: zh_hans, EN: en, PT: pt}


# The gateway's own refusals, by code (the error's reason, or a binding refusal / ids reason code).
MESSAGES: dict[str, dict[str, str]] = {
    "SESSION_REQUIRED": _t(
        "需要自助服務機會話。",
        "需要自助服务机会话。",
        "A kiosk session is required.",
        "É necessária uma sessão do quiosque.",
    ),
    "SESSION_UNKNOWN": _t(
        "會話無效，請重新開始。",
        "会话无效，请重新开始。",
        "This session is not known; please start again.",
        "Sessão desconhecida; recomece, por favor.",
    ),
    "SESSION_EXPIRED": _t(
        "會話已逾時，請重新開始。",
        "会话已超时，请重新开始。",
        "Your session has expired; please start again.",
        "A sessão expirou; recomece, por favor.",
    ),
    "SESSION_FULL": _t(
        "此會話的人數已達上限。",
        "此会话的人数已达上限。",
        "No more people can join this session.",
        "Esta sessão não admite mais pessoas.",
    ),
    "INVALID_REQUEST": _t(
        "部分資料無效，請檢查標示的欄位。",
        "部分资料无效，请检查标示的栏位。",
        "Some details are not valid; please check the marked fields.",
        "Alguns dados não são válidos; verifique os campos assinalados.",
    ),
    "RATE_LIMIT_EXCEEDED": _t(
        "請求過於頻繁，請稍後再試。",
        "请求过于频繁，请稍后再试。",
        "Too many requests; please try again shortly.",
        "Demasiados pedidos; tente novamente dentro de momentos.",
    ),
    "NOT_FOUND": _t(
        "找不到所要求的項目。",
        "找不到所要求的项目。",
        "What you asked for was not found.",
        "O que pediu não foi encontrado.",
    ),
    "UNAVAILABLE": _t(
        "服務暫時無法使用，請稍後再試。",
        "服务暂时无法使用，请稍后再试。",
        "The service is unavailable right now; please try again later.",
        "O serviço está indisponível de momento; tente mais tarde.",
    ),
    "INTERNAL": _t(
        "系統發生錯誤，請向職員提供參考編號。",
        "系统发生错误，请向职员提供参考编号。",
        "Something went wrong; please give staff the reference number.",
        "Ocorreu um erro; indique ao pessoal o número de referência.",
    ),
    "FEE_NOT_RAISED": _t(
        "申請提交後才需繳費。",
        "申请提交后才需缴费。",
        "The fee is due once the application is submitted.",
        "A taxa é devida depois de submeter o pedido.",
    ),
    "FEE_ALREADY_PAID": _t("費用已經繳付。", "费用已经缴付。", "The fee has already been paid.", "A taxa já foi paga."),
    "QUOTE_STALE": _t(
        "報價已失效，請重新取得報價。",
        "报价已失效，请重新获取报价。",
        "The quote no longer applies; please get a new one.",
        "A cotação já não é válida; peça uma nova.",
    ),
    # Identity binding refusals (services.gateway.binding.domain.model.Refusal, upper-cased).
    "INVALID_DOCUMENT": _t(
        "證件號碼無效。", "证件号码无效。", "A document number is not valid.", "Um número de documento não é válido."
    ),
    "MISSING_DOCUMENT": _t(
        "缺少所需證件。", "缺少所需证件。", "A required document is missing.", "Falta um documento obrigatório."
    ),
    "DOCUMENTS_INCONSISTENT": _t(
        "證件之間資料不一致。",
        "证件之间资料不一致。",
        "The documents do not belong together.",
        "Os documentos não são coerentes entre si.",
    ),
    "NAME_MISSING": _t(
        "請輸入中文或英文姓名。",
        "请输入中文或英文姓名。",
        "Please give your name in Chinese or English.",
        "Indique o seu nome em chinês ou em inglês.",
    ),
    "NAME_MISMATCH": _t(
        "姓名與電子證書上的不符。",
        "姓名与电子证书上的不符。",
        "The name differs from the one on your e-Cert.",
        "O nome é diferente do que consta do seu certificado digital.",
    ),
    "DATE_OF_BIRTH_MISMATCH": _t(
        "出生日期與電子證書或證件上的不符。",
        "出生日期与电子证书或证件上的不符。",
        "The date of birth differs from your e-Cert or documents.",
        "A data de nascimento difere do certificado digital ou dos documentos.",
    ),
    "CERTIFICATE_INVALID": _t(
        "電子證書無法讀取。",
        "电子证书无法读取。",
        "The e-Cert could not be read.",
        "O certificado digital não pôde ser lido.",
    ),
    "CERTIFICATE_NOT_PASSED": _t(
        "電子證書未能通過驗證。",
        "电子证书未能通过验证。",
        "Your e-Cert did not pass validation.",
        "O seu certificado digital não passou a validação.",
    ),
    "CERTIFICATE_JURISDICTION_MISMATCH": _t(
        "電子證書的簽發地與身份證不符。",
        "电子证书的签发地与身份证不符。",
        "The e-Cert is not from the place that issued your identity card.",
        "O certificado digital não é do território que emitiu o seu BI.",
    ),
    "CERTIFICATE_HAS_NO_DATE_OF_BIRTH": _t(
        "電子證書未載出生日期。",
        "电子证书未载出生日期。",
        "Your e-Cert states no date of birth.",
        "O seu certificado digital não indica a data de nascimento.",
    ),
    "CERTIFICATE_BOUND_TO_ANOTHER_PERSON": _t(
        "此電子證書已屬於另一人。",
        "此电子证书已属于另一人。",
        "This e-Cert belongs to another person.",
        "Este certificado digital pertence a outra pessoa.",
    ),
    "DOCUMENTS_BOUND_TO_DIFFERENT_PEOPLE": _t(
        "這些證件屬於不同的人，請聯絡職員。",
        "这些证件属于不同的人，请联系职员。",
        "These documents belong to different people; please ask staff.",
        "Estes documentos pertencem a pessoas diferentes; fale com o pessoal.",
    ),
    "DOCUMENT_DIFFERS_FROM_BINDING": _t(
        "證件與先前登記的不符。",
        "证件与先前登记的不符。",
        "A document differs from the one registered before.",
        "Um documento difere do registado anteriormente.",
    ),
    "TRAVEL_PERMIT_SUPERSEDED": _t(
        "此回鄉證已被較新的取代。",
        "此回乡证已被较新的取代。",
        "This travel permit has been replaced by a newer one.",
        "Este salvo-conduto foi substituído por um mais recente.",
    ),
    # Reasons of the identifier kernel, in field descriptions.
    "CHECK_DIGIT_MISMATCH": _t(
        "校驗位不符（是否輸入錯誤？）",
        "校验位不符（是否输入错误？）",
        "The check character does not match (mistyped?)",
        "O carácter de controlo não corresponde (erro de escrita?)",
    ),
    "INVALID_FORMAT": _t(
        "格式不正確", "格式不正确", "Not in this document's format", "Não tem o formato deste documento"
    ),
    "INVALID_LENGTH": _t(
        "字元數目不正確", "字符数目不正确", "Wrong number of characters", "Número de caracteres errado"
    ),
    "EMPTY": _t("必須填寫", "必须填写", "Required", "Obrigatório"),
    # Browser signing (kiosk/entrypoints/web_signing).
    "KEY_CANNOT_SIGN_IN_BROWSER": _t(
        "此電子證書的密鑰類型無法在瀏覽器中簽署（例如 SM2）。",
        "此电子证书的密钥类型无法在浏览器中签署（例如 SM2）。",
        "This e-Cert's key type cannot sign in the browser (e.g. SM2).",
        "O tipo de chave deste certificado digital não pode assinar no navegador (p. ex. SM2).",
    ),
    "CERTIFICATE_NOT_THE_SIGNERS": _t(
        "此電子證書不是簽署人身份核實時使用的證書。",
        "此电子证书不是签署人身份核实时使用的证书。",
        "This is not the e-Cert the signer identified with.",
        "Este não é o certificado digital com que o signatário se identificou.",
    ),
    # Proof of possession at identify (kiosk/service_layer/possession).
    "POSSESSION_NOT_PROVEN": _t(
        "載入的私鑰不是此電子證書的密鑰。",
        "载入的私钥不是此电子证书的密钥。",
        "The key loaded is not this e-Cert's key.",
        "A chave carregada não é a deste certificado digital.",
    ),
    "CHALLENGE_INVALID": _t(
        "核實已逾時或已使用，請再按「核實身份」。",
        "核实已超时或已使用，请再按「核实身份」。",
        "This check has expired or was used already; please identify again.",
        "Esta verificação expirou ou já foi usada; identifique-se novamente.",
    ),
    "SIGNATURE_MALFORMED": _t(
        "簽署資料格式不正確。",
        "签署资料格式不正确。",
        "The signature data is malformed.",
        "Os dados da assinatura estão mal formados.",
    ),
}


def message(code: str, language: str, fallback: str) -> str:
    """The gateway's text for ``code`` in ``language``; ``fallback`` (the service's own words) otherwise."""
    text = MESSAGES.get(code.upper())
    return pick(text, language) if text else fallback
