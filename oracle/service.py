"""Running the oracle: its jobs on an APScheduler scheduler, its writes through an outbox worker.

One job per source (``ingest:dmv``, ``ingest:telematics``, ``ingest:market``, ``ingest:loans``) and per feed of its own
(``valuations``, ``dispatch``, ``anchor``), each on an interval trigger with ``coalesce`` (runs missed while the
process was busy or down collapse into one), ``max_instances=1`` (a slow run is never overlapped by the next) and a
misfire grace time. The job store is a table in the oracle's database, so a restarted process resumes the same
schedule; the jobs' progress (cursors, actions, batches) is in the database too. A job that fails is recorded and
paused with exponential backoff (``Oracle.job``), shows up as unhealthy in ``consortium oracle status``, and never
stops the process or the other jobs.

Jobs on a calendar of their own (the risk score's monthly calibration, ``risk:calibrate``) are scheduled by their
trigger and run by ``run(name)``, but not by ``run_once``/``settle``, which drive the feeds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from eth_account.signers.local import LocalAccount
from sqlalchemy.exc import DBAPIError

from node_adapter.clients import Suite
from node_adapter.exceptions import ChainUnavailableError
from node_adapter.progress import Progress
from node_adapter.runtime import Runtime
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings, load_keystore
from node_adapter.shared.health import create_health_schema, publish
from node_adapter.txworker import TxWorker
from oracle.pipeline import Oracle
from oracle.risk.job import RiskScorer
from oracle.risk.outcomes import RiskCalibrator
from oracle.risk.settings import RiskSettings
from oracle.settings import OracleSettings, OracleSettingsError, SourceName

logger = logging.getLogger(__name__)


class _SkipNotice(logging.Filter):
    """A run skipped because the previous one is still going is ``max_instances=1`` doing its job, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_SkipNotice())

STORE_RETRY = 2.0
"""Seconds before the scheduler tries its job table again after the database failed it."""


class OutageTolerantJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The job table in the oracle's database, outliving a database outage.

    APScheduler 3 retries a failed read of the due jobs, but an error while it writes a job's next run time, or reads
    the earliest one, escapes its loop and ends the scheduler's thread: the process lives on and no job runs again.
    Here a failed write is skipped (the job stays due and runs once at the next wake-up: the jobs coalesce) and a
    failed read of the earliest run time answers a retry ``STORE_RETRY`` seconds away.
    """

    def update_job(self, job: Any) -> None:
        try:
            super().update_job(job)
        except DBAPIError as exc:
            logger.warning("could not record the next run of job %s (database unavailable?): %s", job.id, exc.orig)

    def get_next_run_time(self) -> datetime | None:
        try:
            return cast(datetime | None, super().get_next_run_time())
        except DBAPIError as exc:
            logger.warning("could not read the job table (database unavailable?): %s", exc.orig)
            return datetime.now(UTC) + timedelta(seconds=STORE_RETRY)


CALENDAR_MISFIRE_GRACE = 86_400
"""A calendar job missed while the process was down still runs once if it comes back within a day."""

_running: dict[str, OracleService] = {}
"""The service of this process (one at most), for the scheduler's entry point."""
_running_lock = threading.Lock()


def run_job(name: str) -> None:
    """The scheduler's entry point (referenced by name, so the persisted job store can hold it)."""
    service = _running.get("service")
    if service is None:
        logger.warning("job %s fired with no oracle service running", name)
        return
    service.run(name)


class OracleService:
    """The oracle's jobs and its outbox worker in one process."""

    def __init__(
        self,
        oracle: Oracle,
        worker: TxWorker,
        *,
        risk: RiskScorer | None = None,
        calibration: tuple[RiskCalibrator, BaseTrigger] | None = None,
    ) -> None:
        """``risk``: the risk score's job (``risk``), run on the schedule and at once after new evidence arrives;
        ``calibration``: the refit against the read model's outcomes (``risk:calibrate``) and its trigger."""
        self.oracle = oracle
        self.worker = worker
        create_health_schema(oracle.engine)
        self.steps: dict[str, Callable[[], int]] = {
            **{f"ingest:{source}": _bind(oracle.ingest, source) for source in oracle.sources},
            "valuations": oracle.value,
            "dispatch": oracle.dispatch,
            "anchor": oracle.anchor,
            **({"risk": risk.run} if risk is not None else {}),
        }
        self.calendar: dict[str, tuple[Callable[[], int], BaseTrigger]] = {}
        """Jobs on a trigger of their own, not run by :meth:`run_once`."""
        if calibration is not None:
            self.calendar["risk:calibrate"] = (calibration[0].run, calibration[1])
        self._scheduler: BackgroundScheduler | None = None
        self._wake = threading.Event()
        self._publish_lock = threading.Lock()
        self._published_at = float("-inf")
        self._worker_thread: threading.Thread | None = None
        self._worker_stop: threading.Event | None = None

    def run(self, name: str) -> int:
        """Run one job now (with health bookkeeping); what it did, or 0 if it failed or is backing off.

        While the scheduler runs, a job that queued chain actions has ``dispatch`` run at once, and a dispatch that
        wrote to the outbox wakes the worker, so an alert does not wait out two intervals on its way to the chain.
        """
        done = 0
        queued = self.oracle.actions_queued
        step = self.steps[name] if name in self.steps else self.calendar[name][0]
        with self.oracle.job(name) as go:
            if go:
                done = step()
        self._publish()
        if self.oracle.actions_queued != queued:
            self._nudge("dispatch")
        if name == "dispatch" and done:
            self._wake.set()
        if name.startswith("ingest:") and done and "risk" in self.steps:
            self._nudge("risk")  # new evidence: score the vehicles it is about now, not at the next interval
        return done

    def publish_health(self) -> None:
        """Publish the feeds' health now, for others (the portal) to show."""
        publish(self.oracle.engine, "oracle", self.oracle.status()["feeds"])

    def _publish(self, every: float = 2.0) -> None:
        """:meth:`publish_health`, at most every ``every`` seconds (after job runs)."""
        now = time.monotonic()
        with self._publish_lock:
            if now - self._published_at < every:
                return
            self._published_at = now
        try:
            self.publish_health()
        except Exception:  # showing health must never break a job
            logger.exception("could not publish the oracle's health")

    def _nudge(self, job: str) -> None:
        scheduler = self._scheduler
        if scheduler is not None and scheduler.running:
            with contextlib.suppress(JobLookupError):
                scheduler.modify_job(job, next_run_time=datetime.now(UTC))

    def run_once(self) -> int:
        """Every job once in pipeline order, then one pass of the outbox worker; the total work done."""
        total = sum(self.run(name) for name in self.steps)
        try:
            total += self.worker.run_once()
        except ChainUnavailableError as exc:  # the writes wait in the outbox until a node answers
            logger.warning("outbox worker waiting for a chain node: %s", exc)
        return total

    def settle(self, *, rounds: int = 200, tolerate_failures: bool = False, progress: Progress | None = None) -> int:
        """Run everything until nothing moves any more (writes confirmed, batches anchored); the rounds taken.

        A failing job raises at once unless ``tolerate_failures`` (fault tests wait out an outage). ``progress``
        hears after each round how much of the most work seen waiting (records for a batch, writes in flight) is done.
        """
        most = 0
        for round_ in range(1, rounds + 1):
            moved = self.run_once()
            status = self.oracle.status()
            failing = {name: feed["last_error"] for name, feed in status["feeds"].items() if feed.get("failures")}
            if failing and not tolerate_failures:
                raise RuntimeError(f"oracle jobs failed: {failing}")
            backlog = status["backlog"]
            writes = sum(backlog["outbox"].get(s, 0) for s in ("queued", "signed", "sent", "mined"))
            busy = writes > 0
            if progress is not None:
                left = backlog["unbatched_records"] + writes
                most = max(most, left)
                anchored = status["batches"].get("confirmed", 0)
                waiting = backlog["unbatched_records"]
                progress(most - left, most, f"{waiting} records for a batch, {writes} writes, {anchored} batches")
            if moved == 0 and not busy and backlog["actions"].get("submitted", 0) == 0:
                return round_
        raise TimeoutError(f"the oracle still had work after {rounds} rounds: {self.oracle.status()['backlog']}")

    def start(self) -> None:
        """Start the scheduler and the outbox worker in background threads."""
        with _running_lock:
            if "service" in _running:
                raise RuntimeError("an oracle service is already running in this process")
            _running["service"] = self
        settings = self.oracle.settings
        self._worker_stop = threading.Event()
        self._worker_thread = threading.Thread(target=self._work, args=(self._worker_stop,), name="oracle-outbox",
                                               daemon=True)  # fmt: skip
        self._worker_thread.start()
        scheduler = BackgroundScheduler(
            jobstores={"default": OutageTolerantJobStore(engine=self.oracle.engine, tablename="oracle_jobs")},
            executors={"default": ThreadPoolExecutor(max(4, len(self.steps)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.misfire_grace},
            jobstore_retry_interval=STORE_RETRY,
            timezone=UTC,
        )
        for name in self.steps:
            scheduler.add_job(
                "oracle.service:run_job",
                "interval",
                seconds=settings.interval,
                args=[name],
                id=name,
                name=name,
                replace_existing=True,
            )
        for name, (_step, trigger) in self.calendar.items():
            scheduler.add_job(
                "oracle.service:run_job",
                trigger,
                args=[name],
                id=name,
                name=name,
                replace_existing=True,
                misfire_grace_time=CALENDAR_MISFIRE_GRACE,
            )
        scheduler.start()
        self._scheduler = scheduler
        calendar = "; ".join(f"{name} on {trigger}" for name, (_step, trigger) in self.calendar.items())
        logger.info("oracle running: jobs %s every %.1f s; %s", ", ".join(self.steps), settings.interval, calendar)

    def _work(self, stop: threading.Event, *, idle: float = 0.1) -> None:
        """The outbox worker's loop: a pass, then a pause when idle that a dispatch cuts short."""
        while not stop.is_set():
            try:
                moved = self.worker.run_once()
            except ChainUnavailableError as exc:
                logger.warning("outbox worker waiting for a chain node: %s", exc)
                stop.wait(1.0)
                continue
            except Exception:  # a database hiccup or a bug must not end the worker: log it, pause, go on
                logger.exception("outbox worker pass failed; retrying")
                stop.wait(1.0)
                continue
            if moved == 0:
                self._wake.wait(idle)
                self._wake.clear()

    def stop(self) -> None:
        """Stop the scheduler (waiting for running jobs) and the worker."""
        if self._scheduler is not None:
            self._scheduler.pause()  # no new runs while the running ones finish
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._worker_stop is not None and self._worker_thread is not None:
            self._worker_stop.set()
            self._wake.set()
            self._worker_thread.join(timeout=30)
        with _running_lock:
            if _running.get("service") is self:
                del _running["service"]


def open_service(
    node_settings: NodeAdapterSettings, settings: OracleSettings, *, setup_dev: bool = True
) -> OracleService:
    """The oracle of the configured network: its deployment, database, signers and outbox worker.

    On a dev chain the dev accounts sign and, with ``setup_dev``, are admitted as the oracle's members first.
    """
    from oracle.tools.devsetup import dev_signers, setup_dev_consortium  # noqa: PLC0415 (dev chains only)

    runtime = Runtime.open(node_settings)
    deployment = runtime.deployment()
    suite = Suite.from_deployment(runtime.connection, deployment)
    chain_id = runtime.connection.chain_id
    if settings.signers:
        signers = load_signers(settings)
    elif chain_id in DEV_CHAIN_IDS:
        signers = dev_signers(settings.price_reporters)
        if setup_dev and setup_dev_consortium(runtime.connection.w3, deployment, suite):
            logger.info("admitted the oracle's dev members and registered its kinds")
    else:
        raise OracleSettingsError(f"chain {chain_id} is not a dev chain: give each role a keystore (ORACLE_SIGNERS)")
    oracle = Oracle(settings, runtime.engine, suite, signers, subject_key=node_settings.subject_key(chain_id))
    risk_settings = RiskSettings().with_state_dir(node_settings.state_dir)
    risk = calibration = None
    if risk_settings.signer in signers:
        risk = RiskScorer(oracle, risk_settings)
        trigger = risk_settings.calibration_trigger()
        if trigger is not None:
            sender = signers[risk_settings.signer].address
            calibrator = RiskCalibrator(runtime.engine, oracle.outbox, suite, sender, risk_settings)
            calibration = (calibrator, trigger)
    return OracleService(oracle, runtime.worker(list(signers.values())), risk=risk, calibration=calibration)


def load_signers(settings: OracleSettings) -> dict[str, LocalAccount]:
    """Decrypt each role's keystore (``ORACLE_SIGNERS``) with ``ORACLE_KEYSTORE_PASSWORD_FILE``."""
    if settings.keystore_password_file is None:
        raise OracleSettingsError("ORACLE_SIGNERS needs ORACLE_KEYSTORE_PASSWORD_FILE")
    try:
        password = settings.keystore_password_file.read_text().rstrip("\n")
    except OSError as exc:
        raise OracleSettingsError(f"cannot read ORACLE_KEYSTORE_PASSWORD_FILE: {exc.strerror}") from exc
    return {role: load_keystore(path, password) for role, path in settings.signers.items()}


def _bind(function: Callable[[SourceName], int], argument: SourceName) -> Callable[[], int]:
    def call() -> int:
        return function(argument)

    return call
