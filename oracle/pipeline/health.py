"""The jobs' health: each job's run recorded (last success, failures in a row, backoff after a failure), and the
oracle's status read from the database alone (``consortium oracle status``, the portal's feed page).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from node_adapter.db import utcnow
from node_adapter.exceptions import ContractRevert
from node_adapter.outbox import Outbox
from oracle.pipeline.context import OracleContext, aware
from oracle.settings import OracleSettings
from oracle.store import Anchor, AnchorBatch, ChainAction, FeedCursor, FeedHealth, Quarantined, SourceRecord

logger = logging.getLogger(__name__)


class JobHealth:
    """Health bookkeeping around every job's run (one ``FeedHealth`` row per job)."""

    def __init__(self, context: OracleContext) -> None:
        self.context = context

    @contextmanager
    def job(self, name: str) -> Iterator[bool]:
        """Run a job's body with health bookkeeping: yields False (skip) while the job is backing off.

        A failure is recorded (message, count in a row, next attempt after an exponential pause up to
        ``max_backoff``) and swallowed, so one broken source never stops the others.
        """
        now = utcnow()
        with Session(self.context.engine) as session:
            health = session.get(FeedHealth, name) or FeedHealth(feed=name)
            pause = aware(health.next_attempt_at)
        if pause is not None and pause > now:
            yield False
            return
        try:
            yield True
        except Exception as exc:
            self._record(name, exc)
        else:
            self._record(name, None)

    def _record(self, name: str, error: Exception | None) -> None:
        now = utcnow()
        settings = self.context.settings
        with Session(self.context.engine) as session:
            health = session.get(FeedHealth, name) or FeedHealth(feed=name)
            health.last_attempt = now
            if error is None:
                health.last_success, health.failures, health.last_error, health.next_attempt_at = now, 0, None, None
            else:
                health.failures += 1
                pause = min(settings.max_backoff, settings.interval * 2 ** (health.failures - 1))
                health.next_attempt_at = now + timedelta(seconds=pause)
                health.last_error = _describe(error)
                logger.warning(
                    "job %s failed (%d in a row; next try in %.0f s): %s",
                    name,
                    health.failures,
                    pause,
                    health.last_error,
                )
            session.add(health)
            session.commit()


def oracle_status(engine: Engine, settings: OracleSettings) -> dict[str, Any]:
    """Each job's health (last success, lag, failures), the backlog of actions, records waiting for a batch and
    outbox writes, the batches, and the quarantine by reason: from the database alone (no source, no chain)."""
    now = utcnow()
    with Session(engine) as session:
        feeds = {}
        for row in session.exec(select(FeedHealth)).all():
            last = aware(row.last_success)
            feeds[row.feed] = {
                "healthy": row.failures < settings.unhealthy_after,
                "last_success": last.isoformat() if last else None,
                "lag_s": round((now - last).total_seconds(), 1) if last else None,
                "failures": row.failures,
                "last_error": row.last_error,
                "records": row.records,
                "duplicates": row.duplicates,
                "quarantined": row.quarantined,
            }
        for cursor in session.exec(select(FeedCursor)).all():
            feed = feeds.setdefault(f"ingest:{cursor.source}", {})
            source_time = aware(cursor.source_time)
            feed["cursor"] = cursor.cursor
            feed["source_time"] = source_time.isoformat() if source_time else None
        actions = dict(session.exec(select(ChainAction.status, func.count()).group_by(col(ChainAction.status))).all())
        unbatched = session.exec(
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.anchor == Anchor.BATCH, col(SourceRecord.batch_row_id).is_(None))
        ).one()
        quarantine = dict(
            session.exec(select(Quarantined.reason, func.count()).group_by(col(Quarantined.reason))).all()
        )
        batches = dict(session.exec(select(AnchorBatch.status, func.count()).group_by(col(AnchorBatch.status))).all())
    return {
        "feeds": feeds,
        "backlog": {
            "actions": {str(k): int(v) for k, v in actions.items()},
            "unbatched_records": int(unbatched),
            "outbox": Outbox(engine).backlog(),
        },
        "batches": {str(k): int(v) for k, v in batches.items()},
        "quarantined": {str(k): int(v) for k, v in quarantine.items()},
    }


def _describe(error: Exception) -> str:
    if isinstance(error, ContractRevert):
        return f"contract error {error.error_name}"
    return f"{type(error).__name__}: {error}"[:500]
