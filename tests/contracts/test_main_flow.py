"""The suite's main flow, from deployment to a settled disposal case, on Anvil and on Ganache (same bytecode)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from node_adapter.artifacts import load_artifact
from node_adapter.bench import Roles
from node_adapter.chainutil import send_and_wait
from node_adapter.devchain import increase_time, pass_proposal
from node_adapter.localchain import LocalChain
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings

INSPECTION = 1
SUBJECT = Web3.keccak(text="subject:LSVAU2180N2183294")
DAY = 86_400
TRIGGERED, REPOSSESSION_ORDERED, SETTLED = 2, 4, 8
LIEN_RELEASED = 3  # LienStatus: None, Pending, Active, Released


def _evidence(label: str) -> bytes:
    return Web3.keccak(text=f"evidence:{label}")


@pytest.mark.ganache
def test_deploy_attest_lend_trigger_and_dispose(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path, network="flow")
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
        membership.functions.admitMember([a.address], roles, Web3.keccak(text=a.address))._encode_transaction_data()
        for a, roles in admissions
    ]
    calls.append(
        registry.functions.registerKind(
            INSPECTION, Web3.keccak(text="inspection.v1"), Roles.DEALER | Roles.REPAIR_SHOP, 10, 0
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
    dealer_id, bank_id, agency_id = 4, 5, 8
    assert membership.functions.authorize(dealer.address).call() == [dealer_id, Roles.DEALER]

    inspection = Web3.keccak(text="inspection record, salted")
    send(dealer, registry.functions.attest(SUBJECT, INSPECTION, inspection, b"\0" * 32, 0))
    assert registry.functions.isValid(inspection).call()
    assert registry.functions.pointsOf(dealer_id).call() == 10

    terms = (90, 30, 8000, 800, 3 * DAY, 2 * DAY)
    send(bank, collateral.functions.registerLoan(SUBJECT, 600_000, 600_000, 1_000_000, terms, _evidence("loan")))
    loan_id = collateral.functions.activeLoanOf(SUBJECT).call()
    send(dmv, collateral.functions.confirmLien(loan_id, _evidence("lien")))
    send(price, collateral.functions.reportValuation(SUBJECT, 910_000, _evidence("valuation -9%")))
    case_id = collateral.functions.getLoan(loan_id).call()[-1]
    assert collateral.functions.state(case_id).call() == TRIGGERED

    increase_time(w3, 3 * DAY + 1)
    send(bank, collateral.functions.orderRepossession(case_id, agency_id, _evidence("order")))
    assert collateral.functions.state(case_id).call() == REPOSSESSION_ORDERED
    send(agency, collateral.functions.recordRepossession(case_id, _evidence("repossessed")))
    send(agency, collateral.functions.recordAppraisal(case_id, 900_000, _evidence("appraisal")))
    send(agency, collateral.functions.recordAuction(case_id, 880_000, _evidence("auction")))
    send(agency, collateral.functions.recordSettlement(case_id, _evidence("settlement")))
    assert collateral.functions.state(case_id).call() == SETTLED
    loan = collateral.functions.getLoan(loan_id).call()
    assert loan[6] == LIEN_RELEASED
    assert collateral.functions.activeLoanOf(SUBJECT).call() == 0
    assert bank_id == loan[5]
