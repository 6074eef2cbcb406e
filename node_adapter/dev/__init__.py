"""Local development chains and the helpers that only make sense on them.

- :mod:`node_adapter.dev.localchain`: one Anvil or Ganache node process (tests, ``make up``, benchmarks).
- :mod:`node_adapter.dev.devchain`: governance on a dev chain, where time can be moved forward.
- :mod:`node_adapter.dev.chainutil`: send one transaction and wait, for one-shot tools.
- :mod:`node_adapter.dev.pgcluster`: a private PostgreSQL cluster (the test run's, the fault suite's).

Nothing here runs against a real network; services write through :mod:`node_adapter.outbox`.
"""
