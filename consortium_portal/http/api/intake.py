"""The intake API (``/api/v1/intake/scans``): upload a page, review what OCR read, attest it; thin routes over
intake/service.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from consortium_portal.http.deps import API, ContextDep, PrincipalDep, ReaderDep, RowId
from consortium_portal.intake import service
from consortium_portal.intake.ocr import check_engine

router = APIRouter(prefix=f"{API}/intake/scans", tags=["intake"])
SCAN_PATH = router.prefix
"""Takes an image body up to ``PORTAL_MAX_FILE_BYTES`` (app.py)."""


@router.post(
    "",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/png", "image/jpeg")},
        }
    },
)
async def scan_page(
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    x_file_name: Annotated[str, Header(max_length=200)] = "scan",
) -> service.ScanResult:
    """A photo or scan of a vehicle's paper (PNG or JPEG in the body, its type in Content-Type): kept off chain,
    read by OCR, its VIN checked and its fields compared with the DMV's records. Review the fields, then attest."""
    check_engine()
    content = await request.body()
    return service.scan(
        engine=context.engine,
        principal=principal,
        key=context.subject_key,
        content=content,
        content_type=request.headers.get("content-type", ""),
        name=x_file_name,
    )


@router.get("/{scan_id}")
def get_scan(scan_id: RowId, reader: ReaderDep, context: ContextDep) -> service.ScanResult:
    """A page this member scanned: what OCR read, the VIN check and the DMV cross-check (a read the data-sharing
    policy decides, with an access receipt)."""
    return service.get_scan(engine=context.engine, reader=reader, key=context.subject_key, scan_id=scan_id)


@router.post("/{scan_id}/attestation", status_code=201)
def attest_scan(
    scan_id: RowId,
    *,
    body: service.ReviewedFields,
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> service.IntakeAttestation:
    """The fields as reviewed: prepared as a ``scanned_document`` record to sign (``POST /api/v1/attestations/{id}/
    signature``). 409 ``dmv_mismatch`` when the DMV's records disagree, unless ``attest_despite_mismatches``: the
    record then carries each mismatch as a flag."""
    _block, now = request.state.head
    return service.attest_scan(
        engine=context.engine,
        suite=context.suite,
        principal=principal,
        key=context.subject_key,
        scan_id=scan_id,
        review=body,
        now=now,
        idempotency_key=idempotency_key,
    )
