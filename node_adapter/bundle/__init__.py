"""Proof bundles: every on-chain fact shown about one vehicle, in a JSON file anyone can check against any node.

A bank gets a bundle from the portal (:func:`build_bundle` makes it from the SQL read model) and checks it offline,
with no portal involved, against any node of the chain (:func:`verify_bundle`, ``consortium verify-bundle FILE --rpc
URL``). Verification uses JSON-RPC only: views of the three contracts, transaction receipts, logs and blocks.

Each fact of the bundle comes out ``confirmed`` (the chain says what the bundle says), ``changed`` (the chain said so
at ``generated_at_block`` and says otherwise now, e.g. a record revoked since: the bundle was true when made) or
``failed`` (the chain never said so: a wrong digest, attester, block, proof or status; the reason names the fact).
What a fact was at ``generated_at_block`` is read from the contracts' events up to that block, so verification needs
no archive node: event logs are kept by every node.

    bundle = build_bundle(session=session, suite=suite, subject=subject)
    Path("bundle.json").write_text(bundle.model_dump_json(indent=2))
    report = verify_bundle(load_bundle(Path("bundle.json")), connection)
    report.verdict  # "confirmed", "changed" or "failed"

The package's modules, each one job (inside ``node_adapter``, import from them, not from this ``__init__``, which
imports them all):

* ``format``: the bundle file format: :class:`ProofBundle` and its fact models, the record statuses,
  :func:`parse_bundle` and :func:`load_bundle` (a malformed file raises :class:`BundleFormatError`).
* ``build``: building bundles from the read model: :func:`build_bundle` (with :class:`BatchRecordRef`) and
  :func:`build_receipt_bundle` (with :class:`ReceiptRef`).
* ``verify``: checking a bundle against a node: :func:`verify_bundle`, its fact checks and the
  :class:`BundleReport` (:class:`FactCheck`, :class:`Change`).

This ``__init__`` re-exports the names callers use, so ``from node_adapter.bundle import verify_bundle`` works as it
did when the package was one module.
"""

from node_adapter.bundle.build import (
    BatchRecordRef,
    ReceiptRef,
    build_bundle,
    build_receipt_bundle,
)
from node_adapter.bundle.format import (
    BUNDLE_VERSION,
    AttestationFact,
    AttestationStatus,
    BatchRecordFact,
    BundleContracts,
    CaseFact,
    CaseTransitionFact,
    LoanFact,
    ProofBundle,
    ReceiptBatchFact,
    ReceiptFact,
    ReportFact,
    attestation_status,
    load_bundle,
    parse_bundle,
)
from node_adapter.bundle.verify import (
    BundleReport,
    Change,
    FactCheck,
    verify_bundle,
)
from node_adapter.exceptions import BundleChainMismatchError, BundleError, BundleFormatError

__all__ = [
    "BUNDLE_VERSION",
    "AttestationFact",
    "AttestationStatus",
    "BatchRecordFact",
    "BatchRecordRef",
    "BundleChainMismatchError",
    "BundleContracts",
    "BundleError",
    "BundleFormatError",
    "BundleReport",
    "CaseFact",
    "CaseTransitionFact",
    "Change",
    "FactCheck",
    "LoanFact",
    "ProofBundle",
    "ReceiptBatchFact",
    "ReceiptFact",
    "ReceiptRef",
    "ReportFact",
    "attestation_status",
    "build_bundle",
    "build_receipt_bundle",
    "load_bundle",
    "parse_bundle",
    "verify_bundle",
]
