"""``/health``: whether the portal reaches the chain, and how far its read model is (no sign-in)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from consortium_portal.http.deps import ContextDep

public = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    chain_id: int
    block: int
    indexed_block: int | None


@public.get("/health")
def health(context: ContextDep) -> Health:
    """Whether the portal reaches the chain, and how far its read model is."""
    checkpoint = context.indexer().checkpoint()
    return Health(
        status="ok",
        chain_id=context.connection.chain_id,
        block=context.connection.call(lambda w3: int(w3.eth.block_number)),
        indexed_block=checkpoint.block_number if checkpoint is not None else None,
    )
