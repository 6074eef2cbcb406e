"""The portal's web pages: server-rendered (Jinja2), a few lines of JavaScript only for wallet signatures.

Pages use the same services as the API and the same session cookie. On a local dev chain (chain ids 31337, 1337) and
with ``PORTAL_DEV_SIGNING`` on, a visitor may sign in as one of the chain's dev accounts and sign with its key on the
server: those keys come from the public test mnemonic and exist only on dev chains; anywhere else the pages ask the
member's wallet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.crypto import keccak
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from consortium_portal import applications, attest, auth, board, case_actions, files, oracle_view, proposals, records
from consortium_portal.api import SESSION_COOKIE, RowId, get_context, get_principal
from consortium_portal.app import PortalContext
from consortium_portal.auth import Principal
from consortium_portal.errors import InvalidInputError, PortalError
from consortium_portal.kinds import CATALOGUE
from consortium_portal.risk_view import latest_by_subject, verify_values
from consortium_portal.vehicles import subject_of, vehicle_report
from node_adapter.clients import STANDARD_TERMS, ContractClient, LoanTerms, RevokeReason, role_names
from node_adapter.dev.devchain import DEV_WALLET_SIZE
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import ContractRevert
from node_adapter.settings import DEV_CHAIN_IDS

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
router = APIRouter(include_in_schema=False)


def _dev(context: PortalContext) -> bool:
    return context.settings.dev_signing and context.connection.chain_id in DEV_CHAIN_IDS


def _principal(request: Request, context: PortalContext) -> Principal | None:
    try:
        return get_principal(request, context, authorization=None, x_api_key=None)
    except PortalError:
        return None


def _page(request: Request, name: str, principal: Principal | None, status: int = 200, **values: Any) -> HTMLResponse:
    me = {"member_id": principal.member_id, "roles": principal.role_names} if principal else None
    return templates.TemplateResponse(request, name, {"me": me, **values}, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    context = get_context(request)
    if _principal(request, context) is not None:
        return RedirectResponse("/verify", status_code=303)
    accounts = []
    if _dev(context):
        for index, account in enumerate(dev_accounts(DEV_WALLET_SIZE, DEV_MNEMONIC)):
            roles = context.suite.membership.authorize(account.address).roles
            accounts.append({"index": index, "address": account.address, "roles": ", ".join(role_names(roles)) or "-"})
    return _page(request, "sign_in.html", None, dev_accounts=accounts)


@router.post("/dev/sign-in")
async def dev_sign_in(request: Request) -> Response:
    context = get_context(request)
    if not _dev(context):
        return _page(request, "sign_in.html", None, status=403, error="dev sign-in exists only on a local dev chain")
    form = await _form(request)
    index = int(form.get("account", "-1")) if form.get("account", "").isdigit() else -1
    if not 0 <= index < DEV_WALLET_SIZE:
        return _page(request, "sign_in.html", None, status=422, error="choose one of the dev accounts")
    key = dev_accounts(DEV_WALLET_SIZE, DEV_MNEMONIC)[index].private_key
    account = Account.from_key(key)
    challenge = context.challenge(account.address)
    signature = "0x" + account.sign_message(encode_defunct(text=challenge.message)).signature.hex()
    try:
        token, _session, _member, _roles = auth.sign_in(
            engine=context.engine,
            authorize=context.suite.membership.authorize,
            message=challenge.message,
            signature=signature,
            session_ttl=context.settings.session_ttl,
        )
    except PortalError as exc:
        return _page(request, "sign_in.html", None, status=exc.status, error=str(exc))
    response = RedirectResponse("/verify", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=context.settings.session_ttl, httponly=True, samesite="lax")
    return response


@router.get("/sign-out")
def sign_out(request: Request) -> Response:
    context = get_context(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.sign_out(engine=context.engine, token=token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/verify", response_class=HTMLResponse)
def verify(request: Request, vin: str | None = None) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    if not vin:
        return _page(request, "verify.html", principal)
    try:
        _block, now = context.head()
        report = vehicle_report(
            engine=context.engine, vin=vin, key=context.subject_key, now=now, indexer=context.indexer_name
        )
    except PortalError as exc:
        return _page(request, "verify.html", principal, status=exc.status, vin=vin, error=str(exc))
    risk = verify_values(engine=context.engine, suite=context.suite, vin=vin, key=context.subject_key)
    return _page(request, "verify.html", principal, vin=report.vin, report=report, **risk)


@router.get("/attest", response_class=HTMLResponse)
def attest_form(request: Request) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    kinds = [{"kind": s.kind, "name": s.name, "roles": role_names(int(s.roles))} for s in CATALOGUE.values()]
    return _page(request, "attest.html", principal, kinds=kinds)


@router.post("/attest")
async def attest_submit(request: Request) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    form = await _form(request)
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
        return _page(request, "attest.html", principal, status=exc.status, kinds=kinds, error=str(exc))
    return RedirectResponse(f"/attest/{prepared.id}", status_code=303)


@router.get("/attest/{document_id}", response_class=HTMLResponse)
def attest_status(request: Request, document_id: RowId) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    try:
        prepared = attest.status(
            engine=context.engine,
            suite=context.suite,
            outbox=context.runtime.outbox,
            principal=principal,
            document_id=document_id,
        )
    except PortalError as exc:
        return _page(request, "attest.html", principal, status=exc.status, kinds=[], error=str(exc))
    return _page(request, "attest.html", principal, prepared=prepared, dev=_dev(context))


@router.post("/attest/{document_id}/dev-sign")
def attest_dev_sign(request: Request, document_id: RowId) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    keys = _dev_keys()
    if not _dev(context) or principal.account not in keys:
        return _page(
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
        return _page(request, "attest.html", principal, status=exc.status, kinds=[], error=str(exc))
    return RedirectResponse(f"/attest/{document_id}", status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def cases(request: Request) -> Response:
    return _cases_page(request, None)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: RowId) -> Response:
    return _cases_page(request, case_id)


@router.get("/points", response_class=HTMLResponse)
def points_page(request: Request, member: int | None = None) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    values: dict[str, Any] = {
        "board": board.leaderboard(engine=context.engine, limit=100),
        "rules": board.reward_rules(engine=context.engine, suite=context.suite),
    }
    try:
        if member is not None:
            values["member"] = board.member_points(engine=context.engine, member_id=member)
    except PortalError as exc:
        return _page(request, "points.html", principal, status=exc.status, error=str(exc), **values)
    return _page(request, "points.html", principal, **values)


@router.get("/points/{member_id}", response_class=HTMLResponse)
def member_points_page(request: Request, member_id: RowId) -> Response:
    return points_page(request, member_id)


@router.get("/oracle", response_class=HTMLResponse)
def oracle_page(request: Request, vin: str | None = None) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    feeds = oracle_view.feeds(engine=context.engine)
    try:
        charts = []
        if vin:
            _vin, subject = subject_of(vin, context.subject_key)
            charts = [
                _chart(series)
                for series in oracle_view.valuations(engine=context.engine, suite=context.suite, subject=subject)
            ]
    except PortalError as exc:
        return _page(
            request, "oracle.html", principal, status=exc.status, feeds=feeds, charts=[], vin=vin, error=str(exc)
        )
    return _page(request, "oracle.html", principal, feeds=feeds, charts=charts, vin=vin)


def _chart(series: oracle_view.LoanValuations, width: int = 600, height: int = 200) -> dict[str, Any]:
    """An SVG line of the published medians, with the band around the baseline shaded (drawn in the template)."""
    medians = [p for p in series.points if p.median]
    values = [p.value for p in medians] + [series.band_low, series.band_high]
    low, high = min(values), max(values)
    span = max(1, high - low)
    pad = 10

    def y(value: int) -> float:
        return round(height - pad - (value - low) / span * (height - 2 * pad), 1)

    step = (width - 2 * pad) / max(1, len(medians) - 1)
    dots = [
        {"x": round(pad + i * step, 1), "y": y(p.value), "outside": not series.band_low <= p.value <= series.band_high}
        for i, p in enumerate(medians)
    ]
    return {
        "loan_id": series.loan_id,
        "width": width,
        "height": height,
        "band_top": y(series.band_high),
        "band_height": round(y(series.band_low) - y(series.band_high), 1),
        "baseline_y": y(series.baseline_value),
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "baseline": series.baseline_value,
        "band_low": series.band_low,
        "band_high": series.band_high,
        "bps": series.value_move_bps,
        "medians": len(medians),
    }


@router.get("/applications", response_class=HTMLResponse)
def applications_page(request: Request) -> Response:
    return _applications_page(request)


@router.post("/applications/{application_id}/propose")
def applications_propose(request: Request, application_id: RowId) -> Response:
    return _governor_step(
        request,
        lambda c, p: proposals.propose_admission(
            engine=c.engine, membership=c.suite.membership, principal=p, application_id=application_id
        ),
    )


@router.post("/proposals/{proposal_id}/vote")
async def proposals_vote(request: Request, proposal_id: RowId) -> Response:
    support = (await _form(request)).get("support") == "true"
    return _governor_step(
        request,
        lambda c, p: proposals.vote(
            membership=c.suite.membership, principal=p, proposal_id=proposal_id, support=support
        ),
    )


@router.post("/proposals/{proposal_id}/execute")
def proposals_execute(request: Request, proposal_id: RowId) -> Response:
    return _governor_step(
        request, lambda c, p: proposals.execute(membership=c.suite.membership, principal=p, proposal_id=proposal_id)
    )


def _governor_step(
    request: Request, prepare: Callable[[PortalContext, Principal], proposals.PreparedTransaction]
) -> Response:
    """A governor's transaction: sent from its dev account on a dev chain, else shown for its wallet."""
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    try:
        prepared = prepare(context, principal)
    except (PortalError, ContractRevert) as exc:
        return _applications_page(request, **_refused(exc))
    key = f"portal:governance:{principal.account}:{keccak(hexstr=prepared.data).hex()}"
    if _send_as_member(context, principal, context.suite.membership, key, prepared.data):
        return RedirectResponse("/applications", status_code=303)
    return _applications_page(request, prepared=prepared)


def _applications_page(request: Request, status: int = 200, **extra: Any) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    try:
        proposals.require_governor(principal, "the applications")
        rows = applications.list_applications(engine=context.engine, membership=context.suite.membership)
    except PortalError as exc:
        return _page(request, "applications.html", principal, status=exc.status, applications=[], error=str(exc))
    return _page(request, "applications.html", principal, status=status, applications=rows, **extra)


def _dev_keys() -> dict[str, str]:
    return {a.address: a.private_key for a in dev_accounts(DEV_WALLET_SIZE, DEV_MNEMONIC)}


def _send_as_member(context: PortalContext, principal: Principal, client: ContractClient, key: str, data: str) -> bool:
    """On a dev chain, send a prepared write from the member's dev account through the outbox (True); anywhere else
    the page shows the transaction for the member's wallet to send (False)."""
    if not (_dev(context) and principal.account in _dev_keys()):
        return False
    client.submit(context.runtime.outbox, key=key, sender=principal.account, data=data)
    return True


@router.post("/cases/{case_id}/act")
async def case_act(request: Request, case_id: RowId) -> Response:
    """A step on the case: prepared by the portal, sent from the member's dev account (dev chains) or shown for the
    wallet to send."""
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    form = await _form(request)
    try:
        number = {k: int(form[k]) for k in ("agency_member_id", "amount") if form.get(k, "").isdigit()}
        prepared = case_actions.prepare_action(
            engine=context.engine,
            suite=context.suite,
            principal=principal,
            case_id=case_id,
            request=case_actions.CaseActionRequest(
                action=form.get("action", ""),
                evidence={"note": form.get("note", "")},
                **number,
            ),
        )
    except ValidationError as exc:
        return _cases_page(request, case_id, status=422, error=f"not a case action: {exc.errors()[0]['msg']}")
    except (PortalError, ContractRevert) as exc:
        return _cases_page(request, case_id, **_refused(exc))
    key = f"portal:case:{prepared.evidence_digest}"
    if _send_as_member(context, principal, context.suite.collateral, key, prepared.transaction["data"]):
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    return _cases_page(request, case_id, prepared=prepared)


def _cases_page(request: Request, case_id: int | None, status: int = 200, **extra: Any) -> Response:
    """The board (``case_id`` None) or one case's timeline."""
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    try:
        if case_id is None:
            values: dict[str, Any] = {"cases": board.cases(engine=context.engine, principal=principal, state=None)}
        else:
            timeline = board.case_timeline(engine=context.engine, principal=principal, case_id=case_id)
            is_bank = timeline.bank_member_id == principal.member_id
            is_agency = timeline.agency_member_id == principal.member_id
            actions = sorted(
                (case_actions.BANK_ACTIONS if is_bank else frozenset())
                | (case_actions.AGENCY_ACTIONS if is_agency else frozenset())
            )
            values = {"case": timeline, "actions": actions}
    except PortalError as exc:
        return _page(request, "cases.html", principal, status=exc.status, cases=[], error=str(exc))
    return _page(request, "cases.html", principal, status=status, **values, **extra)


# ---------------------------------------------------------------------------------------------------- members' writes
# Revoke, supersede and dispute records; a bank's loan book (register a loan, report repayment); files to attest.


@router.get("/records", response_class=HTMLResponse)
def records_page(request: Request) -> Response:
    return _records_page(request)


@router.post("/records/{uid}/revoke")
async def records_revoke(request: Request, uid: str) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        reason = form.get("reason", "")
        if not reason.isdigit():
            raise InvalidInputError("choose a reason for the revocation")
        revocation = records.RevokeRequest(
            reason=int(reason), superseded_by=form.get("superseded_by", "").strip() or None
        )
        return records.revoke(
            engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=revocation
        )

    return await _member_write(
        request, prepare, what="a revocation", page=_records_page, sent=lambda: RedirectResponse("/records", 303)
    )


@router.get("/records/{uid}/dispute", response_class=HTMLResponse)
def records_dispute_form(request: Request, uid: str) -> Response:
    return _records_page(request, dispute=uid)


@router.post("/records/{uid}/dispute")
async def records_dispute(request: Request, uid: str) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        why = form.get("why", "").strip()
        if not why:
            raise InvalidInputError("say why the record is wrong: the evidence is kept and its digest goes on chain")
        dispute = records.DisputeRequest(evidence={"why": why})
        return records.dispute(
            engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=dispute
        )

    return await _member_write(
        request,
        prepare,
        what="a dispute",
        page=lambda r, **values: _records_page(r, **({"dispute": uid} | values)),
        sent=lambda: _records_page(request, disputed=uid),
    )


async def _member_write(
    request: Request,
    prepare: Callable[[PortalContext, Principal, dict[str, str]], records.PreparedWrite],
    *,
    what: str,
    page: Callable[..., Response],
    sent: Callable[[], Response],
) -> Response:
    """A member's own write from a form: prepared (and tried) by the portal, then sent from the member's dev account
    on a dev chain (``sent()``), else shown on ``page`` for the wallet; a refusal is shown on ``page`` with its reason.
    The same write sent twice is one outbox row (its key is the calldata's hash)."""
    form = await _form(request)
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    try:
        prepared = prepare(context, principal, form)
    except ValidationError as exc:
        return page(request, status=422, error=f"not {what}: {_first_error(exc)}")
    except (PortalError, ContractRevert) as exc:
        return page(request, **_refused(exc))
    data = prepared.transaction["data"]
    client: ContractClient = context.suite.registry
    if prepared.transaction["to"] == context.suite.collateral.address:
        client = context.suite.collateral
    key = f"portal:{prepared.write}:{principal.account}:{keccak(hexstr=data).hex()}"
    if _send_as_member(context, principal, client, key, data):
        return sent()
    return page(request, prepared=prepared)


def _records_page(request: Request, status: int = 200, **extra: Any) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    rows = records.own_records(engine=context.engine, principal=principal)
    reasons = [{"code": r.value, "name": r.name.lower()} for r in RevokeReason]
    return _page(request, "records.html", principal, status=status, records=rows, reasons=reasons, **extra)


@router.get("/loans", response_class=HTMLResponse)
def loans_page(request: Request) -> Response:
    return _loans_page(request)


@router.post("/loans")
async def loans_register(request: Request) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        amounts = {name: _amount(form, name) for name in ("principal", "outstanding", "baseline_value")}
        terms = LoanTerms(
            **{name: _amount(form, name, default) for name, default in STANDARD_TERMS.model_dump().items()}
        )
        loan = records.LoanRequest(vin=form.get("vin", ""), terms=terms, evidence=_note(form), **amounts)
        return records.register_loan(
            engine=context.engine, suite=context.suite, principal=principal, key=context.subject_key, request=loan
        )

    return await _member_write(
        request, prepare, what="a loan", page=_loans_page, sent=lambda: RedirectResponse("/loans", 303)
    )


@router.post("/loans/{loan_id}/repayment")
async def loans_repayment(request: Request, loan_id: RowId) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        report = records.RepaymentRequest(
            days_overdue=_amount(form, "days_overdue"), outstanding=_amount(form, "outstanding"), evidence=_note(form)
        )
        return records.report_repayment(
            engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id, request=report
        )

    return await _member_write(
        request, prepare, what="a repayment report", page=_loans_page, sent=lambda: RedirectResponse("/loans", 303)
    )


def _loans_page(request: Request, status: int = 200, **extra: Any) -> Response:
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    try:
        loans = records.bank_loans(engine=context.engine, principal=principal, key=context.subject_key)
    except PortalError as exc:
        return _page(request, "loans.html", principal, status=exc.status, loans=[], terms=None, error=str(exc))
    terms = STANDARD_TERMS.model_dump()
    scores = latest_by_subject(engine=context.engine, subjects=[loan.subject for loan in loans])
    return _page(request, "loans.html", principal, status=status, loans=loans, terms=terms, scores=scores, **extra)


@router.post("/attest/file")
async def attest_file(request: Request) -> Response:
    """Keep an uploaded file, then offer the ``vehicle_document`` record that names it, ready to prepare."""
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    kinds = [{"kind": s.kind, "name": s.name, "roles": role_names(int(s.roles))} for s in CATALOGUE.values()]
    try:
        upload = await _uploaded(request, "choose a file to upload (a PDF, PNG or JPEG)")
        kept = files.upload(
            engine=context.engine,
            principal=principal,
            name=upload.filename or "",
            content_type=upload.content_type or "",
            content=await upload.read(),
        )
    except PortalError as exc:
        return _page(request, "attest.html", principal, status=exc.status, kinds=kinds, error=str(exc))
    document = next(s for s in CATALOGUE.values() if s.name == "vehicle_document")
    record = {"title": kept.name, "issued_on": "", "file_digest": kept.digest, "content_type": kept.content_type}
    return _page(
        request,
        "attest.html",
        principal,
        kinds=kinds,
        file=kept,
        kind=document.kind,
        record=json.dumps(record, indent=2),
    )


async def _uploaded(request: Request, missing: str) -> UploadFile:
    """The file a form uploads in its field ``file`` (:class:`InvalidInputError` saying ``missing`` without one)."""
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInputError(missing)
    return upload


def _refused(exc: PortalError | ContractRevert) -> dict[str, Any]:
    """The status and message of a page that shows why a write was refused (by the portal or by the contract)."""
    if isinstance(exc, ContractRevert):
        return {"status": exc.http_status, "error": f"the contract refuses this: {exc}"}
    return {"status": exc.status, "error": str(exc)}


def _amount(form: dict[str, str], name: str, default: int | None = None) -> int:
    """A whole number from a form field (its default when left empty)."""
    text = form.get(name, "").replace(",", "").replace("_", "").strip()
    if not text and default is not None:
        return default
    if not text.isdigit():
        raise InvalidInputError(f"{name.replace('_', ' ')} must be a whole number")
    return int(text)


def _note(form: dict[str, str]) -> dict[str, Any]:
    note = form.get("note", "").strip()
    return {"note": note} if note else {}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
