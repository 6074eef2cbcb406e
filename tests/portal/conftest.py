"""A portal served over real HTTP, on a deployed suite on the test's Anvil node, with a small consortium."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page, sync_playwright
from web3 import Web3

from consortium.serving import BackgroundServer
from consortium_portal.app import create_app
from consortium_portal.context import PortalContext
from consortium_portal.kinds import CATALOGUE
from consortium_portal.settings import PortalSettings
from consortium_portal.tools.devsetup import receipt_kind_call
from node_adapter.artifacts import load_artifact
from node_adapter.clients import AlertKind, KindFlag, LoanTerms, Role, Severity, Suite
from node_adapter.dev.devchain import pass_proposal
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.encoding import SaltedDocument, subject_id
from node_adapter.outbox import OutboxTx
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings
from node_adapter.txworker import TxWorker

INSPECTION, CLAIM = 1, 2
"""Kinds of the portal's catalogue: an inspection (dealers, with an odometer reading), an insurance claim."""
MEMBERS: dict[str, tuple[int, Role]] = {
    "dealer": (3, Role.DEALER),
    "bank": (4, Role.BANK),
    "insurer": (5, Role.INSURER),
    "dmv": (6, Role.DMV_ORACLE),
    "price": (7, Role.PRICE_ORACLE),
    "telematics": (8, Role.TELEMATICS_ORACLE),
    "agency": (9, Role.DISPOSAL_AGENCY),
}
"""Dev account index and role of each member the rig admits (accounts 0-2 are the governors)."""


@dataclass
class PortalRig:
    url: str
    context: PortalContext
    suite: Suite
    accounts: dict[str, LocalAccount]
    worker: TxWorker
    keys: Iterator[int] = field(default_factory=itertools.count)

    def http(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def sign_in(self, who: str) -> str:
        """A session token for ``who`` (a member name, or ``governor``)."""
        return sign_in(self.url, self.accounts[who])

    def as_member(self, who: str) -> httpx.Client:
        return self.http(Authorization=f"Bearer {self.sign_in(who)}")

    def write(self, submit: Callable[[Any, str], OutboxTx]) -> OutboxTx:
        """Run one chain write (``submit(outbox, key)``) to confirmation, then index it."""
        outbox = self.context.runtime.outbox
        tx = submit(outbox, f"test-{next(self.keys)}")
        self.worker.drain()
        done = outbox.wait(tx.idempotency_key).raise_for_status()
        self.context.indexer().sync()
        return done

    def lend(self, vin: str, *, outstanding: int = 400_000, confirm: bool = True) -> int:
        """The bank registers a loan on ``vin`` (the DMV confirms its lien unless ``confirm`` is false); its id."""
        subject = subject_id(vin, self.context.subject_key)
        bank, dmv = self.accounts["bank"].address, self.accounts["dmv"].address
        tx = self.write(
            lambda o, k: self.suite.collateral.register_loan(
                o,
                key=k,
                sender=bank,
                subject=subject,
                principal=500_000,
                outstanding=outstanding,
                baseline_value=1_000_000,
                terms=TERMS,
                evidence_digest="0x" + "01" * 32,
            )
        )
        loan_id = self.suite.collateral.loan_id_of(tx)
        if confirm:
            self.write(
                lambda o, k: self.suite.collateral.confirm_lien(
                    o, key=k, sender=dmv, loan_id=loan_id, evidence_digest="0x" + "02" * 32
                )
            )
        return loan_id

    def attest(self, who: str, vin: str, kind: int, text: str) -> str:
        """``who`` attests a record of ``kind`` (an inspection carries an odometer reading) on ``vin``; its uid."""
        uid = "0x" + SaltedDocument.create({"text": text}).digest.hex()
        sender = self.accounts[who].address
        subject = subject_id(vin, self.context.subject_key)
        if kind == INSPECTION:
            self.write(
                lambda o, k: self.suite.registry.attest_reading(
                    o, key=k, sender=sender, subject=subject, kind=kind, digest=uid, reading=1000
                )
            )
        else:
            self.write(
                lambda o, k: self.suite.registry.attest(o, key=k, sender=sender, subject=subject, kind=kind, digest=uid)
            )
        return uid

    def alert(self, vin: str, kind: AlertKind, severity: Severity) -> None:
        """The telematics oracle reports an alert on ``vin``."""
        subject = subject_id(vin, self.context.subject_key)
        sender = self.accounts["telematics"].address
        self.write(
            lambda o, k: self.suite.collateral.report_telematics_alert(
                o,
                key=k,
                sender=sender,
                subject=subject,
                alert_kind=int(kind),
                severity=severity,
                evidence_digest="0x" + "03" * 32,
            )
        )


def sign_in(url: str, account: LocalAccount) -> str:
    """A session token for ``account`` at the portal at ``url`` (challenge, signed, exchanged for a session)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        issued = http.post("/api/v1/auth/challenge", json={"address": account.address})
        assert issued.status_code == 200, issued.text
        message = issued.json()["message"]
        signature = Account.sign_message(encode_defunct(text=message), account.key).signature.hex()
        session = http.post("/api/v1/auth/session", json={"message": message, "signature": "0x" + signature})
    assert session.status_code == 200, session.text
    token: str = session.json()["token"]
    return token


TERMS = LoanTerms(
    max_overdue_days=90,
    watch_overdue_days=30,
    max_ltv_bps=10_000,
    value_move_bps=0,
    cure_period=3 * 86_400,
    step_deadline=86_400,
)


def admit_consortium(w3: Web3, suite: Suite, governors: list[LocalAccount], accounts: dict[str, LocalAccount]) -> None:
    calls: list[bytes] = []
    targets: list[str] = []
    for name, (_index, role) in MEMBERS.items():
        targets.append(suite.membership.address)
        calls.append(
            suite.membership.encode_admit_member(
                accounts=[accounts[name].address], roles=int(role), metadata_digest=Web3.keccak(text=name)
            )
        )
    for spec in CATALOGUE.values():  # the portal's kinds, with their schemas' digests
        flags = KindFlag.ODOMETER if spec.odometer else 0
        targets.append(suite.registry.address)
        calls.append(
            suite.registry.calldata("registerKind", spec.kind, spec.schema_digest, int(spec.roles), 10, int(flags))
        )
    targets.append(suite.registry.address)  # the access receipts' batch kind (anchored by governors' accounts)
    calls.append(receipt_kind_call(suite))
    membership = w3.eth.contract(address=suite.membership.address, abi=load_artifact("Membership").abi)
    pass_proposal(w3, membership, governors=governors, targets=targets, calldatas=calls, description="the consortium")


def make_portal(chain: LocalChain, w3: Web3, tmp_path: Path, **settings: Any) -> Iterator[PortalRig]:
    node_settings = NodeAdapterSettings(
        rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path / "state", network="portal-test"
    )
    runtime = Runtime.open(node_settings)
    deployment, _ = runtime.deploy()
    suite = Suite.from_deployment(runtime.connection, deployment)
    keys = [Account.from_key(a.private_key) for a in chain.accounts]
    accounts = {name: keys[index] for name, (index, _role) in MEMBERS.items()} | {
        "governor": keys[0],
        "outsider": Account.create(),
    }
    admit_consortium(w3, suite, keys[:3], accounts)
    port = free_port()
    context = PortalContext.open(PortalSettings(port=port, **settings), node_settings)
    context.indexer().sync()
    worker = runtime.worker([a for n, a in accounts.items() if n not in ("outsider", "governor")] + keys[:3])
    with BackgroundServer(create_app(context), port=port, name="portal") as server:
        yield PortalRig(server.url, context, suite, accounts, worker)


@pytest.fixture
def portal(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[PortalRig]:
    yield from make_portal(chain, w3, tmp_path)


# ---------------------------------------------------------------------------------------------------- browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "the browser tests need Debian's chromium (make test installs it: apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


def sign_in_as(page: Page, url: str, address: str) -> None:
    """Sign in to the portal at ``url`` in the browser as the dev account ``address`` (dev chains only)."""
    page.goto(url + "/")
    value = page.locator("#account option", has_text=address).get_attribute("value")
    page.select_option("#account", value=value)
    page.click("text=Sign in as this dev account")
    page.wait_for_url("**/verify")
    assert "member" in page.inner_text("header")
