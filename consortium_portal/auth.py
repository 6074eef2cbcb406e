"""Signing in with a chain account (an EIP-4361 message), sessions and API keys; rights always come from the chain.

The portal issues a one-time message naming its domain, the account, the chain id, a nonce and an expiry; the member
signs it (EIP-191 ``personal_sign``); the portal checks the signature, burns the nonce (a replay is refused), and
asks the Membership contract what the account may do. Sessions and API keys only say *who* is calling: every request
asks the chain again (``Membership.authorize``), so a member suspended on chain is refused at its next request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_address, to_checksum_address
from eth_utils.exceptions import ValidationError
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.errors import ForbiddenError, InvalidInputError, NotFoundError, NotSignedInError, SignInError
from consortium_portal.models import ApiKey, PortalSession, Scope, SignInChallenge
from node_adapter.clients import Authorization, role_names
from node_adapter.db import utcnow

Authorize = Callable[[str], Authorization]
"""``Membership.authorize`` (as of a block): an account's active member and roles, or (0, 0)."""

STATEMENT = "Sign in to the Vehicle Evidence Consortium portal."
API_KEY_PREFIX = "vec_"


@dataclass(frozen=True)
class Principal:
    """Who is calling, with the rights the chain gives it now."""

    account: str
    member_id: int
    roles: int
    via: str
    scope: Scope
    api_key_id: int | None = None

    @property
    def role_names(self) -> list[str]:
        return list(role_names(self.roles))

    def require(self, roles: int, what: str) -> None:
        """Raise unless the member holds one of ``roles``."""
        if not self.roles & roles:
            needed = ", ".join(role_names(roles))
            raise ForbiddenError(
                f"{what} needs one of the roles {needed}; this member holds {self.role_names or 'none'}"
            )

    def require_write(self) -> None:
        if self.scope != Scope.WRITE:
            raise ForbiddenError("this API key is read-only")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _checksum(address: str) -> str:
    if not isinstance(address, str) or not is_address(address):
        raise InvalidInputError("address is not a 20-byte 0x-hex account")
    return to_checksum_address(address)


def sign_in_message(
    *, domain: str, uri: str, account: str, chain_id: int, nonce: str, issued: datetime, expires: datetime
) -> str:
    """The EIP-4361 text the account signs."""
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n{account}\n\n{STATEMENT}\n\n"
        f"URI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\n"
        f"Issued At: {_iso(issued)}\nExpiration Time: {_iso(expires)}"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_challenge(*, engine: Engine, address: str, domain: str, uri: str, chain_id: int, ttl: int) -> SignInChallenge:
    """A new one-time challenge for ``address``."""
    account = _checksum(address)
    nonce = secrets.token_hex(16)
    issued = utcnow()
    expires = issued + timedelta(seconds=ttl)
    challenge = SignInChallenge(
        nonce=nonce,
        account=account,
        message=sign_in_message(
            domain=domain, uri=uri, account=account, chain_id=chain_id, nonce=nonce, issued=issued, expires=expires
        ),
        expires_at=expires,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(challenge)
        session.commit()
    return challenge


def sign_in(
    *, engine: Engine, authorize: Authorize, message: str, signature: str, session_ttl: int
) -> tuple[str, PortalSession, int, int]:
    """Check a signed challenge and open a session: (token, session, member id, roles)."""
    challenge = check_signed_challenge(engine=engine, message=message, signature=signature)
    nonce = challenge.nonce
    with engine.begin() as connection:  # burn the nonce: of two concurrent sign-ins with it, one wins
        used = connection.execute(
            update(SignInChallenge)
            .where(col(SignInChallenge.nonce) == nonce, col(SignInChallenge.used_at).is_(None))
            .values(used_at=utcnow())
        )
    if used.rowcount != 1:
        raise SignInError("this challenge was already used: ask for a new one")
    authorization = authorize(challenge.account)
    if authorization.member_id == 0:
        raise ForbiddenError(f"{challenge.account} is not an account of an active member")
    token = secrets.token_urlsafe(32)
    row = PortalSession(
        token_hash=_hash(token), account=challenge.account, expires_at=utcnow() + timedelta(seconds=session_ttl)
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return token, row, authorization.member_id, authorization.roles


def check_signed_challenge(*, engine: Engine, message: str, signature: str) -> SignInChallenge:
    """The challenge ``message`` answers, once checked: issued by this portal unchanged, unexpired, unused, signed by
    the account it was issued to (:class:`SignInError` otherwise). The caller burns its nonce."""
    nonce = next((line[len("Nonce: ") :] for line in message.splitlines() if line.startswith("Nonce: ")), None)
    if not nonce:
        raise SignInError("the message carries no nonce: sign the message the portal issued")
    with Session(engine) as session:
        challenge = session.get(SignInChallenge, nonce)
    if challenge is None or challenge.message != message:
        raise SignInError("unknown challenge: ask for a new one and sign it unchanged")
    if _aware(challenge.expires_at) < utcnow():
        raise SignInError("the challenge expired: ask for a new one")
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except (ValueError, TypeError, ValidationError) as exc:
        raise SignInError(f"the signature cannot be read: {exc}") from None
    if signer != challenge.account:
        raise SignInError("the signature is not by the account the challenge was issued to")
    if challenge.used_at is not None:
        raise SignInError("this challenge was already used: ask for a new one")
    return challenge


def sign_out(*, engine: Engine, token: str) -> None:
    with Session(engine) as session:
        row = session.get(PortalSession, _hash(token))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            session.add(row)
            session.commit()


def authenticate(*, engine: Engine, authorize: Authorize, token: str | None, api_key: str | None) -> Principal:
    """The caller of a request, with its rights read from the chain now."""
    if api_key:
        with Session(engine) as session:
            key = session.exec(select(ApiKey).where(ApiKey.key_hash == _hash(api_key))).first()
            if key is None or key.revoked_at is not None:
                raise NotSignedInError("unknown or revoked API key")
            now = utcnow()
            if key.last_used_at is None or _aware(key.last_used_at) < now - timedelta(minutes=1):
                key.last_used_at = now  # to the minute: a write per request would serialise every client
                session.add(key)
                session.commit()
            account, via, scope, key_id = key.account, "api-key", key.scope, key.id
    elif token:
        with Session(engine) as session:
            row = session.get(PortalSession, _hash(token))
        if row is None or row.ended_at is not None or _aware(row.expires_at) < utcnow():
            raise NotSignedInError("the session is unknown, ended or expired: sign in again")
        account, via, scope, key_id = row.account, "session", Scope.WRITE, None
    else:
        raise NotSignedInError("sign in (Authorization: Bearer <token>) or send an API key (X-API-Key)")
    authorization = authorize(account)
    if authorization.member_id == 0:
        raise ForbiddenError(f"{account} is no longer an account of an active member (suspended, expelled or removed)")
    return Principal(account, authorization.member_id, authorization.roles, via, scope, key_id)


def create_api_key(*, engine: Engine, principal: Principal, name: str, scope: Scope) -> tuple[str, ApiKey]:
    """A new key for the caller's account (shown once)."""
    if principal.via != "session":
        raise ForbiddenError("API keys are made from a signed-in session, not with another key")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        key_hash=_hash(key),
        prefix=key[:10],
        name=name,
        account=principal.account,
        member_id=principal.member_id,
        scope=scope,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return key, row


def list_api_keys(*, engine: Engine, principal: Principal) -> list[ApiKey]:
    with Session(engine) as session:
        return list(
            session.exec(select(ApiKey).where(ApiKey.member_id == principal.member_id).order_by(col(ApiKey.id))).all()
        )


def revoke_api_key(*, engine: Engine, principal: Principal, key_id: int) -> ApiKey:
    """Revoke one of the member's keys (idempotent: revoking a revoked key changes nothing)."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.member_id != principal.member_id:
            raise NotFoundError(f"this member has no API key {key_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            session.commit()
        return row


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
