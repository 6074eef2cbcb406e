"""The suite's main flow, from deployment to a settled disposal case, on Anvil and on Ganache (same bytecode)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from node_adapter.artifacts import load_artifact
from node_adapter.clients import Role as Roles
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.deploy import Deployment
from node_adapter.dev.devchain import increase_time, pass_proposal
from node_adapter.dev.localchain import LocalChain
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings

INSPECTION = 1
SUBJECT = Web3.keccak(text="subject:LSVAU2180N2183294")
DAY = 86_400
TRIGGERED, REPOSSESSION_ORDERED, SETTLED = 2, 4, 8
LIEN_RELEASED = 3  # LienStatus: None, Pending, Active, Released


def _evidence(label: str) -> bytes:
    return Web3.keccak(text=f"evidence:{label}")


@dataclass
class FlowResult:
    """What the main flow left on chain."""

    deployment: Deployment
    inspection_uid: bytes
    loan_id: int
    case_id: int
    dealer_id: int = 4
    bank_id: int = 5
    agency_id: int = 8


def run_main_flow(chain: LocalChain, w3: Web3, state_dir: Path) -> FlowResult:
    """Deploy the suite, form the consortium by vote, attest, lend, trigger on a 9% value drop, dispose to settlement."""
    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=state_dir, network="flow")
    )
    deployment, deployed = runtime.deploy()
    assert deployed
    assert runtime.deploy()[1] is False  # a live deployment is reused, never deployed twice
    accounts: list[LocalAccount] = [Account.from_key(a.private_key) for a in chain.accounts]
    governors, (dealer, bank, dmv, price, agency) = accounts[:3], accounts[3:8]

    def contract(name: str) -> Contract:
        return w3.eth.contract(address=deployment.address(name), abi=load_artifact(name).abi)

    membership, registry, collateral = contract("Membership"), contract("EvidenceRegistry"), contract("CollateralManager")

    def send(account: LocalAccount, call: object) -> None:
        send_and_wait(w3, account, call.build_transaction({"from": account.address}))  # type: ignore[attr-defined]

    admissions = [(dealer, Roles.DEALER), (bank, Roles.BANK), (dmv, Roles.DMV_ORACLE), (price, Roles.PRICE_ORACLE),
                  (agency, Roles.DISPOSAL_AGENCY)]  # fmt: skip
    calls = [
        membership.functions.admitMember([a.address], int(roles), Web3.keccak(text=a.address))._encode_transaction_data()
        for a, roles in admissions
    ]
    calls.append(
        registry.functions.registerKind(
            INSPECTION, Web3.keccak(text="inspection.v1"), int(Roles.DEALER | Roles.REPAIR_SHOP), 10, 0
        )._encode_transaction_data()
    )
    pass_proposal(
        w3,
        membership,
        governors=governors,
        targets=[membership.address] * len(admissions) + [registry.address],
        calldatas=calls,
        description="form the consortium",
    )
    result = FlowResult(deployment=deployment, inspection_uid=Web3.keccak(text="inspection record, salted"),
                        loan_id=0, case_id=0)  # fmt: skip
    assert membership.functions.authorize(dealer.address).call() == [result.dealer_id, Roles.DEALER]

    send(dealer, registry.functions.attest(SUBJECT, INSPECTION, result.inspection_uid, b"\0" * 32, 0))
    assert registry.functions.isValid(result.inspection_uid).call()
    assert registry.functions.pointsOf(result.dealer_id).call() == 10

    terms = (90, 30, 8000, 800, 3 * DAY, 2 * DAY)
    send(bank, collateral.functions.registerLoan(SUBJECT, 600_000, 600_000, 1_000_000, terms, _evidence("loan")))
    result.loan_id = collateral.functions.activeLoanOf(SUBJECT).call()
    send(dmv, collateral.functions.confirmLien(result.loan_id, _evidence("lien")))
    send(price, collateral.functions.reportValuation(SUBJECT, 910_000, _evidence("valuation -9%")))
    result.case_id = case_id = collateral.functions.getLoan(result.loan_id).call()[-1]
    assert collateral.functions.state(case_id).call() == TRIGGERED

    increase_time(w3, 3 * DAY + 1)
    send(bank, collateral.functions.orderRepossession(case_id, result.agency_id, _evidence("order")))
    assert collateral.functions.state(case_id).call() == REPOSSESSION_ORDERED
    send(agency, collateral.functions.recordRepossession(case_id, _evidence("repossessed")))
    send(agency, collateral.functions.recordAppraisal(case_id, 900_000, _evidence("appraisal")))
    send(agency, collateral.functions.recordAuction(case_id, 880_000, _evidence("auction")))
    send(agency, collateral.functions.recordSettlement(case_id, _evidence("settlement")))
    return result


@pytest.mark.ganache
def test_deploy_attest_lend_trigger_and_dispose(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    result = run_main_flow(chain, w3, tmp_path)
    collateral = w3.eth.contract(
        address=result.deployment.address("CollateralManager"), abi=load_artifact("CollateralManager").abi
    )
    assert collateral.functions.state(result.case_id).call() == SETTLED
    loan = collateral.functions.getLoan(result.loan_id).call()
    assert loan[6] == LIEN_RELEASED
    assert loan[5] == result.bank_id
    assert collateral.functions.activeLoanOf(SUBJECT).call() == 0
