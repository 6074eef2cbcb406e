"""The event indexer against a real Anvil node: catch-up, confirmations, rebuild and reorgs."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web3 import Web3
from web3.contract import Contract

from node_adapter.connection import ChainConnection
from node_adapter.db import create_schema, make_engine
from node_adapter.dev.localchain import LocalChain
from node_adapter.indexer import ChainEvent, EventIndexer, WatchedContract
from node_adapter.readmodel import MemberAccountView, MemberView, membership_projection
from tests.chain_helpers import as_governance, deploy_membership

DEALER, BANK = 1 << 0, 1 << 3


@pytest.fixture
def governor(chain: LocalChain) -> LocalAccount:
    account: LocalAccount = Account.from_key(chain.accounts[0].private_key)
    return account


@pytest.fixture
def membership(w3: Web3, governor: LocalAccount) -> Contract:
    return deploy_membership(w3, governor)


def _indexer(engine: Engine, chain: LocalChain, membership: Contract, **kwargs: int) -> EventIndexer:
    start = kwargs.pop("start_block", 0)
    return EventIndexer(
        engine,
        ChainConnection([chain.url], expected_chain_id=chain.chain_id),
        [WatchedContract("Membership", membership.address, list(membership.abi))],
        [membership_projection()],
        start_block=start,
        **kwargs,
    )


def _admit(w3: Web3, membership: Contract, roles: int) -> str:
    account = Account.create().address
    as_governance(w3, membership, membership.functions.admitMember([account], roles, Web3.keccak(text=account)))
    return account


def _read_model(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with Session(engine) as session:
        members = [
            (m.member_id, m.status, m.roles, m.metadata_digest)
            for m in session.exec(select(MemberView).order_by(MemberView.member_id)).all()
        ]
        accounts = [
            (a.account, a.member_id)
            for a in session.exec(select(MemberAccountView).order_by(MemberAccountView.account))
        ]
    return members, accounts


def _chain_model(membership: Contract) -> list[tuple[object, ...]]:
    statuses = ("none", "active", "suspended", "expelled")
    result = []
    for member_id in range(1, membership.functions.memberCount().call() + 1):
        status, roles, digest, _accounts = membership.functions.getMember(member_id).call()
        result.append((member_id, statuses[status], roles, "0x" + digest.hex()))
    return result


def test_indexes_members_as_the_chain_has_them(
    engine: Engine, chain: LocalChain, w3: Web3, membership: Contract
) -> None:
    _admit(w3, membership, DEALER)
    bank = _admit(w3, membership, BANK | DEALER)
    as_governance(w3, membership, membership.functions.suspend(2))
    second = Account.create().address
    as_governance(w3, membership, membership.functions.addAccount(3, second))
    indexer = _indexer(engine, chain, membership)
    assert indexer.sync() > 0
    members, accounts = _read_model(engine)
    assert members == _chain_model(membership)
    assert [m[1] for m in members] == ["active", "suspended", "active"]
    assert (bank, 3) in accounts
    assert (second, 3) in accounts
    assert indexer.lag() == 0
    assert indexer.sync() == 0  # nothing applied twice


def test_only_confirmed_blocks_are_indexed(engine: Engine, chain: LocalChain, w3: Web3, membership: Contract) -> None:
    def mine(blocks: int) -> None:
        for _ in range(blocks):
            chain.rpc("evm_mine")

    indexer = _indexer(engine, chain, membership, confirmations=2)
    mine(2)
    indexer.sync()
    assert len(_read_model(engine)[0]) == 1  # the governor, admitted by the constructor two blocks deep
    _admit(w3, membership, DEALER)
    mine(1)
    indexer.sync()
    assert len(_read_model(engine)[0]) == 1  # the admission is only one block deep
    mine(1)
    indexer.sync()
    assert len(_read_model(engine)[0]) == 2


def test_rebuild_gives_the_same_read_model(engine: Engine, chain: LocalChain, w3: Web3, membership: Contract) -> None:
    for roles in (DEALER, BANK, DEALER | BANK):
        _admit(w3, membership, roles)
    as_governance(w3, membership, membership.functions.expel(3))
    indexer = _indexer(engine, chain, membership)
    indexer.sync()
    before = _read_model(engine)
    with Session(engine) as session:
        events_before = len(session.exec(select(ChainEvent)).all())
    heard: list[tuple[int, int, str]] = []
    indexer.rebuild(progress=lambda *told: heard.append(told))
    assert _read_model(engine) == before
    blocks = w3.eth.block_number - indexer.start_block + 1
    assert heard[-1][:2] == (blocks, blocks)  # every block from the start, of as many as there were
    assert [done for done, _total, _what in heard] == sorted(done for done, _total, _what in heard)
    assert heard[-1][2] == f"block {w3.eth.block_number}, {events_before} events"
    with Session(engine) as session:
        assert len(session.exec(select(ChainEvent)).all()) == events_before


def test_reorg_rewinds_and_matches_a_rebuild(
    engine: Engine, chain: LocalChain, w3: Web3, membership: Contract, tmp_path: Path
) -> None:
    _admit(w3, membership, DEALER)
    indexer = _indexer(engine, chain, membership)
    indexer.sync()
    fork = chain.rpc("evm_snapshot")
    lost = [_admit(w3, membership, BANK) for _ in range(3)]
    indexer.sync()
    assert any(a[0] in lost for a in _read_model(engine)[1])

    # The chain reorganises: the three admissions vanish and a longer branch with other content wins.
    assert chain.rpc("evm_revert", [fork])
    kept = [_admit(w3, membership, DEALER | BANK) for _ in range(4)]
    as_governance(w3, membership, membership.functions.suspend(2))

    indexer.sync()
    members, accounts = _read_model(engine)
    assert members == _chain_model(membership)
    assert not any(a[0] in lost for a in accounts)
    assert all(any(a[0] == k for a in accounts) for k in kept)

    fresh = make_engine(f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}")
    create_schema(fresh)
    _indexer(fresh, chain, membership).sync()
    assert _read_model(fresh) == (members, accounts)
    with Session(engine) as a, Session(fresh) as b:
        ours = [(e.block_number, e.log_index, e.event, e.args) for e in a.exec(select(ChainEvent)).all()]
        theirs = [(e.block_number, e.log_index, e.event, e.args) for e in b.exec(select(ChainEvent)).all()]
    assert sorted(ours) == sorted(theirs)  # no duplicate, no orphan event survives the reorg
