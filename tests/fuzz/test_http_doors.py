"""The kiosk API and the operator console, fuzzed from their own OpenAPI documents on the real gateway
(the whole stack behind it): no answer is a 5xx, whatever a stranger or a session holder sends.

Stateful where it helps: a kiosk session (a person identified in it, an application drafted, a material
attached) and an operator's console login are made first; about half of the generated cases carry
their credentials and real ids, so the fuzzer reaches past authentication and lookups.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis

from devtools.testpki.loader import TestPKI
from tests.e2e.kiosk_user import CHAN, NANHAI_ESTABLISHMENT, KioskUser, webcrypto_signature
from tests.fuzz.budget import fuzz_timeout_seconds
from tests.fuzz.conftest import FUZZ_KIOSK, HttpClients
from tests.fuzz.http_fuzz import HttpFuzzer
from tests.fuzz.stack_thread import StackThread
from tests.support.console import PASSWORDS

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.xdist_group("fuzz"),
    pytest.mark.timeout(fuzz_timeout_seconds()),
    # The stack's own thread (Kafka clients' jittered back-off) moves the global random state while
    # hypothesis draws; that is not the strategy using `random`.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]


class KioskSession:
    """A real kiosk session of the fuzzer's own, with a person identified in it and one application drafted
    with one material attached (best effort: whatever step the gateway refuses is left out), so that
    in-session cases name real handles and ids. Renewed when a case ends or expires it."""

    def __init__(self, clients: HttpClients, pki: TestPKI) -> None:
        self.client = clients("kiosk")
        self.pki = pki
        self.user = KioskUser(None, pki, FUZZ_KIOSK)  # type: ignore[arg-type]  # only its request bodies are used
        self.token = ""
        self.known: dict[str, str] = {}  # path parameter or body field → a real value of this session

    def renew(self) -> None:
        self.token = ""

    def _open(self) -> None:
        created = self.client.post("/v1/sessions", json={})
        self.token = created.json().get("session_token", "") if created.status_code == 201 else ""
        self.known = {"session": self.token} if self.token else {}
        if self.token:
            self._prepare()

    def _prepare(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        challenge = self.client.post("/v1/sessions/current/identify/challenge", headers=auth)
        if challenge.status_code != 201:
            return
        data = base64.b64decode(challenge.json()["data_to_sign_base64"])
        proof = {
            "challenge_id": challenge.json()["challenge_id"],
            "signature_base64": base64.b64encode(webcrypto_signature(self.pki, CHAN.certificate, data)).decode(),
        }
        body = {**self.user.identify_body(CHAN), **proof}
        identified = self.client.post("/v1/sessions/current/identify", json=body, headers=auth)
        if identified.status_code != 200:
            return
        handle = identified.json()["person"]
        self.known.update(person=handle, applicant=handle)
        body = {
            "catalogue_item_id": NANHAI_ESTABLISHMENT, "applicant": handle, "address": "佛山市南海区灯湖东路1号",
            "registered_capital": {"currency": "HKD", "amount": "1000000.00"}, "business_scope": "贸易咨询",
            "investors": [{"person": handle, "subscribed_capital": {"currency": "HKD", "amount": "1000000.00"}}],
            "name": {"trade_name": "模糊测试", "industry": "贸易", "organisational_form": "有限公司"},
        }  # fmt: skip
        drafted = self.client.post("/v1/applications", json=body, headers=auth)
        if drafted.status_code != 201:
            return
        application_id = drafted.json()["application"]["application_id"]
        self.known["application_id"] = application_id
        items = self.client.get("/v1/catalogue", params={"authority": NANHAI_ESTABLISHMENT[:6]}, headers=auth)
        found = [i for i in items.json().get("items", []) if i.get("item_id") == NANHAI_ESTABLISHMENT]
        kinds = [m["material_type"] for i in found for m in i["materials"]]
        if items.status_code != 200 or not kinds:
            return
        material = {"material_type": kinds[0], "filename": "a.pdf", "content_base64": "JVBERi0xLjcgZnV6eg=="}
        attached = self.client.post(f"/v1/applications/{application_id}/materials", json=material, headers=auth)
        if attached.status_code == 201:
            self.known["material_id"] = attached.json()["material"]["material_id"]

    def authenticate(self, case: schemathesis.Case) -> None:
        if not self.token:
            self._open()
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.token}"}
        params = case.path_parameters or {}
        case.path_parameters = {k: self.known.get(k, v) for k, v in params.items()}
        if isinstance(case.body, dict):
            case.body = {k: self.known.get(k, v) if k in ("person", "applicant") else v for k, v in case.body.items()}


class ConsoleLogin:
    """An operator's console login (cookie and CSRF token); renewed when a case ends it."""

    def __init__(self, clients: HttpClients) -> None:
        self.client = clients("console")
        self.cookie = self.csrf = ""

    def renew(self) -> None:
        self.cookie = self.csrf = ""

    def authenticate(self, case: schemathesis.Case) -> None:
        if not self.cookie:
            answer = self.client.post(
                "/console/api/login", json={"username": "olivia", "password": PASSWORDS["olivia"]}
            )
            if answer.status_code == 200:
                self.cookie, self.csrf = answer.cookies.get("baylink_console", ""), answer.json()["csrf_token"]
        case.cookies = {**(case.cookies or {}), "baylink_console": self.cookie}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": self.csrf}


def _schema(clients: HttpClients, door: str, path: str) -> schemathesis.BaseSchema:
    client = clients(door)
    answer = client.get(path)
    assert answer.status_code == 200, f"{door} publishes no OpenAPI document at {path}"
    return schemathesis.openapi.from_dict(answer.json())


def test_the_kiosk_api_answers_no_fuzzed_request_with_a_server_error(
    fuzz_stack: StackThread, http_client: HttpClients
) -> None:
    session = KioskSession(http_client, fuzz_stack.running.pki)
    fuzzer = HttpFuzzer("kiosk (HTTP)", http_client("kiosk"), _schema(http_client, "kiosk", "/openapi.json"),
                        session.authenticate, session.renew)  # fmt: skip
    findings = fuzzer.run()
    assert fuzz_stack.alive(), "the stack stopped while the kiosk API was fuzzed"
    assert not findings, "\n\n".join(f"{f.operation} → {f.status}\n{f.request}\n{f.body}" for f in findings[:10])


def test_the_console_api_answers_no_fuzzed_request_with_a_server_error(
    fuzz_stack: StackThread, http_client: HttpClients
) -> None:
    login = ConsoleLogin(http_client)
    schema = _schema(http_client, "console", "/console/api/openapi.json")
    fuzzer = HttpFuzzer("console (HTTP)", http_client("console"), schema, login.authenticate, login.renew,
                        skip_session=frozenset({"POST /console/api/logout"}))  # fmt: skip
    findings = fuzzer.run()
    assert fuzz_stack.alive(), "the stack stopped while the console API was fuzzed"
    assert not findings, "\n\n".join(f"{f.operation} → {f.status}\n{f.request}\n{f.body}" for f in findings[:10])
