"""The oracle: off-chain data feeds (DMV, telematics, market prices, loan servicing) fetched, validated, stored as
canonical salted documents and put on chain by their digests (docs/oracle.md).

Where things are (each import runs downward, from the tools to the reference data; production code never imports
``oracle.simulators``, and nothing here imports ``consortium_portal``):

- ``tools/``: what is not the running oracle: the ``consortium oracle`` commands (``cli.py``, entry points in
  pyproject.toml), the benchmark (``bench.py``), the residual estimator measured on simulated sales (``holdout.py``),
  the dev-chain members and kinds (``devsetup.py``). Tools may use the simulators.
- ``service.py``: the running process: the jobs on a scheduler, the outbox worker, the signers of the network.
- ``pipeline/``: the jobs behind the ``Oracle`` facade (``facade.py``): ``ingest.py`` (feeds -> document store,
  quarantine, and what each source's records call for), ``valuation.py``, ``dispatch.py`` (chain actions -> contract
  calls), ``anchoring.py`` (Merkle batches), ``health.py`` (job health, ``consortium oracle status``), on the state they
  share (``context.py``).
- ``risk/``: the vehicle risk score, its job and its calibration (docs/risk.md).
- ``rules.py`` (telematics anomaly rules), ``residual.py`` (the residual-value estimator), ``models.py`` (the strict
  models of each source's records), ``sources.py`` (the feed client), ``store.py`` (every table of the oracle),
  ``settings.py`` (``ORACLE_*``).
- ``reference.py``: car models with their new prices, and the regions whose boxes are the geofences: what the oracle
  and the simulators share.
- ``simulators/``: HTTP simulators of the four sources, for tests, the demo and ``make up``.

Where to change a rule: what a record is and when it is rejected, ``models.py``; when a telematics reading raises an
alert, ``rules.py``; which chain action a record calls for, the ``_on_<source>`` methods of ``pipeline/ingest.py``; the
contract call an action becomes and when it waits, ``Dispatcher._submit`` in ``pipeline/dispatch.py``; when a
valuation is reported, ``pipeline/valuation.py``; which records go in which batch kind, ``pipeline/anchoring.py``; a
threshold, ``settings.py``; a car model or a region, ``reference.py``.
"""
