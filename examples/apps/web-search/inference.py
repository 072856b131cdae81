"""Web search for agents through a SearXNG instance you run (or any server with its JSON API).

Set ``WEB_SEARCH_URL`` in the environment of ``inferencesh dev`` to the instance's root, e.g.
``http://127.0.0.1:8888`` (SearXNG needs ``json`` in ``search.formats`` of its settings).
"""

from __future__ import annotations

import os

import httpx
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput
from pydantic import BaseModel, Field


class AppInput(BaseAppInput):
    query: str = Field(description="What to search for")
    max_results: int = Field(default=5, ge=1, le=20, description="How many results to return")


class SearchResult(BaseModel):
    title: str = Field(description="The page title")
    url: str = Field(description="The page address")
    content: str = Field(default="", description="A snippet of the page")


class AppOutput(BaseAppOutput):
    results: list[SearchResult] = Field(description="The results, best first")


class App(BaseApp):
    async def run(self, input_data: AppInput) -> AppOutput:
        root = os.environ.get("WEB_SEARCH_URL")
        if not root:
            raise RuntimeError(
                "web search is not configured: set WEB_SEARCH_URL to a SearXNG instance "
                "(e.g. http://127.0.0.1:8888) in the environment of the local platform"
            )
        url = root.rstrip("/") + "/search"
        async with httpx.AsyncClient(timeout=30.0) as client:
            response = await client.get(url, params={"q": input_data.query, "format": "json"})
        if response.status_code >= 400:
            raise RuntimeError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")
        items = response.json().get("results") or []
        results = [
            SearchResult(
                title=str(item.get("title") or ""),
                url=str(item.get("url") or ""),
                content=str(item.get("content") or ""),
            )
            for item in items[: input_data.max_results]
            if isinstance(item, dict)
        ]
        return AppOutput(results=results)
