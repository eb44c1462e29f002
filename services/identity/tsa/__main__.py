"""python -m services.identity.tsa: serve RFC 3161 time-stamps over HTTP until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from baylink.cms import load_certificates
from services.identity.adapters.keys import SigningKey
from services.identity.tsa.authority import TimeStampAuthority
from services.identity.tsa.config import TsaSettings
from services.identity.tsa.serials import SerialStore
from services.identity.tsa.server import TimeStampServer

log = logging.getLogger("baylink.tsa")


async def serve(settings: TsaSettings) -> None:
    certificate = load_certificates(settings.cert_file.read_text("ascii"))[0]
    chain = load_certificates(settings.chain_file.read_text("ascii")) if settings.chain_file else []
    key = SigningKey.load_pem(settings.key_file.read_bytes())
    serials = SerialStore(settings.serial_file)
    try:
        authority = TimeStampAuthority(
            key,
            certificate,
            chain,
            serials.next,
            settings.policy,
            accuracy=timedelta(milliseconds=settings.accuracy_ms),
        )
        server = TimeStampServer(authority, settings.max_request_bytes)
        await server.start(settings.host, settings.port)
        print(f"serving RFC 3161 time-stamps on http://{settings.host}:{server.port}/ (policy {settings.policy})")
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        await server.stop()
    finally:
        serials.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    asyncio.run(serve(TsaSettings()))  # type: ignore[call-arg]  # the files come from the environment


if __name__ == "__main__":
    main()
