"""Schemathesis over an HTTP door: every operation of its OpenAPI document, positive and negative cases,
each sent as a stranger or inside a real session (the door's ``authenticate`` puts one on the case).

Oracle: no 5xx answer, every answer within the client's timeout (no answer counts as 599). Streams
(server-sent events) are judged on their status and closed unread. Every operation runs its own
bounded hypothesis loop and the failures of all operations are reported together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.fuzz.budget import TALLY, fuzz_settings

UNSENDABLE = (httpx.LocalProtocolError, httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeEncodeError)
Authenticate = Callable[[schemathesis.Case], None]  # puts a real session's credentials on the case


@dataclass
class Finding:
    operation: str
    status: int
    request: str
    body: str


@dataclass
class HttpFuzzer:
    door: str
    client: httpx.Client
    schema: schemathesis.BaseSchema
    authenticate: Authenticate
    refresh: Callable[[], None]  # a session answer 401: make a new session for the next cases
    skip_session: frozenset[str] = frozenset()  # operations fuzzed as a stranger only (e.g. logout)
    findings: list[Finding] = field(default_factory=list)

    def operations(self) -> list[schemathesis.APIOperation]:
        return [result.ok() for result in self.schema.get_all_operations()]

    def run(self) -> list[Finding]:
        operations = self.operations()
        assert operations, f"the {self.door} OpenAPI document lists no operation"
        for operation in operations:
            self._fuzz(operation, len(operations))
        return self.findings

    def _fuzz(self, operation: schemathesis.APIOperation, count: int) -> None:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )
        with_session = operation.label not in self.skip_session

        @fuzz_settings(count)
        @given(case=cases, in_session=st.booleans())
        def send(case: schemathesis.Case, in_session: bool) -> None:
            if in_session and with_session:
                self.authenticate(case)
            try:
                status, body = self._send(case)
            except UNSENDABLE:
                return  # the client cannot put it on the wire (e.g. an illegal header value): nothing to judge
            except httpx.TransportError as exc:  # sent, but no answer: the server dropped or hung
                status, body = 599, f"no answer: {exc!r}"
            TALLY.example(self.door)
            if status >= 500:
                TALLY.failure(self.door)
                self.findings.append(Finding(operation.label, status, case.as_curl_command(), body[:500]))
            elif status == 401 and in_session and with_session:
                self.refresh()

        send()

    def _send(self, case: schemathesis.Case) -> tuple[int, str]:
        kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=str(self.client.base_url))
        content = kwargs.pop("data", None)
        request = self.client.build_request(
            kwargs.pop("method"), kwargs.pop("url"), headers=kwargs.get("headers"), params=kwargs.get("params"),
            cookies=kwargs.get("cookies"), json=kwargs.get("json"), content=content, files=kwargs.get("files"),
        )  # fmt: skip
        response = self.client.send(request, stream=True)
        try:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return response.status_code, ""  # an endless stream: its status is the answer
            response.read()
            return response.status_code, response.text
        finally:
            response.close()
