"""Verifying (``/api/v1``): what the chain says about a vehicle, whether a document is on chain, and a vehicle's proof
bundle; thin routes over vehicles.py and documents.py."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlmodel import Session, select

from consortium_portal.documents import DocumentCheck, DocumentCheckRequest, check_document
from consortium_portal.errors import NotFoundError
from consortium_portal.http.deps import API, ContextDep, PrincipalDep
from consortium_portal.vehicles import VehicleReport, subject_of, vehicle_report
from node_adapter.bundle import ProofBundle, build_bundle
from node_adapter.readmodel import AttestationView, LoanView

router = APIRouter(prefix=API, tags=["verify"])


@router.get("/vehicles/{vin}", response_model=VehicleReport)
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


@router.post("/documents/verify")
def verify_document(body: DocumentCheckRequest, _principal: PrincipalDep, context: ContextDep) -> DocumentCheck:
    """Whether a document (with its salt) or a digest is on chain, by whom, when, and whether it is still valid."""
    return check_document(engine=context.engine, suite=context.suite, request=body)


@router.get("/vehicles/{vin}/bundle", response_model=ProofBundle)
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
