"""The typed contract clients: encoding checks without a chain, then the suite on a real node through the outbox."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from pydantic.alias_generators import to_snake
from web3 import Web3
from web3.contract import Contract

from node_adapter.artifacts import load_artifact
from node_adapter.clients import (
    ZERO_BYTES32,
    Authorization,
    Case,
    CaseState,
    Cause,
    CollateralClient,
    ContractClient,
    Kind,
    KindFlag,
    KindView,
    LienStatus,
    Loan,
    LoanTerms,
    Member,
    MembershipClient,
    MemberStatus,
    Parameters,
    ProposalState,
    Record,
    RecordView,
    RegistryClient,
    Role,
    Suite,
    Valuation,
    ValuationPolicy,
    abi_to_python,
    contract_spec,
    role_names,
)
from node_adapter.connection import ChainConnection
from node_adapter.contract_errors import error_class
from node_adapter.dev.devchain import increase_time
from node_adapter.dev.localchain import LocalChain
from node_adapter.exceptions import (
    ContractArgumentError,
    EncodingError,
    InvalidRequestRevert,
    NodeAdapterError,
    NotFoundRevert,
    UnauthorizedRevert,
    UnexpectedStateRevert,
)
from node_adapter.outbox import Outbox, OutboxTx, TxStatus
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings
from node_adapter.txworker import TxWorker

INSPECTION = 1
ODOMETER = 2
SUBJECT = Web3.keccak(text="subject:LSVAU2180N2183294")
SCHEMA = Web3.keccak(text="inspection.v1")
DAY = 86_400
TERMS = LoanTerms(
    max_overdue_days=90,
    watch_overdue_days=30,
    max_ltv_bps=8000,
    value_move_bps=800,
    cure_period=3 * DAY,
    step_deadline=2 * DAY,
)
GOVERNOR_IDS, DEALER_ID, BANK_ID, DMV_ID, PRICE_ID, AGENCY_ID = (1, 2, 3), 4, 5, 6, 7, 8
NOWHERE = ChainConnection(["http://127.0.0.1:9"])
"""A connection that is never used: encoding needs no chain."""
SOMEWHERE = "0x" + "11" * 20


def _evidence(label: str) -> bytes:
    return Web3.keccak(text=f"evidence:{label}")


# ---------------------------------------------------------------------------------------------- without a chain


def test_calldata_matches_web3_encoding() -> None:
    registry, collateral = RegistryClient(NOWHERE, SOMEWHERE), CollateralClient(NOWHERE, SOMEWHERE)
    w3 = Web3()

    def contract(name: str) -> Contract:
        return w3.eth.contract(address=Web3.to_checksum_address(SOMEWHERE), abi=load_artifact(name).abi)

    web3_registry, web3_collateral = contract("EvidenceRegistry"), contract("CollateralManager")
    expected = web3_registry.encode_abi("registerKind", [INSPECTION, SCHEMA, 5, 10, 0])
    assert registry.encode_register_kind(kind=INSPECTION, schema_digest=SCHEMA, roles=5, weight=10) == bytes.fromhex(
        expected[2:]
    )
    args = [SUBJECT, 600_000, 600_000, 1_000_000, (90, 30, 8000, 800, 3 * DAY, 2 * DAY), _evidence("loan")]
    expected = web3_collateral.encode_abi("registerLoan", args)
    as_model = collateral.calldata("registerLoan", *args[:4], TERMS, args[5])
    as_mapping = collateral.calldata(
        "registerLoan",
        *args[:4],
        {
            "maxOverdueDays": 90,
            "watch_overdue_days": 30,
            "maxLtvBps": 8000,
            "value_move_bps": 800,
            "curePeriod": 3 * DAY,
            "step_deadline": 2 * DAY,
        },
        args[5],
    )
    by_keyword = collateral.calldata(
        "registerLoan",
        subject="0x" + SUBJECT.hex().removeprefix("0x"),
        principal=600_000,
        outstanding=600_000,
        baseline_value=1_000_000,
        terms=args[4],
        evidenceDigest=args[5],
    )
    assert as_model == as_mapping == by_keyword == bytes.fromhex(expected[2:])

    parameters = Parameters(
        default_value_move_bps=800,
        risk_watch_score=4000,
        min_cure_period=DAY,
        min_step_deadline=1,
        risk_reporter_roles=0,
    )
    expected = web3_collateral.encode_abi("setParameters", [(800, 4000, DAY, 1, 0)])
    assert collateral.encode_set_parameters(new_parameters=parameters) == bytes.fromhex(expected[2:])
    expected = web3_collateral.encode_abi("setValuationPolicy", [(3, DAY)])
    policy = ValuationPolicy(quorum=3, max_age=DAY)
    assert collateral.encode_set_valuation_policy(new_policy=policy) == bytes.fromhex(expected[2:])

    name, decoded = collateral.decode_calldata(as_model)
    assert name == "registerLoan"
    assert LoanTerms.model_validate(decoded["terms"]) == TERMS
    assert decoded["subject"] == "0x" + SUBJECT.hex().removeprefix("0x")


def test_abi_to_python_names_struct_components_recursively() -> None:
    get_loan = contract_spec("CollateralManager").functions["getLoan"]
    address = "0x" + "ab" * 20
    raw_terms = (90, 30, 8000, 0, 3 * DAY, 2 * DAY)
    raw = (bytes(SUBJECT), 10, 9, 20, 19, 5, 2, 1_700_000_000, 0, 1_700_000_100, raw_terms, 7)
    value = abi_to_python(get_loan.outputs[0], raw)
    assert value["terms"] == {
        "maxOverdueDays": 90,
        "watchOverdueDays": 30,
        "maxLtvBps": 8000,
        "valueMoveBps": 0,
        "curePeriod": 3 * DAY,
        "stepDeadline": 2 * DAY,
    }
    loan = Loan.model_validate(value)
    assert loan.subject == "0x" + bytes(SUBJECT).hex()
    assert loan.lien_status is LienStatus.ACTIVE
    assert loan.terms.max_ltv_bps == 8000
    assert loan.last_valued_at == 1_700_000_100
    assert loan.case_id == 7

    get_member = contract_spec("Membership").functions["getMember"]
    member = Member.model_validate(abi_to_python(get_member.outputs[0], (1, 9, b"\x01" * 32, [address])))
    assert member.status is MemberStatus.ACTIVE
    assert member.accounts == (Web3.to_checksum_address(address),)
    assert member.metadata_digest == "0x" + "01" * 32
    assert member.role_names == ("DEALER", "BANK")
    assert role_names(Role.GOVERNOR | 1 << 12) == ("GOVERNOR",)


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda r, c, m: r.calldata("attest", SUBJECT, 1, bytes(SUBJECT)[:31], ZERO_BYTES32, 0), "digest"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, 1, SUBJECT.hex().removeprefix("0x"), ZERO_BYTES32, 0), "digest"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, 70_000, SUBJECT, ZERO_BYTES32, 0), "kind"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, True, SUBJECT, ZERO_BYTES32, 0), "kind"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, 1, SUBJECT, ZERO_BYTES32, -1), "expiry"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, 1, SUBJECT), "ref"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, 1, SUBJECT, ZERO_BYTES32, 0, subject=SUBJECT), "subject"),
        (lambda r, c, m: r.calldata("attest", SUBJECT, 1, SUBJECT, ZERO_BYTES32, 0, 1), "arguments"),
        (
            lambda r, c, m: c.calldata(
                "registerLoan", SUBJECT, 1, 1, 1, TERMS.model_copy(update={"max_ltv_bps": -1}), SUBJECT
            ),
            "terms.max_ltv_bps",
        ),
        (lambda r, c, m: c.calldata("registerLoan", SUBJECT, 1, 1, 1, (90, 30), SUBJECT), "terms"),
        (lambda r, c, m: m.encode_admit_member(accounts=["0x1234"], roles=1, metadata_digest=SUBJECT), "accounts[0]"),
        (lambda r, c, m: m.encode_admit_member(accounts=SOMEWHERE, roles=1, metadata_digest=SUBJECT), "accounts"),
        (lambda r, c, m: m.encode_set_roles(member_id=1.0, roles=1), "member_id"),
    ],
)
def test_wrong_arguments_are_refused_with_their_place(
    call: Callable[[RegistryClient, CollateralClient, MembershipClient], object], where: str
) -> None:
    clients = (
        RegistryClient(NOWHERE, SOMEWHERE),
        CollateralClient(NOWHERE, SOMEWHERE),
        MembershipClient(NOWHERE, SOMEWHERE),
    )
    with pytest.raises(ContractArgumentError) as caught:
        call(*clients)
    assert caught.value.argument == where
    assert isinstance(caught.value, EncodingError)
    assert isinstance(caught.value, NodeAdapterError)


# ---------------------------------------------------------------------------------------------- on a real node


@dataclass
class Consortium:
    """A deployed suite, its typed clients, an outbox worker holding the dev accounts' keys, and the accounts."""

    runtime: Runtime
    suite: Suite
    worker: TxWorker
    accounts: list[LocalAccount]

    @property
    def outbox(self) -> Outbox:
        return self.runtime.outbox

    @property
    def governors(self) -> list[LocalAccount]:
        return self.accounts[:3]

    @property
    def dealer(self) -> LocalAccount:
        return self.accounts[3]

    @property
    def bank(self) -> LocalAccount:
        return self.accounts[4]

    @property
    def dmv(self) -> LocalAccount:
        return self.accounts[5]

    @property
    def price(self) -> LocalAccount:
        return self.accounts[6]

    @property
    def agency(self) -> LocalAccount:
        return self.accounts[7]

    @property
    def second_price(self) -> LocalAccount:
        """A second price oracle's account: deployed holds its key, but no fixture admits it."""
        return self.accounts[8]

    def settle(self, *rows: OutboxTx) -> list[OutboxTx]:
        """Let the worker send every queued write; the final rows of ``rows``."""
        self.worker.drain(timeout=60)
        return [self.outbox.wait(row.idempotency_key, timeout=5) for row in rows]

    def confirm(self, row: OutboxTx) -> OutboxTx:
        (final,) = self.settle(row)
        return final.raise_for_status()


@pytest.fixture
def deployed(chain: LocalChain, tmp_path: Path) -> Iterator[Consortium]:
    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path, network="clients")
    )
    deployment, _ = runtime.deploy()
    accounts: list[LocalAccount] = [Account.from_key(a.private_key) for a in chain.accounts[:9]]
    yield Consortium(runtime, Suite.from_deployment(runtime.connection, deployment), runtime.worker(accounts), accounts)
    runtime.engine.dispose()


def _formation_calls(c: Consortium) -> tuple[list[str], list[bytes]]:
    membership, registry = c.suite.membership, c.suite.registry
    admissions = [
        (c.dealer, Role.DEALER),
        (c.bank, Role.BANK),
        (c.dmv, Role.DMV_ORACLE),
        (c.price, Role.PRICE_ORACLE),
        (c.agency, Role.DISPOSAL_AGENCY),
    ]
    calldatas = [
        membership.encode_admit_member(accounts=[a.address], roles=roles, metadata_digest=Web3.keccak(text=a.address))
        for a, roles in admissions
    ]
    calldatas.append(
        registry.encode_register_kind(
            kind=INSPECTION, schema_digest=SCHEMA, roles=Role.DEALER | Role.REPAIR_SHOP, weight=10
        )
    )
    targets: list[str] = [membership.address] * len(admissions)
    return [*targets, registry.address], calldatas


def _form(c: Consortium, w3: Web3) -> int:
    """Admit the dealer, bank, DMV, price oracle and agency and register the inspection kind, by a typed proposal."""
    targets, calldatas = _formation_calls(c)
    return _govern(c, w3, "form", targets, calldatas)


def _govern(c: Consortium, w3: Web3, key: str, targets: list[str], calldatas: list[bytes]) -> int:
    """Pass the calls by a typed proposal: governor 1 proposes, governors 1 and 2 vote for, governor 3 executes."""
    membership = c.suite.membership
    proposed = c.confirm(
        membership.propose(
            c.outbox,
            key=f"{key}/propose",
            sender=c.governors[0].address,
            targets=targets,
            calldatas=calldatas,
            description_digest=Web3.keccak(text=key),
        )
    )
    proposal_id = membership.proposal_id_of(proposed)
    votes = [
        membership.cast_vote(c.outbox, key=f"{key}/vote/{i}", sender=g.address, proposal_id=proposal_id, support=True)
        for i, g in enumerate(c.governors[:2])
    ]
    for row in c.settle(*votes):
        row.raise_for_status()
    parameters = membership.governance_parameters()
    increase_time(w3, parameters.voting_period + parameters.execution_delay + 1)
    c.confirm(
        membership.execute(c.outbox, key=f"{key}/execute", sender=c.governors[2].address, proposal_id=proposal_id)
    )
    return proposal_id


@pytest.fixture
def consortium(deployed: Consortium, w3: Web3) -> Consortium:
    _form(deployed, w3)
    return deployed


@pytest.mark.ganache
def test_proposal_passes_through_the_typed_clients(deployed: Consortium, w3: Web3) -> None:
    c, membership, registry = deployed, deployed.suite.membership, deployed.suite.registry
    targets, calldatas = _formation_calls(c)
    proposer = c.governors[0]
    proposed = c.confirm(
        membership.propose(
            c.outbox,
            key="p/propose",
            sender=proposer.address,
            targets=targets,
            calldatas=calldatas,
            description_digest=Web3.keccak(text="form the consortium"),
        )
    )
    proposal_id = membership.proposal_id_of(proposed)
    assert proposal_id == membership.proposal_count() == 1
    assert membership.state(proposal_id) is ProposalState.ACTIVE
    proposal = membership.get_proposal(proposal_id)
    assert proposal.proposer == proposer.address
    assert proposal.targets == tuple(targets)
    assert proposal.calldatas == tuple("0x" + data.hex() for data in calldatas)
    assert proposal.description_digest == "0x" + Web3.keccak(text="form the consortium").hex().removeprefix("0x")
    assert (proposal.eligible_voters, proposal.quorum_bps, proposal.executed) == (3, 5000, False)

    votes = [
        membership.cast_vote(c.outbox, key=f"p/vote/{i}", sender=g.address, proposal_id=proposal_id, support=True)
        for i, g in enumerate(c.governors[:2])
    ]
    assert {row.status for row in c.settle(*votes)} == {TxStatus.CONFIRMED}
    assert membership.get_proposal(proposal_id).for_votes == 2
    assert membership.has_voted(proposal_id, 1)
    assert membership.has_voted(proposal_id, 2)
    assert not membership.has_voted(proposal_id, 3)
    assert membership.can_vote(proposal_id, 3)
    assert not membership.can_vote(proposal_id, 1)

    parameters = membership.governance_parameters()
    assert (parameters.voting_period, parameters.execution_delay) == (3 * DAY, DAY)
    increase_time(w3, parameters.voting_period + parameters.execution_delay + 1)
    assert membership.state(proposal_id) is ProposalState.READY
    executed = c.confirm(
        membership.execute(c.outbox, key="p/execute", sender=c.governors[2].address, proposal_id=proposal_id)
    )
    assert membership.state(proposal_id) is ProposalState.EXECUTED
    admitted = membership.events(executed, "MemberAdmitted")
    assert [e.args["memberId"] for e in admitted] == [DEALER_ID, BANK_ID, DMV_ID, PRICE_ID, AGENCY_ID]
    assert admitted[0].args["accounts"] == [c.dealer.address]
    assert [e.name for e in registry.events(executed)] == ["KindRegistered"]

    assert membership.get_member(DEALER_ID) == Member(
        status=MemberStatus.ACTIVE,
        roles=Role.DEALER,
        metadata_digest="0x" + Web3.keccak(text=c.dealer.address).hex().removeprefix("0x"),
        accounts=(c.dealer.address,),
    )
    governor = membership.get_member(GOVERNOR_IDS[0])
    assert governor.role_names == ("GOVERNOR",)
    assert governor.accounts == (proposer.address,)
    assert membership.get_member(BANK_ID).role_names == ("BANK",)
    assert membership.authorize(c.bank.address) == Authorization(member_id=BANK_ID, roles=Role.BANK)
    assert membership.authorize(Account.create().address) == Authorization(member_id=0, roles=0)
    assert membership.member_of(c.agency.address) == membership.bound_member_of(c.agency.address) == AGENCY_ID
    assert membership.has_any_role(c.dmv.address, Role.DMV_ORACLE | Role.PRICE_ORACLE)
    assert not membership.has_any_role(c.dmv.address, Role.BANK)
    assert (membership.member_count(), membership.active_governor_count()) == (8, 3)
    with pytest.raises(error_class("MembershipUnknownMember")):
        membership.get_member(99)

    assert registry.get_kind(INSPECTION) == KindView(
        kind=Kind(roles=Role.DEALER | Role.REPAIR_SHOP, weight=10, flags=0, active=True, exists=True),
        schema_digest="0x" + SCHEMA.hex().removeprefix("0x"),
    )
    assert registry.get_kind(INSPECTION).kind.role_names == ("DEALER", "REPAIR_SHOP")
    assert not registry.get_kind(99).kind.exists


def test_attest_and_read_the_record_back(consortium: Consortium) -> None:
    c, registry = consortium, consortium.suite.registry
    uid = Web3.keccak(text="inspection record, salted")
    submitted = registry.attest(
        c.outbox, key="attest/1", sender=c.dealer.address, subject=SUBJECT, kind=INSPECTION, digest=uid
    )
    assert submitted.status is TxStatus.QUEUED
    assert submitted.purpose == "EvidenceRegistry.attest"
    again = registry.attest(
        c.outbox,
        key="attest/1",
        sender=c.dealer.address.lower(),
        subject=SUBJECT,
        kind=INSPECTION,
        digest="0x" + uid.hex().removeprefix("0x"),
    )
    assert again.id == submitted.id  # same key, same write: idempotent
    attested = c.confirm(submitted)

    view = registry.get_record(uid)
    assert isinstance(view, RecordView)
    assert isinstance(view.record, Record)
    assert view.record.attester == c.dealer.address
    assert (view.record.kind, view.record.expiry) == (INSPECTION, 0)
    assert view.record.time > 0
    assert view.record.exists
    assert view.ref == "0x" + "00" * 32
    assert registry.is_valid(uid)
    assert registry.is_valid("0x" + uid.hex().removeprefix("0x"))
    assert not registry.is_valid(Web3.keccak(text="never attested"))
    assert not registry.get_record(Web3.keccak(text="never attested")).record.exists
    assert registry.get_revocation(uid).time == 0
    assert registry.points_of(DEALER_ID) == registry.total_points() == 10
    assert registry.points_parameters().slash_multiplier == 3

    (event,) = registry.events(attested, "Attested")
    assert event.args["uid"] == "0x" + uid.hex().removeprefix("0x")
    assert event.args["subject"] == "0x" + SUBJECT.hex().removeprefix("0x")
    assert event.args["attester"] == c.dealer.address
    assert event.block_number == attested.block_number


def _sign_attest_reading(registry: RegistryClient, signer: LocalAccount, message: dict[str, Any]) -> bytes:
    """``signer``'s EIP-712 signature of an ``AttestReading`` message for ``registry``'s domain."""
    typed_data = registry.attest_typed_data(**message)
    return bytes(signer.sign_message(encode_typed_data(full_message=typed_data)).signature)


def test_attest_reading_by_sig_relays_a_signed_reading(consortium: Consortium, w3: Web3) -> None:
    c, registry = consortium, consortium.suite.registry
    _govern(
        c,
        w3,
        "odometer-kind",
        [registry.address],
        [
            registry.encode_register_kind(
                kind=ODOMETER,
                schema_digest=Web3.keccak(text="odometer.v1"),
                roles=Role.DEALER,
                weight=2,
                flags=KindFlag.ODOMETER | KindFlag.ROLLBACK_REJECT,
            )
        ],
    )
    uid = Web3.keccak(text="odometer reading, salted")
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    message: dict[str, Any] = {
        "subject": bytes(SUBJECT),
        "kind": ODOMETER,
        "digest": bytes(uid),
        "ref": bytes(32),
        "expiry": 0,
        "reading": 42_000,
        "nonce": registry.nonces(c.dealer.address),
        "deadline": deadline,
    }
    signature = _sign_attest_reading(registry, c.dealer, message)

    def relay(key: str) -> OutboxTx:
        """The bank relays the dealer's signed reading: the bank pays the gas, the record is the dealer's."""
        return registry.attest_reading_by_sig(
            c.outbox,
            key=key,
            sender=c.bank.address,
            subject=SUBJECT,
            kind=ODOMETER,
            digest=uid,
            ref=ZERO_BYTES32,
            expiry=0,
            reading=42_000,
            attester=c.dealer.address,
            deadline=deadline,
            signature=signature,
        )

    relayed = c.confirm(relay("reading/relay"))
    assert relayed.purpose == "EvidenceRegistry.attestReadingBySig"
    record = registry.get_record(uid).record
    assert (record.attester, record.kind, record.expiry) == (c.dealer.address, ODOMETER, 0)
    assert registry.is_valid(uid)
    assert registry.last_reading(SUBJECT) == 42_000
    assert not registry.is_rollback_flagged(uid)
    assert registry.nonces(c.dealer.address) == 1
    assert registry.nonces(c.bank.address) == 0
    assert registry.points_of(DEALER_ID) == 2
    assert registry.points_of(BANK_ID) == 0
    (recorded,) = registry.events(relayed, "OdometerRecorded")
    assert (recorded.args["reading"], recorded.args["rollback"]) == (42_000, False)
    (attested,) = registry.events(relayed, "Attested")
    assert attested.args["attester"] == c.dealer.address

    # The same signature again: its nonce is used, so the chain refuses it, and the row carries the decoded error.
    (replayed,) = c.settle(relay("reading/replay"))
    assert replayed.status is TxStatus.REVERTED
    with pytest.raises(error_class("RegistryInvalidSignature")) as caught:
        replayed.raise_for_status()
    assert isinstance(caught.value, InvalidRequestRevert)
    assert caught.value.args_by_name == {"attester": c.dealer.address}
    assert registry.last_reading(SUBJECT) == 42_000
    assert registry.points_of(DEALER_ID) == 2


def _register_loan(c: Consortium, key: str) -> int:
    """The bank registers a loan of 600 000 on SUBJECT (baseline 1 000 000); its id, lien still pending."""
    collateral = c.suite.collateral
    registered = c.confirm(
        collateral.register_loan(
            c.outbox,
            key=key,
            sender=c.bank.address,
            subject=SUBJECT,
            principal=600_000,
            outstanding=600_000,
            baseline_value=1_000_000,
            terms=TERMS,
            evidence_digest=_evidence("loan"),
        )
    )
    return collateral.loan_id_of(registered)


def test_register_a_loan_and_read_it_back(consortium: Consortium) -> None:
    c, collateral = consortium, consortium.suite.collateral
    loan_id = _register_loan(c, "loan/1")
    assert loan_id == collateral.active_loan_of(SUBJECT) == collateral.loan_count() == 1

    loan = collateral.get_loan(loan_id)
    assert isinstance(loan, Loan)
    assert isinstance(loan.terms, LoanTerms)
    assert loan.terms == TERMS
    assert loan.subject == "0x" + SUBJECT.hex().removeprefix("0x")
    assert (loan.principal, loan.outstanding, loan.baseline_value, loan.last_value) == (
        600_000,
        600_000,
        1_000_000,
        1_000_000,
    )
    assert (loan.bank_member_id, loan.lien_status, loan.case_id) == (BANK_ID, LienStatus.PENDING, 0)
    assert collateral.value_move_bps_of(loan_id) == 800
    assert collateral.parameters() == Parameters(
        default_value_move_bps=800,
        risk_watch_score=collateral.parameters().risk_watch_score,
        min_cure_period=collateral.parameters().min_cure_period,
        min_step_deadline=collateral.parameters().min_step_deadline,
        risk_reporter_roles=collateral.parameters().risk_reporter_roles,
    )
    assert collateral.membership() == c.suite.membership.address

    c.confirm(
        collateral.confirm_lien(
            c.outbox, key="loan/1/lien", sender=c.dmv.address, loan_id=loan_id, evidence_digest=_evidence("lien")
        )
    )
    assert collateral.get_loan(loan_id).lien_status is LienStatus.ACTIVE
    c.confirm(
        collateral.report_valuation(
            c.outbox,
            key="loan/1/value",
            sender=c.price.address,
            subject=SUBJECT,
            value=910_000,
            evidence_digest=_evidence("valuation -9%"),
        )
    )
    case_id = collateral.get_loan(loan_id).case_id
    assert case_id == collateral.case_count() == 1
    case = collateral.get_case(case_id)
    assert isinstance(case, Case)
    assert (case.loan_id, case.state, case.frozen_from) == (loan_id, CaseState.TRIGGERED, CaseState.NONE)
    assert case.cause_list == (Cause.VALUE_DROP,)
    assert case.deadline == case.triggered_at + TERMS.cure_period
    assert collateral.state(case_id) is CaseState.TRIGGERED


def test_valuation_is_the_median_of_a_quorum_and_refused_when_stale(consortium: Consortium, w3: Web3) -> None:
    c, collateral, membership = consortium, consortium.suite.collateral, consortium.suite.membership
    assert collateral.valuation_policy() == ValuationPolicy(quorum=1, max_age=7 * DAY)
    assert collateral.max_valuation_reporters() == 15
    # Governance admits a second price oracle and sets a quorum of 2 observations at most a day old.
    policy = ValuationPolicy(quorum=2, max_age=DAY)
    _govern(
        c,
        w3,
        "valuation-quorum",
        [membership.address, collateral.address],
        [
            membership.encode_admit_member(
                accounts=[c.second_price.address], roles=Role.PRICE_ORACLE, metadata_digest=_evidence("second oracle")
            ),
            collateral.encode_set_valuation_policy(new_policy=policy),
        ],
    )
    assert collateral.valuation_policy() == policy
    loan_id = _register_loan(c, "median/loan")
    c.confirm(
        collateral.confirm_lien(
            c.outbox, key="median/lien", sender=c.dmv.address, loan_id=loan_id, evidence_digest=_evidence("lien")
        )
    )

    def report(key: str, oracle: LocalAccount, value: int) -> OutboxTx:
        return c.confirm(
            collateral.report_valuation(
                c.outbox, key=key, sender=oracle.address, subject=SUBJECT, value=value, evidence_digest=_evidence(key)
            )
        )

    # One report of two: recorded only, nothing published yet.
    first = report("median/1", c.price, 950_000)
    assert [e.name for e in collateral.events(first)] == ["ValuationReported"]
    assert collateral.get_loan(loan_id).last_value == 1_000_000
    with pytest.raises(error_class("CollateralStaleValuation")) as never:
        collateral.valuation_of(SUBJECT)
    assert never.value.args_by_name == {"subject": bytes(SUBJECT), "updatedAt": 0}

    # The second member's report makes the quorum: the median of 950 000 and 900 000 is published.
    second = report("median/2", c.second_price, 900_000)
    (aggregated,) = collateral.events(second, "ValuationAggregated")
    assert (aggregated.args["loanId"], aggregated.args["value"], aggregated.args["reporters"]) == (loan_id, 925_000, 2)
    valuation = collateral.valuation_of(SUBJECT)
    assert valuation == Valuation(value=925_000, updated_at=w3.eth.get_block(second.block_number)["timestamp"])
    loan = collateral.get_loan(loan_id)
    assert (loan.last_value, loan.last_valued_at, loan.case_id) == (925_000, valuation.updated_at, 0)  # -7.5%

    # A day and a second later the median is stale, and consumers are refused it.
    increase_time(w3, DAY + 1)
    with pytest.raises(error_class("CollateralStaleValuation")) as stale:
        collateral.valuation_of(SUBJECT)
    assert isinstance(stale.value, UnexpectedStateRevert)
    assert stale.value.args_by_name == {"subject": bytes(SUBJECT), "updatedAt": valuation.updated_at}


@pytest.mark.ganache
def test_write_reverts_surface_as_decoded_errors(consortium: Consortium) -> None:
    c, collateral, registry = consortium, consortium.suite.collateral, consortium.suite.registry
    # A dealer is not a bank: the write is recorded, refused by the chain, and its row carries the decoded error.
    (refused,) = c.settle(
        collateral.register_loan(
            c.outbox,
            key="loan/by-dealer",
            sender=c.dealer.address,
            subject=SUBJECT,
            principal=1,
            outstanding=1,
            baseline_value=10,
            terms=TERMS,
            evidence_digest=_evidence("loan"),
        )
    )
    assert refused.status is TxStatus.REVERTED
    with pytest.raises(error_class("CollateralUnauthorizedAccount")) as caught:
        refused.raise_for_status()
    assert isinstance(caught.value, UnauthorizedRevert)
    assert caught.value.args_by_name == {"account": c.dealer.address, "requiredRoles": Role.BANK}
    with pytest.raises(error_class("CollateralUnauthorizedAccount")):
        collateral.events(refused)

    uid = Web3.keccak(text="attested twice")
    first, second = c.settle(
        registry.attest(c.outbox, key="twice/1", sender=c.dealer.address, subject=SUBJECT, kind=INSPECTION, digest=uid),
        registry.attest(c.outbox, key="twice/2", sender=c.dealer.address, subject=SUBJECT, kind=INSPECTION, digest=uid),
    )
    assert first.status is TxStatus.CONFIRMED
    with pytest.raises(error_class("RegistryDuplicateDigest")) as duplicate:
        second.raise_for_status()
    assert duplicate.value.args_by_name == {"digest": uid}


@pytest.mark.ganache
def test_view_reverts_surface_as_decoded_errors(deployed: Consortium) -> None:
    collateral, membership = deployed.suite.collateral, deployed.suite.membership
    with pytest.raises(error_class("CollateralUnknownLoan")) as unknown:
        collateral.get_loan(99)
    assert isinstance(unknown.value, NotFoundRevert)
    assert unknown.value.args_by_name == {"loanId": 99}
    with pytest.raises(error_class("CollateralUnknownCase")):
        collateral.state(5)
    with pytest.raises(error_class("MembershipUnknownProposal")):
        membership.get_proposal(1)


def test_wrong_size_argument_is_refused_before_submission(deployed: Consortium) -> None:
    c, registry, membership = deployed, deployed.suite.registry, deployed.suite.membership
    backlog = c.outbox.backlog()
    digest_31 = bytes(Web3.keccak(text="digest"))[:31]
    with pytest.raises(ContractArgumentError, match=r"EvidenceRegistry\.attest: digest must be bytes32") as caught:
        registry.attest(
            c.outbox, key="bad/1", sender=c.dealer.address, subject=SUBJECT, kind=INSPECTION, digest=digest_31
        )
    assert (caught.value.function, caught.value.argument) == ("EvidenceRegistry.attest", "digest")
    assert "31 bytes" in str(caught.value)
    with pytest.raises(ContractArgumentError, match=r"sender"):
        registry.attest(c.outbox, key="bad/2", sender="dealer", subject=SUBJECT, kind=INSPECTION, digest=SUBJECT)
    with pytest.raises(ContractArgumentError, match=r"calldatas\[0\]"):
        membership.propose(
            c.outbox,
            key="bad/3",
            sender=c.governors[0].address,
            targets=[registry.address],
            calldatas=["registerKind"],
            description_digest=SUBJECT,
        )
    with pytest.raises(ContractArgumentError, match=r"terms\.cure_period"):
        deployed.suite.collateral.register_loan(
            c.outbox,
            key="bad/4",
            sender=c.bank.address,
            subject=SUBJECT,
            principal=1,
            outstanding=1,
            baseline_value=1,
            terms=TERMS.model_copy(update={"cure_period": 2**32}),
            evidence_digest=SUBJECT,
        )
    with pytest.raises(ContractArgumentError, match=r"state-changing"):
        registry.submit(c.outbox, key="bad/5", sender=c.dealer.address, data=registry.calldata("isValid", SUBJECT))
    for key in ("bad/1", "bad/2", "bad/3", "bad/4", "bad/5"):
        assert c.outbox.get(key) is None
    assert c.outbox.backlog() == backlog


@pytest.mark.parametrize(
    ("client_class", "interface"),
    [
        (MembershipClient, "IMembership"),
        (RegistryClient, "IEvidenceRegistry"),
        (CollateralClient, "ICollateralManager"),
    ],
)
def test_every_interface_function_has_a_typed_method(client_class: type[ContractClient], interface: str) -> None:
    """Views by their snake_case name; writes too, or ``encode_<name>`` for governance-only functions; with the
    ABI's argument names, so a changed interface shows up here."""
    for entry in load_artifact(interface).abi:
        if entry["type"] != "function":
            continue
        name = to_snake(entry["name"])
        inputs = [to_snake(i["name"]) for i in entry["inputs"]]
        if entry["stateMutability"] in ("view", "pure"):
            method = getattr(client_class, name, None)
            assert method is not None, f"{client_class.__name__} has no view {name}"
            assert list(inspect.signature(method).parameters)[1:] == inputs, name
            continue
        write, encoder = getattr(client_class, name, None), getattr(client_class, f"encode_{name}", None)
        assert (write is None) != (encoder is None), f"{client_class.__name__}.{name}: one write or one encoder"
        method = write if write is not None else encoder
        assert method is not None
        expected = {"self", "outbox", "key", "sender", *inputs} if write else {"self", *inputs}
        assert set(inspect.signature(method).parameters) - {"gas_limit"} == expected, name
