"""The portal's web pages: server-rendered (Jinja2, ``http/render.py``), a few lines of JavaScript only for wallet
signatures; one module per area, each a router over the same services as the API.

Pages use the same session cookie as the API and one sign-in guard (``http/deps.SignedInDep``: a visitor without a
session is sent to sign in). On a local dev chain a visitor may sign in as a dev account and sign with its key on the
server (``wallet.py``); anywhere else the pages ask the member's wallet.
"""

from __future__ import annotations

from fastapi import APIRouter

from consortium_portal.http.pages import (
    access,
    attest,
    cases,
    governance,
    intake,
    loans,
    oracle,
    points,
    records,
    risk,
    signin,
    verify,
)

router = APIRouter(
    routes=[
        *signin.router.routes,
        *verify.router.routes,
        *attest.router.routes,
        *cases.router.routes,
        *points.router.routes,
        *oracle.router.routes,
        *governance.router.routes,
        *records.router.routes,
        *loans.router.routes,
        *risk.router.routes,
        *access.router.routes,
        *intake.router.routes,
    ]
)
