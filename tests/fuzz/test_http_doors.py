"""The kiosk API and the operator console, fuzzed from their own OpenAPI documents on the real gateway
(the whole stack behind it): no answer is a 5xx, whatever a stranger or a session holder sends.

Stateful where it helps: a kiosk session (and an operator's console login) is opened first and its
credentials are put on about half of the generated cases, so the fuzzer reaches past authentication.
"""

from __future__ import annotations

import pytest
import schemathesis

from tests.fuzz.budget import fuzz_timeout_seconds
from tests.fuzz.conftest import HttpClients
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

FUZZ_KIOSK = "HK-FUZZ-01"


class KioskSession:
    """A real kiosk session of the fuzzer's own; renewed when a case ends or expires it."""

    def __init__(self, clients: HttpClients) -> None:
        self.client = clients("kiosk")
        self.token = ""

    def renew(self) -> None:
        self.token = ""

    def authenticate(self, case: schemathesis.Case) -> None:
        if not self.token:
            created = self.client.post("/v1/sessions", json={"kiosk_id": FUZZ_KIOSK})
            self.token = created.json().get("session_token", "") if created.status_code == 201 else ""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.token}"}
        if "session" in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, "session": self.token}


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
    session = KioskSession(http_client)
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
