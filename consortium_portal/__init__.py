"""The consortium portal: the members' API and web pages over the chain (``docs/portal.md``).

Where things are (imports point down this list, never back up; ``tests/test_layout.py`` checks it):

- ``tools/``: what is not the running portal: the ``consortium portal`` commands and the portal's part of
  ``consortium up`` (``cli.py``), the demo story, the benchmarks (verify, scale, OCR) and the papers they read, the
  reference-docs generator, the dev-chain set-up.
- ``app.py``: ``create_app()``, which puts the context, the routers and the error handlers together.
- ``http/``: the portal over HTTP, thin. ``deps.py`` (the dependency aliases and the pages' sign-in guard),
  ``render.py`` (templates and form helpers of the pages), ``errors.py`` (every error as HTTP), ``limits.py`` (the
  body limit), ``api/`` and ``pages/`` (one router per area, each with its prefix).
- the services, one module per concern, with keyword-only arguments and no FastAPI in them: ``auth``, ``attest``,
  ``files``, ``records``, ``vehicles`` and ``documents`` (verify), ``board``, ``case_actions``, ``applications`` and
  ``proposals`` (membership), ``policy``, ``receipts``, ``anchor`` and ``access`` (data sharing), ``risk_view``,
  ``oracle_view``, ``intake/`` (document intake: OCR, fields, DMV cross-checks).
- ``context.py``: ``PortalContext``, what every request needs and the background work; it imports no router.
- ``models.py``: every table of the portal; ``errors.py``: the portal's errors; ``kinds.py``: the attested kinds;
  ``settings.py``: ``PORTAL_*``.

Where to change a rule: who may read which full document is the data-sharing policy (``policies/default.toml``, read
by ``policy.py``; governors approve each version on chain), and every such read passes ``receipts.check_read``; a
kind's record schema is ``kinds.py``; an error's HTTP status is its class in ``errors.py`` (a contract's refusal: its
category in ``node_adapter.contract_errors``); who must be signed in is the dependency a route declares
(``http/deps.py``); a new route goes into its area's module under ``http/api`` or ``http/pages`` and its router list
in that folder's ``__init__.py``.
"""
