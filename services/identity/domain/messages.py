"""Human messages for every report reason, in 繁體中文, 简体中文 and English.

Kiosks show these to the person signing, so they say what happened and, where there is one,
what to do; they never contain certificate contents or personal data."""

from __future__ import annotations

from baylink.i18n import LocalText

MESSAGES: dict[str, LocalText] = {
    "ok": LocalText(
        zh_hant="證書有效，並獲互認信任列表承認。",
        zh_hans="证书有效，并获互认信任列表承认。",
        en="The certificate is valid and recognised by the mutual-recognition trust list.",
    ),
    "malformed": LocalText(
        zh_hant="無法讀取所提交的資料。", zh_hans="无法读取所提交的数据。", en="The submitted data could not be read."
    ),
    "no_chain": LocalText(
        zh_hant="找不到通往受信任核證機關的證書鏈。",
        zh_hans="找不到通往受信任认证机构的证书链。",
        en="No certificate chain to a trusted certification authority was found.",
    ),
    "chain_signature_invalid": LocalText(
        zh_hant="證書鏈中有證書的簽署無法驗證。",
        zh_hans="证书链中有证书的签名无法验证。",
        en="A certificate in the chain carries a signature that does not verify.",
    ),
    "algorithm_not_allowed": LocalText(
        zh_hant="簽署或證書使用了不獲接受的密碼演算法或密鑰長度。",
        zh_hans="签名或证书使用了不被接受的密码算法或密钥长度。",
        en="The signature or certificate uses a cryptographic algorithm or key size that is not accepted.",
    ),
    "expired": LocalText(zh_hant="證書已過期。", zh_hans="证书已过期。", en="The certificate has expired."),
    "not_yet_valid": LocalText(
        zh_hant="證書尚未生效。", zh_hans="证书尚未生效。", en="The certificate is not yet valid."
    ),
    "anchor_expired": LocalText(
        zh_hant="簽發此證書的核證機關根證書已過期。",
        zh_hans="签发此证书的认证机构根证书已过期。",
        en="The root certificate of the issuing certification authority has expired.",
    ),
    "revoked": LocalText(zh_hant="證書已被撤銷。", zh_hans="证书已被撤销。", en="The certificate has been revoked."),
    "ca_revoked": LocalText(
        zh_hant="簽發此證書的核證機關證書已被撤銷。",
        zh_hans="签发此证书的认证机构证书已被撤销。",
        en="The certificate of the issuing certification authority has been revoked.",
    ),
    "revocation_unavailable": LocalText(
        zh_hant="暫時無法確認證書是否已被撤銷，請稍後再試。",
        zh_hans="暂时无法确认证书是否已被撤销，请稍后再试。",
        en="Whether the certificate is revoked cannot be checked now; please try later.",
    ),
    "deadline_exceeded": LocalText(
        zh_hant="驗證逾時，請稍後再試。",
        zh_hans="验证超时，请稍后再试。",
        en="Validation took too long; please try later.",
    ),
    "key_usage": LocalText(
        zh_hant="此證書不可用於電子簽署。",
        zh_hans="此证书不可用于电子签名。",
        en="This certificate may not be used for electronic signatures.",
    ),
    "critical_extension": LocalText(
        zh_hant="證書含有無法處理的關鍵延伸欄位。",
        zh_hans="证书含有无法处理的关键扩展项。",
        en="The certificate contains a critical extension that cannot be processed.",
    ),
    "chain_constraints": LocalText(
        zh_hant="證書鏈不符合驗證限制。",
        zh_hans="证书链不符合验证约束。",
        en="The certificate chain does not meet the validation constraints.",
    ),
    "policy_not_recognised": LocalText(
        zh_hant="證書的證書政策不在互認範圍內。",
        zh_hans="证书的证书策略不在互认范围内。",
        en="The certificate policy is not recognised under the mutual-recognition scheme.",
    ),
    "service_withdrawn": LocalText(
        zh_hant="簽發此證書的核證機關已從信任列表撤回。",
        zh_hans="签发此证书的认证机构已从信任列表撤回。",
        en="The issuing certification authority has been withdrawn from the trust list.",
    ),
    "service_not_yet_listed": LocalText(
        zh_hant="於驗證時間，簽發此證書的核證機關尚未列入信任列表。",
        zh_hans="于验证时间，签发此证书的认证机构尚未列入信任列表。",
        en="At the validation time the issuing authority was not yet on the trust list.",
    ),
    "trust_list_stale": LocalText(
        zh_hant="信任列表已逾更新期限，暫時無法確認核證機關是否仍受信任，請稍後再試。",
        zh_hans="信任列表已逾更新期限，暂时无法确认认证机构是否仍受信任，请稍后再试。",
        en="The trust list is past its update date, so the authority cannot be confirmed now; please try later.",
    ),
    "key_purpose": LocalText(
        zh_hant="此證書不可用於所要求的用途。",
        zh_hans="此证书不可用于所要求的用途。",
        en="This certificate may not be used for the requested purpose.",
    ),
    "digest_mismatch": LocalText(
        zh_hant="文件內容與簽署不符。", zh_hans="文件内容与签名不符。", en="The document does not match the signature."
    ),
    "signature_invalid": LocalText(zh_hant="簽署無效。", zh_hans="签名无效。", en="The signature is not valid."),
    "signed_attributes": LocalText(
        zh_hant="簽署的屬性不完整或無效。",
        zh_hans="签名的属性不完整或无效。",
        en="The signed attributes are missing or invalid.",
    ),
    "signer_not_found": LocalText(
        zh_hant="找不到簽署人的證書。", zh_hans="找不到签名人的证书。", en="The signer's certificate was not found."
    ),
    "revoked_after_signing": LocalText(
        zh_hant="證書於聲稱的簽署時間後被撤銷，但沒有證據證明簽署早於撤銷。",
        zh_hans="证书于声称的签名时间后被撤销，但没有证据证明签名早于撤销。",
        en="The certificate was revoked after the claimed signing time; nothing proves the signature is older.",
    ),
    "expired_after_signing": LocalText(
        zh_hant="證書已過期；聲稱的簽署時間在有效期內，但沒有證據證明。",
        zh_hans="证书已过期；声称的签名时间在有效期内，但没有证据证明。",
        en="The certificate has expired; the claimed signing time is within its validity but is not proven.",
    ),
    "signed_before_validity": LocalText(
        zh_hant="聲稱的簽署時間早於證書生效時間。",
        zh_hans="声称的签名时间早于证书生效时间。",
        en="The claimed signing time is before the certificate became valid.",
    ),
    "revoked_after_poe": LocalText(
        zh_hant="證書在簽署後才被撤銷；可信時間戳記證明簽署早於撤銷，簽署於該時間有效。",
        zh_hans="证书在签名后才被撤销；可信时间戳证明签名早于撤销，签名于该时间有效。",
        en="The certificate was revoked after signing; a trusted timestamp proves the signature is older, "
        "so it is valid at that time.",
    ),
    "expired_after_poe": LocalText(
        zh_hant="證書已過期；可信時間戳記證明簽署於有效期內作出，簽署於該時間有效。",
        zh_hans="证书已过期；可信时间戳证明签名于有效期内作出，签名于该时间有效。",
        en="The certificate has expired; a trusted timestamp proves the signature was made while it was valid.",
    ),
    "timestamp_trusted": LocalText(
        zh_hant="時間戳記有效，由信任列表上的時間戳記服務簽發，證明簽署於該時間已存在。",
        zh_hans="时间戳有效，由信任列表上的时间戳服务签发，证明签名于该时间已存在。",
        en="The timestamp is valid and issued by a time-stamping service on the trust list: "
        "the signature existed at that time.",
    ),
    "tsa_not_trusted": LocalText(
        zh_hant="時間戳記並非由信任列表上的時間戳記服務簽發，不能證明簽署時間。",
        zh_hans="时间戳并非由信任列表上的时间戳服务签发，不能证明签名时间。",
        en="The timestamp is not from a time-stamping service on the trust list, so it proves no signing time.",
    ),
    "timestamp_imprint_mismatch": LocalText(
        zh_hant="時間戳記所蓋的並非此簽署，不能證明簽署時間。",
        zh_hans="时间戳所盖的并非此签名，不能证明签名时间。",
        en="The timestamp was not made over this signature, so it proves no signing time.",
    ),
    "timestamp_invalid": LocalText(
        zh_hant="時間戳記無效或無法讀取，不能證明簽署時間。",
        zh_hans="时间戳无效或无法读取，不能证明签名时间。",
        en="The timestamp is invalid or unreadable, so it proves no signing time.",
    ),
    "pdf_modified_after_signing": LocalText(
        zh_hant="文件在簽署後內容被更改，顯示的內容已不是簽署時的內容。",
        zh_hans="文件在签名后内容被更改，显示的内容已不是签名时的内容。",
        en="The document's content was changed after it was signed; what it shows is not what was signed.",
    ),
    "pdf_mdp_violation": LocalText(
        zh_hant="文件在簽署後的更改超出簽署人所容許的範圍。",
        zh_hans="文件在签名后的更改超出签名人所允许的范围。",
        en="The document was changed after signing in a way the signer did not permit.",
    ),
    "pdf_signature_coverage": LocalText(
        zh_hant="簽署未完整涵蓋文件的一個版本，無法確定簽署了哪些內容。",
        zh_hans="签名未完整覆盖文件的一个版本，无法确定签署了哪些内容。",
        en="The signature does not cover a whole revision of the document, so what was signed is unclear.",
    ),
}


def message_for(reason: str) -> LocalText:
    return MESSAGES[reason]
