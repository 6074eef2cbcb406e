"""Running the consortium on Hyperledger Besu with QBFT consensus, one node per member.

- :mod:`consortium.besu.qbft`: node keys, enode URLs, the QBFT ``extraData`` and the genesis file.
- :mod:`consortium.besu.network`: the members file an operator writes and the network manifest generated from it.
- :mod:`consortium.besu.generate`: every file a member needs (node configuration, permissions, keys, compose file,
  environment of each service), and adding a member to a generated network.
- :mod:`consortium.besu.check`: whether a generated network is complete and consistent.
- :mod:`consortium.besu.allowlists`: keeps each node's account and node allowlists (Besu's local permissioning,
  ``perm_*`` JSON-RPC) in step with the Membership contract.
- :mod:`consortium.besu.cli`: ``consortium besu ...``.

See docs/operator.md.
"""
