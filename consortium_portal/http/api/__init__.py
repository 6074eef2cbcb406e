"""The portal's REST API (``/api/v1``): one module per area, each a thin router over the services, with its prefix.

``public`` gathers the routes anyone may call (an organisation's application to join, ``/health``, the sign-in
challenge and session); ``router`` every other one, each of which needs a session or an API key (``http/deps.py``).
Their order is the order of the OpenAPI document (``docs/reference/api.md`` lists each tag's routes in it).
"""

from __future__ import annotations

from fastapi import APIRouter

from consortium_portal.http.api import (
    access,
    attest,
    cases,
    files,
    governance,
    health,
    intake,
    keys,
    loans,
    oracle,
    points,
    records,
    risk,
    signin,
    verify,
)

public = APIRouter(routes=[*governance.public.routes, *health.public.routes, *signin.public.routes])
router = APIRouter(
    routes=[
        *governance.router.routes,
        *signin.router.routes,
        *keys.router.routes,
        *verify.router.routes,
        *attest.router.routes,
        *points.router.routes,
        *cases.router.routes,
        *oracle.router.routes,
        *records.router.routes,
        *loans.router.routes,
        *files.router.routes,
        *risk.router.routes,
        *intake.router.routes,
        *access.router.routes,
    ]
)
