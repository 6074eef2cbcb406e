"""The portal's FastAPI application: ``create_app()`` assembles the context, the routers and the error handlers.

``create_app()`` with no arguments reads the settings at start-up (lifespan) and opens everything then; tests and
``consortium up`` build a :class:`~consortium_portal.context.PortalContext` themselves and pass it in. Nothing is
opened at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from consortium_portal.context import PortalContext
from consortium_portal.http import api, pages
from consortium_portal.http.api import files as files_api
from consortium_portal.http.errors import install_error_handlers
from consortium_portal.http.headers import SecurityHeaders
from consortium_portal.http.limits import BodyLimit
from consortium_portal.http.pages import attest as attest_pages
from consortium_portal.http.pages import intake as intake_pages
from consortium_portal.settings import PortalSettings
from node_adapter.settings import get_settings


def create_app(context: PortalContext | None = None, *, index: bool = True) -> ASGIApp:
    """The portal. Without a context, one is opened from the environment's settings at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = context is None
        ctx = context or PortalContext.open(PortalSettings(), get_settings())
        app.state.context = ctx
        if own and index:
            ctx.start_background()
        try:
            yield
        finally:
            if own:
                ctx.stop_background()

    app = FastAPI(
        title="Vehicle Evidence Consortium portal",
        version="1",
        summary="Members sign in with their chain account; banks verify vehicles; every fact is checkable on chain.",
        lifespan=lifespan,
    )
    if context is not None:
        app.state.context = context
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)

    app.include_router(api.public)  # no sign-in: an organisation's application, /health, the sign-in pair
    app.include_router(api.router)  # the members' API (consortium_portal/http/api)
    app.include_router(pages.router)  # the web pages (consortium_portal/http/pages)
    settings = context.settings if context is not None else PortalSettings()
    uploads = (files_api.UPLOAD_PATH, attest_pages.UPLOAD_PATH, intake_pages.UPLOAD_PATH)
    return BodyLimit(app, settings.max_body_bytes, larger=dict.fromkeys(uploads, settings.max_file_bytes))
