"""``consortium demo``: the consortium's story, played on a dev chain for a visitor to follow in the portal.

A bank, two dealers, an insurer, a repair shop, a disposal agency, the DMV and three price oracles form the consortium
by governance vote (each organisation applies through the portal, the governors propose, vote and execute); two cars
are sold and financed, the DMV confirms the liens; the insurer and the repair shop attest an accident and its repair;
a dealer files a false inspection and the insurer disputes it; one loan goes 95 days overdue and is cured; the other
car's value drops 12% (three price oracles report, their median counts), the contract opens a case, and after the
cure period the bank orders repossession and the agency repossesses, appraises, auctions and settles; governance
upholds the dispute, which slashes the dealer and rewards the insurer.

Every member acts as the portal lets it: records are prepared by the portal's services (validated, salted, kept in
the portal's tables) and signed with the member's dev key; every chain write goes through the outbox with an
idempotency key (``demo:<network>:<run>:<step>``) and the typed clients. Reports that have no portal route (the DMV's
lien confirmations, the price oracles' valuations) are sent as those oracle members, with their evidence kept like
the portal keeps a write's evidence. The dev chain's clock is moved forward where the story waits (voting periods,
the cure period): dev chains only.

Idempotent: each step first looks at what is already there (outbox rows by key, prepared records by idempotency key,
applications by account, proposals and cases by state), so a second run changes nothing and shows the same ending,
and a run interrupted half way resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session, col, select
from web3 import Web3

from consortium.serving import BackgroundServer
from consortium_portal import applications, attest, case_actions, proposals, records
from consortium_portal.app import create_app
from consortium_portal.auth import Principal, issue_challenge
from consortium_portal.context import PortalContext
from consortium_portal.models import DocumentStatus, MembershipApplication, PortalDocument, Scope
from consortium_portal.settings import PortalSettings
from consortium_portal.tools.devsetup import register_dev_kinds
from node_adapter.clients import (
    CaseState,
    ContractClient,
    DisputeState,
    LoanTerms,
    ProposalState,
    Suite,
    role_names,
)
from node_adapter.deploy import Deployment
from node_adapter.dev.devchain import DEV_MEMBERS, DevMember, dev_member, increase_time
from node_adapter.dev.localchain import LocalChain, free_port, port_is_free
from node_adapter.encoding import SaltedDocument, subject_id, vin_check_digit
from node_adapter.exceptions import NodeAdapterError
from node_adapter.indexer import IndexerCheckpoint
from node_adapter.outbox import OutboxTx
from node_adapter.runtime import Runtime
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings
from node_adapter.txworker import TxWorker

logger = logging.getLogger(__name__)

CENTS = 100
"""Amounts go on chain in the smallest currency unit (fen)."""
FUNDING_WEI = 100 * 10**18
"""What each member account beyond Anvil's funded ones receives from dev account 0."""
GENESIS_ACCOUNTS = 10
"""Anvil funds the first ten dev accounts at genesis (``LocalChain.accounts_count``)."""
INSPECTION, CLAIM, SALE, REPAIR, ACCIDENT = 1, 2, 3, 4, 5
"""The portal's kinds (``consortium_portal/kinds.py``)."""
TERMS = LoanTerms(
    max_overdue_days=90,
    watch_overdue_days=30,
    max_ltv_bps=9_000,
    value_move_bps=0,  # the consortium's default: 8%
    cure_period=3 * 86_400,
    step_deadline=7 * 86_400,
)
STORY_MEMBERS = ("bank", "dmv", "price-1", "price-2", "price-3", "agency", "dealer-1", "dealer-2", "insurer",
                 "repair-shop")  # fmt: skip
"""The organisations of the story (the governors, dev accounts 0-2, are there from the deployment)."""
COMPLETE = "the story is complete"
"""Printed once every step is done."""
WAIT = 120.0
"""Seconds to wait for a write to be final or the read model to catch up before giving up with a clear error."""


class _Prepared(Protocol):
    """What the portal's services answer for a member's write: its transaction, for the member's wallet."""

    @property
    def transaction(self) -> dict[str, str]: ...


class DemoError(NodeAdapterError, RuntimeError):
    """The demo cannot be played here (says why and what to do)."""


def _vin(template: str) -> str:
    """``template`` with its check digit (position 9) filled in."""
    return template[:8] + vin_check_digit(template) + template[9:]


@dataclass(frozen=True)
class Car:
    label: str
    vin: str
    description: str
    price_cny: int
    principal_cny: int


CAR_1 = Car(
    "car 1", _vin("LFV3A28K0P3000101"), "an FAW-Volkswagen Magotan, sold new by Huangpu Motors", 268_000, 200_000
)
CAR_2 = Car(
    "car 2", _vin("LGBH52E00P6000202"), "a Dongfeng Nissan Sylphy, sold new by Minhang Auto Mall", 189_000, 150_000
)


@dataclass
class Ending:
    """What the story left on chain, for the summary and for checking it."""

    loans: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    dispute_id: int = 0
    false_record: str = ""
    points: dict[str, int] = field(default_factory=dict)


class StoryDisplay:
    """A progress bar over the story's steps (in a terminal), and one line per step as it completes."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("the story", total=total)
        self._started = time.monotonic()

    def __enter__(self) -> StoryDisplay:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def begin(self, title: str, actor: str) -> None:
        self._started = time.monotonic()
        self.progress.update(self.task, description=f"{title} [dim]({actor})[/dim]")

    def end(self, title: str, actor: str, detail: str, *, found_done: bool) -> None:
        mark = "[dim]✓ (done earlier)[/dim]" if found_done else "[green]✓[/green]"
        took = time.monotonic() - self._started
        self.console.print(
            f"{mark} [bold]{escape(title)}[/bold] [dim]{escape(actor)}, {took:.1f} s[/dim]\n    {escape(detail)}",
            soft_wrap=True,
            highlight=False,
        )
        self.progress.advance(self.task)


class Stage:
    """Where the story plays: the chain, the deployment, the shared database, the members' dev accounts, and an
    outbox worker holding their keys."""

    def __init__(self, runtime: Runtime, portal: PortalSettings, *, indexed_by: str) -> None:
        self.runtime = runtime
        self.portal = portal
        self.indexed_by = indexed_by
        """Who folds the chain into the read model (said when it falls behind)."""
        connection = runtime.connection
        if connection.chain_id not in DEV_CHAIN_IDS:
            raise DemoError(
                f"chain {connection.chain_id} is not a dev chain: the demo signs with the public dev keys and moves "
                "the chain's clock, so it plays on a local dev chain only (`make up`, or `consortium demo --fresh`)"
            )
        self.deployment: Deployment = runtime.deployment()
        self.suite = Suite.from_deployment(connection, self.deployment)
        self.engine = runtime.engine
        self.outbox = runtime.outbox
        self.subject_key = runtime.settings.subject_key(connection.chain_id)
        self.prefix = f"demo:{self.deployment.network}:{self.deployment.run}:"
        self.accounts: dict[str, LocalAccount] = {m.label: m.account() for m in DEV_MEMBERS}
        self.relayer = runtime.signer()
        self.acted = False
        """Whether the current step wrote anything (else it found its work done)."""
        self._worker: tuple[threading.Thread, threading.Event] | None = None

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def working(self) -> Iterator[Stage]:
        """Run an outbox worker for the members' accounts while the story plays."""
        worker: TxWorker = self.runtime.worker([*self.accounts.values(), self.relayer])
        self._worker = worker.start()
        try:
            yield self
        finally:
            thread, stop = self._worker
            stop.set()
            thread.join(timeout=30)
            self._worker = None

    def address(self, label: str) -> str:
        return str(self.accounts[label].address)

    def balance(self, address: str) -> int:
        return int(self.runtime.connection.call(lambda w3: w3.eth.get_balance(Web3.to_checksum_address(address))))

    def now(self) -> int:
        """The chain's time (its latest block's)."""
        return int(self.runtime.connection.call(lambda w3: w3.eth.get_block("latest")["timestamp"]))

    def subject(self, car: Car) -> str:
        return "0x" + subject_id(car.vin, self.subject_key).hex()

    def principal(self, label: str) -> Principal:
        """The member ``label`` plays, as the portal sees it when it signs in (rights from the chain)."""
        account = self.address(label)
        auth = self.suite.membership.authorize(account)
        if not auth.member_id:
            raise DemoError(f"{label} ({account}) is not an active member: the consortium was not formed as expected")
        return Principal(account=account, member_id=auth.member_id, roles=auth.roles, via="demo", scope=Scope.WRITE)

    def member_id(self, label: str) -> int:
        return self.suite.membership.member_of(self.address(label))

    def key(self, step: str) -> str:
        return self.prefix + step

    def submit(
        self,
        step: str,
        client: ContractClient,
        sender: str,
        prepare: Callable[[], str],
        *,
        gas_limit: int | None = None,
    ) -> str:
        """The write of ``step``: prepared (``prepare`` answers its calldata) and recorded in the outbox only when it
        is not there yet; its outbox key (:meth:`wait` follows it to its end)."""
        key = self.key(step)
        if self.outbox.get(key) is None:
            client.submit(self.outbox, key=key, sender=self.address(sender), data=prepare(), gas_limit=gas_limit)
            self.acted = True
        return key

    def prepared(
        self,
        step: str,
        client: ContractClient,
        actor: str,
        service: Callable[..., _Prepared],
        *,
        indexed_to: Callable[[], int] | None = None,
        **arguments: Any,
    ) -> OutboxTx:
        """A write the portal prepares for ``actor`` (``service(engine=, suite=, principal=, **arguments)`` keeps its
        evidence and answers its transaction), sent from the actor's account and followed to its end. The portal's
        services read the read model: when the write is still to be made, it first waits until the read model has
        folded in block ``indexed_to()``."""
        principal = self.principal(actor)

        def prepare() -> str:
            if indexed_to is not None:
                self.indexed(indexed_to())
            made = service(engine=self.engine, suite=self.suite, principal=principal, **arguments)
            return made.transaction["data"]

        return self.wait(self.submit(step, client, actor, prepare))

    def head(self) -> int:
        """The chain's latest block number."""
        return int(self.runtime.connection.call(lambda w3: int(w3.eth.block_number)))

    def wait(self, key: str) -> OutboxTx:
        return self.wait_all([key])[0]

    def wait_all(self, keys: list[str]) -> list[OutboxTx]:
        """The writes of ``keys`` once final, in order (a revert raises its decoded error)."""
        try:
            return [row.raise_for_status() for row in self.outbox.wait_all(keys, timeout=WAIT, poll=0.05)]
        except TimeoutError as exc:
            raise DemoError(
                f"{exc}: is the chain running, and does an outbox worker hold these accounts' keys?"
            ) from exc

    def indexed(self, block: int) -> None:
        """Wait until the read model has folded in ``block`` (the portal's services read it)."""
        name = f"{self.deployment.network}-run{self.deployment.run}"
        deadline = time.monotonic() + WAIT
        while True:
            with Session(self.engine) as session:
                checkpoint = session.get(IndexerCheckpoint, name)
            if checkpoint is not None and checkpoint.block_number >= block:
                return
            if time.monotonic() > deadline:
                raise DemoError(
                    f"the read model in {self.runtime.settings.effective_database_url} did not reach block {block} "
                    f"within {WAIT:.0f} s: is {self.indexed_by} running on this database?"
                )
            time.sleep(0.1)

    def attest(
        self, step: str, attester: str, car: Car, kind: int, *, record: dict[str, Any], ref: str | None = None
    ) -> str:
        """A record prepared by the portal (same idempotency key, same record), signed with the attester's dev key
        and relayed; its digest once it is on chain."""
        principal = self.principal(attester)
        prepared = attest.prepare(
            engine=self.engine,
            suite=self.suite,
            principal=principal,
            request=attest.AttestRequest(vin=car.vin, kind=kind, record=record, ref=ref),
            key=self.subject_key,
            now=self.now(),
            idempotency_key=self.key(step),
        )
        if prepared.status == DocumentStatus.PREPARED:
            attest.sign_and_relay(
                engine=self.engine,
                suite=self.suite,
                outbox=self.outbox,
                relayer=self.relayer.address,
                principal=principal,
                document_id=prepared.id,
                private_key=self.accounts[attester].key.hex(),
                now=self.now(),
            )
            self.acted = True
        self.wait(f"portal:attest:{prepared.id}")
        return prepared.digest

    def evidence(self, label: str, write: str, document: dict[str, Any]) -> str:
        """Keep the evidence of an oracle member's report as the portal keeps a write's; its digest."""
        kept = records.keep_evidence(
            engine=self.engine, member_id=self.member_id(label), write=write, evidence=SaltedDocument.create(document)
        )
        return str(kept["evidence_digest"])


def _data(prepare: Callable[[], proposals.PreparedTransaction]) -> Callable[[], str]:
    """The calldata of the governor's transaction ``prepare`` makes."""
    return lambda: prepare().data


@dataclass(frozen=True)
class Step:
    title: str
    actor: str
    run: Callable[[], str]
    """Plays the step (or finds it done); says what happened, for the visitor."""
    writes: bool = True
    """False for a step that only looks (it is never "done earlier")."""


class Story:
    """The steps of the story, in order, each idempotent."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.ending = Ending()
        suite = stage.suite
        self.membership, self.registry, self.collateral = suite.membership, suite.registry, suite.collateral
        self.digests: dict[str, str] = {}

    def steps(self) -> list[Step]:
        return [
            Step("Fund the newcomers' accounts", "governor-1", self.fund),
            Step("Organisations apply to join", "bank, dealers, insurer, repair shop, ...", self.apply),
            Step("Governors propose, vote, and execute the admissions", "governors 1 and 2", self.admit),
            Step("Dealers sell two cars", "dealer-1, dealer-2", self.sell),
            Step("The bank finances both cars", "bank", self.finance),
            Step("The DMV confirms the liens", "DMV oracle", self.confirm_liens),
            Step(
                "Car 1 has an accident: the insurer and the repair shop attest", "insurer, repair shop", self.accident
            ),
            Step("A dealer files a false inspection of car 1", "dealer-2", self.false_inspection),
            Step("The insurer disputes it", "insurer", self.dispute),
            Step("Car 2 falls 40, then 95 days overdue: the contract opens a case", "bank", self.overdue),
            Step("Car 2's borrower pays: the loan is cured", "bank", self.cure),
            Step("Car 1's value drops 12%: the contract opens a case", "price oracles 1-3", self.value_drop),
            Step("Governance upholds the dispute (the clock moves 4 days)", "governors 1 and 2", self.uphold),
            Step("The cure period is over: the bank orders repossession", "bank", self.order_repossession),
            Step("The agency repossesses, appraises, auctions and settles", "disposal agency", self.dispose),
            Step("Points", "every member", self.points, writes=False),
        ]

    # ------------------------------------------------------------------ the consortium

    def fund(self) -> str:
        stage = self.stage
        funded = []
        for label in STORY_MEMBERS:
            if dev_member(label).index < GENESIS_ACCOUNTS:
                continue
            address, key = stage.address(label), stage.key(f"fund:{label}")
            if stage.outbox.get(key) is None:
                balance = stage.balance(address)
                if balance >= FUNDING_WEI // 10:
                    continue  # it has what it needs
                stage.outbox.submit(
                    key=key,
                    chain_id=stage.runtime.connection.chain_id,
                    sender=stage.relayer.address,
                    to=address,
                    data=b"",
                    value=FUNDING_WEI,
                    purpose=f"fund {label}",
                )
                stage.acted = True
            stage.wait(key)
            funded.append(label)
        return f"{', '.join(funded) or 'nobody'} received {FUNDING_WEI // 10**18} ETH from dev account 0 for gas"

    def _newcomers(self) -> list[DevMember]:
        return [
            dev_member(label)
            for label in STORY_MEMBERS
            if not self.membership.bound_member_of(self.stage.address(label))
        ]

    def _application(self, member: DevMember) -> MembershipApplication | None:
        """The application the member made earlier, if any (matched by its account)."""
        with Session(self.stage.engine) as session:
            rows = session.exec(select(MembershipApplication).order_by(col(MembershipApplication.id).desc())).all()
        account = self.stage.address(member.label)
        return next((row for row in rows if json.loads(row.accounts) == [account]), None)

    def apply(self) -> str:
        stage = self.stage
        applied = []
        for member in self._newcomers():
            if self._application(member) is not None:
                continue
            account = stage.accounts[member.label]
            challenge = issue_challenge(
                engine=stage.engine,
                address=account.address,
                domain=stage.portal.url().split("://", 1)[-1],
                uri=stage.portal.url(),
                chain_id=stage.runtime.connection.chain_id,
                ttl=stage.portal.challenge_ttl,
            )
            signature = Account.sign_message(encode_defunct(text=challenge.message), account.key).signature.hex()
            applications.apply(
                engine=stage.engine,
                membership=self.membership,
                request=applications.ApplicationCreate(
                    name=member.organisation,
                    roles=list(role_names(int(member.role))),
                    accounts=[applications.SignedChallenge(message=challenge.message, signature="0x" + signature)],
                ),
            )
            stage.acted = True
            applied.append(member.organisation)
        if not applied:
            return "every organisation of the story has applied (or was a member already)"
        return f"applications through the portal: {', '.join(applied)}"

    def admit(self) -> str:
        stage = self.stage
        governor = stage.principal("governor-1")
        motions: list[tuple[str, Callable[[], str]]] = []
        newcomers = self._newcomers()
        for member in newcomers:
            row = self._application(member)
            if row is None or row.id is None:
                raise DemoError(f"{member.organisation} has no application to admit")
            motions.append(
                (
                    f"admission:{member.label}",
                    partial(self._propose_admission, governor, row.id),
                )
            )
        self._decide(motions)
        everyone = [stage.principal(label) for label in STORY_MEMBERS]  # raises unless every one is a member now
        names = ", ".join(member.organisation for member in newcomers)
        return (f"admitted {names}" if names else "every organisation was a member already") + (
            f"; the consortium has {len(everyone)} members besides its governors (names in the portal's directory)"
        )

    def _propose_admission(self, governor: Principal, application_id: int) -> str:
        return proposals.propose_admission(
            engine=self.stage.engine, membership=self.membership, principal=governor, application_id=application_id
        ).data

    def _decide(self, motions: list[tuple[str, Callable[[], str]]]) -> list[int]:
        """Governance on dev chain time: governor 1 proposes each motion (``propose`` answers its calldata),
        governors 1 and 2 vote for it (two of three: the quorum), the clock moves past the voting period and the
        execution delay, and governor 1 executes it; the proposal ids."""
        stage, membership = self.stage, self.membership
        voters = {label: stage.principal(label) for label in ("governor-1", "governor-2")}
        proposed = stage.wait_all([stage.submit(f"propose:{step}", membership, "governor-1", propose)
                                   for step, propose in motions])  # fmt: skip
        ids = [membership.proposal_id_of(tx) for tx in proposed]
        votes = [
            stage.submit(f"vote:{step}:{label}", membership, label, _data(partial(
                proposals.vote, membership=membership, principal=voter, proposal_id=proposal_id, support=True)))
            for (step, _propose), proposal_id in zip(motions, ids, strict=True)
            if membership.state(proposal_id) == ProposalState.ACTIVE
            for label, voter in voters.items()
        ]  # fmt: skip
        stage.wait_all(votes)
        self._pass_time(ids)
        executions = [
            stage.submit(f"execute:{step}", membership, "governor-1", _data(partial(
                proposals.execute, membership=membership, principal=voters["governor-1"], proposal_id=proposal_id)))
            for (step, _propose), proposal_id in zip(motions, ids, strict=True)
            if membership.state(proposal_id) != ProposalState.EXECUTED
        ]  # fmt: skip
        stage.wait_all(executions)
        return ids

    def _pass_time(self, proposal_ids: list[int]) -> None:
        """Move the clock past the voting period and execution delay of the proposals still waiting."""
        waiting = [p for p in proposal_ids if self.membership.state(p) in (ProposalState.ACTIVE, ProposalState.QUEUED)]
        if not waiting:
            return
        latest = max(self.membership.get_proposal(p).eta for p in waiting)
        now = self.stage.now()
        if latest >= now:
            increase_time(self.stage.runtime.connection.w3, latest - now + 1)
            self.stage.acted = True

    # ------------------------------------------------------------------ sales and loans

    def sell(self) -> str:
        stage = self.stage
        d = self.digests
        d["inspection-1"] = stage.attest("pdi:car-1", "dealer-1", CAR_1, INSPECTION, record={
            "inspected_on": "2026-03-02", "odometer_km": 12, "result": "pass", "findings": [],
            "inspector": "Huangpu Motors pre-delivery inspection"})  # fmt: skip
        d["sale-1"] = stage.attest("sale:car-1", "dealer-1", CAR_1, SALE, record={
            "sold_on": "2026-03-03", "odometer_km": 15, "price_cny": CAR_1.price_cny, "channel": "new"})  # fmt: skip
        d["inspection-2"] = stage.attest("pdi:car-2", "dealer-2", CAR_2, INSPECTION, record={
            "inspected_on": "2026-03-09", "odometer_km": 18, "result": "pass", "findings": [],
            "inspector": "Minhang Auto Mall pre-delivery inspection"})  # fmt: skip
        d["sale-2"] = stage.attest("sale:car-2", "dealer-2", CAR_2, SALE, record={
            "sold_on": "2026-03-10", "odometer_km": 21, "price_cny": CAR_2.price_cny, "channel": "new"})  # fmt: skip
        return (
            f"{CAR_1.label} ({CAR_1.vin}): {CAR_1.description}, {CAR_1.price_cny:,} CNY; "
            f"{CAR_2.label} ({CAR_2.vin}): {CAR_2.description}, {CAR_2.price_cny:,} CNY (inspections and sales "
            "attested, each signed by its dealer and relayed by the portal)"
        )

    def finance(self) -> str:
        stage = self.stage
        for car in (CAR_1, CAR_2):
            tx = stage.prepared(
                f"loan:{car.label.replace(' ', '-')}",
                self.collateral,
                "bank",
                records.register_loan,
                key=stage.subject_key,
                request=records.LoanRequest(
                    vin=car.vin,
                    principal=car.principal_cny * CENTS,
                    outstanding=car.principal_cny * CENTS,
                    baseline_value=car.price_cny * CENTS,
                    terms=TERMS,
                    evidence={"contract": f"auto loan on {car.label}", "term_months": 36, "rate_bps": 420},
                ),
            )
            self.ending.loans[car.label] = self.collateral.loan_id_of(tx)
        one, two = self.ending.loans[CAR_1.label], self.ending.loans[CAR_2.label]
        return (
            f"loan {one}: {CAR_1.principal_cny:,} CNY on {CAR_1.label}; loan {two}: {CAR_2.principal_cny:,} CNY on "
            f"{CAR_2.label}; 36 months, breach beyond 90 days overdue or an 8% value drop, 3-day cure period"
        )

    def confirm_liens(self) -> str:
        stage = self.stage
        for car in (CAR_1, CAR_2):
            loan_id = self.ending.loans[car.label]

            def prepare(car: Car = car, loan_id: int = loan_id) -> str:
                digest = stage.evidence("dmv", "lien", {"vin": car.vin, "loan_id": loan_id, "lien": "registered",
                                                        "registry": "municipal vehicle administration"})  # fmt: skip
                return "0x" + self.collateral.calldata("confirmLien", loan_id, digest).hex()

            stage.wait(stage.submit(f"lien:{car.label}", self.collateral, "dmv", prepare))
        states = [self.collateral.get_loan(self.ending.loans[car.label]).lien_status.name for car in (CAR_1, CAR_2)]
        return f"liens of loans {', '.join(map(str, self.ending.loans.values()))}: {', '.join(states).lower()}"

    # ------------------------------------------------------------------ evidence, and a false record

    def accident(self) -> str:
        stage = self.stage
        d = self.digests
        d["accident"] = stage.attest("accident:insurer", "insurer", CAR_1, ACCIDENT, record={
            "occurred_on": "2026-06-14", "severity": "moderate",
            "description": "Rear-ended at a junction: rear bumper, boot lid and the left rear longitudinal member "
                           "damaged."})  # fmt: skip
        d["claim"] = stage.attest("claim:insurer", "insurer", CAR_1, CLAIM, record={
            "incident_on": "2026-06-14", "amount_cny": 41_500, "status": "paid",
            "description": "Collision claim, repair at Xinhua Repair Works."})  # fmt: skip
        d["repair"] = stage.attest("repair:shop", "repair-shop", CAR_1, REPAIR, record={
            "repaired_on": "2026-06-28", "odometer_km": 8_120,
            "work": ["left rear longitudinal member straightened", "boot lid replaced", "rear bumper replaced"],
            "parts_cny": 23_800, "labour_cny": 9_600, "accident_related": True})  # fmt: skip
        d["accident-shop"] = stage.attest("accident:shop", "repair-shop", CAR_1, ACCIDENT, record={
            "occurred_on": "2026-06-14", "severity": "moderate",
            "description": "Structural damage found at intake: it confirms the insurer's account."},
            ref=d["accident"])  # fmt: skip
        return (
            "the insurer's accident report and paid claim; the repair shop's repair (odometer 8,120 km) and its own "
            "accident record, which refers to the insurer's and earns it a corroboration bonus"
        )

    def false_inspection(self) -> str:
        self.ending.false_record = self.stage.attest("inspection:false", "dealer-2", CAR_1, INSPECTION, record={
            "inspected_on": "2026-07-20", "odometer_km": 8_950, "result": "pass",
            "findings": ["no accident damage", "original paint throughout"],
            "inspector": "Minhang Auto Mall trade-in desk"})  # fmt: skip
        return f"record {self.ending.false_record[:18]}...: 'no accident damage', which the insurer knows is false"

    def dispute(self) -> str:
        uid = self.ending.false_record
        evidence = {
            "reason": "the car was in a moderate collision on 2026-06-14, repaired at Xinhua Repair Works",
            "contradicted_by": [self.digests["accident"], self.digests["claim"], self.digests["repair"]],
        }
        done = self.stage.prepared(
            "dispute",
            self.registry,
            "insurer",
            records.dispute,
            indexed_to=partial(self._block_of_record, uid),  # the portal finds the record in its read model
            uid=uid,
            request=records.DisputeRequest(evidence=evidence),
        )
        self.ending.dispute_id = self.registry.dispute_id_of(done)
        return (
            f"dispute {self.ending.dispute_id} on the dealer's record, with the accident, claim and repair as evidence"
        )

    def _block_of_record(self, uid: str) -> int:
        """The block the record was attested in (from its relay's outbox row)."""
        with Session(self.stage.engine) as session:
            row = session.exec(select(PortalDocument).where(PortalDocument.digest == uid)).first()
        key = row.outbox_key if row is not None else None
        tx = self.stage.outbox.get(key) if key else None
        return int(tx.block_number) if tx is not None and tx.block_number is not None else 0

    # ------------------------------------------------------------------ cases

    def _repayment(self, step: str, car: Car, days: int, outstanding_cny: int, note: str) -> OutboxTx:
        return self.stage.prepared(
            step,
            self.collateral,
            "bank",
            records.report_repayment,
            indexed_to=partial(self._loan_block, car),  # the portal checks the loan's bank in its read model
            loan_id=self.ending.loans[car.label],
            request=records.RepaymentRequest(
                days_overdue=days, outstanding=outstanding_cny * CENTS, evidence={"servicing_note": note}
            ),
        )

    def _loan_block(self, car: Car) -> int:
        tx = self.stage.outbox.get(self.stage.key(f"loan:{car.label.replace(' ', '-')}"))
        if tx is None or tx.block_number is None:
            raise DemoError(f"the loan on {car.label} is not on chain yet")
        return int(tx.block_number)

    def overdue(self) -> str:
        watch = self._repayment("repayment:car-2:40", CAR_2, 40, 146_000, "two instalments missed")
        self._repayment("repayment:car-2:95", CAR_2, 95, 146_000, "three instalments missed; borrower unreachable")
        loan = self.collateral.get_loan(self.ending.loans[CAR_2.label])
        self.ending.cases[CAR_2.label] = loan.case_id
        case = self.collateral.get_case(loan.case_id)
        causes = ", ".join(c.name.lower() for c in case.cause_list)
        return (
            f"40 days (block {watch.block_number}) put loan {self.ending.loans[CAR_2.label]} on watch; 95 days made "
            f"case {loan.case_id} {case.state.name.lower()} ({causes}); the borrower may cure for 3 days"
        )

    def cure(self) -> str:
        case_id = self.ending.cases[CAR_2.label]
        if (
            self.collateral.state(case_id) == CaseState.TRIGGERED
            and self.stage.now() > self.collateral.get_case(case_id).deadline
        ):
            raise DemoError(f"case {case_id}'s cure period passed before the story could cure it: play it on a fresh "
                            "chain (`consortium demo --fresh`)")  # fmt: skip
        self._repayment("repayment:car-2:cured", CAR_2, 0, 139_500, "arrears paid in full at the branch")
        return f"case {case_id} is {self.collateral.state(case_id).name.lower()}: the loan runs on"

    def value_drop(self) -> str:
        stage = self.stage
        subject = stage.subject(CAR_1)
        reports = {"price-1": 235_000, "price-2": 236_500, "price-3": 233_800}
        for label, value in reports.items():

            def prepare(label: str = label, value: int = value) -> str:
                basis = "comparable sales after the accident"
                digest = stage.evidence(label, "valuation", {"vin": CAR_1.vin, "value_cny": value, "basis": basis})
                return "0x" + self.collateral.calldata("reportValuation", subject, value * CENTS, digest).hex()

            stage.wait(stage.submit(f"valuation:car-1:{label}", self.collateral, label, prepare, gas_limit=600_000))
        loan = self.collateral.get_loan(self.ending.loans[CAR_1.label])
        self.ending.cases[CAR_1.label] = loan.case_id
        case = self.collateral.get_case(loan.case_id)
        drop = (loan.baseline_value - loan.last_value) * 100 / loan.baseline_value
        return (
            f"median {loan.last_value // CENTS:,} CNY against a baseline of {loan.baseline_value // CENTS:,}: "
            f"-{drop:.1f}%, beyond 8%; case {loan.case_id} {case.state.name.lower()} "
            f"({', '.join(c.name.lower() for c in case.cause_list)})"
        )

    def uphold(self) -> str:
        dispute_id = self.ending.dispute_id
        if self.registry.get_dispute(dispute_id).state == DisputeState.OPEN:
            self._decide([(f"dispute:{dispute_id}", partial(self._propose_upholding, dispute_id))])
        dispute = self.registry.get_dispute(dispute_id)
        valid = self.registry.is_valid(self.ending.false_record)
        return (
            f"dispute {dispute_id} {dispute.state.name.lower()}: the dealer's record is "
            f"{'still valid' if valid else 'invalidated'}; {self._name(dispute.attester_member)} slashed, "
            f"{self._name(dispute.disputer_member)} rewarded"
        )

    def _name(self, member_id: int) -> str:
        """A member of the story by its organisation's name (and id)."""
        for label in STORY_MEMBERS:
            if self.stage.member_id(label) == member_id:
                return f"{dev_member(label).organisation} (member {member_id})"
        return f"member {member_id}"

    def _propose_upholding(self, dispute_id: int) -> str:
        description = f"Uphold dispute {dispute_id}: the inspection of {CAR_1.label} hid its accident"
        call = self.registry.encode_resolve_dispute(dispute_id=dispute_id, upheld=True)
        digest = keccak(text=description)
        return "0x" + self.membership.calldata("propose", [self.registry.address], [call], digest).hex()

    def order_repossession(self) -> str:
        stage = self.stage
        case_id = self.ending.cases[CAR_1.label]
        step = f"case:{case_id}:order"
        if stage.outbox.get(stage.key(step)) is None:
            case = self.collateral.get_case(case_id)
            now = stage.now()
            if case.state == CaseState.TRIGGERED and now <= case.deadline:
                increase_time(stage.runtime.connection.w3, case.deadline - now + 1)
        agency = self.stage.member_id("agency")
        self._case_step(step, "bank", case_id, "order_repossession", {"reason": "value drop beyond 8%, not curable"},
                        agency_member_id=agency)  # fmt: skip
        return f"case {case_id}: repossession ordered, {self._name(agency)} assigned"

    def dispose(self) -> str:
        case_id = self.ending.cases[CAR_1.label]
        self._case_step(f"case:{case_id}:repossess", "agency", case_id, "record_repossession",
                        {"collected_at": "Pudong depot", "condition": "as attested by the repair shop"})  # fmt: skip
        self._case_step(f"case:{case_id}:appraise", "agency", case_id, "record_appraisal",
                        {"appraiser": "Eastern Appraisal Co."}, amount=221_000 * CENTS)  # fmt: skip
        self._case_step(f"case:{case_id}:auction", "agency", case_id, "record_auction",
                        {"auction": "Shanghai used-car auction, lot 1187"}, amount=228_500 * CENTS)  # fmt: skip
        self._case_step(f"case:{case_id}:settle", "agency", case_id, "record_settlement",
                        {"statement": "sale price less fees repaid the bank; the surplus to the borrower"})  # fmt: skip
        case = self.collateral.get_case(case_id)
        loan = self.collateral.get_loan(self.ending.loans[CAR_1.label])
        return (
            f"case {case_id} {case.state.name.lower()}: appraised {case.appraised_value // CENTS:,} CNY, sold "
            f"{case.sale_price // CENTS:,} CNY; the lien is {loan.lien_status.name.lower()}"
        )

    def _case_step(
        self, step: str, actor: str, case_id: int, action: case_actions.Action, evidence: dict[str, Any], **extra: int
    ) -> None:
        request = case_actions.CaseActionRequest(action=action, evidence=evidence, **extra)
        self.stage.prepared(
            step,
            self.collateral,
            actor,
            case_actions.prepare_action,
            indexed_to=self.stage.head,  # the portal checks the case's state and parties in its read model
            case_id=case_id,
            request=request,
        )

    # ------------------------------------------------------------------ the ending

    def points(self) -> str:
        stage = self.stage
        for label in STORY_MEMBERS:
            self.ending.points[label] = self.registry.points_of(stage.member_id(label))
        shown = ("dealer-1", "dealer-2", "insurer", "repair-shop")
        return "; ".join(f"{label} {self.ending.points[label]}" for label in shown) + (
            " (10 a record; the insurer's corroboration bonus and dispute reward; the dealer's slash)"
        )


def play(stage: Stage, console: Console) -> Ending:
    """Play every step (or find it done), showing progress; what the story left on chain."""
    story = Story(stage)
    steps = story.steps()
    with stage.working(), StoryDisplay(console, len(steps)) as display:
        for step in steps:
            display.begin(step.title, step.actor)
            stage.acted = False
            detail = step.run()
            display.end(step.title, step.actor, detail, found_done=step.writes and not stage.acted)
    return story.ending


def print_ending(console: Console, stage: Stage, ending: Ending, portal_url: str) -> None:
    """Where a visitor sees each part of the story in the portal, and as whom to sign in."""
    table = Table(title="follow the story in the portal", title_justify="left")
    for column in ("what", "where", "sign in as"):
        table.add_column(column, overflow="fold")
    bank, agency, governor = (dev_member(label) for label in ("bank", "agency", "governor-1"))
    rows = [
        ("the members, by name", f"{portal_url}/applications", governor),
        (f"{CAR_1.label}: records, loan, the invalidated inspection", f"{portal_url}/verify?vin={CAR_1.vin}", bank),
        (f"{CAR_2.label}: records and the cured loan", f"{portal_url}/verify?vin={CAR_2.vin}", bank),
        ("both cases and every step", f"{portal_url}/cases", bank),
        ("the disposal, as the agency", f"{portal_url}/cases/{ending.cases.get(CAR_1.label, '')}", agency),
        ("points: rewards, the bonus, the slash", f"{portal_url}/points", governor),
        (f"{CAR_1.label}'s valuations against the band", f"{portal_url}/oracle", bank),
    ]
    for what, where, who in rows:
        table.add_row(what, where, f"#{who.index} {who.label} {who.account().address}")
    console.print(table)
    dealers = ", ".join(f"#{m.index} {m.label}" for m in DEV_MEMBERS if m.joins == "demo")
    console.print(f"the newcomers sign in as dev accounts too: {dealers}", highlight=False)


@dataclass(frozen=True)
class FreshSystem:
    runtime: Runtime
    portal: PortalSettings
    chain: LocalChain


@contextmanager
def fresh_system(base: NodeAdapterSettings) -> Iterator[FreshSystem]:
    """A chain from genesis on a free port, the suite deployed, the portal's kinds registered, and a portal serving
    and indexing it, all in this process, with state (a SQLite database) in ``<state dir>/demo``, wiped first."""
    directory = base.state_dir / "demo"
    shutil.rmtree(directory, ignore_errors=True)
    with LocalChain(port=free_port()) as chain:
        settings = base.model_copy(
            update={
                "rpc_urls": [chain.url],
                "chain_id": chain.chain_id,
                "state_dir": directory,
                "network": "demo",
                "database_url": "",
            }
        )
        Runtime.open(settings).deploy()
        configured = PortalSettings()
        port = configured.port if port_is_free(configured.host, configured.port) else free_port(configured.host)
        portal = PortalSettings(port=port, index_interval=0.2)
        context = PortalContext.open(portal, settings)
        register_dev_kinds(context.connection, context.suite)
        context.start_background()
        try:
            with BackgroundServer(create_app(context), host=portal.host, port=port, name="portal"):
                yield FreshSystem(context.runtime, portal, chain)
        finally:
            context.stop_background()


def portal_health(settings: PortalSettings) -> dict[str, Any] | None:
    """The portal's ``/health``, or None when no portal answers there."""
    try:
        with urllib.request.urlopen(f"{settings.local_url()}/health", timeout=5) as response:  # noqa: S310
            health: dict[str, Any] = json.loads(response.read())
            return health
    except (OSError, urllib.error.URLError, ValueError):
        return None


def require_running_portal(settings: PortalSettings, node: NodeAdapterSettings) -> None:
    """Refuse to play against a system whose portal (and its indexer) is not running on the configured chain."""
    health = portal_health(settings)
    if health is None:
        raise DemoError(
            f"no portal answers at {settings.local_url()}: the demo plays on the running system (start it with "
            "`make up`), or on a fresh chain and portal of its own with `consortium demo --fresh`"
        )
    if node.chain_id is not None and health.get("chain_id") != node.chain_id:
        raise DemoError(
            f"the portal at {settings.local_url()} serves chain {health.get('chain_id')}, not chain {node.chain_id}"
        )
