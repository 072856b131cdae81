"""``File``: a file input or output of an app, and the async download of input files.

A ``File`` is built from a local path, an ``http(s)`` URL, a ``data:`` URI, a ``file://`` URI or a
dict with ``uri``/``path``. Building one never touches the network. Remote files are fetched by
:func:`resolve_files` (the runtime awaits it on every validated input before app code runs),
:meth:`File.aresolve`, or :meth:`File.resolve` in scripts; downloads land in a cache directory
through a temporary file in the same directory that is renamed into place once complete and synced,
so a half-written file is never visible under its final name. A download that gets no answer or
an error status worth another try (408, 409, 429, 5xx) is tried again per the SDK's one retry
policy, ``inferencesh.core.retry`` (``Retry-After`` honoured, else jittered backoff; three
attempts in all).

Downloads are silent unless asked: pass ``progress=`` (a ``ProgressCallback`` of
``inferencesh.core.progress``, e.g. a ``ProgressBar``) to :meth:`File.aresolve`, a factory to
:func:`resolve_files`, or wrap code that downloads (the runtime, for instance) in
:func:`download_progress`.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import mimetypes
import os
import re
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from inferencesh.apps._atomic import write_atomic
from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

if TYPE_CHECKING:
    import httpx
    from inferencesh.core.progress import ProgressCallback, ProgressFactory

__all__ = ["File", "FileDownloadError", "cache_dir", "download_progress", "resolve_files"]

_CHUNK = 1 << 16
_CONNECT_TIMEOUT = 30.0
_READ_TIMEOUT = 120.0
_USER_AGENT = "inferencesh-apps"
# The shape of a data: URI, checked when a File is built; its content is decoded by core's
# `decode_data_uri` on first access.
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*?),(?P<data>.*)$", re.S)
_FIELDS = ("path", "uri", "content_type", "size", "filename")
# Room for a download's name in the cache: file names are limited to 255 bytes.
_NAME_BYTES = 200
# The progress factory for downloads that were not given a callback (see `download_progress`);
# a context variable, so it reaches the tasks the runtime starts and nothing else.
_PROGRESS: contextvars.ContextVar[ProgressFactory | None] = contextvars.ContextVar(
    "inferencesh_download_progress", default=None
)


class FileDownloadError(RuntimeError):
    """A remote file could not be fetched. ``url`` and ``field`` (when known) say which."""

    def __init__(self, url: str, reason: str, *, field: str | None = None) -> None:
        self.url = url
        self.reason = reason
        self.field = field
        where = f" for field '{field}'" if field else ""
        super().__init__(f"could not download {_redact(url)}{where}: {reason}")

    def with_field(self, field: str) -> FileDownloadError:
        """The same error, naming the input field it belongs to."""
        error = FileDownloadError(self.url, self.reason, field=field)
        error.__cause__ = self.__cause__
        return error


def cache_dir() -> Path:
    """The download cache: ``$INFERENCESH_FILE_CACHE``, else ``$FILE_CACHE_DIR`` (the platform's
    name), else ``~/.cache/inferencesh/files``."""
    configured = os.environ.get("INFERENCESH_FILE_CACHE") or os.environ.get("FILE_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "inferencesh" / "files"


class File:
    """A file given to or returned by an app.

    Inputs arrive as strings or objects and become ``File``\\ s during validation; app code reads
    ``file.path``. Outputs are made with ``File(path="/tmp/out.png")`` (or ``File("/tmp/out.png")``);
    the platform uploads any output file that has a local ``path`` and no ``uri``.

    Attributes: ``uri`` (the remote or data URI, if any), ``content_type``, ``size``, ``filename``,
    and the property ``path`` (the local file).
    """

    __slots__ = ("_path", "content_type", "filename", "size", "uri")

    def __init__(
        self,
        source: str | os.PathLike[str] | dict[str, Any] | File | None = None,
        *,
        uri: str | None = None,
        path: str | os.PathLike[str] | None = None,
        content_type: str | None = None,
        size: int | None = None,
        filename: str | None = None,
        initializer: str | os.PathLike[str] | dict[str, Any] | File | None = None,
    ) -> None:
        if initializer is not None:
            # The published SDK 0.36's name for `source`.
            if source is not None:
                raise TypeError("File() got both `source` and `initializer`; pass one")
            source = initializer
        self.uri: str | None = None
        self._path: str | None = None
        self.content_type = content_type
        self.size = size
        self.filename = filename
        if isinstance(source, File):
            self._copy_from(source)
        elif isinstance(source, dict):
            self._copy_from(File._from_dict(source))
        elif isinstance(source, os.PathLike):
            path = path if path is not None else source
        elif isinstance(source, str):
            uri = uri if uri is not None else source
        elif source is not None:
            raise TypeError(
                f"File() takes a path, a URL, a data: URI, a dict or a File, "
                f"not {type(source).__name__}"
            )
        if path is not None:
            self._path = _local_path(path)
        if uri is not None:
            self._set_uri(uri)
        if self.uri is None and self._path is None:
            raise ValueError("a File needs a 'uri' or a 'path'")
        if self.filename is None:
            self.filename = _basename(self._path) if self._path else _url_basename(self.uri)

    # -- construction helpers -------------------------------------------------------------

    def _copy_from(self, other: File) -> None:
        self.uri = other.uri
        self._path = other._path
        self.content_type = self.content_type or other.content_type
        self.size = self.size if self.size is not None else other.size
        self.filename = self.filename or other.filename

    @staticmethod
    def _from_dict(data: dict[str, Any]) -> File:
        # Unknown keys (a server FileDTO carries id, category, upload_url, ...) are ignored.
        def text(key: str) -> str | None:
            value = data.get(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise ValueError(f"'{key}' must be a string, not {type(value).__name__}")
            return value

        uri = text("uri") or text("url")
        path = text("path")
        if uri is None and path is None:
            raise ValueError("a file object needs a non-empty 'uri' or 'path'")
        size = data.get("size")
        if size in (None, ""):
            size = None
        elif isinstance(size, str) and size.strip().isdigit():
            size = int(size)
        elif isinstance(size, float) and size.is_integer():
            size = int(size)  # a JSON encoder that writes 1024.0
        elif isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"'size' must be a whole number of bytes, not {size!r}")
        return File(
            uri=uri,
            path=path,
            content_type=text("content_type"),
            size=size,
            filename=text("filename"),
        )

    def _set_uri(self, uri: str) -> None:
        uri = uri.strip()
        if not uri:
            raise ValueError("a File needs a non-empty 'uri' or 'path'")
        scheme = urllib.parse.urlsplit(uri).scheme.lower()
        if scheme in ("http", "https"):
            self.uri = uri
        elif scheme == "data":
            match = _DATA_URI.match(uri)
            if match is None:
                raise ValueError("malformed data: URI (expected data:[<type>][;base64],<data>)")
            self.uri = uri
            self.content_type = self.content_type or match["type"] or "text/plain"
        elif scheme == "file":
            parts = urllib.parse.urlsplit(uri)
            if parts.netloc not in ("", "localhost"):
                raise ValueError(f"file:// URI with a remote host is not supported: {uri}")
            from urllib.request import url2pathname  # imported on use: it is slow to import

            self._path = os.path.abspath(url2pathname(parts.path))
        elif len(scheme) > 1:  # one letter is a Windows drive, not a scheme
            raise ValueError(
                f"unsupported file URI scheme {scheme!r} in {_redact(uri)}: give an http(s) URL, "
                "a data: URI, a file:// URI or a local path"
            )
        else:
            self._path = _local_path(uri)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> File:
        """A ``File`` for a local path."""
        return cls(path=path)

    @classmethod
    def get_cache_dir(cls) -> Path:
        """The download cache directory (see :func:`cache_dir`)."""
        return cache_dir()

    # -- state ----------------------------------------------------------------------------

    def is_remote(self) -> bool:
        """True for an ``http(s)`` URL (whether or not it is downloaded yet)."""
        return self.uri is not None and _scheme(self.uri) in ("http", "https")

    def is_local(self) -> bool:
        """True when the file was given as a local path (nothing to fetch)."""
        return self.uri is None

    def is_resolved(self) -> bool:
        """True when :attr:`path` can be read without fetching anything."""
        return self._path is not None

    def exists(self) -> bool:
        """True when the local file exists."""
        return self._path is not None and os.path.exists(self._path)

    @property
    def path(self) -> str:
        """The local file's absolute path.

        A data: URI is decoded on first access. A remote URL must have been fetched already
        (the runtime does this for inputs); outside an event loop it is fetched here, inside one
        this raises and asks for ``await file.aresolve()``, because a blocking download would
        stall every other task on the loop.
        """
        if self._path is None:
            assert self.uri is not None
            if _scheme(self.uri) == "data":
                self._path = str(_write_data_uri(self.uri))
            else:
                cached = _cached_download(self.uri)
                if cached is not None:
                    self._path = str(cached)
                elif _loop_running():
                    raise RuntimeError(
                        f"{_redact(self.uri)} is not downloaded yet; inside async code call "
                        "`await file.aresolve()` (or `await resolve_files(model)`) first"
                    )
                else:
                    self.resolve()
        assert self._path is not None
        return self._path

    @path.setter
    def path(self, value: str | os.PathLike[str]) -> None:
        self._path = _local_path(value)

    def __fspath__(self) -> str:
        return self.path

    # -- resolution -----------------------------------------------------------------------

    async def aresolve(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        progress: ProgressCallback | None = None,
    ) -> File:
        """Make :attr:`path` available without blocking the event loop; returns ``self``.

        Downloads an ``http(s)`` URL into the cache (or reuses the cached copy), decodes a data:
        URI in a worker thread, and checks that a local path exists. Raises
        :class:`FileDownloadError` or :class:`FileNotFoundError` with the URL or path.

        ``progress`` (opt-in) is called with ``(bytes received, total or None)`` while bytes are
        fetched: ``(0, total)`` first, from 0 again on a retry, and ``(size, size)`` last. It is
        not called for a cached copy. An exception it raises aborts the download (nothing is
        left in the cache). Without it, the factory of :func:`download_progress` is used.
        """
        import asyncio

        if self._path is not None:
            # A local input must exist; one stat call does not stall the loop.
            if self.uri is None and not self.exists():
                raise FileNotFoundError(f"no such file: {self._path}")
        else:
            assert self.uri is not None
            if _scheme(self.uri) == "data":
                self._path = str(await asyncio.to_thread(_write_data_uri, self.uri))
            else:
                self._path = str(await _download(self.uri, client, progress))
        self._fill_metadata()
        return self

    def resolve(self, *, progress: ProgressCallback | None = None) -> File:
        """Blocking version of :meth:`aresolve` for scripts; refuses to run inside an event loop."""
        if _loop_running():
            raise RuntimeError(
                "File.resolve() blocks; inside async code use `await file.aresolve()`"
            )
        import asyncio

        return asyncio.run(self.aresolve(progress=progress))

    def refresh_metadata(self) -> None:
        """Re-read ``content_type``, ``size`` and ``filename`` from the local file."""
        self.content_type = self.size = None
        self._fill_metadata()

    def _fill_metadata(self) -> None:
        if self._path is None:
            return
        if self.filename is None:
            self.filename = _basename(self._path)
        if self.content_type is None:
            self.content_type = mimetypes.guess_type(self._path)[0]
        if self.size is None:
            with contextlib.suppress(OSError):
                self.size = os.stat(self._path).st_size

    # -- serialization --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The wire form: ``{"path", "uri", "content_type", "size", "filename"}``, unset keys left out.

        For a local file, a missing ``size`` and ``content_type`` are read from disk at this point,
        so a ``File`` made before its content was written still reports the final size.
        """
        path = self._path
        content_type = self.content_type
        size = self.size
        if path is not None:
            if content_type is None:
                content_type = mimetypes.guess_type(path)[0]
            if size is None:
                with contextlib.suppress(OSError):
                    size = os.stat(path).st_size
        values = (path, self.uri, content_type, size, self.filename)
        return {k: v for k, v in zip(_FIELDS, values, strict=True) if v is not None}

    def __repr__(self) -> str:
        shown = {"uri": _redact(self.uri) if self.uri else None, "path": self._path}
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v is not None)
        return f"File({inner})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, File):
            return NotImplemented
        return (self.uri, self._path) == (other.uri, other._path)

    def __hash__(self) -> int:
        return hash((self.uri, self._path))

    # -- pydantic integration -------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_file,
            serialization=core_schema.plain_serializer_function_ser_schema(
                File.to_dict, return_schema=core_schema.dict_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The platform's form: inputs are URL strings, and its UI renders a file picker for it.
        return {"type": "string", "format": "file"}


def _validate_file(value: Any) -> File:
    if isinstance(value, File):
        return value
    if isinstance(value, str | os.PathLike | dict):
        if (isinstance(value, str) and not value.strip()) or (
            isinstance(value, dict) and not value
        ):
            raise PydanticCustomError(
                "file_empty",
                "empty file value: give a URL, a data: URI, a path or an object with 'uri'/'path'",
            )
        try:
            return File(value)
        except (ValueError, TypeError) as exc:
            raise PydanticCustomError(
                "file_invalid", "invalid file: {reason}", {"reason": str(exc)}
            ) from exc
    raise PydanticCustomError(
        "file_type",
        "a file must be a URL or path string or an object with 'uri'/'path', not {kind}",
        {"kind": type(value).__name__},
    )


# -- resolving every File in a model ------------------------------------------------------


def _walk(value: Any, where: str) -> Iterator[tuple[str, File]]:
    if isinstance(value, File):
        yield where, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name, None), f"{where}.{name}" if where else name)
        for name, extra in (value.__pydantic_extra__ or {}).items():
            yield from _walk(extra, f"{where}.{name}" if where else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")


def iter_files(model: Any) -> Iterator[tuple[str, File]]:
    """Every ``File`` inside ``model`` (nested models, lists, dicts), with its field path."""
    return _walk(model, "")


@contextlib.contextmanager
def download_progress(factory: ProgressFactory | None) -> Iterator[None]:
    """Report downloads made inside this block (and in tasks started from it) to ``factory``.

    ``factory(url)`` returns the progress callback for one download (or ``None``); ``url`` is
    fit to display (a query string, which may hold a signature, reads ``?...``). When the
    callback has a ``close()`` method it is called once the download ends. Use it around code
    that downloads files for you, such as the runtime resolving an app's inputs::

        with download_progress(lambda url: ProgressBar(url)):
            await runner.run(input_value)

    An explicit ``progress=`` argument wins over the factory.
    """
    token = _PROGRESS.set(factory)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


async def resolve_files(
    model: Any, *, concurrency: int = 8, progress: ProgressFactory | None = None
) -> None:
    """Fetch every ``File`` in ``model`` so app code can read ``.path`` without blocking.

    Downloads run concurrently (at most ``concurrency`` at once) over one HTTP client; each URL is
    fetched once even when several fields name it. The first failure cancels the rest and raises
    :class:`FileDownloadError` (or :class:`FileNotFoundError` for a missing local path) naming the
    field, e.g. ``could not download http://.../a.png for field 'context[0].images[1]': HTTP 404``.

    ``progress`` (opt-in) is a factory called with each URL that is actually downloaded (query
    string hidden) and returning its callback, e.g. ``lambda url: ProgressBar(url)``; see
    :func:`download_progress`.
    """
    found = list(iter_files(model))
    if not found:
        return
    if progress is None:
        await _resolve_all(found, concurrency)
    else:
        with download_progress(progress):  # the tasks below copy this context
            await _resolve_all(found, concurrency)


async def _resolve_all(found: list[tuple[str, File]], concurrency: int) -> None:
    import asyncio

    semaphore = asyncio.Semaphore(concurrency)
    by_key: dict[tuple[str | None, str | None], list[tuple[str, File]]] = {}
    for where, file in found:
        by_key.setdefault((file.uri, file._path if file.uri is None else None), []).append(
            (where, file)
        )

    # The HTTP client (and its TLS context) is made only if something must be downloaded.
    client: httpx.AsyncClient | None = None
    client_lock = asyncio.Lock()

    async def shared_client() -> httpx.AsyncClient:
        nonlocal client
        async with client_lock:
            if client is None:
                client = _new_client()
            return client

    async def one(group: list[tuple[str, File]]) -> None:
        where, first = group[0]
        async with semaphore:
            needs_network = (
                first.uri is not None
                and first.is_remote()
                and not first.is_resolved()
                and _cached_download(first.uri) is None
            )
            try:
                await first.aresolve(client=await shared_client() if needs_network else None)
            except FileDownloadError as exc:
                raise exc.with_field(where) from exc.__cause__
            except FileNotFoundError as exc:
                raise FileNotFoundError(f"{exc} (field '{where}')") from exc
            except ValueError as exc:  # a data: URI that does not decode
                raise ValueError(f"{exc} (field '{where}')") from exc
        for _, other in group[1:]:
            if other is not first:
                other._path = first._path
                other._fill_metadata()

    tasks = [asyncio.ensure_future(one(group)) for group in by_key.values()]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if client is not None:
            await client.aclose()
    for task in tasks:
        if task in done and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


# -- downloads ----------------------------------------------------------------------------


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def _cached_download(url: str) -> Path | None:
    folder = cache_dir() / _url_key(url)
    try:
        names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    except OSError:
        return None
    if not names:
        return None
    found = folder / names[0]
    with contextlib.suppress(OSError):
        os.utime(found)  # the platform expires cached inputs by last use
    return found


async def _download(
    url: str, client: httpx.AsyncClient | None, progress: ProgressCallback | None
) -> Path:
    cached = _cached_download(url)
    if cached is not None:
        return cached
    made = None
    if progress is None:
        factory = _PROGRESS.get()
        # The query string may hold a signature: the factory gets a URL fit to display.
        progress = made = factory(_redact(url)) if factory is not None else None
    try:
        if client is None:
            async with _new_client() as own:
                return await _download_with_retries(url, own, progress)
        return await _download_with_retries(url, client, progress)
    finally:
        close = getattr(made, "close", None)
        if callable(close):
            close()


def _new_client() -> httpx.AsyncClient:
    import httpx  # imported on first download: it is the bulk of this module's import time

    return httpx.AsyncClient(
        timeout=httpx.Timeout(_READ_TIMEOUT, connect=_CONNECT_TIMEOUT),
        follow_redirects=True,
        headers={"User-Agent": _USER_AGENT},
    )


async def _download_with_retries(
    url: str, client: httpx.AsyncClient, progress: ProgressCallback | None
) -> Path:
    # The SDK's one retry policy (statuses, Retry-After, jittered backoff, how many retries).
    import asyncio

    from inferencesh.core.retry import RetryState

    state = RetryState()
    while True:
        try:
            return await _download_once(url, client, progress)
        except _Retryable as exc:
            if exc.status is None:
                delay = state.delay_after_error()
            else:
                delay = state.delay_after_status(exc.status, exc.headers)
            if delay is None:
                attempts = f"{state.attempt + 1} attempt{'' if state.attempt == 0 else 's'}"
                raise FileDownloadError(url, f"{exc.reason} (after {attempts})") from exc.__cause__
            await asyncio.sleep(delay)


class _Retryable(Exception):
    """A failed attempt that the retry policy may try again: an error status (``status`` and
    ``headers``, for ``Retry-After``) or no answer at all (``status`` None)."""

    def __init__(
        self, reason: str, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.headers: Mapping[str, str] = headers if headers is not None else {}


async def _download_once(
    url: str, client: httpx.AsyncClient, progress: ProgressCallback | None
) -> Path:
    import asyncio
    import tempfile

    import httpx
    from inferencesh.core.retry import status_retryable

    folder = cache_dir() / _url_key(url)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        try:
            async with client.stream("GET", url) as response:
                status = response.status_code
                if status >= 400:
                    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
                    if status_retryable(status, response.headers):
                        raise _Retryable(reason, status, response.headers)
                    raise FileDownloadError(url, reason)
                total = _content_length(response) if progress is not None else None
                if progress is not None:
                    progress(0, total)
                with os.fdopen(fd, "wb") as out:
                    fd = -1
                    async for chunk in response.aiter_bytes(_CHUNK):
                        out.write(chunk)
                        if progress is not None:
                            # Bytes off the wire, comparable with Content-Length when the
                            # body is compressed.
                            progress(response.num_bytes_downloaded, total)
                    await asyncio.to_thread(_sync_file, out)
                received = response.num_bytes_downloaded
                if progress is not None and received != total:
                    progress(received, received)  # the size is known now
                name = _final_name(url, response)
        except httpx.TransportError as exc:
            raise _Retryable(
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ) from exc
        final = folder / name
        os.replace(tmp_name, final)
        tmp_name = ""
        await asyncio.to_thread(_fsync_dir, folder)
        return final
    finally:
        if fd != -1:
            os.close(fd)
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _content_length(response: httpx.Response) -> int | None:
    try:
        length = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


def _final_name(url: str, response: httpx.Response) -> str:
    name = _url_basename(url) or "download"
    if not os.path.splitext(name)[1]:
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        name += _extension(content_type) if content_type else ""
    return _fit_name(name)


def _fit_name(name: str, limit: int = _NAME_BYTES) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode()) <= limit:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension.encode()) > 16:
        stem, extension = name, ""
    room = limit - len(extension.encode())
    return stem.encode()[:room].decode(errors="ignore") + extension


def _write_data_uri(uri: str) -> Path:
    # Core's decoder is the one reading of data: URIs (alphabets, padding, percent-encoding).
    from inferencesh.core.files import decode_data_uri

    content, media_type = decode_data_uri(uri)
    folder = cache_dir() / "data_uri" / _url_key(uri)
    final = folder / f"file{_extension(media_type or 'text/plain')}"
    if final.exists():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(final, content, durable=True)
    return final


def _extension(content_type: str) -> str:
    """The file extension for a MIME type, or ``""``; ``.jpg`` rather than Python's ``.jpe``."""
    extension = mimetypes.guess_extension(content_type) or ""
    return ".jpg" if extension == ".jpe" else extension


def _sync_file(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _fsync_dir(folder: Path) -> None:
    # Makes the rename durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- small helpers ------------------------------------------------------------------------


def _scheme(uri: str) -> str:
    return urllib.parse.urlsplit(uri).scheme.lower()


def _loop_running() -> bool:
    # A running loop implies asyncio is imported; this keeps asyncio off the import path.
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _local_path(path: str | os.PathLike[str]) -> str:
    """An absolute local path; ``~`` expands the same way in every form a path arrives in."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _basename(path: str | None) -> str | None:
    return os.path.basename(path) or None if path else None


def _url_basename(uri: str | None) -> str | None:
    if not uri or _scheme(uri) not in ("http", "https"):
        return None
    name = urllib.parse.unquote(urllib.parse.urlsplit(uri).path.rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f/\\]", "_", name).lstrip(".")
    return _fit_name(name) or None


def _redact(url: str | None) -> str:
    """A URL fit for messages: data: payloads and query strings (signatures) left out."""
    if not url:
        return ""
    if url[:5].lower() == "data:":
        return url.split(",", 1)[0] + ",..."
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(
        parts._replace(query="...", fragment="") if parts.query else parts._replace(fragment="")
    )
