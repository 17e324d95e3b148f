"""The engine client turns every kind of engine trouble into EngineError (real sockets, no mocks)."""

import asyncio
import time

import pytest

from bot.engine.client import EngineError, RasaClient
from tests.conftest import free_port


async def test_connection_refused_is_an_engine_error():
    client = RasaClient(f"http://127.0.0.1:{free_port()}", token="t", timeout_s=1)
    with pytest.raises(EngineError, match="unreachable"):
        await client.turn("c1", "hej", {"language": "da"})
    with pytest.raises(EngineError):
        await client.status()
    await client.aclose()


async def test_a_server_that_never_answers_times_out():
    async def silent(reader, writer):
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RasaClient(f"http://127.0.0.1:{port}", token="t", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(EngineError, match="timed out"):
        await client.turn("c1", "hej", {"language": "da"})
    assert time.monotonic() - started < 5
    await client.aclose()
    server.close()


async def test_a_server_that_closes_the_connection_is_an_engine_error():
    async def rude(reader, writer):
        await reader.read(100)
        writer.transport.abort()

    server = await asyncio.start_server(rude, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RasaClient(f"http://127.0.0.1:{port}", token="t", timeout_s=2)
    with pytest.raises(EngineError):
        await client.turn("c1", "hej", {"language": "da"})
    await client.aclose()
    server.close()



def test_citizens_cannot_force_an_intent_with_a_slash():
    from bot.engine.client import escape_for_engine as _escape

    assert _escape("/crisis") == "crisis"
    assert _escape(" //request_human{\"x\": 1}") == 'request_human{"x": 1}'
    assert _escape("/") == "…"
    assert _escape("hej / farvel") == "hej / farvel"
