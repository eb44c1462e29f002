"""Human messages for every report reason, in 繁體中文, 简体中文 and English.

Kiosks show these to the person signing, so they say what happened and, where there is one,
what to do; they never contain certificate contents or personal data."""

from __future__ import annotations

from services.identity.domain.trustlist import LocalisedText

_T = LocalisedText

MESSAGES: dict[str, LocalisedText] = {
    "ok": _T(
        "證書有效，並獲互認信任列表承認。",
        "证书有效，并获互认信任列表承认。",
        "The certificate is valid and recognised by the mutual-recognition trust list.",
    ),
    "malformed": _T(
        "無法讀取所提交的資料。",
        "无法读取所提交的数据。",
        "The submitted data could not be read.",
    ),
    "no_chain": _T(
        "找不到通往受信任核證機關的證書鏈。",
        "找不到通往受信任认证机构的证书链。",
        "No certificate chain to a trusted certification authority was found.",
    ),
    "chain_signature_invalid": _T(
        "證書鏈中有證書的簽署無法驗證。",
        "证书链中有证书的签名无法验证。",
        "A certificate in the chain carries a signature that does not verify.",
    ),
    "algorithm_not_allowed": _T(
        "證書使用了不獲接受的密碼演算法。",
        "证书使用了不被接受的密码算法。",
        "The certificate uses a cryptographic algorithm that is not accepted.",
    ),
    "expired": _T(
        "證書已過期。",
        "证书已过期。",
        "The certificate has expired.",
    ),
    "not_yet_valid": _T(
        "證書尚未生效。",
        "证书尚未生效。",
        "The certificate is not yet valid.",
    ),
    "anchor_expired": _T(
        "簽發此證書的核證機關根證書已過期。",
        "签发此证书的认证机构根证书已过期。",
        "The root certificate of the issuing certification authority has expired.",
    ),
    "revoked": _T(
        "證書已被撤銷。",
        "证书已被撤销。",
        "The certificate has been revoked.",
    ),
    "ca_revoked": _T(
        "簽發此證書的核證機關證書已被撤銷。",
        "签发此证书的认证机构证书已被撤销。",
        "The certificate of the issuing certification authority has been revoked.",
    ),
    "revocation_unavailable": _T(
        "暫時無法確認證書是否已被撤銷，請稍後再試。",
        "暂时无法确认证书是否已被撤销，请稍后再试。",
        "Whether the certificate is revoked cannot be checked now; please try later.",
    ),
    "deadline_exceeded": _T(
        "驗證逾時，請稍後再試。",
        "验证超时，请稍后再试。",
        "Validation took too long; please try later.",
    ),
    "key_usage": _T(
        "此證書不可用於電子簽署。",
        "此证书不可用于电子签名。",
        "This certificate may not be used for electronic signatures.",
    ),
    "critical_extension": _T(
        "證書含有無法處理的關鍵延伸欄位。",
        "证书含有无法处理的关键扩展项。",
        "The certificate contains a critical extension that cannot be processed.",
    ),
    "chain_constraints": _T(
        "證書鏈不符合驗證限制。",
        "证书链不符合验证约束。",
        "The certificate chain does not meet the validation constraints.",
    ),
    "policy_not_recognised": _T(
        "證書的證書政策不在互認範圍內。",
        "证书的证书策略不在互认范围内。",
        "The certificate policy is not recognised under the mutual-recognition scheme.",
    ),
    "service_withdrawn": _T(
        "簽發此證書的核證機關已從信任列表撤回。",
        "签发此证书的认证机构已从信任列表撤回。",
        "The issuing certification authority has been withdrawn from the trust list.",
    ),
    "service_not_yet_listed": _T(
        "於驗證時間，簽發此證書的核證機關尚未列入信任列表。",
        "于验证时间，签发此证书的认证机构尚未列入信任列表。",
        "At the validation time the issuing authority was not yet on the trust list.",
    ),
    "digest_mismatch": _T(
        "文件內容與簽署不符。",
        "文件内容与签名不符。",
        "The document does not match the signature.",
    ),
    "signature_invalid": _T(
        "簽署無效。",
        "签名无效。",
        "The signature is not valid.",
    ),
    "signed_attributes": _T(
        "簽署的屬性不完整或無效。",
        "签名的属性不完整或无效。",
        "The signed attributes are missing or invalid.",
    ),
    "signer_not_found": _T(
        "找不到簽署人的證書。",
        "找不到签名人的证书。",
        "The signer's certificate was not found.",
    ),
    "revoked_after_signing": _T(
        "證書於聲稱的簽署時間後被撤銷，但沒有證據證明簽署早於撤銷。",
        "证书于声称的签名时间后被撤销，但没有证据证明签名早于撤销。",
        "The certificate was revoked after the claimed signing time; nothing proves the signature is older.",
    ),
    "expired_after_signing": _T(
        "證書已過期；聲稱的簽署時間在有效期內，但沒有證據證明。",
        "证书已过期；声称的签名时间在有效期内，但没有证据证明。",
        "The certificate has expired; the claimed signing time is within its validity but is not proven.",
    ),
    "signed_before_validity": _T(
        "聲稱的簽署時間早於證書生效時間。",
        "声称的签名时间早于证书生效时间。",
        "The claimed signing time is before the certificate became valid.",
    ),
}


def message_for(reason: str) -> LocalisedText:
    return MESSAGES[reason]
