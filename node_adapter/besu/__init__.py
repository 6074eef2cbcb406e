"""Running the consortium on Hyperledger Besu with QBFT consensus, one node per member.

- :mod:`node_adapter.besu.qbft`: node keys, enode URLs, the QBFT ``extraData`` and the genesis file.
- :mod:`node_adapter.besu.network`: the members file an operator writes and the network manifest generated from it.
- :mod:`node_adapter.besu.generate`: every file a member needs (node configuration, permissions, keys, compose file,
  environment of each service), and adding a member to a generated network.
- :mod:`node_adapter.besu.check`: whether a generated network is complete and consistent.
- :mod:`node_adapter.besu.allowlists`: keeps each node's account and node allowlists (Besu's local permissioning,
  ``perm_*`` JSON-RPC) in step with the Membership contract.
- :mod:`node_adapter.besu.cli`: ``consortium besu ...``.

See docs/operator.md.
"""
