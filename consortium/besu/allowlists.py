"""Keep each Besu node's account and node allowlists in step with the Membership contract.

Besu removed contract-based permissioning in 25.6, so nodes use local permissioning and this job pushes the
membership to them over the ``PERM`` JSON-RPC API (``perm_getAccountsAllowlist``, ``perm_addAccountsToAllowlist``,
``perm_removeAccountsFromAllowlist`` and the nodes equivalents; each takes one list and succeeds or fails whole).

What a node should allow, read from the chain and the network manifest:

- accounts: every account of every *active* member (``Membership.getMember``), the relayer accounts the manifest
  gives each active member's portal, and the manifest's operators. The accounts of suspended and expelled members,
  of members not admitted yet, and anything else are removed.
- nodes: the node of every manifest member that is not expelled: active and suspended members (a suspended member's
  node still follows the chain; its accounts cannot write), and members not admitted yet (their node is part of the
  agreed network). Expelled members' nodes and nodes the manifest does not know are removed. A bootnode or static
  node cannot be removed while the node runs with it (Besu refuses): it is reported, to be taken out of the node's
  configuration.

A manifest member is matched to its on-chain member through its accounts (``Membership.boundMemberOf``). The job
changes nothing when it cannot read the chain, and refuses to act on a Membership contract without an active member
(a wrong address would otherwise empty every allowlist). Running it again changes nothing: it only sends a
difference, and re-reads the lists when another writer raced it.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from consortium.besu.network import MemberManifest, NetworkManifest
from consortium.besu.qbft import BesuConfigError, canonical_enode
from node_adapter.clients import MembershipClient, MemberStatus
from node_adapter.exceptions import ChainError

logger = logging.getLogger(__name__)

FIXED_NODE = "Cannot remove a fixed node"
"""The start of Besu's error for removing a bootnode or static node from the nodes allowlist."""
RACED = ("Cannot add an existing", "Cannot remove an absent")


class PermissioningError(ChainError):
    """A node refused or failed a ``perm_*`` call (its JSON-RPC error is in the message)."""

    def __init__(self, url: str, method: str, message: str, code: int | None = None) -> None:
        self.url, self.method, self.code, self.error = url, method, code, message
        super().__init__(f"{method} on {url}: {message}" + (f" (code {code})" if code is not None else ""))


class BesuPermissions:
    """The ``PERM`` JSON-RPC methods of one Besu node."""

    _ids = itertools.count(1)

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def _call(self, method: str, params: list[Any]) -> Any:
        payload = {"jsonrpc": "2.0", "method": method, "params": params, "id": next(self._ids)}
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PermissioningError(self.url, method, f"no usable answer ({exc})") from exc
        if not isinstance(body, dict):
            raise PermissioningError(self.url, method, f"unexpected answer {str(body)[:200]}")
        error = body.get("error")
        if error is not None:
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            raise PermissioningError(self.url, method, str(message), code)
        return body.get("result")

    def _list(self, method: str) -> list[str]:
        result = self._call(method, [])
        if not isinstance(result, list) or not all(isinstance(v, str) for v in result):
            raise PermissioningError(self.url, method, f"expected a list of strings, got {str(result)[:200]}")
        return result

    def accounts(self) -> list[str]:
        return self._list("perm_getAccountsAllowlist")

    def nodes(self) -> list[str]:
        return self._list("perm_getNodesAllowlist")

    def add_accounts(self, accounts: list[str]) -> None:
        self._call("perm_addAccountsToAllowlist", [accounts])

    def remove_accounts(self, accounts: list[str]) -> None:
        self._call("perm_removeAccountsFromAllowlist", [accounts])

    def add_nodes(self, enodes: list[str]) -> None:
        self._call("perm_addNodesToAllowlist", [enodes])

    def remove_nodes(self, enodes: list[str]) -> None:
        self._call("perm_removeNodesFromAllowlist", [enodes])


# ---------------------------------------------------------------------------------------------------- what to allow


@dataclass(frozen=True)
class MemberState:
    """A manifest member as the chain sees it."""

    name: str
    member_id: int
    """0: not admitted (yet)."""
    status: MemberStatus


@dataclass(frozen=True)
class Desired:
    """What every node should allow, and what the operators should know."""

    accounts: frozenset[str]
    """Lowercase 0x addresses."""
    nodes: dict[str, str]
    """Canonical enode -> the enode URL to add."""
    members: tuple[MemberState, ...]
    warnings: tuple[str, ...]


def desired_allowlists(membership: MembershipClient, manifest: NetworkManifest) -> Desired:
    """Read the Membership contract and work out both allowlists."""
    count = membership.member_count()
    members = {member_id: membership.get_member(member_id) for member_id in range(1, count + 1)}
    active = {i for i, m in members.items() if m.status is MemberStatus.ACTIVE}
    if not active:
        raise BesuConfigError(
            f"the Membership contract at {membership.address} has no active member: refusing to empty the "
            "allowlists (is the deployment manifest of this network?)"
        )
    accounts = {a.lower() for i in active for a in members[i].accounts} | {a.lower() for a in manifest.operators}
    nodes: dict[str, str] = {}
    states, warnings = [], []
    known_ids = set()
    for entry in manifest.members:
        member_id = _member_id(membership, entry)
        status = members[member_id].status if member_id else MemberStatus.NONE
        states.append(MemberState(entry.name, member_id, status))
        known_ids.add(member_id)
        if status is MemberStatus.ACTIVE:
            accounts |= {a.lower() for a in entry.relayers}
        if status is not MemberStatus.EXPELLED:
            nodes[canonical_enode(entry.enode)] = entry.enode
        if entry.validator and status in (MemberStatus.SUSPENDED, MemberStatus.EXPELLED):
            warnings.append(
                f"{entry.name} is {status.name.lower()} but its node {entry.node_address} was a genesis validator: "
                f"if it still validates, vote it out (qbft_proposeValidatorVote {entry.node_address} false on a "
                "majority of validators)"
            )
    for member_id in sorted(active - known_ids):
        warnings.append(
            f"member {member_id} is active on chain but the network manifest names no node of it: its accounts are "
            "allowed, add its node with `consortium besu add-member` and hand out the new network.json"
        )
    return Desired(frozenset(accounts), nodes, tuple(states), tuple(warnings))


def _member_id(membership: MembershipClient, entry: MemberManifest) -> int:
    ids = {membership.bound_member_of(account) for account in entry.accounts} - {0}
    if len(ids) > 1:
        raise BesuConfigError(
            f"the accounts the manifest gives {entry.name} belong to different members on chain: {sorted(ids)}"
        )
    return ids.pop() if ids else 0


# ---------------------------------------------------------------------------------------------------- pushing


@dataclass
class NodeSync:
    """What one pass did to one node."""

    url: str
    added_accounts: list[str] = field(default_factory=list)
    removed_accounts: list[str] = field(default_factory=list)
    added_nodes: list[str] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)
    fixed_nodes: list[str] = field(default_factory=list)
    """Nodes that should go but are this node's bootnodes or static nodes (Besu will not drop them)."""
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added_accounts or self.removed_accounts or self.added_nodes or self.removed_nodes)


def sync_node(node: BesuPermissions, desired: Desired, *, dry_run: bool = False) -> NodeSync:
    """Bring one node's allowlists to ``desired``; a node that raced us is re-read once."""
    report = NodeSync(node.url)
    try:
        for attempt in (1, 2):
            try:
                _sync_accounts(node, desired, report, dry_run)
                _sync_nodes(node, desired, report, dry_run)
                break
            except PermissioningError as exc:
                if attempt == 2 or not exc.error.startswith(RACED):
                    raise
                logger.info("allowlist of %s changed under us (%s); reading it again", node.url, exc.error)
    except PermissioningError as exc:
        report.error = str(exc)
    return report


def _sync_accounts(node: BesuPermissions, desired: Desired, report: NodeSync, dry_run: bool) -> None:
    current = node.accounts()
    have = {a.lower() for a in current}
    add = sorted(desired.accounts - have)
    remove = sorted(a for a in current if a.lower() not in desired.accounts)
    if add and not dry_run:
        node.add_accounts(add)
    report.added_accounts += add
    if remove and not dry_run:
        node.remove_accounts(remove)
    report.removed_accounts += remove


def _sync_nodes(node: BesuPermissions, desired: Desired, report: NodeSync, dry_run: bool) -> None:
    current = node.nodes()
    have = {_canonical_or_none(e) for e in current}
    add = [url for key, url in sorted(desired.nodes.items()) if key not in have]
    remove = [e for e in current if _canonical_or_none(e) not in desired.nodes]
    if add and not dry_run:
        node.add_nodes(add)
    report.added_nodes += add
    if not remove:
        return
    if dry_run:
        report.removed_nodes += remove
        return
    try:
        node.remove_nodes(remove)
        report.removed_nodes += remove
    except PermissioningError as exc:
        if not exc.error.startswith(FIXED_NODE):
            raise
        for enode in remove:  # find which are fixed: Besu refuses the whole list for one of them
            try:
                node.remove_nodes([enode])
                report.removed_nodes.append(enode)
            except PermissioningError as single:
                if not single.error.startswith(FIXED_NODE):
                    raise
                report.fixed_nodes.append(enode)


def _canonical_or_none(enode: str) -> str | None:
    try:
        return canonical_enode(enode)
    except BesuConfigError:
        return None


@dataclass
class SyncReport:
    desired: Desired
    nodes: list[NodeSync]

    @property
    def ok(self) -> bool:
        return all(n.error is None for n in self.nodes)


def sync_allowlists(
    membership: MembershipClient, manifest: NetworkManifest, nodes: list[BesuPermissions], *, dry_run: bool = False
) -> SyncReport:
    """One pass over every node: read the chain once, then bring each node's allowlists to what it says."""
    desired = desired_allowlists(membership, manifest)
    reports = [sync_node(node, desired, dry_run=dry_run) for node in nodes]
    for report in reports:
        if report.changed:
            logger.info(
                "allowlists of %s: +%d/-%d accounts, +%d/-%d nodes",
                report.url,
                len(report.added_accounts),
                len(report.removed_accounts),
                len(report.added_nodes),
                len(report.removed_nodes),
            )
        if report.error:
            logger.warning("allowlists of %s not brought in step: %s", report.url, report.error)
    return SyncReport(desired, reports)
