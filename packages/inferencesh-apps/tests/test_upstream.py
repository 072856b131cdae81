"""``inferencesh.upstream`` against a real vendor stand-in: an HTTP server on 127.0.0.1.

Each test scripts the vendor's answers per path and asserts what the vendor received: the auth
read from the environment on every request, the body, the retries (and the ones not made).
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from apps_testkit import serving
from inferencesh.upstream import Auth, MissingSecret, Operation, UpstreamClient, UpstreamError
from pydantic import BaseModel


class Vendor(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, Any]] = []
        self.script: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, path: str, *replies: tuple[int, dict[str, str], Any]) -> None:
        self.script[path] = [
            (status, headers, body if isinstance(body, bytes) else json.dumps(body).encode())
            for status, headers, body in replies
        ]

    def on(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.seen if r["path"] == path]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Vendor

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        self.server.seen.append(
            {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": self.rfile.read(length),
            }
        )
        queue = self.server.script.get(url.path, [])
        status, headers, body = queue.pop(0) if queue else (200, {}, b'{"ok": true}')
        self.send_response(status)
        self.send_header("content-type", headers.pop("content-type", "application/json"))
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _reply


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with serving(Vendor()) as server:
        yield server


NOW = {"retry-after": "0"}  # the vendor asks for an immediate retry: no backoff wait in tests


def call(client: UpstreamClient, op: Operation, value: Any = None) -> Any:
    async def main() -> Any:
        try:
            return await client.call(op, value)
        finally:
            await client.aclose()

    return asyncio.run(main())


GET_ITEM = Operation(name="get_item", method="GET", path="/items/{id}", path_params=["id"])
CREATE = Operation(name="create", method="POST", path="/items")


def test_api_key_is_read_from_the_environment_on_every_request(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_KEY", "first")
    auth = Auth("api_key", secret="ACME_KEY", name="X-API-Key")

    async def main() -> None:
        client = UpstreamClient(vendor.url, auth=auth)
        await client.call(GET_ITEM, {"id": "1"})
        monkeypatch.setenv("ACME_KEY", "rotated")
        await client.call(GET_ITEM, {"id": "2"})
        await client.aclose()

    asyncio.run(main())
    assert [r["headers"]["x-api-key"] for r in vendor.seen] == ["first", "rotated"]
    assert [r["path"] for r in vendor.seen] == ["/items/1", "/items/2"]


def test_a_missing_secret_names_it_and_sends_nothing(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_KEY", raising=False)
    client = UpstreamClient(vendor.url, auth=Auth("http", secret="ACME_KEY"))
    with pytest.raises(MissingSecret, match="ACME_KEY is not set"):
        call(client, GET_ITEM, {"id": "1"})
    monkeypatch.setenv("ACME_KEY", "")  # set but empty is missing too
    with pytest.raises(MissingSecret):
        call(
            UpstreamClient(vendor.url, auth=Auth("http", secret="ACME_KEY")), GET_ITEM, {"id": "1"}
        )
    assert vendor.seen == []


@pytest.mark.parametrize(
    ("auth", "where"),
    [
        (Auth("http", secret="TOKEN"), ("authorization", "Bearer tok-1")),
        (Auth("oauth2", flow="implicit", secret="TOKEN"), ("authorization", "Bearer tok-1")),
        (Auth("api_key", secret="TOKEN", prefix="Token "), ("authorization", "Token tok-1")),
        (Auth("api_key", secret="TOKEN", location="cookie", name="sid"), ("cookie", "sid=tok-1")),
        (
            Auth("http", scheme="basic", username_secret="USER", password_secret="TOKEN"),
            ("authorization", "Basic " + base64.b64encode(b"ada:tok-1").decode()),
        ),
    ],
)
def test_each_auth_kind_reaches_the_vendor(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch, auth: Auth, where: tuple[str, str]
) -> None:
    monkeypatch.setenv("TOKEN", "tok-1")
    monkeypatch.setenv("USER", "ada")
    call(UpstreamClient(vendor.url, auth=auth), GET_ITEM, {"id": "1"})
    header, value = where
    assert vendor.seen[0]["headers"][header] == value


def test_query_api_key_is_sent_but_never_shown_in_errors(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_KEY", "s3cret-value")
    vendor.answer("/items/1", (404, {}, {"error": "no such item"}))
    client = UpstreamClient(
        vendor.url, auth=Auth("api_key", secret="ACME_KEY", location="query", name="key")
    )
    with pytest.raises(UpstreamError) as caught:
        call(client, GET_ITEM, {"id": "1"})
    assert vendor.seen[0]["query"] == {"key": ["s3cret-value"]}
    error = caught.value
    assert (error.status, error.body, error.method, error.path) == (
        404,
        {"error": "no such item"},
        "GET",
        "/items/1",
    )
    assert str(error) == 'GET /items/1: 404 {"error":"no such item"}'
    assert "s3cret" not in repr(error.__dict__) + str(error)


def test_oauth2_client_credentials_token_is_fetched_once_and_reused(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CID", "client")
    monkeypatch.setenv("CSECRET", "shh")
    vendor.answer("/oauth/token", (200, {}, {"access_token": "TOK", "expires_in": 3600}))
    auth = Auth(
        "oauth2",
        flow="client_credentials",
        token_url=f"{vendor.url}/oauth/token",
        client_id_secret="CID",
        client_secret_secret="CSECRET",
        scopes=("read", "write"),
    )

    async def main() -> None:
        client = UpstreamClient(vendor.url, auth={"acme": auth})
        await client.call(GET_ITEM, {"id": "1"})
        await client.call(GET_ITEM, {"id": "2"})
        await client.aclose()

    asyncio.run(main())
    (token,) = vendor.on("/oauth/token")
    assert token["method"] == "POST"
    assert token["headers"]["authorization"] == "Basic " + base64.b64encode(b"client:shh").decode()
    assert parse_qs(token["body"].decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["read write"],
    }
    assert [
        r["headers"]["authorization"] for r in vendor.seen if r["path"].startswith("/items")
    ] == [
        "Bearer TOK",
        "Bearer TOK",
    ]


def test_a_token_answer_without_a_token_is_an_error(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CID", "client")
    monkeypatch.setenv("CSECRET", "shh")
    vendor.answer("/oauth/token", (200, {}, {"token_type": "bearer"}))
    auth = Auth(
        "oauth2",
        flow="client_credentials",
        token_url=f"{vendor.url}/oauth/token",
        client_id_secret="CID",
        client_secret_secret="CSECRET",
    )
    with pytest.raises(UpstreamError, match="no access_token"):
        call(UpstreamClient(vendor.url, auth=auth), GET_ITEM, {"id": "1"})
    assert vendor.on("/items/1") == []


def test_get_is_retried_on_5xx_until_it_succeeds(vendor: Vendor) -> None:
    vendor.answer("/items/1", (503, dict(NOW), {"e": 1}), (502, dict(NOW), b"bad gateway"))
    assert call(UpstreamClient(vendor.url), GET_ITEM, {"id": "1"}) == {"ok": True}
    assert len(vendor.on("/items/1")) == 3


def test_retries_stop_after_max_retries_with_the_last_error(vendor: Vendor) -> None:
    vendor.answer("/items/1", *[(500, dict(NOW), b"x" * 2000)] * 3)
    with pytest.raises(UpstreamError) as caught:
        call(UpstreamClient(vendor.url, max_retries=2), GET_ITEM, {"id": "1"})
    assert caught.value.status == 500 and caught.value.body == "x" * 500
    assert len(vendor.on("/items/1")) == 3


def test_post_is_not_retried_when_the_vendor_may_have_acted(vendor: Vendor) -> None:
    vendor.answer("/items", (500, dict(NOW), {"error": "boom"}), (200, {}, {"id": "dup"}))
    with pytest.raises(UpstreamError) as caught:
        call(UpstreamClient(vendor.url), CREATE, {"name": "a"})
    assert caught.value.status == 500
    assert len(vendor.on("/items")) == 1  # never sent twice: no second charge


def test_post_is_retried_on_429_and_when_the_vendor_says_so(vendor: Vendor) -> None:
    vendor.answer(
        "/items",
        (429, dict(NOW), {"error": "slow down"}),
        (503, {**NOW, "x-should-retry": "true"}, {"error": "restarting"}),
        (201, {}, {"id": "it-1"}),
    )
    assert call(UpstreamClient(vendor.url), CREATE, {"name": "a"}) == {"id": "it-1"}
    sent = vendor.on("/items")
    assert len(sent) == 3 and {json.loads(r["body"])["name"] for r in sent} == {"a"}


def test_retry_unsafe_retries_a_post_like_a_get(vendor: Vendor) -> None:
    vendor.answer("/items", (500, dict(NOW), {}), (200, {}, {"id": "it-1"}))
    assert call(UpstreamClient(vendor.url, retry_unsafe=True), CREATE, {}) == {"id": "it-1"}
    assert len(vendor.on("/items")) == 2


def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_for(vendor: Vendor) -> None:
    vendor.answer("/items/1", (503, {"retry-after": "3600"}, {"error": "maintenance"}))
    with pytest.raises(UpstreamError) as caught:
        call(UpstreamClient(vendor.url), GET_ITEM, {"id": "1"})
    assert caught.value.status == 503
    assert len(vendor.on("/items/1")) == 1


def test_an_unreachable_vendor_is_retried_then_an_error_without_status() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = UpstreamClient(f"http://127.0.0.1:{port}", max_retries=1)
    with pytest.raises(UpstreamError) as caught:
        call(client, CREATE, {"name": "a"})  # a refused connection never reached the vendor
    assert caught.value.status is None and caught.value.method == "POST"
    assert "ConnectError" in str(caught.value)


def test_form_multipart_and_call_into(vendor: Vendor) -> None:
    class Created(BaseModel):
        id: str
        size: int

    form = Operation(name="form", method="POST", path="/form", body="form")
    upload = Operation(name="upload", method="POST", path="/upload", body="multipart")
    vendor.answer("/upload", (200, {}, {"id": "f-1", "size": 3}))

    async def main() -> Created:
        client = UpstreamClient(vendor.url, headers={"User-Agent": "my-wrapper/1.0"})
        await client.call(form, {"a": "1", "b": "x y"})
        created = await client.call_into(
            upload, {"file": ("a.txt", b"abc", "text/plain"), "note": "hi"}, Created
        )
        await client.aclose()
        return created

    assert asyncio.run(main()) == Created(id="f-1", size=3)
    (sent_form,) = vendor.on("/form")
    assert parse_qs(sent_form["body"].decode()) == {"a": ["1"], "b": ["x y"]}
    assert sent_form["headers"]["user-agent"] == "my-wrapper/1.0"
    (sent_file,) = vendor.on("/upload")
    assert sent_file["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert b'filename="a.txt"' in sent_file["body"] and b"abc" in sent_file["body"]
    assert b'name="note"' in sent_file["body"]


def test_hostile_path_parameters_are_escaped_or_refused(vendor: Vendor) -> None:
    call(UpstreamClient(vendor.url), GET_ITEM, {"id": "../admin?x=1#y"})
    assert vendor.seen[0]["path"] == "/items/..%2Fadmin%3Fx%3D1%23y"
    for bad in ("..", ".", ""):
        with pytest.raises(UpstreamError, match="path parameter 'id'"):
            GET_ITEM.build({"id": bad})
    assert len(vendor.seen) == 1


def test_unknown_auth_name_and_bad_body_kind_are_errors(vendor: Vendor) -> None:
    op = Operation(name="x", method="GET", path="/x", auth="other")
    with pytest.raises(UpstreamError, match="no auth named 'other'"):
        call(UpstreamClient(vendor.url, auth={"main": Auth("http", secret="T")}), op)
    with pytest.raises(UpstreamError, match="body must be one of"):
        Operation(name="x", method="POST", path="/x", body="xml").build({})
    assert vendor.seen == []
