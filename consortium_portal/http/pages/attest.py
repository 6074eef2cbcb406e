"""The attest pages (``/attest``): a record prepared from a form, where it stands, signed on the server as a dev
account on a dev chain (else by the member's wallet), and a file uploaded to attest as a ``vehicle_document``."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consortium_portal import attest, files
from consortium_portal.errors import InvalidInputError, PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.pages.wallet import dev_keys, dev_signing
from consortium_portal.http.render import form_fields, page, uploaded
from consortium_portal.kinds import CATALOGUE
from node_adapter.clients import role_names

router = APIRouter(prefix="/attest", include_in_schema=False)
UPLOAD = "/file"
UPLOAD_PATH = router.prefix + UPLOAD
"""Takes a multipart body up to ``PORTAL_MAX_FILE_BYTES`` (app.py)."""


@router.get("", response_class=HTMLResponse)
def attest_form(request: Request, principal: SignedInDep) -> Response:
    kinds = [{"kind": s.kind, "name": s.name, "roles": role_names(int(s.roles))} for s in CATALOGUE.values()]
    return page(request, "attest.html", principal, kinds=kinds)


@router.post("")
async def attest_submit(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    form = await form_fields(request)
    kinds = [{"kind": s.kind, "name": s.name, "roles": role_names(int(s.roles))} for s in CATALOGUE.values()]
    try:
        try:
            record = json.loads(form.get("record", ""))
        except ValueError:
            raise InvalidInputError("the record is not JSON") from None
        kind = form.get("kind", "")
        if not kind.isdigit() or not isinstance(record, dict):
            raise InvalidInputError("choose a kind and give the record as a JSON object")
        _block, now = context.head()
        prepared = attest.prepare(
            engine=context.engine,
            suite=context.suite,
            principal=principal,
            request=attest.AttestRequest(vin=form.get("vin", ""), kind=int(kind), record=record),
            key=context.subject_key,
            now=now,
        )
    except PortalError as exc:
        return page(request, "attest.html", principal, status=exc.status, kinds=kinds, error=str(exc))
    return RedirectResponse(f"/attest/{prepared.id}", status_code=303)


@router.get("/{document_id}", response_class=HTMLResponse)
def attest_status(request: Request, document_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    try:
        prepared = attest.status(
            engine=context.engine,
            suite=context.suite,
            outbox=context.runtime.outbox,
            principal=principal,
            document_id=document_id,
        )
    except PortalError as exc:
        return page(request, "attest.html", principal, status=exc.status, kinds=[], error=str(exc))
    return page(request, "attest.html", principal, prepared=prepared, dev=dev_signing(context))


@router.post("/{document_id}/dev-sign")
def attest_dev_sign(request: Request, document_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    keys = dev_keys()
    if not dev_signing(context) or principal.account not in keys:
        return page(
            request,
            "attest.html",
            principal,
            status=403,
            kinds=[],
            error="signing on the server exists only for dev accounts on a local dev chain",
        )
    try:
        _block, now = context.head()
        attest.sign_and_relay(
            engine=context.engine,
            suite=context.suite,
            outbox=context.runtime.outbox,
            relayer=context.relayer.address,
            principal=principal,
            document_id=document_id,
            private_key=keys[principal.account],
            now=now,
        )
    except PortalError as exc:
        return page(request, "attest.html", principal, status=exc.status, kinds=[], error=str(exc))
    return RedirectResponse(f"/attest/{document_id}", status_code=303)


@router.post(UPLOAD)
async def attest_file(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    """Keep an uploaded file, then offer the ``vehicle_document`` record that names it, ready to prepare."""
    kinds = [{"kind": s.kind, "name": s.name, "roles": role_names(int(s.roles))} for s in CATALOGUE.values()]
    try:
        upload = await uploaded(request, "choose a file to upload (a PDF, PNG or JPEG)")
        kept = files.upload(
            engine=context.engine,
            principal=principal,
            name=upload.filename or "",
            content_type=upload.content_type or "",
            content=await upload.read(),
        )
    except PortalError as exc:
        return page(request, "attest.html", principal, status=exc.status, kinds=kinds, error=str(exc))
    document = next(s for s in CATALOGUE.values() if s.name == "vehicle_document")
    record = {"title": kept.name, "issued_on": "", "file_digest": kept.digest, "content_type": kept.content_type}
    return page(
        request,
        "attest.html",
        principal,
        kinds=kinds,
        file=kept,
        kind=document.kind,
        record=json.dumps(record, indent=2),
    )
