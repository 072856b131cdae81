"""The clients take the published SDK 0.36's constructor options: ``on_message`` is kept on
the client (no reply read here carries notices for it), ``sse_chunk_size``/``sse_mode`` are
ignored as 0.36 ignored them."""

from __future__ import annotations

import asyncio

from inferencesh import AsyncInference, Inference

BASE = "http://127.0.0.1:9"


def test_sync_client_takes_036_options() -> None:
    seen: list[list[object]] = []
    with Inference(
        api_key="k", base_url=BASE, on_message=seen.append, sse_chunk_size=4096, sse_mode="iter"
    ) as client:
        assert client.on_message == seen.append
        assert not hasattr(client, "sse_mode") and client.base_url == BASE
    with Inference(api_key="k", base_url=BASE) as plain:
        assert plain.on_message is None


def test_async_client_takes_on_message() -> None:
    async def main() -> None:
        async with AsyncInference(
            api_key="k", base_url=BASE, on_message=print, sse_mode="iter"
        ) as client:
            assert client.on_message is print

    asyncio.run(main())
