"""The command host: the ``consortium`` command line, ``consortium up`` and its supervisor, serving, the docs generator.

- :mod:`consortium.cli`: the ``consortium`` command; the portal and the oracle add their commands, benchmarks and the
  services ``up`` runs through entry points (``consortium.commands``, ``consortium.bench``, ``consortium.services``,
  ``consortium.docs``): this package imports neither of them.
- :mod:`consortium.up`, :mod:`consortium.supervisor`: ``make up``, each service a supervised process.
- :mod:`consortium.serving`: running an ASGI app in a thread or a process (tests, benchmarks, the demo).
- :mod:`consortium.docgen`: ``consortium docs``, the generated reference pages.
- :mod:`consortium.doctor`: ``consortium doctor`` (standard library only: it also runs before ``.venv`` exists).
- :mod:`consortium.bench`: benchmarks, their report and charts, bulk loading of dev chains.
- :mod:`consortium.besu`: the production network kit (Besu QBFT).
- :mod:`consortium.network`: the multi-node chain that runs here (geth Clique): ``consortium network``.

It stands on :mod:`node_adapter`, the chain bridge, which imports nothing of it.
"""
