"""A kiosk's HTTP client for the benchmarks that costs next to nothing on the machine under test.

The benchmarks run the kiosks' clients on the same two cores as the servers, where a kiosk's own
device would not. httpx spends more CPU per request than the gateway's own work on some calls
(about 1.3 ms each in `gateway_bench`; its figure "bare client" exists for that reason), so the
flow benchmark drives its kiosks through `BareKioskHttp`: HTTP/1.1 on one kept-alive connection
(mutual TLS with the kiosk's device certificate), requests written by hand, answers read by their
Content-Length (or chunks), handed back as `httpx.Response` objects so that `KioskUser` takes this
client as it takes httpx. `on_response(method, path, seconds)` times each call from the moment its
request is written until its answer's head has arrived (as `StepTimer` times httpx's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

OnResponse = Callable[[str, str, float], None]


class BareKioskHttp:
    def __init__(self, base_url: str, context: ssl.SSLContext | None, *, timeout: float = 60.0):
        url = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port, self.netloc = url.hostname or "127.0.0.1", url.port or 443, url.netloc
        self.context, self.timeout = context, timeout
        self.on_response: OnResponse | None = None
        self.connections = 0  # connections opened so far (a kept-alive client opens one)
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> BareKioskHttp:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):  # the server went first
                await writer.wait_closed()

    async def get(
        self, url: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return await self._call("GET", url, params, headers, None)

    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        body = None if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        return await self._call("POST", url, params, headers, body)

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> httpx.Response:
        target = f"{path}?{urlencode(params)}" if params else path
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.netloc}", "Accept: application/json"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        elif method != "GET":
            lines.append("Content-Length: 0")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        async with self._lock:  # one request at a time on the one connection
            status, answer_headers, content, seconds = await asyncio.wait_for(self._exchange(request), self.timeout)
        if self.on_response is not None:
            self.on_response(method, path, seconds)
        return httpx.Response(
            status, headers=answer_headers, content=content, request=httpx.Request(method, self.base_url + target)
        )

    async def _exchange(self, request: bytes) -> tuple[int, list[tuple[str, str]], bytes, float]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port, ssl=self.context)
            self.connections += 1
        reader, writer = self._streams
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        seconds = time.perf_counter() - started
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        answer_headers = [(name.strip(), value.strip()) for name, _, value in (h.partition(":") for h in header_lines)]
        named = {name.lower(): value for name, value in answer_headers}
        if named.get("transfer-encoding", "").lower() == "chunked":
            content = await _chunks(reader)
            answer_headers = [(n, v) for n, v in answer_headers if n.lower() != "transfer-encoding"]
        else:
            content = await reader.readexactly(int(named.get("content-length", "0")))
        if named.get("connection", "").lower() == "close":
            await self.aclose()
        return status, answer_headers, content, seconds


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    content = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent to kiosks
            return bytes(content)
        content += await reader.readexactly(size)
        await reader.readexactly(2)
