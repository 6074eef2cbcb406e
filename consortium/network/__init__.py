"""A consortium chain of several member nodes on one machine: geth 1.13 with Clique proof-of-authority.

Each member runs its own node with its own data folder, node key (a fixed enode), signer account in an encrypted
keystore, JSON-RPC and p2p ports and log; the genesis names the founding members' signers; every node peers
statically with every other on loopback. Besu QBFT (:mod:`consortium.besu`) stays the production target; this is
the network that runs here, in tests and on a laptop (docs/network.md).

- :mod:`consortium.network.tool`: the pinned geth version and where ``make geth`` puts it (standard library only:
  ``consortium doctor`` reads it).
- :mod:`consortium.network.clique`: the Clique genesis (``extraData`` with the signers, fork rules, period).
- :mod:`consortium.network.layout`: the state folder: ``network.json``, the genesis, each member's keys and files.
- :mod:`consortium.network.node`: :class:`~consortium.network.node.GethNode`, one member's geth process.
- :mod:`consortium.network.network`: :class:`~consortium.network.network.CliqueNetwork` (up, down, per-node status)
  and stopping a network from another process.
- :mod:`consortium.network.cli`: ``consortium network up|status|down``.
- :mod:`consortium.network.errors`: :class:`~consortium.network.errors.NetworkError` and its kinds.

Nothing is imported here, so that :mod:`consortium.network.tool` stays importable without the project's packages.
"""
