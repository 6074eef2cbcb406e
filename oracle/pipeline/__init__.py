"""The oracle's pipeline: fetch -> validate -> canonical salted document -> digest -> document store -> chain.

:class:`Oracle` (``facade.py``) has one method per job, each safe to run again at any time and after a crash; each job
lives in a module of its own, on the state they share (``context.py``):

- ``ingest(source)`` (``ingest.py``) reads the source's feed from its cursor. Each page is one database transaction:
  the records it accepts (salted documents and digests), the ones it quarantines (with the reason), the chain actions
  they call for, the state the rules keep, and the new cursor. A crash mid-page leaves none of it, and the page is
  read again.
- ``dispatch()`` (``dispatch.py``) turns waiting chain actions into outbox writes once their precondition holds on
  chain (a lien can be confirmed only once the bank's loan is there), and follows submitted ones to confirmed or
  reverted. The action's key is the outbox idempotency key, so an action is written to the chain once however often
  dispatch runs.
- ``anchor()`` (``anchoring.py``) puts the records that go in batches (telematics readings, and every record whose
  single write was not needed) into Merkle batches, one kind at a time, one batch in flight per kind.
- ``value()`` (``valuation.py``) values every financed vehicle for each price reporter and queues a report when the
  estimate moved beyond ``deviation_bps`` or the reporter's heartbeat expired.
- ``job(name)`` and ``status()`` (``health.py``): each job's health, and the oracle's status from the database.

How each record is handled:

| record                                        | on chain                                      | signer      |
|-----------------------------------------------|-----------------------------------------------|-------------|
| loans ``loan_opened``                         | ``registerLoan`` (baseline: the estimate now) | bank        |
| loans payment received/missed, arrears        | ``reportRepayment``                           | bank        |
| DMV ``lien_registered``                       | ``confirmLien`` once the loan is on chain     | dmv         |
| DMV seizure, transfer attempt, lien released  | ``reportDmvEvent``                            | dmv         |
| telematics alert (rules.py)                   | ``reportTelematicsAlert``                     | telematics  |
| valuation                                     | ``reportValuation``                           | price-N     |
| everything else, and any of the above with no | Merkle batch of the source's kind             | the source's|
| active loan to report on                      |                                               | role        |

The modules import each other downward only: ``facade`` -> ``ingest``, ``dispatch`` (-> ``valuation``),
``anchoring``, ``health`` -> ``context``; none of them imports this package's ``__init__``.
"""

from oracle.pipeline.anchoring import BATCH_REVOKE_REASON, KIND_ROLES, KINDS
from oracle.pipeline.context import CENTS, OracleContext
from oracle.pipeline.dispatch import DEFAULT_TERMS, REPORT_GAS_LIMIT
from oracle.pipeline.facade import Oracle
from oracle.pipeline.health import oracle_status
from oracle.pipeline.ingest import HISTORICAL
from oracle.pipeline.valuation import NEW_PRICES, price_roles
from oracle.store import create_oracle_schema

__all__ = [
    "BATCH_REVOKE_REASON",
    "CENTS",
    "DEFAULT_TERMS",
    "HISTORICAL",
    "KINDS",
    "KIND_ROLES",
    "NEW_PRICES",
    "REPORT_GAS_LIMIT",
    "Oracle",
    "OracleContext",
    "create_oracle_schema",
    "oracle_status",
    "price_roles",
]
