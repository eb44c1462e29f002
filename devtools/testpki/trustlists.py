"""Signed sample trust lists: one set for the test PKI, one from the real GBA root certificates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import pem, x509

from baylink.i18n import LocalText
from devtools.testpki import plan
from devtools.testpki.x509build import CertificateProfile, issue, name
from services.identity.adapters.keys import KeyKind, SigningKey
from services.identity.adapters.trustlist_signature import sign_trust_list
from services.identity.domain.trustlist import (
    Jurisdiction,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
)

ISSUE_DATE = datetime(2026, 1, 1, tzinfo=UTC)
NEXT_UPDATE = datetime(2036, 1, 1, tzinfo=UTC)  # test material: far ahead so tests never go stale
WITHDRAWN_AT = datetime(2026, 2, 1, tzinfo=UTC)

OPERATORS = {
    Jurisdiction.HK: LocalText(
        zh_hant="數字政策辦公室（測試）", zh_hans="数字政策办公室（测试）", en="Digital Policy Office (TEST)"
    ),
    Jurisdiction.MO: LocalText(
        zh_hant="郵電局（測試）", zh_hans="邮电局（测试）", en="Macao Post and Telecommunications (TEST)"
    ),
    Jurisdiction.GD: LocalText(
        zh_hant="廣東省政務服務和數據管理局（測試）",
        zh_hans="广东省政务服务和数据管理局（测试）",
        en="Guangdong Government Services and Data Administration (TEST)",
    ),
}


def _granted(since: datetime, withdrawn: datetime | None = None) -> tuple[StatusChange, ...]:
    history = [StatusChange(ServiceStatus.GRANTED, since)]
    if withdrawn is not None:
        history.append(StatusChange(ServiceStatus.WITHDRAWN, withdrawn))
    return tuple(history)


def _service(
    label: LocalText,
    cert_der: bytes,
    policies: set[str],
    history: tuple[StatusChange, ...],
    service_type: ServiceType = ServiceType.CA_QC,
) -> TrustService:
    return TrustService(label, service_type, cert_der, history, frozenset(policies))


def pki_trust_lists(cert_der: dict[str, bytes]) -> dict[Jurisdiction, TrustList]:
    since = plan.ROOT_VALIDITY[0]
    services: dict[Jurisdiction, tuple[TrustService, ...]] = {
        Jurisdiction.HK: (
            _service(
                LocalText(zh_hant="香港郵政（測試）", zh_hans="香港邮政（测试）", en="Hongkong Post (TEST)"),
                cert_der["hk-root"],
                {plan.POLICY_HK_PERSONAL, plan.POLICY_HK_ORGANISATION},
                _granted(since),
            ),
            _service(
                LocalText(zh_hant="舊根（測試）", zh_hans="旧根（测试）", en="Old root (TEST)"),
                cert_der["hk-old-root"],
                {plan.POLICY_HK_PERSONAL},
                _granted(since, WITHDRAWN_AT),
            ),
        ),
        Jurisdiction.MO: (
            _service(
                LocalText(zh_hant="澳門電子簽署（測試）", zh_hans="澳门电子签名（测试）", en="eSignTrust (TEST)"),
                cert_der["mo-root"],
                {plan.POLICY_MO_PERSONAL},
                _granted(since),
            ),
        ),
        Jurisdiction.GD: (
            _service(
                LocalText(zh_hant="數安時代（測試）", zh_hans="数安时代（测试）", en="GDCA (TEST)"),
                cert_der["gd-root"],
                {plan.POLICY_GD_PERSONAL},
                _granted(since),
            ),
        ),
    }
    sequence = dict.fromkeys(services, 1)
    for jurisdiction in services:
        for tsa in plan.LISTED_TSAS[jurisdiction.value]:
            tsa_der = cert_der.get(tsa)
            if tsa_der is None:  # a directory built before this TSA existed does not list it
                continue
            listed = _service(TSA_SERVICE_NAMES[tsa], tsa_der, set(), _granted(since), ServiceType.TSA)
            services[jurisdiction] += (listed,)
            # A list that changed is a new issue: identity refuses a second list under a sequence
            # number it already holds, so a database that loaded an earlier issue keeps it. Each
            # TSA added to a jurisdiction's list was one more issue.
            sequence[jurisdiction] += 1
    return {j: TrustList(j, sequence[j], ISSUE_DATE, NEXT_UPDATE, OPERATORS[j], s) for j, s in services.items()}


TSA_SERVICE_NAMES = {
    "hk-tsa": LocalText(
        zh_hant="香港郵政時間戳記服務（測試）", zh_hans="香港邮政时间戳服务（测试）", en="Hongkong Post TSA (TEST)"
    ),
    "hk-tsa-rsa": LocalText(
        zh_hant="香港郵政RSA時間戳記服務（測試）",
        zh_hans="香港邮政RSA时间戳服务（测试）",
        en="Hongkong Post RSA TSA (TEST)",
    ),
    "mo-tsa": LocalText(
        zh_hant="澳門電子簽署時間戳記（測試）", zh_hans="澳门电子签名时间戳（测试）", en="eSignTrust TSA (TEST)"
    ),
    "gd-tsa": LocalText(
        zh_hant="數安時代時間戳記服務（測試）", zh_hans="数安时代时间戳服务（测试）", en="GDCA SM2 TSA (TEST)"
    ),
}


def write_signed(
    lists: dict[Jurisdiction, TrustList], signers: dict[Jurisdiction, tuple[SigningKey, bytes]], out_dir: Path
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for jurisdiction, trust_list in lists.items():
        key, cert_der = signers[jurisdiction]
        (out_dir / f"{jurisdiction.value}.json").write_bytes(sign_trust_list(trust_list, key, cert_der) + b"\n")


# The real roots in shared/reference/certs and the services they stand for in the sample lists.
REFERENCE_ROOTS = {
    Jurisdiction.HK: [
        (
            "hk-hongkong-post-root-ca-3.pem",
            LocalText(
                zh_hant="香港郵政核證機關", zh_hans="香港邮政认证机构", en="Hongkong Post Certification Authority"
            ),
            {plan.POLICY_HK_PERSONAL, plan.POLICY_HK_ORGANISATION},
            None,
        )
    ],
    Jurisdiction.MO: [
        (
            "mo-esigntrust-root-g03.pem",
            LocalText(
                zh_hant="澳門郵電局電子簽署核證（G03）",
                zh_hans="澳门邮电局电子签名认证（G03）",
                en="eSignTrust Root CA (G03)",
            ),
            {plan.POLICY_MO_PERSONAL},
            None,
        ),
        (
            "mo-macao-post-esigntrust-root-g02-expired.pem",
            LocalText(
                zh_hant="澳門郵政電子簽署核證（G02）",
                zh_hans="澳门邮政电子签名认证（G02）",
                en="Macao Post eSignTrust Root CA (G02)",
            ),
            {plan.POLICY_MO_PERSONAL},
            datetime(2020, 1, 5, tzinfo=UTC),
        ),
    ],
    Jurisdiction.GD: [
        (
            "cn-gdca-trustauth-r5-root.pem",
            LocalText(
                zh_hant="數安時代 GDCA TrustAUTH R5", zh_hans="数安时代 GDCA TrustAUTH R5", en="GDCA TrustAUTH R5 ROOT"
            ),
            {plan.POLICY_GD_PERSONAL},
            None,
        ),
        (
            "cn-cfca-ev-root.pem",
            LocalText(zh_hant="中國金融認證中心 EV 根", zh_hans="中国金融认证中心 EV 根", en="CFCA EV ROOT"),
            {plan.POLICY_GD_PERSONAL},
            None,
        ),
    ],
}


def reference_lists(certs_dir: Path) -> dict[Jurisdiction, TrustList]:
    lists = {}
    for jurisdiction, entries in REFERENCE_ROOTS.items():
        services = []
        for filename, label, policies, withdrawn in entries:
            der = _read_cert(certs_dir / filename)
            since = x509.Certificate.load(der).not_valid_before
            services.append(_service(label, der, policies, _granted(since, withdrawn)))
        operator = OPERATORS[jurisdiction]
        sample = LocalText(
            zh_hant=operator.zh_hant.replace("測試", "樣本"),
            zh_hans=operator.zh_hans.replace("测试", "样本"),
            en=operator.en.replace("TEST", "SAMPLE"),
        )
        lists[jurisdiction] = TrustList(jurisdiction, 1, ISSUE_DATE, NEXT_UPDATE, sample, tuple(services))
    return lists


def sample_signer(out_dir: Path) -> tuple[SigningKey, bytes]:
    """The sample list signer of the reference lists; made once and kept, so the lists stay verifiable."""
    key_path, cert_path = out_dir / "sample-list-signer.key.pem", out_dir / "sample-list-signer.pem"
    if key_path.exists() and cert_path.exists():
        return SigningKey.load_pem(key_path.read_bytes()), _read_cert(cert_path)
    key = SigningKey.generate(KeyKind.EC_P256)
    profile = CertificateProfile(
        serial=1,
        subject=name("Baylink Sample Trust List Signer", "Baylink (SAMPLE)", "HK"),
        not_before=plan.ROOT_VALIDITY[0],
        not_after=plan.ROOT_VALIDITY[1],
        key_usage=frozenset({"digital_signature"}),
    )
    cert = issue(profile, key.public_key_info(), None, self_key=key)
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(key.private_pem())
    cert_path.write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    return key, cert.dump()


def _read_cert(path: Path) -> bytes:
    data = path.read_bytes()
    return bytes(pem.unarmor(data)[2]) if pem.detect(data) else data
