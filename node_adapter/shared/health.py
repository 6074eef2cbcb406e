"""Services publish how their feeds are doing into one table, so others (the portal) can show it without importing them.

The oracle writes a row per feed (its jobs) after its runs; the portal reads them. The table is in the shared database
next to the read model; a row is replaced on every publication.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from node_adapter.db import create_tables


class ServiceHealth(SQLModel, table=True):
    """One feed of one service, as the service last published it."""

    __tablename__ = "service_health"

    service: str = Field(primary_key=True, max_length=40)
    feed: str = Field(primary_key=True, max_length=60)
    healthy: bool
    last_success: datetime | None = None
    failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    """JSON of whatever else the service reports for the feed (records, quarantined, cursor, source time, ...)."""
    published_at: datetime


def create_health_schema(engine: Engine) -> None:
    create_tables(engine, ServiceHealth)


def publish(engine: Engine, service: str, feeds: dict[str, dict[str, Any]]) -> None:
    """Replace ``service``'s rows with ``feeds`` (feed name -> fields; ``healthy``, ``last_success`` (ISO),
    ``failures`` and ``last_error`` are columns, the rest goes in ``detail``)."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        for name, fields in feeds.items():
            rest = {k: v for k, v in fields.items() if k not in ("healthy", "last_success", "failures", "last_error")}
            last = fields.get("last_success")
            session.merge(
                ServiceHealth(
                    service=service,
                    feed=name,
                    healthy=bool(fields.get("healthy", True)),
                    last_success=datetime.fromisoformat(last) if isinstance(last, str) else None,
                    failures=int(fields.get("failures") or 0),
                    last_error=fields.get("last_error"),
                    detail=json.dumps(rest, default=str),
                    published_at=now,
                )
            )
        session.commit()


def read(engine: Engine, service: str | None = None) -> list[ServiceHealth]:
    """The published rows (of one service), by service and feed."""
    with Session(engine) as session:
        statement = select(ServiceHealth).order_by(col(ServiceHealth.service), col(ServiceHealth.feed))
        if service is not None:
            statement = statement.where(ServiceHealth.service == service)
        return list(session.exec(statement).all())
