"""The sign-in page (``/``), signing in as a dev account on a dev chain (``/dev/sign-in``), and signing out."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consortium_portal import auth
from consortium_portal.errors import PortalError
from consortium_portal.http.deps import SESSION_COOKIE, ContextDep, VisitorDep
from consortium_portal.http.pages.wallet import dev_signing
from consortium_portal.http.render import form_fields, page
from node_adapter.clients import role_names
from node_adapter.dev.devchain import DEV_WALLET_SIZE
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, context: ContextDep, visitor: VisitorDep) -> Response:
    if visitor is not None:
        return RedirectResponse("/verify", status_code=303)
    accounts = []
    if dev_signing(context):
        for index, account in enumerate(dev_accounts(DEV_WALLET_SIZE, DEV_MNEMONIC)):
            roles = context.suite.membership.authorize(account.address).roles
            accounts.append({"index": index, "address": account.address, "roles": ", ".join(role_names(roles)) or "-"})
    return page(request, "sign_in.html", None, dev_accounts=accounts)


@router.post("/dev/sign-in")
async def dev_sign_in(request: Request, context: ContextDep) -> Response:
    if not dev_signing(context):
        return page(request, "sign_in.html", None, status=403, error="dev sign-in exists only on a local dev chain")
    form = await form_fields(request)
    index = int(form.get("account", "-1")) if form.get("account", "").isdigit() else -1
    if not 0 <= index < DEV_WALLET_SIZE:
        return page(request, "sign_in.html", None, status=422, error="choose one of the dev accounts")
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
        return page(request, "sign_in.html", None, status=exc.status, error=str(exc))
    response = RedirectResponse("/verify", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=context.settings.session_ttl, httponly=True, samesite="lax")
    return response


@router.get("/sign-out")
def sign_out(request: Request, context: ContextDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.sign_out(engine=context.engine, token=token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
