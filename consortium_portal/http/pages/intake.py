"""The intake pages: upload a photo or scan of a vehicle's paper, review and correct what OCR read next to the
image, see where the DMV's records disagree, and attest (the record is then signed on the attest page, as any).

``/intake`` (upload), ``/intake/{scan_id}`` (review), ``POST /intake/{scan_id}/attest``. Viewing a scan is a read
of a full document: the data-sharing policy decides it and it leaves an access receipt (purpose ``intake review``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import InvalidInputError, PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.render import first_error, form_fields, page, uploaded
from consortium_portal.intake import service
from consortium_portal.intake.fields import DocType
from consortium_portal.intake.ocr import check_engine
from consortium_portal.receipts import Reader

UPLOAD_PATH = "/intake"
"""Takes a multipart image body up to ``PORTAL_MAX_FILE_BYTES`` (app.py)."""
PURPOSE = "intake review"

router = APIRouter(prefix=UPLOAD_PATH, include_in_schema=False)


def _reader(context: PortalContext, principal: Principal) -> Reader:
    block, now = context.head()
    return Reader(principal, PURPOSE, now, block, context.suite.membership.address)


@router.get("", response_class=HTMLResponse)
def intake_form(request: Request, principal: SignedInDep) -> Response:
    return page(request, "intake.html", principal)


@router.post("")
async def intake_upload(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    """Keep and read the uploaded page, then show it for review."""
    try:
        check_engine()
        upload = await uploaded(request, "choose a photo or scan to upload (PNG or JPEG)")
        scanned = service.scan(
            engine=context.engine,
            principal=principal,
            key=context.subject_key,
            content=await upload.read(),
            content_type=upload.content_type or "",
            name=upload.filename or "scan",
        )
    except PortalError as exc:
        return page(request, "intake.html", principal, status=exc.status, error=str(exc))
    return RedirectResponse(f"{UPLOAD_PATH}/{scanned.id}", status_code=303)


@router.get("/{scan_id}", response_class=HTMLResponse)
def intake_review(request: Request, scan_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    try:
        scanned = service.get_scan(
            engine=context.engine, reader=_reader(context, principal), key=context.subject_key, scan_id=scan_id
        )
    except PortalError as exc:
        return page(request, "intake.html", principal, status=exc.status, error=str(exc))
    return _review(request, principal, scanned, scanned.fields.model_dump())


@router.post("/{scan_id}/attest")
async def intake_attest(request: Request, scan_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    """Prepare the reviewed fields as a ``scanned_document`` record; the attest page then signs it."""
    form = await form_fields(request)
    fields: dict[str, Any] = {k: (v.strip() or None) for k, v in form.items() if k != "attest_despite_mismatches"}
    try:
        scanned = service.get_scan(
            engine=context.engine, reader=_reader(context, principal), key=context.subject_key, scan_id=scan_id
        )
    except PortalError as exc:
        return page(request, "intake.html", principal, status=exc.status, error=str(exc))
    try:
        for number in ("amount_cny", "mileage_km"):
            text = (fields.get(number) or "").replace(",", "")
            if text and not text.isdigit():
                raise InvalidInputError(f"{number.replace('_', ' ')} must be a whole number")
            fields[number] = int(text) if text else None
        try:
            review = service.ReviewedFields.model_validate(
                {**fields, "attest_despite_mismatches": form.get("attest_despite_mismatches") == "on"}
            )
        except ValidationError as exc:
            raise InvalidInputError(first_error(exc)) from None
        _block, now = context.head()
        prepared = service.attest_scan(
            engine=context.engine,
            suite=context.suite,
            principal=principal,
            key=context.subject_key,
            scan_id=scan_id,
            review=review,
            now=now,
        )
    except service.DmvMismatchError as exc:
        return _review(
            request, principal, scanned, fields, status=exc.status, error=str(exc), mismatches=exc.mismatches
        )
    except PortalError as exc:
        return _review(request, principal, scanned, fields, status=exc.status, error=str(exc))
    return RedirectResponse(f"/attest/{prepared.attestation.id}", status_code=303)


def _review(
    request: Request,
    principal: Principal,
    scanned: service.ScanResult,
    fields: dict[str, Any],
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    mismatches = extra.pop("mismatches", None)
    if mismatches is None and scanned.cross_check is not None:
        mismatches = scanned.cross_check.mismatches
    return page(
        request,
        "intake.html",
        principal,
        status=status,
        scan=scanned,
        fields=fields,
        doc_types=[t.value for t in DocType],
        mismatches=mismatches or [],
        **extra,
    )
