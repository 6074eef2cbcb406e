"""The portal's REST API (``/api/v1``): thin routes over the services in auth.py, vehicles.py and documents.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as FastApiPath
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from consortium_portal import attest, auth, board, case_actions, files, oracle_view, records
from consortium_portal.app import PortalContext
from consortium_portal.attest import AttestRequest, PreparedAttestation, RelayRequest
from consortium_portal.auth import Principal
from consortium_portal.documents import DocumentCheck, DocumentCheckRequest, check_document
from consortium_portal.errors import NotFoundError
from consortium_portal.kinds import CATALOGUE
from consortium_portal.models import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    ChallengeIssued,
    ChallengeRequest,
    Me,
    SessionIssued,
    SignInRequest,
)
from consortium_portal.receipts import MAX_PURPOSE, Reader, purpose_of
from consortium_portal.vehicles import VehicleReport, subject_of, vehicle_report
from node_adapter.bundle import ProofBundle, build_bundle
from node_adapter.clients import role_names
from node_adapter.readmodel import AttestationView, LoanView

SESSION_COOKIE = "portal_session"

RowId = Annotated[int, FastApiPath(ge=1, le=2**53)]
"""An id in a path: positive, and small enough for every database's integers."""

router = APIRouter()


def get_context(request: Request) -> PortalContext:
    """The portal's context, after counting the request against its client address's rate."""
    context: PortalContext = request.app.state.context
    context.ip_limiter.hit(request.client.host if request.client else "unknown")
    return context


ContextDep = Annotated[PortalContext, Depends(get_context)]


def get_principal(
    request: Request,
    context: ContextDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    token = token or request.cookies.get(SESSION_COOKIE)
    block, now = context.head()
    request.state.head = (block, now)
    principal = auth.authenticate(
        engine=context.engine, authorize=context.authorizer(block), token=token, api_key=x_api_key
    )
    context.member_limiter.hit(str(principal.member_id))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_reader(
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    x_access_purpose: Annotated[str | None, Header(max_length=MAX_PURPOSE)] = None,
    purpose: Annotated[str | None, Query(max_length=MAX_PURPOSE)] = None,
) -> Reader:
    """The caller of a full-document read, with the purpose it states (``X-Access-Purpose`` or ``?purpose=``): the
    data-sharing policy decides the read and an access receipt records it (receipts.py)."""
    block, now = request.state.head
    stated = purpose_of(x_access_purpose if x_access_purpose is not None else purpose)
    return Reader(principal, stated, now, block, context.suite.membership.address)


ReaderDep = Annotated[Reader, Depends(get_reader)]


class Health(BaseModel):
    status: str
    chain_id: int
    block: int
    indexed_block: int | None


@router.get("/health", tags=["health"])
def health(context: ContextDep) -> Health:
    """Whether the portal reaches the chain, and how far its read model is."""
    checkpoint = context.indexer().checkpoint()
    return Health(
        status="ok",
        chain_id=context.connection.chain_id,
        block=context.connection.call(lambda w3: int(w3.eth.block_number)),
        indexed_block=checkpoint.block_number if checkpoint is not None else None,
    )


# ---------------------------------------------------------------------------------------------------- sign-in


@router.post("/api/v1/auth/challenge", tags=["sign-in"])
def challenge(body: ChallengeRequest, context: ContextDep) -> ChallengeIssued:
    """A one-time EIP-4361 message for the account to sign."""
    issued = context.challenge(body.address)
    return ChallengeIssued(message=issued.message, nonce=issued.nonce, expires_at=issued.expires_at)


@router.post("/api/v1/auth/session", tags=["sign-in"])
def sign_in(body: SignInRequest, response: Response, context: ContextDep) -> SessionIssued:
    """Exchange the signed challenge for a session (also set as an HttpOnly cookie)."""
    token, session, member_id, roles = auth.sign_in(
        engine=context.engine,
        authorize=context.suite.membership.authorize,
        message=body.message,
        signature=body.signature,
        session_ttl=context.settings.session_ttl,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=context.settings.session_ttl,
        httponly=True,
        samesite="lax",
        secure=context.settings.url().startswith("https://"),
    )
    return SessionIssued(
        token=token,
        expires_at=session.expires_at,
        account=session.account,
        member_id=member_id,
        roles=list(role_names(roles)),
    )


@router.delete("/api/v1/auth/session", status_code=204, tags=["sign-in"])
def sign_out(
    principal: PrincipalDep,
    request: Request,
    response: Response,
    context: ContextDep,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """End the current session."""
    token = (authorization or "").partition(" ")[2].strip() or request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and token:
        auth.sign_out(engine=context.engine, token=token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/api/v1/me", tags=["sign-in"])
def me(principal: PrincipalDep) -> Me:
    """Who the portal takes the caller for, with the roles the chain gives it now."""
    return Me(
        account=principal.account,
        member_id=principal.member_id,
        roles=principal.role_names,
        via=principal.via,
        scope=principal.scope,
    )


# ---------------------------------------------------------------------------------------------------- API keys


@router.post("/api/v1/api-keys", status_code=201, tags=["api keys"])
def create_api_key(body: ApiKeyCreate, principal: PrincipalDep, context: ContextDep) -> ApiKeyIssued:
    """A key for machine clients of this member (the key is shown once)."""
    key, row = auth.create_api_key(engine=context.engine, principal=principal, name=body.name, scope=body.scope)
    assert row.id is not None
    return ApiKeyIssued(id=row.id, key=key, name=row.name, scope=row.scope)


@router.get("/api/v1/api-keys", tags=["api keys"])
def list_api_keys(principal: PrincipalDep, context: ContextDep) -> list[ApiKeyPublic]:
    """This member's keys (never the keys themselves)."""
    return [
        ApiKeyPublic.model_validate(k, from_attributes=True)
        for k in auth.list_api_keys(engine=context.engine, principal=principal)
    ]


@router.delete("/api/v1/api-keys/{key_id}", tags=["api keys"])
def revoke_api_key(key_id: RowId, principal: PrincipalDep, context: ContextDep) -> ApiKeyPublic:
    """Revoke a key of this member (revoking it again changes nothing)."""
    principal.require_write()
    row = auth.revoke_api_key(engine=context.engine, principal=principal, key_id=key_id)
    return ApiKeyPublic.model_validate(row, from_attributes=True)


# ---------------------------------------------------------------------------------------------------- verify


@router.get("/api/v1/vehicles/{vin}", tags=["verify"], response_model=VehicleReport)
def verify_vehicle(vin: str, request: Request, _principal: PrincipalDep, context: ContextDep) -> Response:
    """Everything the chain says about a vehicle: attestations with their status, odometer timeline, alerts, loans,
    cases and their every step (any active member)."""
    _block, now = request.state.head
    _vin, subject = subject_of(vin, context.subject_key)
    indexed = context.indexed_block()
    cached = context.reports.get((subject, indexed or 0))
    if cached is not None and now < cached[1]:
        return Response(content=cached[0], media_type="application/json")
    report = vehicle_report(
        engine=context.engine, vin=vin, key=context.subject_key, now=now, indexer=context.indexer_name
    )
    body = report.model_dump_json().encode()
    # the report holds until the read model moves on or the next expiry in it passes
    holds_until = min((a.expiry for a in report.attestations if a.expiry > now), default=2**63)
    context.reports.put((subject, report.as_of_block or 0), (body, holds_until))
    return Response(content=body, media_type="application/json")


@router.post("/api/v1/documents/verify", tags=["verify"])
def verify_document(body: DocumentCheckRequest, _principal: PrincipalDep, context: ContextDep) -> DocumentCheck:
    """Whether a document (with its salt) or a digest is on chain, by whom, when, and whether it is still valid."""
    return check_document(engine=context.engine, suite=context.suite, request=body)


# ---------------------------------------------------------------------------------------------------- attest


class KindPublic(BaseModel):
    kind: int
    name: str
    roles: list[str]
    odometer: bool
    schema_digest: str
    registered: bool
    schema_: dict[str, object] = Field(alias="schema")


@router.get("/api/v1/kinds", tags=["attest"])
def kinds(_principal: PrincipalDep, context: ContextDep) -> list[KindPublic]:
    """The kinds the portal attests, each with its record's JSON schema and whether the chain has it registered
    with that schema."""
    out = []
    for spec in CATALOGUE.values():
        view = context.suite.registry.get_kind(spec.kind)
        registered = view.kind.exists and view.kind.active and view.schema_digest.lower() == spec.schema_digest
        out.append(
            KindPublic(
                kind=spec.kind,
                name=spec.name,
                roles=list(role_names(int(spec.roles))),
                odometer=spec.odometer,
                schema_digest=spec.schema_digest,
                registered=registered,
                schema=spec.schema,
            )
        )
    return out


@router.post("/api/v1/attestations", status_code=201, tags=["attest"])
def prepare_attestation(
    body: AttestRequest,
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> PreparedAttestation:
    """Validate a record against its kind's schema, salt it, store it, and answer what the attester signs (or the
    transaction it may send itself). The same ``Idempotency-Key`` answers the same prepared record."""
    _block, now = request.state.head
    return attest.prepare(
        engine=context.engine,
        suite=context.suite,
        principal=principal,
        request=body,
        key=context.subject_key,
        now=now,
        idempotency_key=idempotency_key,
    )


@router.post("/api/v1/attestations/{document_id}/signature", tags=["attest"])
def relay_attestation(
    document_id: RowId, body: RelayRequest, request: Request, principal: PrincipalDep, context: ContextDep
) -> PreparedAttestation:
    """The attester's EIP-712 signature: checked, then relayed to the chain through the outbox (sending it again
    changes nothing)."""
    _block, now = request.state.head
    return attest.relay(
        engine=context.engine,
        suite=context.suite,
        outbox=context.runtime.outbox,
        relayer=context.relayer.address,
        principal=principal,
        document_id=document_id,
        signature=body.signature,
        now=now,
    )


@router.get("/api/v1/attestations/{document_id}", tags=["attest"])
def attestation_status(document_id: RowId, principal: PrincipalDep, context: ContextDep) -> PreparedAttestation:
    """Where a record this member prepared stands: prepared, relayed, confirmed or failed (with the reason)."""
    return attest.status(
        engine=context.engine,
        suite=context.suite,
        outbox=context.runtime.outbox,
        principal=principal,
        document_id=document_id,
    )


@router.get("/api/v1/documents/{digest}", tags=["attest"])
def read_document(digest: str, reader: ReaderDep, context: ContextDep) -> dict[str, object]:
    """A document's content with its salt, for those the data-sharing policy lets read it (by default the attester's
    member, a bank lending on the vehicle, the agency assigned to its case); every read leaves an access receipt."""
    return attest.read_document(engine=context.engine, reader=reader, digest=digest)


@router.get("/api/v1/vehicles/{vin}/bundle", tags=["verify"], response_model=ProofBundle)
def vehicle_bundle(vin: str, _principal: PrincipalDep, context: ContextDep) -> Response:
    """Every on-chain fact about the vehicle, each with what is needed to check it against any node of the chain:
    ``consortium verify-bundle FILE --rpc URL`` does so without the portal."""
    normalised, subject = subject_of(vin, context.subject_key)
    with Session(context.engine) as session:
        if session.exec(select(AttestationView.uid).where(AttestationView.subject == subject)).first() is None and (
            session.exec(select(LoanView.loan_id).where(LoanView.subject == subject)).first() is None
        ):
            raise NotFoundError(f"the chain holds no record of VIN {normalised[:3]}...{normalised[-4:]}")
        bundle = build_bundle(session=session, suite=context.suite, subject=subject)
    return Response(
        content=bundle.model_dump_json(by_alias=True),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="vehicle-{subject[2:14]}.bundle.json"'},
    )


# ---------------------------------------------------------------------------------------------------- points, cases


@router.get("/api/v1/points", tags=["points"])
def points_leaderboard(
    _principal: PrincipalDep, context: ContextDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[board.PointsBalance]:
    """Members by credit points, most first."""
    return board.leaderboard(engine=context.engine, limit=limit)


@router.get("/api/v1/points/rules", tags=["points"])
def points_rules(_principal: PrincipalDep, context: ContextDep) -> board.RewardRules:
    """What earns and costs points: each kind's weight, the corroboration bonus, the slash multiplier."""
    return board.reward_rules(engine=context.engine, suite=context.suite)


@router.get("/api/v1/points/{member_id}", tags=["points"])
def member_points(member_id: RowId, _principal: PrincipalDep, context: ContextDep) -> board.MemberPoints:
    """A member's balance and every reward and slash behind it."""
    return board.member_points(engine=context.engine, member_id=member_id)


@router.get("/api/v1/cases", tags=["cases"])
def case_board(
    principal: PrincipalDep, context: ContextDep, state: Annotated[str | None, Query(max_length=24)] = None
) -> list[board.CaseCard]:
    """The disposal cases the caller may see (governors: all; a bank: its loans'; an agency: those assigned)."""
    return board.cases(engine=context.engine, principal=principal, state=state)


@router.get("/api/v1/cases/{case_id}", tags=["cases"])
def case_timeline(case_id: RowId, principal: PrincipalDep, context: ContextDep) -> board.CaseTimeline:
    """A case and every step of it, with its evidence."""
    return board.case_timeline(engine=context.engine, principal=principal, case_id=case_id)


# ---------------------------------------------------------------------------------------------------- oracle view


@router.get("/api/v1/oracle/feeds", tags=["oracle"])
def oracle_feeds(_principal: PrincipalDep, context: ContextDep) -> list[oracle_view.FeedHealthPublic]:
    """Each oracle feed's health, last success, staleness, failures and quarantined records, as the oracle last
    published them."""
    return oracle_view.feeds(engine=context.engine)


@router.get("/api/v1/vehicles/{vin}/valuations", tags=["oracle"])
def vehicle_valuations(vin: str, _principal: PrincipalDep, context: ContextDep) -> list[oracle_view.LoanValuations]:
    """Every loan's baseline, every price oracle's report and every published median, with the band beyond which the
    contract acts (the loan's value-move threshold around its baseline)."""
    _vin, subject = subject_of(vin, context.subject_key)
    return oracle_view.valuations(engine=context.engine, suite=context.suite, subject=subject)


@router.post("/api/v1/cases/{case_id}/actions", status_code=201, tags=["cases"])
def prepare_case_action(
    case_id: RowId, body: case_actions.CaseActionRequest, principal: PrincipalDep, context: ContextDep
) -> case_actions.PreparedCaseAction:
    """A step on a case for the caller's wallet to send: the bank clears a watch, orders repossession or freezes; the
    assigned agency records repossession, appraisal, auction and settlement. The evidence is salted and kept."""
    return case_actions.prepare_action(
        engine=context.engine, suite=context.suite, principal=principal, case_id=case_id, request=body
    )


# ---------------------------------------------------------------------------------------------------- members' writes


@router.get("/api/v1/records", tags=["attest"])
def own_records(principal: PrincipalDep, context: ContextDep) -> list[records.OwnRecord]:
    """The newest 200 records the account you signed in with attested (the records it may revoke or supersede)."""
    return records.own_records(engine=context.engine, principal=principal)


@router.post("/api/v1/attestations/{uid}/revocation", tags=["attest"])
def revoke_record(
    uid: str, body: records.RevokeRequest, principal: PrincipalDep, context: ContextDep
) -> records.PreparedWrite:
    """Revoke one of your records (or supersede it by a correcting record of the same kind): the transaction."""
    return records.revoke(engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=body)


@router.post("/api/v1/attestations/{uid}/dispute", tags=["attest"])
def dispute_record(
    uid: str, body: records.DisputeRequest, principal: PrincipalDep, context: ContextDep
) -> records.PreparedWrite:
    """Dispute another member's record with evidence (governance resolves it): the transaction."""
    return records.dispute(engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=body)


@router.get("/api/v1/evidence/{digest}", tags=["attest"])
def read_evidence(digest: str, reader: ReaderDep, context: ContextDep) -> dict[str, Any]:
    """The salted evidence of a dispute, a loan or a repayment report the portal prepared: by default for the member
    that wrote it, governors, and (a dispute's) the disputed record's attester; every read leaves an access receipt."""
    return records.read_evidence(engine=context.engine, reader=reader, key=context.subject_key, digest=digest)


@router.get("/api/v1/loans", tags=["loans"])
def bank_loans(principal: PrincipalDep, context: ContextDep) -> list[records.BankLoan]:
    """A bank's loan book: its loans with their lien, balance, days overdue and case."""
    return records.bank_loans(engine=context.engine, principal=principal, key=context.subject_key)


@router.post("/api/v1/loans", tags=["loans"])
def register_loan(body: records.LoanRequest, principal: PrincipalDep, context: ContextDep) -> records.PreparedWrite:
    """A bank registers a loan against a vehicle: the transaction (the DMV oracle confirms the lien)."""
    return records.register_loan(
        engine=context.engine, suite=context.suite, principal=principal, key=context.subject_key, request=body
    )


@router.post("/api/v1/loans/{loan_id}/repayment", tags=["loans"])
def report_repayment(
    loan_id: RowId, body: records.RepaymentRequest, principal: PrincipalDep, context: ContextDep
) -> records.PreparedWrite:
    """The loan's bank reports days overdue and the outstanding balance: the transaction (the rules run in it)."""
    return records.report_repayment(
        engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id, request=body
    )


# ---------------------------------------------------------------------------------------------------- files


@router.post(
    "/api/v1/files",
    status_code=201,
    tags=["attest"],
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


@router.get("/api/v1/files/{digest}", tags=["attest"])
def download_file(digest: str, reader: ReaderDep, context: ContextDep) -> Response:
    """A kept file, by default for its member and a bank lending on (or the agency assigned to) a vehicle whose
    record names it; every read leaves an access receipt."""
    row = files.download(engine=context.engine, reader=reader, digest=digest)
    return Response(
        content=row.content,
        media_type=row.content_type,
        headers={"Content-Disposition": f'attachment; filename="{row.digest[2:14]}"'},
    )
