"""FastAPI app factories, one per source, over a shared ``Simulation``; routes are thin, the logic is in simulation.py.

Every source app serves:

- ``GET /health``
- ``GET /v1/events?after=<cursor>&limit=<n>`` -> ``{"events": [...], "next": "<cursor>", "has_more": bool}``
- ``GET /admin/clock``, ``POST /admin/advance {"seconds": N}`` (the clock is shared by all sources)
- ``POST /admin/scenarios {"scenario": "<name>", ...}``: this source's scenarios and the fault scenarios

and its own read routes (DMV ``/v1/vehicles/{vin}``, market ``/v1/index`` and ``/v1/comparables``, loans
``/v1/loans`` and ``/v1/loans/{loan_ref}``). Faults (``slow``, ``fail``) apply to the ``/v1`` routes only, so health
checks and the admin routes keep answering.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from oracle.reference import REGIONS
from oracle.simulators.simulation import (
    MAX_ADVANCE_SECONDS,
    MAX_PAGE,
    SOURCES,
    ComparableSale,
    CursorError,
    FeedPage,
    IndexQuote,
    LoanStatus,
    NotFoundError,
    Scenario,
    ScenarioError,
    ScenarioResult,
    Simulation,
    SimulatorError,
    Source,
    VehicleRecord,
    iso,
)


class AdvanceRequest(BaseModel):
    seconds: int = Field(gt=0, le=MAX_ADVANCE_SECONDS)


class ClockState(BaseModel):
    now: str
    started: str
    emitted: dict[str, int] = Field(default_factory=dict)


class Health(BaseModel):
    status: str = "ok"
    source: str
    now: str
    events: dict[str, int]


def _error_status(error: SimulatorError) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, ScenarioError | CursorError):
        return 422
    return 500  # pragma: no cover (every raised error has a category)


def _install_error_handler(app: FastAPI) -> None:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, SimulatorError)
        return JSONResponse(status_code=_error_status(error), content={"detail": str(error)})

    app.add_exception_handler(SimulatorError, handle)


def _admin_router(sim: Simulation) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/clock")
    async def clock() -> ClockState:
        return ClockState(now=iso(sim.now), started=iso(sim.start))

    @router.post("/advance")
    async def advance(request: AdvanceRequest) -> ClockState:
        emitted = sim.advance(request.seconds)
        return ClockState(now=iso(sim.now), started=iso(sim.start), emitted=dict(emitted))

    return router


def _health(sim: Simulation, name: str) -> Health:
    return Health(source=name, now=iso(sim.now), events={source: len(sim.feeds[source].events) for source in SOURCES})


def create_source_app(sim: Simulation, source: Source) -> FastAPI:
    """The simulator of one source: feed, health, admin and scenarios, plus the source's own read routes."""

    async def faults() -> None:
        delay_ms, fail = sim.take_fault(source)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if fail:
            raise HTTPException(status_code=503, detail=f"simulated {source} outage", headers={"Retry-After": "1"})

    app = FastAPI(title=f"{source} simulator", version="1")
    _install_error_handler(app)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(faults)])

    @v1.get("/events")
    async def events(
        after: Annotated[str | None, Query(description="the 'next' of the previous page; omit to start")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> FeedPage:
        return sim.page(source, after, limit)

    _ROUTES[source](v1, sim)
    app.include_router(v1)
    app.include_router(_admin_router(sim))

    @app.post("/admin/scenarios", tags=["admin"])
    async def scenarios(scenario: Annotated[Scenario, Body()]) -> ScenarioResult:
        return sim.apply(scenario, source=source)

    @app.get("/health")
    async def health() -> Health:
        return _health(sim, source)

    return app


def _dmv_routes(router: APIRouter, sim: Simulation) -> None:
    @router.get("/vehicles/{vin}")
    async def vehicle(vin: str) -> VehicleRecord:
        return sim.vehicle_record(vin)


def _telematics_routes(router: APIRouter, sim: Simulation) -> None:
    return


def _market_routes(router: APIRouter, sim: Simulation) -> None:
    @router.get("/index")
    async def index(region: str | None = None) -> list[IndexQuote]:
        """The price index (base 100 at the start) of one region, or of every region without ``region``."""
        return sim.indices() if region is None else [sim.index(region)]

    @router.get("/comparables")
    async def comparables(
        make: str,
        model: str,
        year: int | None = None,
        region: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> list[ComparableSale]:
        return sim.comparables(make=make, model=model, year=year, region=region, limit=limit)


def _loans_routes(router: APIRouter, sim: Simulation) -> None:
    @router.get("/loans")
    async def loans() -> list[LoanStatus]:
        return sim.loan_list()

    @router.get("/loans/{loan_ref}")
    async def loan(loan_ref: str) -> LoanStatus:
        return sim.loan(loan_ref)


_ROUTES = {"dmv": _dmv_routes, "telematics": _telematics_routes, "market": _market_routes, "loans": _loans_routes}


def create_dmv_app(sim: Simulation) -> FastAPI:
    return create_source_app(sim, "dmv")


def create_telematics_app(sim: Simulation) -> FastAPI:
    return create_source_app(sim, "telematics")


def create_market_app(sim: Simulation) -> FastAPI:
    return create_source_app(sim, "market")


def create_loans_app(sim: Simulation) -> FastAPI:
    return create_source_app(sim, "loans")


class FleetVehicle(BaseModel):
    vin: str
    make: str
    model: str
    year: int
    region: str
    plate: str
    owner_id: str
    purchase_price_cny: int
    odometer_km: float
    loan_ref: str | None


class FleetView(BaseModel):
    seed: int
    vehicles: list[FleetVehicle]
    regions: dict[str, dict[str, float]]


def create_app(sim: Simulation) -> FastAPI:
    """The four sources under ``/dmv``, ``/telematics``, ``/market``, ``/loans``; root health, clock and fleet."""
    app = FastAPI(title="Vehicle Evidence Consortium source simulators", version="1")
    _install_error_handler(app)
    for source in SOURCES:
        app.mount(f"/{source}", create_source_app(sim, source))
    app.include_router(_admin_router(sim))

    @app.get("/health")
    async def health() -> Health:
        return _health(sim, "all")

    @app.get("/admin/fleet", tags=["admin"])
    async def fleet() -> FleetView:
        """The generated fleet as it was at the start (ground truth for tests)."""
        loans = {loan.vin: loan.loan_ref for loan in sim.fleet.loans}
        return FleetView(
            seed=sim.seed,
            vehicles=[
                FleetVehicle(
                    vin=v.vin,
                    make=v.make,
                    model=v.model,
                    year=v.year,
                    region=v.region,
                    plate=v.plate,
                    owner_id=v.owner_id,
                    purchase_price_cny=v.purchase_price_cny,
                    odometer_km=v.odometer_km,
                    loan_ref=loans.get(v.vin),
                )
                for v in sim.fleet.vehicles
            ],
            regions={
                r.code: {"lat_min": r.lat_min, "lat_max": r.lat_max, "lon_min": r.lon_min, "lon_max": r.lon_max}
                for r in REGIONS
            },
        )

    return app
