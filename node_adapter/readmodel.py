"""The SQL read model: tables folded from contract events by :mod:`node_adapter.indexer`.

Every table here can be dropped and rebuilt from the chain (``consortium index --rebuild``); nothing else writes them.
"""

from __future__ import annotations

from sqlmodel import Field, Session, SQLModel

from node_adapter.indexer import ChainEvent, HandlerProjection

MEMBER_STATUSES = ("none", "active", "suspended", "expelled")


class MemberView(SQLModel, table=True):
    """A consortium member as the chain last said."""

    __tablename__ = "rm_member"

    member_id: int = Field(primary_key=True)
    status: str = Field(max_length=16)
    roles: int
    metadata_digest: str = Field(max_length=66)
    admitted_block: int
    updated_block: int


class MemberAccountView(SQLModel, table=True):
    """A signing account bound to a member."""

    __tablename__ = "rm_member_account"

    account: str = Field(primary_key=True, max_length=42)
    member_id: int = Field(index=True)
    bound_block: int


def _admitted(session: Session, event: ChainEvent) -> None:
    args = event.values
    session.add(
        MemberView(
            member_id=int(args["memberId"]),
            status="active",
            roles=int(args["roles"]),
            metadata_digest=args["metadataDigest"],
            admitted_block=event.block_number,
            updated_block=event.block_number,
        )
    )


def _member(session: Session, event: ChainEvent) -> MemberView:
    member = session.get(MemberView, int(event.values["memberId"]))
    if member is None:  # an event about a member the log never admitted: the log is incomplete
        raise LookupError(f"{event.event} for unknown member {event.values['memberId']} in block {event.block_number}")
    member.updated_block = event.block_number
    session.add(member)
    return member


def _roles_changed(session: Session, event: ChainEvent) -> None:
    _member(session, event).roles = int(event.values["roles"])


def _status_changed(session: Session, event: ChainEvent) -> None:
    _member(session, event).status = MEMBER_STATUSES[int(event.values["to"])]


def _metadata_changed(session: Session, event: ChainEvent) -> None:
    _member(session, event).metadata_digest = event.values["metadataDigest"]


def _account_added(session: Session, event: ChainEvent) -> None:
    session.merge(
        MemberAccountView(
            account=event.values["account"], member_id=int(event.values["memberId"]), bound_block=event.block_number
        )
    )


def _account_removed(session: Session, event: ChainEvent) -> None:
    row = session.get(MemberAccountView, event.values["account"])
    if row is not None:
        session.delete(row)


def membership_projection() -> HandlerProjection:
    """Members and their accounts, from Membership's events."""
    return HandlerProjection(
        [MemberView, MemberAccountView],
        {
            ("Membership", "MemberAdmitted"): _admitted,
            ("Membership", "MemberRolesChanged"): _roles_changed,
            ("Membership", "MemberStatusChanged"): _status_changed,
            ("Membership", "MemberMetadataChanged"): _metadata_changed,
            ("Membership", "AccountAdded"): _account_added,
            ("Membership", "AccountRemoved"): _account_removed,
        },
    )
