"""The consortium's data-sharing policy: which roles may read which full documents, under which relationship to the
document, for how long. One decision function (:func:`decide`) answers every full-document read of the portal.

The policy is configuration the consortium governs, not code: a versioned file (``policies/default.toml`` is the
repository's default) whose digest is the keccak-256 of its canonical JSON (``node_adapter.encoding``). A version
takes effect once the governors pass and execute a proposal whose ``descriptionDigest`` is that digest (its
description is the policy's canonical JSON; its only call is a view that changes nothing, since ``propose`` needs a
call). The version in force is the policy of the last such proposal executed; until one was, the repository's
default applies, shown as not approved.

A rule grants ``kinds`` to members holding one of ``roles`` (or ``ANY``) under a ``relationship``:

| relationship        | holds when the reader's member ...                                                    |
|---------------------|----------------------------------------------------------------------------------------|
| `own`               | attested, uploaded or wrote the document                                              |
| `lender`            | is the bank of a loan on the document's vehicle whose lien the DMV confirmed (active; |
|                     | once released, for ``days_after_close`` days). A pending lien, never confirmed, ties  |
|                     | no bank to the vehicle: registering a loan needs no one's consent.                    |
| `assigned_agency`   | is the disposal agency assigned to a case on a loan of the vehicle (until the case is |
|                     | settled or cured; then for ``days_after_close`` days)                                  |
| `disputed_attester` | attested the record a dispute's evidence is about                                     |
| `any`               | (always)                                                                               |

What is not granted is refused.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.errors import InvalidInputError
from consortium_portal.kinds import CATALOGUE
from consortium_portal.models import PolicyVersion
from node_adapter.clients import Role
from node_adapter.encoding import canonical_json
from node_adapter.indexer import ChainEvent
from node_adapter.readmodel import LIEN_STATUSES, CaseTransitionView, CaseView, LoanView, ProposalView

DEFAULT_POLICY_FILE = Path(__file__).parent / "policies" / "default.toml"

RECORD_KINDS: tuple[str, ...] = tuple(spec.name for spec in CATALOGUE.values())
"""The attested records' kinds (the catalogue's names)."""
DOCUMENT_KINDS: tuple[str, ...] = (
    *RECORD_KINDS,
    "file",
    "intake_scan",
    "dispute_evidence",
    "loan_evidence",
    "repayment_evidence",
    "membership_application",
)
"""Every kind of full document the portal keeps, as the policy names them."""
Relationship = Literal["own", "lender", "assigned_agency", "disputed_attester", "any"]
RELATIONSHIPS: tuple[Relationship, ...] = ("own", "lender", "assigned_agency", "disputed_attester", "any")
LASTING: frozenset[str] = frozenset({"lender", "assigned_agency"})
"""Relationships that close (a loan, a case), after which ``days_after_close`` may keep access open."""
ANY_ROLE = "ANY"
ROLE_NAMES: tuple[str, ...] = tuple(str(role.name) for role in Role)
ACTIVE_LIEN = "active"
"""The only lien that ties a bank to a vehicle: one the DMV confirmed (a pending lien is a bank's claim alone)."""
CLOSED_CASES = ("settled", "cured")
DAY = 86_400

DESCRIBED: dict[str, str] = {
    "own": "its own member",
    "lender": "the bank of a loan on the vehicle",
    "assigned_agency": "the disposal agency assigned to the vehicle's case",
    "disputed_attester": "the member whose record it disputes",
    "any": "any such member",
}


# ---------------------------------------------------------------------------------------------------- the policy


class Rule(BaseModel):
    """One grant: ``kinds`` to members with one of ``roles`` under ``relationship``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[str] = Field(min_length=1, max_length=len(DOCUMENT_KINDS))
    roles: list[str] = Field(min_length=1, max_length=len(ROLE_NAMES) + 1)
    relationship: Relationship
    days_after_close: int | None = Field(default=None, ge=0, le=36_500)
    note: str | None = Field(default=None, max_length=500)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in DOCUMENT_KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; the kinds are {', '.join(DOCUMENT_KINDS)}")
        return kinds

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = [r for r in roles if r != ANY_ROLE and r not in ROLE_NAMES]
        if unknown:
            raise ValueError(f"unknown roles {unknown}; the roles are {', '.join(ROLE_NAMES)} and {ANY_ROLE}")
        return roles

    @model_validator(mode="after")
    def _duration_where_it_means_something(self) -> Rule:
        if self.days_after_close is not None and self.relationship not in LASTING:
            raise ValueError(f"days_after_close applies to {' and '.join(sorted(LASTING))} only")
        return self

    @property
    def role_mask(self) -> int | None:
        """The roles as a mask; None for any role."""
        if ANY_ROLE in self.roles:
            return None
        mask = 0
        for name in self.roles:
            mask |= int(Role[name])
        return mask

    def describe(self) -> str:
        how = DESCRIBED[self.relationship] if self.relationship != "any" else ""
        if self.role_mask is None:
            text = how or "any member"
        else:
            who = "a " + " or ".join(self.roles)
            text = f"{who} that is {how}" if how else who
        if self.relationship in LASTING:
            text += f" (until {self.days_after_close} days after it closes)" if self.days_after_close else " (open)"
        return text


class Policy(BaseModel):
    """A version of the data-sharing policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1, le=2**31)
    title: str = Field(min_length=1, max_length=200)
    rules: list[Rule] = Field(min_length=1, max_length=100)

    def document(self) -> dict[str, Any]:
        """The policy as plain JSON (what the digest covers): fields left unset are left out."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return data

    def canonical(self) -> str:
        """The canonical JSON text: the description of the proposal that approves it."""
        return canonical_json(self.document()).decode()

    @property
    def digest(self) -> str:
        """keccak-256 of the canonical JSON, 0x-hex: the approving proposal's ``descriptionDigest``."""
        return "0x" + keccak(canonical_json(self.document())).hex()


def parse_policy(source: str | dict[str, Any], *, name: str = "the policy") -> Policy:
    """A policy from TOML text or a JSON object; :class:`InvalidInputError` says what is wrong."""
    if isinstance(source, str):
        try:
            data: Any = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"{name} is not TOML: {exc}") from None
    else:
        data = source
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'policy'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidInputError(f"{name} is not a valid data-sharing policy: {problems}") from None


def load_policy_file(path: Path) -> Policy:
    """A policy file: TOML, or JSON when its name ends in ``.json``."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return parse_policy(json.loads(text), name=str(path))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path} is not JSON: {exc}") from None
    return parse_policy(text, name=str(path))


@cache
def default_policy() -> Policy:
    """The repository's default policy (``policies/default.toml``)."""
    return load_policy_file(DEFAULT_POLICY_FILE)


# ---------------------------------------------------------------------------------------------------- versions


@dataclass(frozen=True)
class PolicyInForce:
    policy: Policy
    digest: str
    approved: bool
    """Executed by governance (False: the repository's default, applied until a policy is approved)."""
    proposal_id: int | None


def keep_policy(engine: Engine, policy: Policy, submitted_by: str) -> PolicyVersion:
    """Store ``policy`` (once: the same policy again keeps the first row)."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(PolicyVersion, policy.digest)
        if row is None:
            row = PolicyVersion(
                digest=policy.digest,
                version=policy.version,
                title=policy.title,
                document=policy.canonical(),
                submitted_by=submitted_by,
            )
            session.add(row)
            session.commit()
        return row


def approvals(engine: Engine, membership: str) -> list[tuple[int, PolicyVersion]]:
    """The executed proposals that approved a known policy, in the order they were executed (the last is in force)."""
    with Session(engine) as session:
        known = {row.digest: row for row in session.exec(select(PolicyVersion)).all()}
        if not known:
            return []
        proposals = session.exec(
            select(ProposalView.proposal_id, ProposalView.description_digest).where(
                col(ProposalView.executed).is_(True), col(ProposalView.description_digest).in_(list(known))
            )
        ).all()
        digests = dict(proposals)
        if not digests:
            return []
        executed = session.exec(
            select(ChainEvent.args)
            .where(ChainEvent.event == "ProposalExecuted", ChainEvent.address == membership)
            .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))
        ).all()
    order = [int(json.loads(args)["proposalId"]) for args in executed]
    return [(pid, known[digests[pid]]) for pid in order if pid in digests]


def in_force(engine: Engine, membership: str) -> PolicyInForce:
    """The policy in force: the last one governance approved, else the repository's default (not approved)."""
    approved = approvals(engine, membership)
    if approved:
        proposal_id, row = approved[-1]
        return PolicyInForce(parse_policy(json.loads(row.document)), row.digest, True, proposal_id)
    policy = default_policy()
    return PolicyInForce(policy, policy.digest, False, None)


# ---------------------------------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Target:
    """A full document someone asks to read: its kind, digest, the member it belongs to and its vehicles."""

    kind: str
    digest: str
    owner_member_id: int | None
    subjects: tuple[str, ...] = ()
    disputed_member_id: int | None = None


@dataclass(frozen=True)
class Tie:
    """A relationship between the reader's member and a document; ``closed_at`` (chain time) once it ended."""

    relationship: Relationship
    closed_at: int | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: int | None
    """The index of the rule that granted the read."""
    reason: str


def decide(policy: Policy, *, roles: int, kind: str, ties: Sequence[Tie], now: int) -> Verdict:
    """Whether a member holding ``roles``, tied to the document by ``ties``, may read a document of ``kind`` at
    chain time ``now`` under ``policy``: the first rule that grants it, else a refusal saying who may."""
    if kind not in DOCUMENT_KINDS:
        raise InvalidInputError(f"unknown document kind {kind!r}")
    granting = [(i, r) for i, r in enumerate(policy.rules) if kind in r.kinds]
    for index, rule in granting:
        mask = rule.role_mask
        if mask is not None and not roles & mask:
            continue
        if rule.relationship == "any":
            return Verdict(True, index, f"rule {index}: {rule.describe()}")
        for tie in ties:
            if tie.relationship != rule.relationship:
                continue
            if tie.closed_at is None:
                return Verdict(True, index, f"rule {index}: {rule.describe()}")
            if rule.days_after_close is not None and now <= tie.closed_at + rule.days_after_close * DAY:
                return Verdict(True, index, f"rule {index}: {rule.describe()}, closed at {tie.closed_at}")
    who = "; ".join(rule.describe() for _i, rule in granting) or "no one"
    return Verdict(False, None, f"under policy version {policy.version}, a {kind} document may be read only by: {who}")


def ties_of(session: Session, member_id: int, target: Target) -> list[Tie]:
    """The reader's member's relationships to ``target``, from the read model (loans, cases) and the target."""
    ties: list[Tie] = []
    if target.owner_member_id == member_id:
        ties.append(Tie("own"))
    if target.disputed_member_id == member_id:
        ties.append(Tie("disputed_attester"))
    if not target.subjects:
        return ties
    loans = session.exec(select(LoanView).where(col(LoanView.subject).in_(target.subjects))).all()
    for loan in loans:
        if loan.bank_member_id != member_id:
            continue
        if loan.lien_status == ACTIVE_LIEN:
            ties.append(Tie("lender"))
            continue
        closed_at = _lien_closed_after_active(session, loan)
        if closed_at is not None:  # released after it was active: the days after close may still run
            ties.append(Tie("lender", closed_at))
    cases = session.exec(
        select(CaseView).where(
            col(CaseView.loan_id).in_([loan.loan_id for loan in loans]), CaseView.agency_member_id == member_id
        )
    ).all()
    for case in cases:
        closed = None
        if case.state in CLOSED_CASES:
            closed = session.exec(
                select(CaseTransitionView.block_time)
                .where(CaseTransitionView.case_id == case.case_id, col(CaseTransitionView.to_state).in_(CLOSED_CASES))
                .order_by(col(CaseTransitionView.id).desc())
            ).first()
        ties.append(Tie("assigned_agency", closed if case.state in CLOSED_CASES else None))
    return ties


def _lien_closed_after_active(session: Session, loan: LoanView) -> int | None:
    """When the loan's lien was released (chain time of its last ``LienStatusChanged``), if it was ever active; None
    for a lien that is still pending, or was cancelled while pending (it never tied the bank to the vehicle)."""
    if loan.lien_status == "pending":
        return None
    events = session.exec(
        select(ChainEvent.block_time, ChainEvent.args)
        .where(ChainEvent.event == "LienStatusChanged", col(ChainEvent.args).contains(loan.subject))
        .order_by(col(ChainEvent.block_number).desc(), col(ChainEvent.log_index).desc())
    ).all()
    changes = [(int(block_time), json.loads(args)) for block_time, args in events]
    mine = [(block_time, args) for block_time, args in changes if int(args["loanId"]) == loan.loan_id]
    if not any(LIEN_STATUSES[int(args["to"])] == ACTIVE_LIEN for _time, args in mine):
        return None
    return mine[0][0]
