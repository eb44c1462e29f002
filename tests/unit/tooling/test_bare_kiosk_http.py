"""The benchmarks' bare kiosk client speaks HTTP/1.1 as the kiosk API expects, on one connection.

A small asyncio server on a loopback port records each request it reads and answers by
Content-Length or in chunks; plaintext (the client's TLS is the standard library's).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from benchmarks.flow_steps import StepTimer
from benchmarks.kiosk_http import BareKioskHttp


class Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.close_after: set[int] = set()  # answer these requests (by number) with Connection: close

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            line, *rest = head[:-4].decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in rest)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((line, headers, body))
            answer = json.dumps({"line": line, "body": body.decode()}).encode()
            number = len(self.requests)
            if number % 2 == 0:  # every other answer in two chunks
                half = len(answer) // 2
                chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (answer[:half], answer[half:]))
                writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
            else:
                close = b"Connection: close\r\n" if number in self.close_after else b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(answer), close, answer))
            await writer.drain()
            if number in self.close_after:
                break
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    state = Server()
    listening = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield state, f"http://127.0.0.1:{port}"
    listening.close()
    await listening.wait_closed()


async def test_requests_go_as_written_and_answers_come_back_as_responses(server: tuple[Server, str]) -> None:
    state, url = server
    async with BareKioskHttp(url, None) as http:
        got = await http.get("/v1/catalogue", params={"authority": "440605"}, headers={"Authorization": "Bearer t"})
        posted = await http.post("/v1/sessions", json={"kiosk_id": "HK-1", "language": "zh-HK"})
        empty = await http.post("/v1/applications/a-1/submit", headers={"Authorization": "Bearer t"})
    assert got.status_code == 200 and got.json()["line"] == "GET /v1/catalogue?authority=440605 HTTP/1.1"
    assert posted.status_code == 201 and json.loads(posted.json()["body"]) == {"kiosk_id": "HK-1", "language": "zh-HK"}
    assert empty.json() == {"line": "POST /v1/applications/a-1/submit HTTP/1.1", "body": ""}
    first, second, third = (headers for _, headers, _ in state.requests)
    assert first["authorization"] == "Bearer t" and first["host"] == url.removeprefix("http://")
    assert second["content-type"] == "application/json"
    assert third["content-length"] == "0"
    assert state.connections == 1  # kept alive


async def test_a_connection_the_server_closes_is_opened_again(server: tuple[Server, str]) -> None:
    state, url = server
    state.close_after = {1}
    async with BareKioskHttp(url, None) as http:
        assert (await http.get("/one")).status_code == 200
        assert (await http.get("/two")).json()["line"] == "GET /two HTTP/1.1"
        assert http.connections == 2
    assert state.connections == 2


async def test_each_call_is_timed_by_its_route(server: tuple[Server, str]) -> None:
    _, url = server
    steps = StepTimer()
    async with BareKioskHttp(url, None) as http:
        steps.watch(http)
        await http.get("/v1/applications/app-1")
        await http.post("/v1/applications/app-1/materials/m-2/signatures", json={})
    assert set(steps.samples) == {
        "GET /v1/applications/{id}",
        "POST /v1/applications/{id}/materials/{id}/signatures",
    }
    assert all(0 < s[0] < 5 for s in steps.samples.values())
