"""``File`` reads data: URIs with core's decoder: every form it accepted before still decodes,
and a bad one fails with the decoder's own explanation."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from inferencesh.core.files import decode_data_uri
from inferencesh.models import File

RAW = bytes(range(250, 256)) * 3 + b"hello?>"
STD = base64.b64encode(RAW).decode()
URLSAFE = base64.urlsafe_b64encode(RAW).decode()


@pytest.fixture(autouse=True)
def file_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("INFERENCESH_FILE_CACHE", str(cache))
    return cache


# What File accepted before it used core's decoder (its own lenient one).
ACCEPTED = [
    (f"data:application/octet-stream;base64,{STD}", RAW),
    (f"data:application/octet-stream;base64,{STD.rstrip('=')}", RAW),  # missing padding
    (f"data:application/octet-stream;base64,{STD}===", RAW),  # excess padding
    (f"data:application/octet-stream;base64,{URLSAFE}", RAW),  # URL-safe alphabet
    (f"data:application/octet-stream;base64,{URLSAFE.rstrip('=')}", RAW),
    (f"data:application/octet-stream;BASE64,{STD}", RAW),  # the flag in any case
    (f"data:application/octet-stream;base64,{STD[:8]}\n\t\v {STD[8:]}", RAW),  # whitespace
    (f"data:application/octet-stream;base64,{STD[:8]}%0A{STD[8:].replace('+', '%2B')}", RAW),
    ("data:text/plain;charset=utf-8;base64,aGk=", b"hi"),  # parameters before the flag
    ("data:text/plain;base64;charset=utf-8,aGk=", b"aGk="),  # not last: not a base64 flag
    ("data:,a%20b", b"a b"),  # percent-encoded text
    ("data:text/plain,", b""),
]


@pytest.mark.parametrize(("uri", "expected"), ACCEPTED)
def test_forms_accepted_before_still_decode(uri: str, expected: bytes) -> None:
    file = File(uri)
    assert Path(file.path).read_bytes() == expected
    assert decode_data_uri(uri)[0] == expected  # the same reading as core's uploads


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("a-b+", "it mixes the standard (+ /) and URL-safe (- _) alphabets"),
        ("aGVsb", "5 base64 characters cannot be whole bytes (one is missing or one too many)"),
        ("a!!a", "'!' at position 1 is not a base64 character"),
        ("aGVs=bG8=", "'=' at position 4 is padding inside the data"),
    ],
)
async def test_a_bad_payload_fails_with_the_decoders_reason(payload: str, problem: str) -> None:
    uri = f"data:text/plain;base64,{payload}"
    with pytest.raises(ValueError, match="invalid base64") as core:
        decode_data_uri(uri)
    with pytest.raises(ValueError, match="invalid base64") as sync:
        _ = File(uri).path
    with pytest.raises(ValueError, match="invalid base64") as async_:
        await File(uri).aresolve()
    assert str(sync.value) == str(async_.value) == str(core.value)
    assert str(core.value) == f"invalid base64 in data: URI: {problem}"


def test_the_extension_follows_the_media_type() -> None:
    assert Path(File("data:image/png;base64,iVBORw0KGgo=").path).suffix == ".png"
    assert Path(File("data:;base64,aGk=").path).suffix == ".txt"  # no type: text/plain


# -- URL-safe base64 without padding ---------------------------------------------------------


def test_base64_helper_is_urlsafe() -> None:
    # URL-safe alphabet and missing padding, as browsers' btoa replacements produce.
    raw = bytes(range(250, 256)) * 3
    encoded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert Path(File(f"data:application/octet-stream;base64,{encoded}").path).read_bytes() == raw
