"""Signing in with a chain account (``/api/v1/auth``), signing out, and who the portal takes the caller for
(``/api/v1/me``); thin routes over auth.py. The challenge and the session are ``public`` (no sign-in before them);
the rest needs one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from consortium_portal import auth
from consortium_portal.http.deps import API, SESSION_COOKIE, ContextDep, PrincipalDep
from consortium_portal.models import ChallengeIssued, ChallengeRequest, Me, SessionIssued, SignInRequest
from node_adapter.clients import role_names

public = APIRouter(prefix=API, tags=["sign-in"])
router = APIRouter(prefix=API, tags=["sign-in"])


@public.post("/auth/challenge")
def challenge(body: ChallengeRequest, context: ContextDep) -> ChallengeIssued:
    """A one-time EIP-4361 message for the account to sign."""
    issued = context.challenge(body.address)
    return ChallengeIssued(message=issued.message, nonce=issued.nonce, expires_at=issued.expires_at)


@public.post("/auth/session")
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


@router.delete("/auth/session", status_code=204)
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


@router.get("/me")
def me(principal: PrincipalDep) -> Me:
    """Who the portal takes the caller for, with the roles the chain gives it now."""
    return Me(
        account=principal.account,
        member_id=principal.member_id,
        roles=principal.role_names,
        via=principal.via,
        scope=principal.scope,
    )
