"""File uploads: what can be uploaded, how it is read, and which inputs are uploaded for you.

An upload is two requests: ``POST /files`` announces the file and returns a record with a
presigned ``upload_url``; the bytes then go to that URL with ``PUT``, streamed from disk in
chunks (memory does not grow with the file's size). The record's ``uri`` is what app inputs
take.

Auto-upload of task input (``client.run``): every value in ``input`` (nested dicts, lists and
tuples included) that is a ``pathlib.Path``, an open binary file, ``bytes``, or a ``data:``
URI is uploaded and replaced by its ``uri``; an ``UploadedFile`` is replaced by its ``uri``.
A plain string is uploaded only when paths are allowed (``upload_paths=True``, the default)
and it is the path of an existing regular file written with a directory part
(``/path/to/image.png``, ``./image.png``); URLs and ordinary text are sent unchanged, and
nothing is ever guessed to be base64.
"""

from __future__ import annotations

import binascii
import io
import os
import re
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Generator
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any

import msgspec

from inferencesh.core.types import UploadedFile

if TYPE_CHECKING:  # annotations only: the progress module loads when a bar is made
    from inferencesh.core.progress import ProgressCallback

__all__ = ["CHUNK_SIZE", "Source", "UploadFileOptions"]

CHUNK_SIZE = 1 << 20
_MAX_PATH = 4096
_DATA_URI = r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*?),(?P<data>.*)$"


class UploadFileOptions(msgspec.Struct, frozen=True):
    """Options of ``upload_file``.

    ``filename`` (default: the file's name), ``content_type`` (default: guessed from the
    name, else ``application/octet-stream``), ``path`` (a storage path hint), ``public``
    (make the file readable without auth) and ``category`` (``uploads`` by default).
    """

    filename: str | None = None
    content_type: str | None = None
    path: str | None = None
    public: bool | None = None
    category: str | None = None


class Source(msgspec.Struct):
    """Bytes to upload: in memory, a file on disk, or an open file object.

    ``progress``, when set, is called as the chunks are read for sending: ``(0, size)`` when an
    attempt starts (so a retried upload visibly restarts from 0), then after each chunk, ending
    with ``(size, size)``. An exception it raises propagates and fails the upload.
    """

    kind: str  # "bytes" | "path" | "file"
    value: Any
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    start: int = 0
    progress: ProgressCallback | None = None

    @property
    def replayable(self) -> bool:
        """Whether the bytes can be sent again (a retry after a failed ``PUT``)."""
        if self.kind != "file":
            return True
        seekable = getattr(self.value, "seekable", None)
        return bool(seekable and seekable())

    def probe(self) -> Source:
        """Check that the file exists, measure it and settle its content type.

        Blocking (a stat, and the first MIME lookup reads the system's tables): the async
        client runs it in a worker thread.
        """
        content_type = self.content_type or guess_content_type(self.filename)
        if content_type == _UNKNOWN_TYPE:  # no usable name: the first bytes may say
            content_type = sniff_content_type(self._head()) or content_type
        size, start = self.size, self.start
        if self.kind == "path":
            path = self.value
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise FileNotFoundError(f"cannot upload {path!r}: no such file") from None
            if not _is_regular(st.st_mode):
                raise IsADirectoryError(f"cannot upload {path!r}: it is not a regular file")
            size = st.st_size
        elif self.kind == "file":
            size, start = _measure(self.value)
        return msgspec.structs.replace(self, content_type=content_type, size=size, start=start)

    def _head(self) -> bytes:
        """The first bytes to send, without moving a file object (b"" when it cannot be read
        back: a pipe or a stream that cannot seek)."""
        if self.kind == "bytes":
            return bytes(self.value[:_SNIFF_BYTES])
        if self.kind == "path":
            try:
                with open(self.value, "rb") as fh:
                    return fh.read(_SNIFF_BYTES)
            except OSError:
                return b""  # `probe` reports a missing or unreadable file with its own error
        seekable = getattr(self.value, "seekable", None)
        if not (seekable and seekable()):
            return b""
        position = self.value.tell()
        try:
            head = self.value.read(_SNIFF_BYTES)
        finally:
            self.value.seek(position)
        return head if isinstance(head, bytes) else b""

    def open_chunks(self, chunk_size: int = CHUNK_SIZE) -> ChunkReader:
        """Open the source for reading and return a function giving the next chunk (blocking).

        The function returns ``b""`` at the end and closes what it opened; its ``close()``
        closes it earlier (an upload stopped part way: cancelled, interrupted, failed).
        """
        if self.kind == "bytes":
            view = memoryview(self.value)
            pos = 0

            def next_bytes() -> bytes:
                nonlocal pos
                piece = bytes(view[pos : pos + chunk_size])
                pos += len(piece)
                return piece

            return ChunkReader(next_bytes, _nothing)
        if self.kind == "path":
            handle: IO[bytes] = open(self.value, "rb")  # noqa: SIM115 - closed at EOF below
            owned = True
        else:
            handle = self.value
            owned = False
            if self.replayable:  # a retry must start where the first attempt did
                handle.seek(self.start)
        size = self.size if self.size is not None else -1
        remaining = size
        name = self.filename or "the file"

        def close() -> None:
            if owned:
                handle.close()

        def changed(read: str) -> OSError:
            # Sending other than the announced Content-Length would store a cut file or fail
            # as a protocol error; raised before the body's end, so the PUT is aborted.
            close()
            return OSError(
                f"cannot upload {name!r}: it changed while uploading ({size} bytes when "
                f"measured, {read} when read)"
            )

        def read(count: int) -> bytes:
            piece = handle.read(count)
            if isinstance(piece, str):
                close()
                raise TypeError("cannot upload a text-mode file: open it with 'rb'")
            return piece

        def check_end() -> None:
            # The measured bytes are read: one more byte means the file grew since.
            if read(1):
                raise changed("more")

        unchecked_empty = size == 0  # an empty file is checked on the first read

        def next_file() -> bytes:
            nonlocal remaining, unchecked_empty
            if remaining < 0:  # size unknown: read to the end
                piece = read(chunk_size)
            elif remaining == 0:
                if unchecked_empty:
                    unchecked_empty = False
                    check_end()
                piece = b""
            else:
                piece = read(min(chunk_size, remaining))
                if not piece:
                    raise changed(f"{size - remaining} bytes")  # it shrank
                remaining -= len(piece)
                if remaining == 0:
                    check_end()  # before the last piece goes out
            if not piece:
                close()
            return piece

        return ChunkReader(next_file, close)

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Generator[bytes, None, None]:
        """The bytes in chunks, read as they are sent; reports to ``progress``."""
        report = self.progress
        read = self.open_chunks(chunk_size)
        try:
            done = 0
            if report is not None:
                report(0, self.size)
            while piece := read():
                yield piece
                # Resumed when the transport asks for the next chunk: this one has been sent.
                done += len(piece)
                if report is not None:
                    report(done, self.size)
        finally:
            # An upload stopped part way (a progress callback raised, Ctrl-C, a failed PUT, the
            # transport closing this generator) must not leave the file open until GC.
            _close_reader(read)

    async def aiter_chunks(self, chunk_size: int = CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        """The bytes in chunks; file reads run in a worker thread, off the event loop."""
        if self.kind == "bytes":
            for piece in self.iter_chunks(chunk_size):
                yield piece
            return
        import anyio.to_thread

        report = self.progress
        read = await anyio.to_thread.run_sync(self.open_chunks, chunk_size)
        try:
            done = 0
            if report is not None:
                report(0, self.size)
            while piece := await anyio.to_thread.run_sync(read):
                yield piece
                done += len(piece)
                if report is not None:
                    report(done, self.size)
        finally:
            # Closed here, not in a thread: a cancelled task cannot await one, and closing a
            # file does not block on I/O. The thread's read is never abandoned mid-way (anyio
            # waits for it), so no read races this close.
            _close_reader(read)


class ChunkReader:
    """A source opened for reading: call it for the next chunk (``b""`` at the end, having
    closed what it opened); ``close()`` closes it before the end (idempotent)."""

    __slots__ = ("_close", "_next")

    def __init__(self, next_chunk: Callable[[], bytes], close: Callable[[], None]) -> None:
        self._next = next_chunk
        self._close = close

    def __call__(self) -> bytes:
        return self._next()

    def close(self) -> None:
        """Close the file this reader opened (a file object passed in is left open)."""
        self._close()


def _nothing() -> None:
    return None


def _close_reader(read: Callable[[], bytes]) -> None:
    # Any callable may stand in for a reader (a wrapper that traces reads): close what has
    # a close().
    close = getattr(read, "close", None)
    if close is not None:
        close()


def _measure(fileobj: Any) -> tuple[int, int]:
    """The bytes left in an open file object from its position, and that position."""
    if isinstance(fileobj, io.TextIOBase):
        # Caught before `POST /files`, not after a file record was made for nothing.
        raise TypeError("cannot upload a text-mode file: open it with 'rb'")
    start = _tell(fileobj)
    try:
        st = os.fstat(fileobj.fileno())
    except (AttributeError, OSError, TypeError, ValueError):
        pass  # not backed by a file descriptor (BytesIO, wrappers)
    else:
        # Only a regular file's st_size is its length: a pipe or socket says 0, which would
        # upload an empty file.
        if _is_regular(st.st_mode):
            return st.st_size - start, start
    seekable = getattr(fileobj, "seekable", None)
    if seekable is not None and seekable():
        end = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(start)
        return end - start, start
    raise ValueError(
        "cannot upload a file object whose size is unknown (a pipe, socket or other "
        "non-seekable stream): read it into bytes first"
    )


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _tell(fileobj: Any) -> int:
    try:
        return int(fileobj.tell())
    except (AttributeError, OSError, ValueError):
        return 0


_UNKNOWN_TYPE = "application/octet-stream"
_SNIFF_BYTES = 16


def guess_content_type(filename: str | None) -> str:
    """The MIME type for a file name, or ``application/octet-stream``."""
    if filename:
        import mimetypes

        guessed, _ = mimetypes.guess_type(filename)
        if guessed:
            return guessed
    return _UNKNOWN_TYPE


# Signatures that cannot be mistaken for text: raw image, audio, video and PDF bytes uploaded
# without a name (``files=[f.read()]``) still reach a model as what they are.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"avif": "image/avif",
}


def sniff_content_type(head: bytes) -> str | None:
    """The media type the first bytes of a file announce (a few well-known signatures), or
    ``None``."""
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    if head[:4] == b"RIFF":
        return _RIFF.get(head[8:12])
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "video/mp4")
    return None


def decode_data_uri(uri: str) -> tuple[bytes, str | None]:
    """The bytes and media type of a ``data:`` URI (base64 or percent-encoded).

    Read as browsers read them: the ``base64`` flag (the last parameter) in any case, and
    base64 text that is percent-encoded or wrapped over lines (the ``base64`` tool's output).
    The base64 may use the standard alphabet or the URL-safe one (``-`` and ``_``), not both,
    and its trailing ``=`` padding may be missing or too long. Anything else raises a
    ``ValueError`` that says what is wrong.
    """
    match = re.match(_DATA_URI, uri, re.S)
    if match is None:
        raise ValueError(f"invalid data: URI (expected data:<type>;base64,<data>): {uri[:60]!r}")
    # RFC 2397: the base64 flag is the last parameter (`data:text/plain;charset=utf-8;base64,`).
    params = match["params"]
    payload = match["data"]
    if params and params.rsplit(";", 1)[-1].strip().lower() == "base64":
        data = _decode_base64(payload)
    else:
        data = urllib.parse.unquote_to_bytes(payload)
    return data, match["type"] or None


_BASE64_SPACE = r"[\t\n\v\f\r ]+"  # patterns, not compiled at import (``re`` caches them)
_NOT_BASE64 = r"[^A-Za-z0-9+/]"
_FROM_URLSAFE = str.maketrans("-_", "+/")


def _decode_base64(text: str) -> bytes:
    """Decode a data: URI's base64 text (see ``decode_data_uri`` for what is accepted)."""
    import base64

    if "%" in text:
        text = urllib.parse.unquote(text)
    text = re.sub(_BASE64_SPACE, "", text).rstrip("=")  # padding carries nothing: it is redone
    if "-" in text or "_" in text:
        if "+" in text or "/" in text:
            raise ValueError(
                "invalid base64 in data: URI: it mixes the standard (+ /) and URL-safe (- _) "
                "alphabets"
            )
        text = text.translate(_FROM_URLSAFE)
    if len(text) % 4 != 1:
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            pass
    raise ValueError(f"invalid base64 in data: URI: {_base64_problem(text)}")


def _base64_problem(text: str) -> str:
    """What makes unpadded base64 text undecodable (only worked out once it failed)."""
    bad = re.search(_NOT_BASE64, text)
    if bad is not None:
        char, where = bad.group(), bad.start()
        what = "is padding inside the data" if char == "=" else "is not a base64 character"
        return f"{char!r} at position {where} {what}"
    if len(text) % 4 == 1:
        return (
            f"{len(text)} base64 characters cannot be whole bytes (one is missing or one too many)"
        )
    return "it cannot be decoded"


def source_of(data: Any, options: UploadFileOptions | None = None) -> Source:
    """Classify what ``upload_file`` was given (pure: ``probe`` checks the disk)."""
    opts = options or UploadFileOptions()
    source: Source
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        source = Source("bytes", raw, size=len(raw))
    elif isinstance(data, str) and data.startswith("data:"):
        raw, media = decode_data_uri(data)
        source = Source("bytes", raw, size=len(raw), content_type=media)
    elif isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        source = Source("path", path, filename=os.path.basename(path))
    elif hasattr(data, "read"):
        name = getattr(data, "name", None)
        filename = os.path.basename(name) if isinstance(name, str) else None
        source = Source("file", data, filename=filename)
    else:
        raise TypeError(
            "upload_file expects bytes, a data: URI, a path (str or pathlib.Path) or a binary "
            f"file object, got {type(data).__name__}"
        )
    filename = opts.filename or source.filename
    content_type = opts.content_type or source.content_type  # else guessed by `probe`
    return msgspec.structs.replace(source, filename=filename, content_type=content_type)


# -- auto-upload of task input ------------------------------------------------------------


def _maybe_path(text: str) -> bool:
    """Whether a string is worth checking on disk (it names a path with a directory part)."""
    return (
        0 < len(text) <= _MAX_PATH
        and ("/" in text or os.sep in text)
        and "://" not in text
        and "\n" not in text
        and "\x00" not in text
    )


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ("bytes", bytes(value))
    if isinstance(value, PurePath):
        return ("str", os.fspath(value))  # a Path and its string upload once
    return ("obj", id(value))


def _walk(value: Any, leaf: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, leaf) for v in value]
    if isinstance(value, tuple):
        return [_walk(v, leaf) for v in value]
    return leaf(value)


def is_uploadable(value: Any) -> bool:
    """Whether an input value is uploaded regardless of the path setting."""
    return (
        isinstance(value, (bytes, bytearray, memoryview, PurePath))
        or (isinstance(value, str) and value.startswith("data:"))
        or (not isinstance(value, (str, int, float, bool, type(None))) and hasattr(value, "read"))
    )


def find_uploads(value: Any, upload_paths: bool) -> tuple[dict[Any, Any], list[str]]:
    """The values in ``value`` to upload (by key) and the strings to check on disk."""
    found: dict[Any, Any] = {}
    candidates: list[str] = []

    def visit(item: Any) -> Any:
        if is_uploadable(item):
            found.setdefault(_key(item), item)
        elif upload_paths and isinstance(item, str) and _maybe_path(item):
            candidates.append(item)
        return item

    _walk(value, visit)
    return found, candidates


def is_existing_file(path: str) -> bool:
    """Whether ``path`` is an existing regular file (blocking)."""
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def substitute(value: Any, uris: dict[Any, str]) -> Any:
    """A copy of ``value`` with uploaded values and ``UploadedFile``\\ s replaced by URIs."""

    def leaf(item: Any) -> Any:
        if isinstance(item, UploadedFile):
            return item.uri
        if isinstance(item, (str, bytes, bytearray, memoryview, PurePath)) or hasattr(item, "read"):
            uri = uris.get(_key(item))
            if uri is not None:
                return uri
        return item

    return _walk(value, leaf)
