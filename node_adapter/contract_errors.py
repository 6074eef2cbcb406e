"""Solidity custom errors as Python exceptions, decoded by selector from the committed artifacts.

Every custom error declared in ``contracts/src`` becomes a subclass of :class:`ContractRevert` named like the error
(``MembershipUnauthorizedAccount``), carrying the error's name and its arguments by name. The subclasses also derive
from a category the portal maps to HTTP in one place: :class:`UnauthorizedRevert` (403), :class:`NotFoundRevert` (404),
:class:`UnexpectedStateRevert` (409) and :class:`InvalidRequestRevert` (422, everything else).

    try:
        ...
    except contract_errors.error_class("MembershipUnauthorizedAccount") as exc:
        exc.args_by_name["account"]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node_adapter.artifacts import artifact_names, load_artifact
from node_adapter.errors import ArtifactError, NodeAdapterError

logger = logging.getLogger(__name__)

ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]


class ContractRevert(NodeAdapterError):
    """A transaction or call reverted; subclasses are the contracts' custom errors."""

    error_name: ClassVar[str] = "ContractRevert"
    signature: ClassVar[str] = ""
    selector: ClassVar[bytes] = b""
    arg_names: ClassVar[tuple[str, ...]] = ()
    arg_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, args_by_name: dict[str, Any] | None = None, *, data: bytes = b"") -> None:
        self.args_by_name: dict[str, Any] = args_by_name or {}
        self.data = data
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.args_by_name.items())
        super().__init__(f"{self.error_name}({shown})")

    def to_json(self) -> dict[str, Any]:
        """``{"error": name, "args": {...}}`` with bytes as 0x-hex: the body the portal answers with."""
        return {"error": self.error_name, "args": {k: jsonable(v) for k, v in self.args_by_name.items()}}


class UnauthorizedRevert(ContractRevert, PermissionError):
    """The caller may not do this (wrong role, not a member, suspended, not governance)."""


class NotFoundRevert(ContractRevert, LookupError):
    """The thing referred to does not exist."""


class UnexpectedStateRevert(ContractRevert):
    """The thing exists but is in a state that does not allow this."""


class InvalidRequestRevert(ContractRevert, ValueError):
    """The request itself is invalid (bad parameters, duplicates, expired signatures, ...)."""


class SolidityError(InvalidRequestRevert):
    """A string revert, ``Error(string)`` (none in our contracts; libraries may raise them)."""

    error_name = "Error"


class SolidityPanic(ContractRevert):
    """A ``Panic(uint256)``: an assertion, overflow or bad array index inside a contract (a bug)."""

    error_name = "Panic"


class UnknownRevert(ContractRevert):
    """Revert data whose selector no artifact declares (or no data at all)."""

    error_name = "UnknownRevert"


_CATEGORIES: tuple[tuple[re.Pattern[str], type[ContractRevert]], ...] = (
    (
        re.compile(
            r"Unauthorized|OnlyGovernance|NotProposer|Not\w*Attester|NotLoanBank|NotCaseParty|NotAssigned"
            r"|IneligibleVoter|Forbidden"
        ),
        UnauthorizedRevert,
    ),
    (re.compile(r"Unknown|NotFound|NoActiveLoan"), NotFoundRevert),
    (
        re.compile(
            r"Unexpected\w*(State|Status)|Already|Exists|Duplicate|InProgress|CurePeriodRunning|DeadlineNotPassed"
            r"|NotEscalated|LastGovernor|LastAccount|KindInactive|StaleValuation"
        ),
        UnexpectedStateRevert,
    ),
)
"""Error name patterns, tried in order; an error matching none is an :class:`InvalidRequestRevert`."""


def _category(name: str) -> type[ContractRevert]:
    for pattern, base in _CATEGORIES:
        if pattern.search(name):
            return base
    return InvalidRequestRevert


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
                (_category(entry["name"]),),
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


def jsonable(value: Any) -> Any:
    """A decoded ABI value as JSON: bytes as 0x-hex, structs as objects, integers beyond 2**53 as decimal strings."""
    if isinstance(value, bytes):  # HexBytes too
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):  # dicts and web3's AttributeDict (struct arguments)
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def _show(value: Any) -> str:
    return str(jsonable(value))
