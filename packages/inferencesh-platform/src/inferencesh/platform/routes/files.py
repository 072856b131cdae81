"""File routes: create file records, read, list and delete them, and the signed storage URLs
that take uploads and serve content (no API key there: the URL's signature is the grant)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferencesh.core.requests import FileCreateRequest
from inferencesh.platform import wire
from inferencesh.platform.limits import check_entries
from inferencesh.platform.responses import ok, read_json, read_request
from inferencesh.platform.routes.paging import page_body, read_page
from inferencesh.platform.serving import SERVE_HEADERS, content_type, disposition
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from inferencesh.platform.server import Platform

__all__ = ["FileRoutes"]


class FileRoutes:
    """The file handlers over one platform; each handler's docstring is its OpenAPI summary."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.files = platform.files
        self.config = platform.config

    def routes(self) -> list[BaseRoute]:
        """The routes, in the order they are matched."""
        return [
            Route("/files", self.create_files, methods=["POST"]),
            Route("/files/list", self.list_files, methods=["POST"]),
            Route("/files/{file_id}", self.get_file, methods=["GET"]),
            Route("/files/{file_id}", self.delete_file, methods=["DELETE"]),
            Route("/storage/upload/{file_id}", self.upload, methods=["PUT"]),
            Route("/storage/files/{file_id}/{name}", self.download, methods=["GET"]),
        ]

    async def create_files(self, request: Request) -> Response:
        """Create file records ({files: [PartialFile], category?}); each gets an `upload_url`."""
        body = await read_request(request, FileCreateRequest, self.config.max_request_bytes)
        check_entries(
            "files", body.files, self.config.max_files_per_request, "--max-files-per-request"
        )
        category = body.category or "uploads"
        out = [wire.file(self.files.create(spec, category)) for spec in body.files]
        return ok(request, out)

    async def get_file(self, request: Request) -> Response:
        """A file record (FileDTO) with its `uri`."""
        return ok(request, wire.file(self.files.get(request.path_params["file_id"])))

    async def delete_file(self, request: Request) -> Response:
        """Delete a file and its bytes."""
        self.files.delete(request.path_params["file_id"])
        return ok(request, None, 204)

    async def list_files(self, request: Request) -> Response:
        """Files, newest first."""
        store = self.platform.store
        body = await read_json(request, self.config.max_request_bytes) or {}
        limit, offset = read_page(body, request)
        items = [wire.file(self.files.public(r)) for r in store.list_files(limit + 1, offset)]
        return ok(request, page_body(items, limit, offset, store.count_files()))

    async def upload(self, request: Request) -> Response:
        """Presigned-style upload target: PUT the raw bytes (no API key; the URL is signed)."""
        q = request.query_params
        record = await self.files.receive(
            request.path_params["file_id"],
            q.get("expires", ""),
            q.get("sig", ""),
            request.stream(),
            request.headers.get("content-type"),
        )
        return ok(request, wire.file(record))

    async def download(self, request: Request) -> Response:
        """A stored file's content at its signed `uri`."""
        file_id = request.path_params["file_id"]
        record = self.files.check_download(file_id, request.query_params.get("sig", ""))
        # A record stored before types were checked may hold anything: serve it as bytes.
        kind = content_type(record.get("content_type")) or "application/octet-stream"
        return FileResponse(
            self.files.path_of(file_id),
            media_type=kind,
            filename=record.get("filename"),
            content_disposition_type=disposition(kind),
            headers=SERVE_HEADERS,
        )
