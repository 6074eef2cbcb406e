"""The oracle's members and kinds on a local dev chain, set up by one governance vote.

On a real consortium each oracle is an organisation admitted by vote with its own keys; on a dev chain
``setup_dev_consortium`` admits the dev accounts below as the bank, the DMV oracle, the telematics oracle and the
price oracles, registers the kinds the oracle anchors its batches under, and sets the valuation policy: the median of
two fresh price reports (of three reporters) before a valuation counts. It is idempotent: a chain where it already
ran is left as it is.

| dev account | role                        | oracle signer |
|-------------|-----------------------------|---------------|
| 0, 1, 2     | governors (from deployment) |               |
| 3           | BANK                        | ``bank``      |
| 4           | DMV_ORACLE                  | ``dmv``       |
| 5           | TELEMATICS_ORACLE           | ``telematics``|
| 6, 7, 8     | PRICE_ORACLE (three members)| ``price-1..3``|
| 9           | DISPOSAL_AGENCY             |               |
"""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node_adapter.artifacts import load_artifact
from node_adapter.clients import Role, Suite, ValuationPolicy
from node_adapter.deploy import Deployment
from node_adapter.dev.devchain import dev_member, pass_proposal
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import ChainError
from node_adapter.settings import DEV_CHAIN_IDS
from oracle.pipeline import KINDS
from oracle.risk.job import RISK_KIND_ROLES

RISK_REPORTER_ROLES = Role.TELEMATICS_ORACLE
"""Who may report risk warnings on a dev chain (the oracle's risk signer is its telematics member there)."""

DEV_SIGNERS: dict[str, int] = {
    label: dev_member(label).index for label in ("bank", "dmv", "telematics", "price-1", "price-2", "price-3")
}
"""Dev-account index of each oracle signer (``node_adapter.dev.devchain.DEV_MEMBERS`` says who plays what)."""
DEV_AGENCY = dev_member("agency").index
DEV_VALUATION_QUORUM = 2
"""A valuation counts once two of the three price oracles agree on it (their median)."""
DEV_VALUATION_MAX_AGE = 3 * 86_400
"""A price oracle's observation counts for three days (the oracle's heartbeat is one)."""

_ROLE_OF_SIGNER = {"bank": Role.BANK, "dmv": Role.DMV_ORACLE, "telematics": Role.TELEMATICS_ORACLE}
_KIND_ROLES = {
    KINDS["telematics"]: Role.TELEMATICS_ORACLE,
    KINDS["dmv"]: Role.DMV_ORACLE,
    KINDS["market"]: Role.PRICE_ORACLE,
    KINDS["loans"]: Role.BANK,
    **RISK_KIND_ROLES,
}


def dev_signers(price_reporters: int = 3) -> dict[str, LocalAccount]:
    """The dev accounts that sign for each oracle role."""
    keys = dev_accounts(10, DEV_MNEMONIC)
    roles = ["bank", "dmv", "telematics"] + [f"price-{n}" for n in range(1, price_reporters + 1)]
    signers: dict[str, LocalAccount] = {}
    for role in roles:
        index = DEV_SIGNERS.get(role)
        if index is None:
            raise ChainError(f"the dev chain has no account for {role!r} (three price reporters at most)")
        signers[role] = Account.from_key(keys[index].private_key)
    return signers


def setup_dev_consortium(w3: Web3, deployment: Deployment, suite: Suite) -> bool:
    """Admit the oracle's dev members and register its kinds by one proposal; whether anything was done."""
    if w3.eth.chain_id not in DEV_CHAIN_IDS:
        raise ChainError(f"refusing to set up dev members on chain {w3.eth.chain_id}: not a dev chain")
    keys = dev_accounts(10, DEV_MNEMONIC)
    governors = [Account.from_key(k.private_key) for k in keys[:3]]
    signers = dev_signers(3)
    calls: list[bytes] = []
    targets: list[str] = []
    admissions = [(account, _ROLE_OF_SIGNER.get(role, Role.PRICE_ORACLE)) for role, account in signers.items()]
    admissions.append((Account.from_key(keys[DEV_AGENCY].private_key), Role.DISPOSAL_AGENCY))
    for account, role in admissions:
        if suite.membership.bound_member_of(account.address) == 0:
            targets.append(suite.membership.address)
            calls.append(
                suite.membership.encode_admit_member(
                    accounts=[account.address], roles=int(role), metadata_digest=Web3.keccak(text=account.address)
                )
            )
    for kind, role in _KIND_ROLES.items():
        if not suite.registry.get_kind(kind).kind.exists:
            targets.append(suite.registry.address)
            calls.append(
                suite.registry.calldata(
                    "registerKind", kind, Web3.keccak(text=f"oracle.kind.{kind}.v1"), int(role), 1, 0
                )
            )
    parameters = suite.collateral.parameters()
    if parameters.risk_reporter_roles & RISK_REPORTER_ROLES != RISK_REPORTER_ROLES:
        allowed = parameters.model_copy(
            update={"risk_reporter_roles": parameters.risk_reporter_roles | int(RISK_REPORTER_ROLES)}
        )
        targets.append(suite.collateral.address)
        calls.append(suite.collateral.encode_set_parameters(new_parameters=allowed))
    policy = ValuationPolicy(quorum=DEV_VALUATION_QUORUM, max_age=DEV_VALUATION_MAX_AGE)
    if suite.collateral.valuation_policy() != policy:
        targets.append(suite.collateral.address)
        calls.append(suite.collateral.encode_set_valuation_policy(new_policy=policy))
    if not calls:
        return False
    membership = w3.eth.contract(address=suite.membership.address, abi=load_artifact("Membership").abi)
    pass_proposal(
        w3,
        membership,
        governors=governors,
        targets=targets,
        calldatas=calls,
        description=f"oracle members and kinds ({deployment.network} run {deployment.run})",
    )
    return True
