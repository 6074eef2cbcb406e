"""The deployed set: :class:`Suite` holds the membership, registry and collateral clients of one deployment.

:meth:`Suite.from_deployment` makes them from a deployment manifest's addresses; most callers hold a suite rather than
single clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from node_adapter.clients.collateral import CollateralClient
from node_adapter.clients.membership import MembershipClient
from node_adapter.clients.registry import RegistryClient
from node_adapter.connection import ChainConnection
from node_adapter.deploy import Deployment


@dataclass(frozen=True)
class Suite:
    """The three clients of one deployment."""

    membership: MembershipClient
    registry: RegistryClient
    collateral: CollateralClient

    @classmethod
    def from_deployment(cls, connection: ChainConnection, deployment: Deployment) -> Suite:
        """Clients of the contracts a deployment manifest records."""
        return cls(
            membership=MembershipClient(connection, deployment.address("Membership")),
            registry=RegistryClient(connection, deployment.address("EvidenceRegistry")),
            collateral=CollateralClient(connection, deployment.address("CollateralManager")),
        )
