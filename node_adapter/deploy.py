"""Deploying the contract suite and recording where it lives, per network.

``deploy_suite`` sends every deployment through the outbox with idempotency keys derived from the network and the
artifact, so a deployment interrupted half way resumes where it stopped and never deploys a contract twice. The result
is a :class:`Deployment` manifest (addresses, chain id, blocks, transaction hashes, artifact hashes) saved as
``<deployments dir>/<network>.json``; clients are then loaded by network name.

Wiring needs no governance step: the registry carries its own points ledger and every contract takes the Membership
address in its constructor. Attestation kinds, role grants and parameters are governance decisions taken afterwards.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from pydantic import BaseModel, Field
from web3 import Web3

from node_adapter.artifacts import load_artifact
from node_adapter.exceptions import ArtifactError, DeploymentError
from node_adapter.outbox import Outbox, OutboxTx
from node_adapter.progress import Progress
from node_adapter.txworker import TxWorker

logger = logging.getLogger(__name__)

SUITE = ("Membership", "EvidenceRegistry", "CollateralManager")
"""Deployed contracts, in deployment order."""


class SuiteParameters(BaseModel):
    """Constructor parameters of the suite."""

    governors: list[str] = Field(min_length=1)
    quorum_bps: int = Field(default=5000, ge=1, le=10_000)
    voting_period: int = Field(default=3 * 86_400, gt=0)
    execution_delay: int = Field(default=86_400, ge=0)
    grace_period: int = Field(default=7 * 86_400, gt=0)
    corroboration_bonus: int = Field(default=5, ge=0)
    slash_multiplier: int = Field(default=3, ge=1, le=100)
    disputer_reward: int = Field(default=20, ge=0)


class DeployedContract(BaseModel):
    """Where one contract of the suite lives."""

    address: str
    block_number: int
    tx_hash: str
    artifact_hash: str


class Deployment(BaseModel):
    """A per-network manifest of the deployed suite."""

    network: str
    chain_id: int
    run: int = 1
    """Deployments of one network are numbered; each deploys a new suite."""
    deployer: str
    deployed_at: datetime
    parameters: SuiteParameters
    contracts: dict[str, DeployedContract]

    def address(self, name: str) -> ChecksumAddress:
        """The address of contract ``name``."""
        try:
            return Web3.to_checksum_address(self.contracts[name].address)
        except KeyError:
            raise DeploymentError(f"{name} is not part of the {self.network} deployment") from None

    @property
    def start_block(self) -> int:
        """The first block that can hold the suite's events."""
        return min(c.block_number for c in self.contracts.values())


def artifact_hash(name: str) -> str:
    """keccak-256 of a contract's creation code: what a manifest records to tie an address to an artifact."""
    return "0x" + Web3.keccak(hexstr=load_artifact(name).bytecode).hex().removeprefix("0x")


def manifest_path(deployments_dir: Path, network: str) -> Path:
    """Where the manifest of ``network`` is kept."""
    if not network or "/" in network or network.startswith("."):
        raise DeploymentError(f"invalid network name {network!r}")
    return deployments_dir / f"{network}.json"


def load_deployment(deployments_dir: Path, network: str) -> Deployment:
    """The recorded deployment of ``network``."""
    path = manifest_path(deployments_dir, network)
    try:
        return Deployment.model_validate_json(path.read_text())
    except FileNotFoundError:
        raise DeploymentError(f"nothing is deployed on {network!r} yet (no {path}): run `consortium deploy`") from None
    except ValueError as exc:
        raise DeploymentError(f"the deployment manifest {path} is malformed: {exc}") from exc


def save_deployment(deployments_dir: Path, deployment: Deployment) -> Path:
    """Write a manifest atomically."""
    path = manifest_path(deployments_dir, deployment.network)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(deployment.model_dump_json(indent=2) + "\n")
    tmp.replace(path)
    return path


def is_live(w3: Web3, deployment: Deployment) -> bool:
    """Whether every contract of the manifest has code on the chain ``w3`` talks to (same chain id)."""
    if w3.eth.chain_id != deployment.chain_id:
        return False
    return all(len(w3.eth.get_code(deployment.address(name))) > 0 for name in deployment.contracts)


def _constructor_args(name: str, params: SuiteParameters, addresses: dict[str, str]) -> list[Any]:
    if name == "Membership":
        governors = [Web3.to_checksum_address(g) for g in params.governors]
        return [governors, params.quorum_bps, params.voting_period, params.execution_delay, params.grace_period]
    membership = addresses["Membership"]
    if name == "EvidenceRegistry":
        return [membership, params.corroboration_bonus, params.slash_multiplier, params.disputer_reward]
    if name == "CollateralManager":
        return [membership]
    raise ArtifactError(f"no constructor arguments known for {name}")


def deploy_suite(
    *,
    w3: Web3,
    outbox: Outbox,
    worker: TxWorker,
    deployer: str,
    network: str,
    params: SuiteParameters,
    run: int = 1,
    timeout: float = 300.0,
    progress: Progress | None = None,
) -> Deployment:
    """Deploy every contract of :data:`SUITE` through the outbox and return the manifest.

    Outbox keys name the network, chain, ``run`` and contract: running again with the same ``run`` after an
    interruption resumes (never deploys a contract twice); a new ``run`` deploys a new suite. ``progress`` hears of
    each contract as it is deployed.
    """
    chain_id = w3.eth.chain_id
    addresses: dict[str, str] = {}
    contracts: dict[str, DeployedContract] = {}
    for done, name in enumerate(SUITE):
        if progress is not None:
            progress(done, len(SUITE), f"deploying {name}")
        artifact = load_artifact(name)
        digest = artifact_hash(name)
        args = _constructor_args(name, params, addresses)
        data = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args).data_in_transaction
        key = f"deploy/{network}/{chain_id}/run{run}/{name}/{Web3.keccak(hexstr=data).hex()[:18]}"
        outbox.submit(key=key, chain_id=chain_id, sender=deployer, to=None, data=data, purpose=f"deploy {name}")
        worker.drain(timeout=timeout)
        row: OutboxTx = outbox.wait(key, timeout=timeout).raise_for_status()
        if row.contract_address is None or row.block_number is None or row.tx_hash is None:
            raise DeploymentError(f"{name} deployment {row.tx_hash} confirmed without a contract address")
        if not w3.eth.get_code(Web3.to_checksum_address(row.contract_address)):
            raise DeploymentError(
                f"the outbox records {name} (run {run}) at {row.contract_address}, but that address holds no code on "
                "this chain: the chain was started afresh; deploy again with `consortium deploy --force`"
            )
        addresses[name] = row.contract_address
        contracts[name] = DeployedContract(
            address=row.contract_address, block_number=row.block_number, tx_hash=row.tx_hash, artifact_hash=digest
        )
        logger.info("deployed %s at %s", name, row.contract_address, extra={"tx_hash": row.tx_hash})
        if progress is not None:
            progress(done + 1, len(SUITE), f"deployed {name}")
    return Deployment(
        network=network,
        chain_id=chain_id,
        run=run,
        deployer=deployer,
        deployed_at=datetime.now(UTC),
        parameters=params,
        contracts=contracts,
    )
