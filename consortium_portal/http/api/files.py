"""Files to attest (``/api/v1/files``): keeping one, and reading it back; thin routes over files.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from consortium_portal import files
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, ReaderDep

router = APIRouter(prefix=f"{API}/files", tags=["attest"])
UPLOAD_PATH = router.prefix
"""Takes a body up to ``PORTAL_MAX_FILE_BYTES`` (app.py)."""


@router.post(
    "",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in files.SIGNATURES},
        }
    },
)
async def upload_file(
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    x_file_name: Annotated[str, Header(max_length=200)] = "",
) -> files.FilePublic:
    """Keep a file (PDF, PNG, JPEG; its type in Content-Type, its name in X-File-Name) to attest as a
    ``vehicle_document`` by its digest."""
    content = await request.body()
    return files.upload(
        engine=context.engine,
        principal=principal,
        name=x_file_name,
        content_type=request.headers.get("content-type", ""),
        content=content,
    )


@router.get("/{digest}")
def download_file(digest: str, reader: ReaderDep, context: ContextDep) -> Response:
    """A kept file, by default for its member and a bank lending on (or the agency assigned to) a vehicle whose
    record names it; every read leaves an access receipt."""
    row = files.download(engine=context.engine, reader=reader, digest=digest)
    return Response(
        content=row.content,
        media_type=row.content_type,
        headers={"Content-Disposition": f'attachment; filename="{row.digest[2:14]}"'},
    )
