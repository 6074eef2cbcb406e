"""What the routes depend on: the portal's context, the caller (a session or an API key), a full-document reader,
an id in a path, and the pages' one sign-in guard, each as a FastAPI dependency alias.

API routes declare ``ContextDep``, ``PrincipalDep`` (401 without a valid session or API key) or ``ReaderDep``; page
routes declare ``SignedInDep``, which sends a visitor without a session to the sign-in page (a 303 to ``/``, made by
the handler in ``http/errors.py``); pages read the session cookie only, never an API key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi import Path as FastApiPath

from consortium_portal import auth
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import NotSignedInError, PortalError
from consortium_portal.models import MAX_PURPOSE
from consortium_portal.receipts import Reader, purpose_of

API = "/api/v1"
"""The path every API router's prefix starts with."""

SESSION_COOKIE = "portal_session"

RowId = Annotated[int, FastApiPath(ge=1, le=2**53)]
"""An id in a path: positive, and small enough for every database's integers."""


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


# ---------------------------------------------------------------------------------------------------- pages


class SignInFirst(NotSignedInError):
    """A page's visitor has no valid session: the page answers with the sign-in page (``http/errors.py``)."""


def get_visitor(request: Request, context: ContextDep) -> Principal | None:
    """Who a page's visitor is signed in as (by the session cookie), or None (no session, an ended one, or a member
    over its rate)."""
    try:
        return get_principal(request, context, authorization=None, x_api_key=None)
    except PortalError:
        return None


VisitorDep = Annotated[Principal | None, Depends(get_visitor)]


def signed_in(visitor: VisitorDep) -> Principal:
    """The pages' sign-in guard: the visitor's principal, or :class:`SignInFirst`."""
    if visitor is None:
        raise SignInFirst("sign in first")
    return visitor


SignedInDep = Annotated[Principal, Depends(signed_in)]
