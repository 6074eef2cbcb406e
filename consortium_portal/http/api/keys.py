"""A member's API keys for its machine clients (``/api/v1/api-keys``); thin routes over auth.py."""

from __future__ import annotations

from fastapi import APIRouter

from consortium_portal import auth
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, RowId
from consortium_portal.models import ApiKeyCreate, ApiKeyIssued, ApiKeyPublic

router = APIRouter(prefix=f"{API}/api-keys", tags=["api keys"])


@router.post("", status_code=201)
def create_api_key(body: ApiKeyCreate, principal: PrincipalDep, context: ContextDep) -> ApiKeyIssued:
    """A key for machine clients of this member (the key is shown once)."""
    key, row = auth.create_api_key(engine=context.engine, principal=principal, name=body.name, scope=body.scope)
    assert row.id is not None
    return ApiKeyIssued(id=row.id, key=key, name=row.name, scope=row.scope)


@router.get("")
def list_api_keys(principal: PrincipalDep, context: ContextDep) -> list[ApiKeyPublic]:
    """This member's keys (never the keys themselves)."""
    return [
        ApiKeyPublic.model_validate(k, from_attributes=True)
        for k in auth.list_api_keys(engine=context.engine, principal=principal)
    ]


@router.delete("/{key_id}")
def revoke_api_key(key_id: RowId, principal: PrincipalDep, context: ContextDep) -> ApiKeyPublic:
    """Revoke a key of this member (revoking it again changes nothing)."""
    principal.require_write()
    row = auth.revoke_api_key(engine=context.engine, principal=principal, key_id=key_id)
    return ApiKeyPublic.model_validate(row, from_attributes=True)
