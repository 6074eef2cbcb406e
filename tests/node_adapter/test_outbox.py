"""The durable outbox and its worker, against a real Anvil node and real SQLite and PostgreSQL databases."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from node_adapter.artifacts import load_artifact
from node_adapter.connection import ChainConnection
from node_adapter.contract_errors import error_class
from node_adapter.db import create_schema, make_engine
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.exceptions import IdempotencyConflictError, OutboxTimeoutError
from node_adapter.outbox import Outbox, OutboxTx, TxAttempt, TxStatus
from node_adapter.txworker import TxPolicy, TxWorker

T = TypeVar("T")


def _fund(w3: Web3, funder: LocalAccount, address: str, ether: int) -> None:
    _fund_wei(w3, funder, address, Web3.to_wei(ether, "ether"))


def _fund_wei(w3: Web3, funder: LocalAccount, address: str, wei: int) -> None:
    tx = funder.sign_transaction(
        {
            "to": address,
            "value": wei,
            "gas": 21_000,
            "gasPrice": w3.eth.gas_price * 2,
            "nonce": w3.eth.get_transaction_count(funder.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(tx.raw_transaction))


def _fresh_account(w3: Web3, funder: LocalAccount, ether: int = 10) -> LocalAccount:
    """A new account, funded with ``ether`` by ``funder`` (every test gets nonces starting at zero)."""
    account: LocalAccount = Account.create()
    if ether:
        _fund(w3, funder, account.address, ether)
    return account


def _submit_transfers(outbox: Outbox, sender: str, recipient: str, keys: list[str], chain_id: int = 31337) -> None:
    for key in keys:
        outbox.submit(
            key=key, chain_id=chain_id, sender=sender, to=recipient, data=b"", value=1, purpose="test transfer"
        )


def _assert_landed_once(engine: Engine, w3: Web3, sender: str, recipient: str, keys: list[str]) -> None:
    """Every write confirmed, each with its own nonce, and the chain saw exactly one transfer per write."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxTx).where(OutboxTx.sender == sender)).all()
    by_key = {row.idempotency_key: row for row in rows}
    assert set(keys) <= set(by_key)
    assert Counter(by_key[k].status for k in keys) == Counter({TxStatus.CONFIRMED: len(keys)})
    nonces = [by_key[k].nonce for k in keys]
    assert sorted(nonces) == list(range(len(keys)))  # type: ignore[type-var]
    assert w3.eth.get_balance(recipient) == len(keys)  # one wei per write: nothing lost, nothing twice
    assert w3.eth.get_transaction_count(sender) == len(keys)
    for key in keys[:: max(1, len(keys) // 20)]:
        receipt = w3.eth.get_transaction_receipt(by_key[key].tx_hash)  # type: ignore[arg-type]
        assert receipt.status == 1
        assert receipt.blockNumber == by_key[key].block_number


def test_submit_is_idempotent_per_key(engine: Engine) -> None:
    outbox = Outbox(engine)
    sender, to = Account.create().address, Account.create().address
    first = outbox.submit(key="loan-42/register", chain_id=31337, sender=sender, to=to, data=b"\x01\x02")
    again = outbox.submit(key="loan-42/register", chain_id=31337, sender=sender, to=to, data="0x0102")
    assert again.id == first.id
    assert outbox.backlog() == {"queued": 1}
    with pytest.raises(IdempotencyConflictError, match="'loan-42/register' was already used for a different write"):
        outbox.submit(key="loan-42/register", chain_id=31337, sender=sender, to=to, data=b"\x01\x03")
    assert outbox.backlog() == {"queued": 1}


def test_bad_submissions_are_refused_and_write_nothing(engine: Engine) -> None:
    outbox = Outbox(engine)
    sender = Account.create().address
    with pytest.raises(ValueError, match="idempotency key must be 1 to 200 characters"):
        outbox.submit(key="", chain_id=1, sender=sender, to=sender, data=b"")
    with pytest.raises(ValueError, match="value must not be negative"):
        outbox.submit(key="k", chain_id=1, sender=sender, to=sender, data=b"", value=-1)
    assert outbox.backlog() == {}


def test_wait_times_out_with_the_write_kept(engine: Engine) -> None:
    outbox = Outbox(engine)
    sender = Account.create().address
    outbox.submit(key="k", chain_id=1, sender=sender, to=sender, data=b"")
    with pytest.raises(OutboxTimeoutError, match="write 'k' is still queued"):
        outbox.wait("k", timeout=0.2)
    assert outbox.get("k") is not None


def test_worker_sends_every_write_once(engine: Engine, chain: LocalChain, w3: Web3) -> None:
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder), Account.create().address
    outbox = Outbox(engine)
    keys = [f"transfer-{i}" for i in range(60)]
    _submit_transfers(outbox, sender.address, recipient, keys)
    worker = TxWorker(outbox, ChainConnection([chain.url], expected_chain_id=31337), [sender])
    worker.drain(timeout=120)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)
    worker.drain(timeout=5)  # another pass changes nothing
    assert w3.eth.get_transaction_count(sender.address) == len(keys)


class _LockProbe(ChainConnection):
    """A chain connection that, before each node call, tries to take the SQLite database's write lock from another
    connection without waiting: it records whether anyone (the worker) held it at that moment."""

    def __init__(self, url: str, database: Path) -> None:
        super().__init__([url], expected_chain_id=31337)
        self.database = database
        self.lock_free: list[bool] = []

    def call(self, fn: Callable[[Web3], T]) -> T:
        probe = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            self.lock_free.append(True)
        except sqlite3.OperationalError:
            self.lock_free.append(False)
        finally:
            probe.close()
        return super().call(fn)


def test_the_worker_holds_no_database_lock_while_it_asks_the_node(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    """On SQLite one write lock serves every process: a node that answers slowly must not stall them all."""
    database = tmp_path / "outbox.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    create_schema(engine)
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder), Account.create().address
    outbox = Outbox(engine)
    keys = [f"probe-{i}" for i in range(5)]
    _submit_transfers(outbox, sender.address, recipient, keys)
    probe = _LockProbe(chain.url, database)
    TxWorker(outbox, probe, [sender]).drain(timeout=60)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)
    assert len(probe.lock_free) >= 3  # nonce and fees, gas, send, receipts
    assert all(probe.lock_free)
    engine.dispose()


def test_concurrent_submitters_through_one_account(engine: Engine, chain: LocalChain, w3: Web3) -> None:
    """8 threads submit 250 writes each while the worker runs: all 2,000 land once, no nonce error surfaces."""
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder, ether=100), Account.create().address
    outbox = Outbox(engine)
    worker = TxWorker(
        outbox, ChainConnection([chain.url], expected_chain_id=31337), [sender], TxPolicy(max_in_flight=200)
    )
    thread, stop = worker.start()
    keys_by_thread = [[f"t{t}-w{i}" for i in range(250)] for t in range(8)]
    submitters = [
        threading.Thread(target=_submit_transfers, args=(outbox, sender.address, recipient, keys))
        for keys in keys_by_thread
    ]
    for submitter in submitters:
        submitter.start()
    for submitter in submitters:
        submitter.join()
    keys = [key for keys in keys_by_thread for key in keys]
    rows = outbox.wait_all(keys, timeout=300)
    stop.set()
    thread.join(timeout=10)
    assert all(row.last_error is None for row in rows)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)


def test_two_workers_on_one_database_do_not_collide(engine: Engine, chain: LocalChain, w3: Web3) -> None:
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder), Account.create().address
    outbox = Outbox(engine)
    keys = [f"w-{i}" for i in range(300)]
    _submit_transfers(outbox, sender.address, recipient, keys)
    workers = [
        TxWorker(Outbox(engine), ChainConnection([chain.url], expected_chain_id=31337), [sender]) for _ in range(2)
    ]
    started = [worker.start() for worker in workers]
    outbox.wait_all(keys, timeout=300)
    for thread, stop in started:
        stop.set()
        thread.join(timeout=10)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)


def test_insufficient_funds_waits_and_lands_once_funded(engine: Engine, chain: LocalChain, w3: Web3) -> None:
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder, ether=0), Account.create().address
    outbox = Outbox(engine)
    keys = ["poor-0", "poor-1"]
    _submit_transfers(outbox, sender.address, recipient, keys)
    worker = TxWorker(outbox, ChainConnection([chain.url], expected_chain_id=31337), [sender])
    for _ in range(3):
        worker.run_once()
    row = outbox.get("poor-0")
    assert row is not None
    assert row.status == TxStatus.SIGNED  # kept, with the reason; nothing half-written
    assert row.last_error is not None
    assert "insufficient funds" in row.last_error.lower()
    assert w3.eth.get_transaction_count(sender.address) == 0
    _fund(w3, funder, sender.address, 1)
    worker.drain(timeout=60)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)


def test_restarted_worker_resends_the_same_transaction(engine: Engine, chain: LocalChain, w3: Web3) -> None:
    """A worker that signed and sent, then died before any receipt: its successor finishes without a second send."""
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder), Account.create().address
    outbox = Outbox(engine)
    keys = [f"crash-{i}" for i in range(20)]
    _submit_transfers(outbox, sender.address, recipient, keys)
    first = TxWorker(outbox, ChainConnection([chain.url], expected_chain_id=31337), [sender])
    first._sign_queued(sender.address)
    first._send_signed()  # ... and the process dies here, before following receipts
    hashes = {key: outbox.get(key).tx_hash for key in keys}  # type: ignore[union-attr]
    assert None not in hashes.values()
    successor = TxWorker(
        Outbox(engine), ChainConnection([chain.url], expected_chain_id=31337), [sender], TxPolicy(resend_after=0)
    )
    successor.drain(timeout=60)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)
    assert {key: outbox.get(key).tx_hash for key in keys} == hashes  # type: ignore[union-attr]
    with Session(engine) as session:
        assert len(session.exec(select(TxAttempt)).all()) == len(keys)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_killed_worker_process_loses_and_duplicates_nothing(
    engine: Engine, db_url: str, chain: LocalChain, w3: Web3
) -> None:
    funder = Account.from_key(chain.accounts[0].private_key)
    sender, recipient = _fresh_account(w3, funder), Account.create().address
    outbox = Outbox(engine)
    keys = [f"kill-{i}" for i in range(300)]
    _submit_transfers(outbox, sender.address, recipient, keys)
    script = textwrap.dedent(
        f"""
        import threading
        from eth_account import Account
        from node_adapter.connection import ChainConnection
        from node_adapter.db import make_engine
        from node_adapter.outbox import Outbox
        from node_adapter.txworker import TxWorker
        worker = TxWorker(Outbox(make_engine({db_url!r})), ChainConnection([{chain.url!r}]),
                          [Account.from_key({"0x" + bytes(sender.key).hex()!r})])
        worker.run(threading.Event())
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:

        def confirmed() -> int:
            return outbox.backlog().get("confirmed", 0)

        deadline = time.monotonic() + 120
        while confirmed() < 50:
            assert process.poll() is None, "worker process died"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.kill()  # SIGKILL: no cleanup at all
        process.wait()
    assert confirmed() < len(keys), "the worker finished before it was killed; the test proves nothing"
    successor = TxWorker(
        outbox, ChainConnection([chain.url], expected_chain_id=31337), [sender], TxPolicy(resend_after=0)
    )
    successor.drain(timeout=120)
    _assert_landed_once(engine, w3, sender.address, recipient, keys)


def test_node_restart_under_load_loses_and_duplicates_nothing(engine: Engine, tmp_path: Path) -> None:
    """Stop the node while the outbox holds hundreds of writes, start it again: every write lands exactly once."""
    node = LocalChain(port=free_port(), state_dir=tmp_path / "chain", block_time=0.5)
    with node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        funder = Account.from_key(node.accounts[0].private_key)
        sender, recipient = _fresh_account(w3, funder), Account.create().address
        outbox = Outbox(engine)
        keys = [f"outage-{i}" for i in range(400)]
        _submit_transfers(outbox, sender.address, recipient, keys)
        worker = TxWorker(
            outbox,
            ChainConnection([node.url], expected_chain_id=31337, backoff_base=0.1, backoff_max=0.5),
            [sender],
            TxPolicy(resend_after=1.0, max_in_flight=100),
        )
        thread, stop = worker.start()
        deadline = time.monotonic() + 120
        while outbox.backlog().get("confirmed", 0) < 100:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    # The node is down now, with writes signed, sent and in its pool; the worker keeps trying.
    assert 0 < outbox.backlog().get("confirmed", 0) < len(keys)
    time.sleep(1.0)
    with node:
        outbox.wait_all(keys, timeout=300)
        stop.set()
        thread.join(timeout=10)
        _assert_landed_once(engine, Web3(Web3.HTTPProvider(node.url)), sender.address, recipient, keys)


def _membership_deploy_data(w3: Web3, governors: list[str]) -> str:
    artifact = load_artifact("Membership")
    contract = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    return str(contract.constructor(governors, 5000, 3 * 86400, 86400, 7 * 86400).data_in_transaction)


@dataclass
class Deployed:
    outbox: Outbox
    worker: TxWorker
    governor: LocalAccount
    membership: Contract


@pytest.fixture
def deployed(engine: Engine, chain: LocalChain, w3: Web3) -> Deployed:
    """A Membership contract deployed through the outbox by a fresh governor account."""
    governor = _fresh_account(w3, Account.from_key(chain.accounts[0].private_key))
    outbox = Outbox(engine)
    worker = TxWorker(outbox, ChainConnection([chain.url], expected_chain_id=31337), [governor])
    data = _membership_deploy_data(w3, [governor.address])
    outbox.submit(key="deploy", chain_id=31337, sender=governor.address, to=None, data=data)
    worker.drain(timeout=60)
    address = outbox.wait("deploy", timeout=1).raise_for_status().contract_address
    assert address is not None
    return Deployed(outbox, worker, governor, w3.eth.contract(address=address, abi=load_artifact("Membership").abi))


def _submit_call(deployed: Deployed, key: str, function: ContractFunction) -> None:
    data = function.build_transaction({"from": deployed.governor.address, "gas": 100_000})["data"]
    deployed.outbox.submit(
        key=key, chain_id=31337, sender=deployed.governor.address, to=deployed.membership.address, data=data
    )


def test_deploy_then_deterministic_revert_is_recorded_not_sent(deployed: Deployed, w3: Web3) -> None:
    governor, outbox = deployed.governor, deployed.outbox
    assert deployed.membership.functions.activeGovernorCount().call() == 1
    nonce_before = w3.eth.get_transaction_count(governor.address)
    _submit_call(deployed, "direct-suspend", deployed.membership.functions.suspend(1))
    deployed.worker.drain(timeout=60)
    row = outbox.wait("direct-suspend", timeout=1)
    assert row.status == TxStatus.REVERTED
    assert row.error_name == "MembershipOnlyGovernance"
    assert row.nonce is None  # refused before signing: no nonce used, nothing sent
    assert w3.eth.get_transaction_count(governor.address) == nonce_before
    with pytest.raises(error_class("MembershipOnlyGovernance")) as raised:
        row.raise_for_status()
    assert isinstance(raised.value, PermissionError)
    assert raised.value.args_by_name == {"caller": governor.address}
    deployed.worker.drain(timeout=5)
    assert outbox.get("direct-suspend").status == TxStatus.REVERTED  # type: ignore[union-attr]  # never retried


def test_revert_on_chain_is_decoded_from_the_receipt(deployed: Deployed, w3: Web3) -> None:
    """A write whose estimate fails behind an in-flight write of its account is sent; the chain's revert is decoded."""
    governor, outbox = deployed.governor, deployed.outbox
    outbox.submit(key="transfer", chain_id=31337, sender=governor.address, to=governor.address, data=b"", value=1)
    _submit_call(deployed, "direct-expel", deployed.membership.functions.expel(1))
    deployed.worker.drain(timeout=60)
    row = outbox.wait("direct-expel", timeout=1)
    assert row.status == TxStatus.REVERTED
    assert row.nonce is not None  # it was sent (the chain judged it) ...
    receipt = w3.eth.get_transaction_receipt(row.tx_hash)  # type: ignore[arg-type]
    assert receipt.status == 0
    assert row.error_name == "MembershipOnlyGovernance"  # ... and the receipt's revert was decoded
    assert outbox.wait("transfer", timeout=1).status == TxStatus.CONFIRMED


@pytest.mark.parametrize(
    ("network", "node_args", "funded"),
    [
        ("free gas (Besu-style, zero base fee and gas price)", ("--base-fee", "0", "--gas-price", "0"), False),
        ("legacy gas price (no EIP-1559)", ("--hardfork", "berlin"), True),
    ],
)
def test_writes_land_on_free_gas_and_legacy_chains(
    engine: Engine, network: str, node_args: tuple[str, ...], funded: bool
) -> None:
    with LocalChain(port=free_port(), extra_args=node_args) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        funder = Account.from_key(node.accounts[0].private_key)
        sender = _fresh_account(w3, funder, ether=1 if funded else 0)
        recipient = Account.create().address
        outbox = Outbox(engine)
        keys = [f"{network}-{i}" for i in range(5)]
        if not funded:
            _fund_wei(w3, funder, sender.address, len(keys))  # the transfers' values; nothing for gas
        _submit_transfers(outbox, sender.address, recipient, keys)
        policy = TxPolicy(free_gas=not funded)
        TxWorker(outbox, ChainConnection([node.url], expected_chain_id=31337), [sender], policy).drain(timeout=60)
        _assert_landed_once(engine, w3, sender.address, recipient, keys)
        if not funded:
            assert w3.eth.get_balance(sender.address) == 0  # it paid the values and no gas: gas is free


def test_a_write_priced_out_by_the_base_fee_is_replaced_with_a_higher_fee(engine: Engine) -> None:
    with LocalChain(port=free_port(), block_time=0.5) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        sender, recipient = _fresh_account(w3, Account.from_key(node.accounts[0].private_key)), Account.create().address
        outbox = Outbox(engine)
        worker = TxWorker(outbox, ChainConnection([node.url], expected_chain_id=31337), [sender],
                          TxPolicy(resend_after=0.5, replace_after=1.0))  # fmt: skip
        _submit_transfers(outbox, sender.address, recipient, ["priced-out"])
        worker._sign_queued(sender.address)
        signed = outbox.get("priced-out")
        assert signed is not None
        signed_fees = json.loads(signed.fee_fields or "{}")
        # The base fee jumps far above what the write was signed for: it waits in the pool, unmined.
        node.rpc("anvil_setNextBlockBaseFeePerGas", [hex(signed_fees["maxFeePerGas"] * 50)])
        node.rpc("evm_mine")
        worker.drain(timeout=120)
        row = outbox.wait("priced-out", timeout=1)
        assert row.status == TxStatus.CONFIRMED
        assert row.attempts >= 2
        assert json.loads(row.fee_fields or "{}")["maxFeePerGas"] > signed_fees["maxFeePerGas"]
        _assert_landed_once(engine, w3, sender.address, recipient, ["priced-out"])
