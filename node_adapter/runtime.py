"""Wiring the pieces together for commands and services: database, chain connection, signer, deployment."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from web3 import Web3

from node_adapter.artifacts import load_artifact
from node_adapter.connection import ChainConnection
from node_adapter.db import create_schema, make_engine
from node_adapter.deploy import Deployment, SuiteParameters, deploy_suite, is_live, load_deployment, save_deployment
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import DeploymentError
from node_adapter.indexer import EventIndexer, WatchedContract
from node_adapter.outbox import Outbox
from node_adapter.progress import Progress
from node_adapter.readmodel import all_projections
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings
from node_adapter.txworker import TxPolicy, TxWorker

logger = logging.getLogger(__name__)

DEV_GOVERNORS = 3
"""On a dev chain, the first three dev accounts are the initial governors (quorum: two of three)."""


@dataclass
class Runtime:
    """A connection, a database with the outbox, and the settings that made them."""

    settings: NodeAdapterSettings
    connection: ChainConnection
    engine: Engine
    outbox: Outbox

    @classmethod
    def open(cls, settings: NodeAdapterSettings) -> Runtime:
        """Connect to the configured nodes and open (and create) the database."""
        connection = ChainConnection(
            settings.rpc_urls, expected_chain_id=settings.chain_id, timeout=settings.rpc_timeout
        )
        engine = make_engine(settings.effective_database_url)
        create_schema(engine)
        return cls(settings, connection, engine, Outbox(engine))

    @property
    def deployments_dir(self) -> Path:
        """Where deployment manifests are kept."""
        return self.settings.state_dir / "deployments"

    def is_dev_chain(self) -> bool:
        """Whether the chain is a local dev chain."""
        return self.connection.chain_id in DEV_CHAIN_IDS

    def signer(self) -> LocalAccount:
        """The configured signer; on a dev chain without one, the first dev account."""
        chain_id = self.connection.chain_id
        if self.settings.keystore_path is None and self.settings.dev_private_key is None and self.is_dev_chain():
            account: LocalAccount = Account.from_key(dev_accounts(1, DEV_MNEMONIC)[0].private_key)
            return account
        return self.settings.signer(chain_id)

    def worker(self, signers: list[LocalAccount]) -> TxWorker:
        """An outbox worker for ``signers`` with the configured policy."""
        s = self.settings
        policy = TxPolicy(
            confirmations=s.confirmations,
            max_in_flight=s.max_in_flight,
            gas_multiplier=s.gas_multiplier,
            fallback_gas_limit=s.fallback_gas_limit,
            resend_after=s.resend_after,
            replace_after=s.replace_after,
            fee_bump_percent=s.fee_bump_percent,
            free_gas=s.free_gas,
        )
        return TxWorker(self.outbox, self.connection, signers, policy)

    def deployment(self) -> Deployment:
        """The recorded deployment of the configured network."""
        return load_deployment(self.deployments_dir, self.settings.network)

    def indexer(self, deployment: Deployment | None = None) -> EventIndexer:
        """An indexer of the deployment's events into every read model."""
        deployment = deployment or self.deployment()
        contracts = [
            WatchedContract(name, deployment.address(name), load_artifact(name).abi) for name in deployment.contracts
        ]
        return EventIndexer(
            self.engine,
            self.connection,
            contracts,
            all_projections(),
            start_block=deployment.start_block,
            confirmations=self.settings.confirmations,
            name=f"{deployment.network}-run{deployment.run}",
        )

    def deploy(
        self, governors: list[str] | None = None, *, reuse: bool = True, progress: Progress | None = None
    ) -> tuple[Deployment, bool]:
        """Deploy the suite unless a live deployment is recorded; returns it and whether it was deployed now.

        ``reuse=False`` deploys a new suite even when one is live. Running again after an interruption resumes the
        interrupted deployment (same run number), so no contract is deployed twice.
        """
        w3: Web3 = self.connection.w3
        try:
            existing: Deployment | None = self.deployment()
        except DeploymentError:
            existing = None
        if existing is not None and reuse and is_live(w3, existing):
            return existing, False
        if existing is not None and reuse:
            logger.warning("the recorded %s deployment is not on this chain any more; deploying again",
                           self.settings.network)  # fmt: skip
        signer = self.signer()
        if governors is None:
            if not self.is_dev_chain():
                raise DeploymentError("name the initial governors (--governor) to deploy on a real network")
            governors = [a.address for a in dev_accounts(DEV_GOVERNORS, DEV_MNEMONIC)]
        deployment = deploy_suite(
            w3=w3,
            outbox=self.outbox,
            worker=self.worker([signer]),
            deployer=signer.address,
            network=self.settings.network,
            params=SuiteParameters(governors=governors),
            run=existing.run + 1 if existing is not None else 1,
            progress=progress,
        )
        save_deployment(self.deployments_dir, deployment)
        return deployment, True
