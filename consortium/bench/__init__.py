"""Benchmarks that print figures: ``consortium bench ...`` and ``make bench``.

- :mod:`consortium.bench.throughput`: gas per attestation against EAS, send-wait-send against the outbox pipeline.
- :mod:`consortium.bench.report`: every benchmark in one report (JSON, Markdown, SVG charts).
- :mod:`consortium.bench.charts`: the report's SVG charts.
- :mod:`consortium.bench.bulkload`: filling a free-gas dev chain with many transactions in full blocks.

The portal's and the oracle's benchmarks join through the ``consortium.bench`` entry point.
"""
