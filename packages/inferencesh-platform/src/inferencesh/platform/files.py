"""File storage: bytes on disk under the data directory, records in SQLite.

``POST /files`` creates a record and returns a presigned-style ``upload_url`` on this server;
the client ``PUT``s the bytes there, and the content is served at the record's ``uri``, a signed
URL that workers and clients can fetch without the API key. Disk names are the server's own ids:
nothing in a request ever becomes a filesystem path.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import shutil
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from inferencesh.core.requests import FILE_CATEGORIES, PartialFile
from inferencesh.core.types import Task
from inferencesh.platform.auth import Signer
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.ids import new_id, now_iso
from inferencesh.platform.serving import content_type as checked_type
from inferencesh.platform.serving import file_name
from inferencesh.platform.store import Store

__all__ = ["CATEGORIES", "TASK_FILE_ROLES", "FileStore"]

CATEGORIES = FILE_CATEGORIES
TASK_FILE_ROLES = ("input", "output")
_ID_RE = re.compile(r"^[0-9a-z]{26}$")
_DOWNLOAD_PATH_RE = re.compile(r"/storage/files/([0-9a-z]{26})/[^/]*$")
_safe_filename = file_name


class FileStore:
    """Stores file bytes under ``root`` and hands out signed upload and download URLs."""

    def __init__(
        self, root: Path, store: Store, signer: Signer, *, max_upload_bytes: int, url_ttl: float
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._tmp = root / ".incoming"
        self._tmp.mkdir(exist_ok=True, mode=0o700)
        self._store = store
        self._signer = signer
        self.max_upload_bytes = max_upload_bytes
        self._url_ttl = url_ttl
        self.base_url = ""

    def recover(self) -> int:
        """Delete partial uploads a previous server left (killed mid-upload); returns how many.

        Call at start-up, before any upload is received.
        """
        count = 0
        for path in self._tmp.iterdir():
            path.unlink(missing_ok=True)
            count += 1
        return count

    # URLs
    def _download_url(self, file_id: str, filename: str) -> str:
        sig = self._signer.sign(f"GET:{file_id}")
        return f"{self.base_url}/storage/files/{file_id}/{urllib.parse.quote(filename)}?sig={sig}"

    def _upload_url(self, file_id: str) -> str:
        expires = int(time.time() + self._url_ttl)
        sig = self._signer.sign(f"PUT:{file_id}:{expires}")
        return f"{self.base_url}/storage/upload/{file_id}?expires={expires}&sig={sig}"

    def check_download(self, file_id: str, sig: str) -> dict[str, Any]:
        """The record behind a download URL, or 403/404."""
        if not _ID_RE.match(file_id) or not self._signer.verify(f"GET:{file_id}", sig):
            raise PlatformError(403, "forbidden", "invalid or missing signature on this file URL")
        record = self._store.get_file(file_id)
        if record is None or not self.path_of(file_id).is_file():
            raise PlatformError.not_found(
                f"file {file_id} has no content (not uploaded yet, or deleted)"
            )
        return record

    def path_of(self, file_id: str) -> Path:
        """Where the bytes of a (validated) file id live."""
        if not _ID_RE.match(file_id):
            raise PlatformError.not_found(f"no file {file_id!r}")
        return self.root / file_id

    def public(self, record: dict[str, Any], *, with_upload_url: bool = False) -> dict[str, Any]:
        """The FileDTO sent to clients (``upload_url`` only right after creation)."""
        doc = dict(record)
        doc["uri"] = self._download_url(record["id"], record["filename"])
        if with_upload_url:
            doc["upload_url"] = self._upload_url(record["id"])
        return doc

    # operations
    def create(self, spec: PartialFile, category: str) -> dict[str, Any]:
        """Create a record for an upload described by a ``PartialFile`` (decoded, so its rules
        hold) and return its FileDTO."""
        size = spec.size
        if size is not None and size > self.max_upload_bytes:
            raise PlatformError(
                413,
                "payload_too_large",
                f"file of {size} bytes exceeds the upload limit of {self.max_upload_bytes} bytes",
            )
        file_id = new_id()
        filename = _safe_filename(spec.filename, file_id)
        content_type = checked_type(spec.content_type)
        if spec.content_type and content_type is None:
            raise PlatformError.bad_request(
                f"`content_type` must be a plain type/subtype, got {spec.content_type!r}"
            )
        if not content_type:
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stamp = now_iso()
        remote = spec.path
        record: dict[str, Any] = {
            "id": file_id,
            "created_at": stamp,
            "updated_at": stamp,
            "filename": filename,
            "content_type": content_type,
            "size": size or 0,
            "category": category,
            # The client's path is only a label on the record; it is never used on disk.
            "remote_path": remote if isinstance(remote, str) else None,
            "path": remote if isinstance(remote, str) else None,
            "uploaded": False,
        }
        self._store.put_file(record)
        return self.public(record, with_upload_url=True)

    async def receive(
        self,
        file_id: str,
        expires: str,
        sig: str,
        chunks: AsyncIterator[bytes],
        content_type: str | None,
    ) -> dict[str, Any]:
        """Write an upload's bytes (bounded by the limit) and mark the record uploaded."""
        if (
            not _ID_RE.match(file_id)
            or not expires.isdigit()
            or not self._signer.verify(f"PUT:{file_id}:{expires}", sig)
        ):
            raise PlatformError(403, "forbidden", "invalid or missing signature on this upload URL")
        if int(expires) < time.time():
            raise PlatformError(
                403, "forbidden", "this upload URL has expired; create the file again"
            )
        record = self._store.get_file(file_id)
        if record is None:
            raise PlatformError.not_found(f"no file {file_id}")
        tmp = self._tmp / f"{file_id}.{new_id()}"
        size = 0
        try:
            with os.fdopen(
                os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
            ) as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_upload_bytes:
                        raise PlatformError(
                            413,
                            "payload_too_large",
                            f"upload exceeds the limit of {self.max_upload_bytes} bytes",
                        )
                    handle.write(chunk)
            os.replace(tmp, self.path_of(file_id))
        finally:
            tmp.unlink(missing_ok=True)
        record.update(size=size, uploaded=True, updated_at=now_iso())
        kind = checked_type(content_type)
        if kind and record.get("content_type") in (None, "", "application/octet-stream"):
            record["content_type"] = kind
        self._store.put_file(record)
        return self.public(record)

    async def store_local(
        self,
        source: Path,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        category: str = "outputs",
    ) -> dict[str, Any]:
        """Copy a local file (an app's output) into storage; returns its FileDTO."""
        file_id = new_id()
        name = _safe_filename(filename or source.name, file_id)
        tmp = self._tmp / f"{file_id}.{new_id()}"
        try:
            await asyncio.to_thread(shutil.copyfile, source, tmp)
            tmp.chmod(0o600)
            os.replace(tmp, self.path_of(file_id))
        finally:
            tmp.unlink(missing_ok=True)
        stamp = now_iso()
        try:
            record: dict[str, Any] = {
                "id": file_id,
                "created_at": stamp,
                "updated_at": stamp,
                "filename": name,
                "content_type": checked_type(content_type)
                or mimetypes.guess_type(name)[0]
                or "application/octet-stream",
                "size": self.path_of(file_id).stat().st_size,
                "category": category,
                "uploaded": True,
            }
            self._store.put_file(record)
        except BaseException:
            self.path_of(file_id).unlink(missing_ok=True)  # bytes without a record: unreachable
            raise
        return self.public(record)

    def get(self, file_id: str) -> dict[str, Any]:
        """The FileDTO of a file id, or 404."""
        record = self._store.get_file(file_id) if _ID_RE.match(file_id) else None
        if record is None:
            raise PlatformError.not_found(f"no file {file_id!r}")
        return self.public(record)

    def delete(self, file_id: str) -> None:
        """Delete a file's bytes and record, or 404.

        The bytes go first: when they cannot be removed (a disk error), the record is kept, so
        the file stays listed and the delete can be tried again, and the error (500) says which
        file and why. (Record first would leave bytes no request can reach again.)
        """
        if not _ID_RE.match(file_id) or self._store.get_file(file_id) is None:
            raise PlatformError.not_found(f"no file {file_id!r}")
        try:
            self.path_of(file_id).unlink(missing_ok=True)
        except OSError as exc:
            raise PlatformError(
                500,
                "internal_error",
                f"file {file_id}: could not delete its content ({exc.strerror or exc}); it is kept",
            ) from exc
        self._store.delete_file(file_id)

    # a task's files: the stored files its input and output reference by uri
    def id_of(self, uri: str) -> str | None:
        """The id of the file a download URL of this store names, or None for any other text.

        The signature is checked, so only URLs this server handed out count (the host is not:
        the same data directory may have been served on another port).
        """
        parts = urllib.parse.urlsplit(uri)
        match = _DOWNLOAD_PATH_RE.search(parts.path)
        if match is None:
            return None
        sig = urllib.parse.parse_qs(parts.query).get("sig", [""])[0]
        return match.group(1) if self._signer.verify(f"GET:{match.group(1)}", sig) else None

    def task_files(self, task: Task, role: str | None = None) -> list[dict[str, Any]]:
        """The stored files ``task`` consumed (role ``input``) and produced (``output``) that
        still exist, as TaskFileDTO records: ``{id, created_at, role, uri, filename,
        content_type, size}``; ``role`` keeps one side only."""
        out: list[dict[str, Any]] = []
        for side in TASK_FILE_ROLES if role is None else (role,):
            seen: set[str] = set()
            for uri in _strings(task.get(side)):
                file_id = self.id_of(uri)
                record = self._store.get_file(file_id) if file_id and file_id not in seen else None
                if record is None:
                    continue
                seen.add(record["id"])
                doc = self.public(record)
                keys = ("id", "created_at", "uri", "filename", "content_type", "size")
                out.append({"role": side, **{k: doc.get(k) for k in keys}})
        return out

    def delete_task_files(self, task: Task, role: str | None = None) -> dict[str, list[Any]]:
        """Delete the files :meth:`task_files` lists, even those other tasks also use:
        ``{deleted: [id, ...], skipped: [{id, reason}, ...]}`` (skipped: could not be deleted,
        and kept; see :meth:`delete`)."""
        deleted: list[str] = []
        skipped: list[dict[str, str]] = []
        tried: set[str] = set()
        for item in self.task_files(task, role):
            if item["id"] in tried:
                continue  # one file both read and written by the task
            tried.add(item["id"])
            try:
                self.delete(item["id"])
            except PlatformError as exc:
                skipped.append({"id": item["id"], "reason": exc.message})
            else:
                deleted.append(item["id"])
        return {"deleted": deleted, "skipped": skipped}


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value, in order (keys excluded); a loop, not recursion, so
    a record nested however deep is read."""
    out: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))
    return out
