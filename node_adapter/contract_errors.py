"""Solidity custom errors as Python exceptions, decoded by selector from the committed artifacts.

Every custom error declared in ``contracts/src`` becomes a subclass of :class:`ContractRevert` named like the error
(``MembershipUnauthorizedAccount``), carrying the error's name and its arguments by name. Each also derives from the
category :data:`CATEGORY` declares for it, whose ``http_status`` the portal answers with: :class:`UnauthorizedRevert`
(403), :class:`NotFoundRevert` (404), :class:`UnexpectedStateRevert` (409), :class:`InvalidRequestRevert` (422).

    try:
        ...
    except contract_errors.error_class("MembershipUnauthorizedAccount") as exc:
        exc.args_by_name["account"]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node_adapter.artifacts import artifact_names, load_artifact
from node_adapter.exceptions import (
    ArtifactError,
    ContractRevert,
    InvalidRequestRevert,
    NotFoundRevert,
    SolidityError,
    SolidityPanic,
    UnauthorizedRevert,
    UnexpectedStateRevert,
    UnknownRevert,
)

logger = logging.getLogger(__name__)

ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]


# ---------------------------------------------------------------- categories

_DECLARED: dict[type[ContractRevert], tuple[str, ...]] = {
    UnauthorizedRevert: (
        "CollateralNotCaseParty",
        "CollateralNotLoanBank",
        "CollateralOnlyGovernance",
        "CollateralUnauthorizedAccount",
        "DisposalNotAssignedAgency",
        "MembershipIneligibleVoter",
        "MembershipNotProposer",
        "MembershipOnlyGovernance",
        "MembershipUnauthorizedAccount",
        "RegistryNotAttester",
        "RegistryNotBatchAttester",
        "RegistryOnlyGovernance",
        "RegistryUnauthorizedAccount",
        "RegistryUnauthorizedAttester",
    ),
    NotFoundRevert: (
        "CollateralNoActiveLoan",
        "CollateralUnknownCase",
        "CollateralUnknownLoan",
        "MembershipUnknownMember",
        "MembershipUnknownProposal",
        "RegistryUnknownBatch",
        "RegistryUnknownDispute",
        "RegistryUnknownKind",
        "RegistryUnknownRecord",
    ),
    UnexpectedStateRevert: (
        "CollateralCaseInProgress",
        "CollateralLienExists",
        "CollateralStaleValuation",
        "CollateralUnexpectedCaseState",
        "CollateralUnexpectedLienStatus",
        "DisposalAlreadyEscalated",
        "DisposalCurePeriodRunning",
        "DisposalDeadlineNotPassed",
        "DisposalNotEscalated",
        "MembershipAccountAlreadyBound",
        "MembershipAlreadyVoted",
        "MembershipLastAccount",
        "MembershipLastGovernor",
        "MembershipUnexpectedProposalState",
        "MembershipUnexpectedStatus",
        "RegistryAlreadyRevoked",
        "RegistryBatchAlreadyRevoked",
        "RegistryDisputeExists",
        "RegistryDuplicateDigest",
        "RegistryKindExists",
        "RegistryKindInactive",
        "RegistryUnexpectedDisputeState",
    ),
    InvalidRequestRevert: (
        "CollateralInvalidAmounts",
        "CollateralInvalidMembership",
        "CollateralInvalidParameters",
        "CollateralInvalidScore",
        "CollateralInvalidSubject",
        "CollateralInvalidTerms",
        "CollateralInvalidValuationPolicy",
        "CollateralMissingEvidence",
        "CreditPointsInvalidParameters",
        "DisposalInvalidAgency",
        "MembershipAccountNotBound",
        "MembershipCallFailed",
        "MembershipInvalidAccount",
        "MembershipInvalidParameters",
        "MembershipInvalidProposal",
        "MembershipInvalidRoles",
        "MembershipNoAccounts",
        "RegistryExpiredSignature",
        "RegistryInvalidBatch",
        "RegistryInvalidDigest",
        "RegistryInvalidExpiry",
        "RegistryInvalidKind",
        "RegistryInvalidMembership",
        "RegistryInvalidSignature",
        "RegistryInvalidSupersede",
        "RegistryNotOdometerKind",
        "RegistryOdometerRollback",
        "RegistryOwnRecordDispute",
        "RegistryReadingRequired",
        # OpenZeppelin's, raised inside our contracts: a reused nonce, a string beyond a ShortString
        "InvalidAccountNonce",
        "InvalidShortString",
        "StringTooLong",
    ),
}
CATEGORY: Mapping[str, type[ContractRevert]] = {name: base for base, names in _DECLARED.items() for name in names}
"""Every custom error the contracts declare, by name, with its category (which sets its HTTP status).

A new error goes here when it is added to ``contracts/src``; a test fails while one is missing. An error the table does
not know (a newer contract than this code) is treated as an invalid request, and logged.
"""


def category_of(name: str) -> type[ContractRevert]:
    """The category of the custom error called ``name`` (:data:`CATEGORY`)."""
    found = CATEGORY.get(name)
    if found is None:
        logger.warning("contract error %s has no declared category: treated as an invalid request", name)
        return InvalidRequestRevert
    return found


def abi_type(entry: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out (``(uint16,uint32)[]``), as in signatures."""
    kind = str(entry["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in entry["components"]) + ")" + kind[len("tuple") :]
    return kind


@lru_cache(maxsize=1)
def error_registry() -> dict[bytes, type[ContractRevert]]:
    """Every custom error of every artifact by 4-byte selector; raises if two different errors share a selector."""
    registry: dict[bytes, type[ContractRevert]] = {}
    for name in artifact_names():
        for entry in load_artifact(name).abi:
            if entry.get("type") != "error":
                continue
            types = tuple(abi_type(i) for i in entry.get("inputs", []))
            signature = f"{entry['name']}({','.join(types)})"
            selector = keccak(text=signature)[:4]
            known = registry.get(selector)
            if known is not None:
                if known.signature != signature:
                    raise ArtifactError(
                        f"error selector collision: {signature} and {known.signature} share 0x{selector.hex()}"
                    )
                continue
            cls = type(
                entry["name"],
                (category_of(entry["name"]),),
                {
                    "error_name": entry["name"],
                    "signature": signature,
                    "selector": selector,
                    "arg_names": tuple(i["name"] or f"arg{n}" for n, i in enumerate(entry.get("inputs", []))),
                    "arg_types": types,
                    "__module__": __name__,
                    "__doc__": f"Solidity custom error ``{signature}`` (declared in {name}).",
                },
            )
            registry[selector] = cls
    return registry


def error_class(name: str) -> type[ContractRevert]:
    """The exception class of the custom error called ``name``."""
    for cls in error_registry().values():
        if cls.error_name == name:
            return cls
    raise ArtifactError(f"no contract declares an error named {name!r}")


def revert_data_of(exc: BaseException) -> str:
    """The revert data web3 attached to a failed call or gas estimate, as 0x-hex ("0x" when there is none).

    Anvil gives it as a string; Ganache nests it in a dict, under "data" or "result" depending on the method.
    """
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = next((v for k in ("data", "result") if isinstance(v := data.get(k), str) and v.startswith("0x")), None)
    return data if isinstance(data, str) and data.startswith("0x") else "0x"


def decode_revert(data: bytes | str | None) -> ContractRevert:
    """Turn revert data into the matching exception (an :class:`UnknownRevert` when nothing matches)."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    data = data or b""
    selector, payload = data[:4], data[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            return SolidityError({"message": decode(["string"], payload)[0]}, data=data)
        if selector == PANIC_SELECTOR:
            return SolidityPanic({"code": decode(["uint256"], payload)[0]}, data=data)
        cls = error_registry().get(selector)
        if cls is not None:
            values = [
                to_checksum_address(v) if t == "address" else v
                for t, v in zip(cls.arg_types, decode(list(cls.arg_types), payload), strict=True)
            ]
            return cls(dict(zip(cls.arg_names, values, strict=True)), data=data)
    except Exception as exc:  # malformed payload: report it as unknown, with the raw data
        logger.debug("cannot decode revert data 0x%s: %s", data.hex(), exc)
    return UnknownRevert({"data": data}, data=data)
