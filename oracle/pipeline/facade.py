"""The facade: :class:`Oracle`, one object with one method per job, made of the pipeline's parts.

It builds the shared :class:`~oracle.pipeline.context.OracleContext` and the parts on it, and hands each call on:

| method                          | part                                            |
|---------------------------------|-------------------------------------------------|
| ``ingest(source)``              | :class:`~oracle.pipeline.ingest.Ingestion`      |
| ``value()``, ``estimate()``,    | :class:`~oracle.pipeline.valuation.Valuation`   |
| ``chain_time()``                |                                                 |
| ``dispatch()``                  | :class:`~oracle.pipeline.dispatch.Dispatcher`   |
| ``anchor()``, ``proof(record)`` | :class:`~oracle.pipeline.anchoring.Anchoring`   |
| ``job(name)``, ``status()``     | :mod:`oracle.pipeline.health`                   |

The context's attributes (``settings``, ``engine``, ``outbox``, ``suite``, ``signers``, ``sources``,
``subject_key``, ``actions_queued``, and the settable ``clock`` and ``estimator``) read through to the one context
every part holds.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session

from node_adapter.clients import Suite
from node_adapter.db import utcnow
from node_adapter.outbox import Outbox
from oracle.pipeline.anchoring import Anchoring
from oracle.pipeline.context import OracleContext
from oracle.pipeline.dispatch import Dispatcher
from oracle.pipeline.health import JobHealth, oracle_status
from oracle.pipeline.ingest import Ingestion
from oracle.pipeline.valuation import Valuation
from oracle.residual import ResidualEstimator, VehicleFacts
from oracle.settings import OracleSettings, SourceName
from oracle.sources import SourceClient
from oracle.store import SourceRecord, create_oracle_schema


class Oracle:
    """The jobs of one oracle process. Run one process per database (the jobs are not meant to race each other)."""

    def __init__(
        self,
        settings: OracleSettings,
        engine: Engine,
        suite: Suite,
        signers: dict[str, LocalAccount],
        *,
        subject_key: bytes | None = None,
        estimator: ResidualEstimator | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``subject_key``: the consortium key (``NodeAdapterSettings.subject_key``); by default the dev key, which
        only a dev chain accepts."""
        self.context = OracleContext(
            settings, engine, suite, signers, subject_key=subject_key, estimator=estimator, clock=clock
        )
        self.ingestion = Ingestion(self.context)
        self.valuation = Valuation(self.context)
        self.dispatcher = Dispatcher(self.context, self.valuation)
        self.anchoring = Anchoring(self.context)
        self.health = JobHealth(self.context)
        create_oracle_schema(engine)

    # ------------------------------------------------------------------------------------------ the context

    @property
    def settings(self) -> OracleSettings:
        return self.context.settings

    @property
    def engine(self) -> Engine:
        return self.context.engine

    @property
    def outbox(self) -> Outbox:
        return self.context.outbox

    @property
    def suite(self) -> Suite:
        return self.context.suite

    @property
    def signers(self) -> dict[str, LocalAccount]:
        return self.context.signers

    @property
    def sources(self) -> dict[SourceName, SourceClient]:
        return self.context.sources

    @property
    def subject_key(self) -> bytes:
        return self.context.subject_key

    @property
    def actions_queued(self) -> int:
        """Chain actions queued by this process (a change tells the scheduler to dispatch now)."""
        return self.context.actions_queued

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.context.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.context.clock = clock

    @property
    def estimator(self) -> ResidualEstimator:
        return self.context.estimator

    @estimator.setter
    def estimator(self, estimator: ResidualEstimator) -> None:
        self.context.estimator = estimator

    def close(self) -> None:
        for client in self.context.sources.values():
            client.close()

    def subject(self, vin: str) -> str:
        return self.context.subject(vin)

    # ------------------------------------------------------------------------------------------ the jobs

    def ingest(self, source: SourceName) -> int:
        """Read ``source`` from its cursor (at most ``max_pages_per_run`` pages); the number of events read."""
        return self.ingestion.ingest(source)

    def value(self) -> int:
        """Queue the valuation reports whose estimate moved or whose heartbeat expired; the number queued."""
        return self.valuation.value()

    def estimate(self, session: Session, vin: str) -> tuple[float, VehicleFacts] | None:
        """A vehicle's residual-value estimate now and the facts it rests on (None while they are not known)."""
        return self.valuation.estimate(session, vin)

    def chain_time(self) -> datetime:
        """The time of the chain's latest block."""
        return self.valuation.chain_time()

    def dispatch(self, *, limit: int = 500) -> int:
        """Submit the waiting actions whose precondition holds, follow the submitted ones; the number that moved."""
        return self.dispatcher.dispatch(limit=limit)

    def anchor(self) -> int:
        """Follow pending batches and start new ones; the number of records put in new batches."""
        return self.anchoring.anchor()

    def proof(self, record: SourceRecord) -> tuple[int, list[str]]:
        """A batched record's batch id and Merkle proof (raises if it is not in a confirmed batch)."""
        return self.anchoring.proof(record)

    # ------------------------------------------------------------------------------------------ health

    def status(self) -> dict[str, Any]:
        """See :func:`oracle.pipeline.health.oracle_status`."""
        return oracle_status(self.context.engine, self.context.settings)

    def job(self, name: str) -> AbstractContextManager[bool]:
        """Run a job's body with health bookkeeping: yields False (skip) while the job is backing off (see
        :meth:`oracle.pipeline.health.JobHealth.job`)."""
        return self.health.job(name)
