"""Tools that are not the running portal: the ``consortium portal`` commands (``cli.py``), the demo story, the
benchmarks (``bench.py``, ``scale.py``, ``ocr_bench.py`` over the generated ``papers.py``), the API reference's
generator (``docgen.py``) and the dev-chain set-up (``devsetup.py``). The running portal imports nothing from here."""
