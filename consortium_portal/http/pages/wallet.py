"""A member's write from a page, and who signs it.

On a local dev chain (chain ids 31337, 1337) and with ``PORTAL_DEV_SIGNING`` on, a visitor may sign in as one of the
chain's dev accounts and the pages send its writes from that account's key on the server: those keys come from the
public test mnemonic and exist only on dev chains. Anywhere else the page shows the transaction for the member's
wallet to send.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_utils.crypto import keccak
from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from consortium_portal import records
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import PortalError
from consortium_portal.http.render import first_error, form_fields, refused
from node_adapter.clients import ContractClient
from node_adapter.dev.devchain import DEV_WALLET_SIZE
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import ContractRevert
from node_adapter.settings import DEV_CHAIN_IDS


def dev_signing(context: PortalContext) -> bool:
    """Whether the pages sign as dev accounts here (a local dev chain, ``PORTAL_DEV_SIGNING`` on)."""
    return context.settings.dev_signing and context.connection.chain_id in DEV_CHAIN_IDS


def dev_keys() -> dict[str, str]:
    return {a.address: a.private_key for a in dev_accounts(DEV_WALLET_SIZE, DEV_MNEMONIC)}


def send_as_member(context: PortalContext, principal: Principal, client: ContractClient, key: str, data: str) -> bool:
    """On a dev chain, send a prepared write from the member's dev account through the outbox (True); anywhere else
    the page shows the transaction for the member's wallet to send (False)."""
    if not (dev_signing(context) and principal.account in dev_keys()):
        return False
    client.submit(context.runtime.outbox, key=key, sender=principal.account, data=data)
    return True


async def member_write(
    request: Request,
    context: PortalContext,
    principal: Principal,
    prepare: Callable[[PortalContext, Principal, dict[str, str]], records.PreparedWrite],
    *,
    what: str,
    page: Callable[..., Response],
    sent: Callable[[], Response],
) -> Response:
    """A member's own write from a form: prepared (and tried) by the portal, then sent from the member's dev account
    on a dev chain (``sent()``), else shown on ``page`` for the wallet; a refusal is shown on ``page`` with its reason.
    The same write sent twice is one outbox row (its key is the calldata's hash)."""
    form = await form_fields(request)
    try:
        prepared = prepare(context, principal, form)
    except ValidationError as exc:
        return page(status=422, error=f"not {what}: {first_error(exc)}")
    except (PortalError, ContractRevert) as exc:
        return page(**refused(exc))
    data = prepared.transaction["data"]
    client: ContractClient = context.suite.registry
    if prepared.transaction["to"] == context.suite.collateral.address:
        client = context.suite.collateral
    key = f"portal:{prepared.write}:{principal.account}:{keccak(hexstr=data).hex()}"
    if send_as_member(context, principal, client, key, data):
        return sent()
    return page(prepared=prepared)
