"""Exceptions raised by node_adapter.

Every exception derives from :class:`NodeAdapterError`; where one resembles a builtin it mixes that builtin in, so
callers can catch either (``except ValueError`` still sees a bad chain id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class NodeAdapterError(Exception):
    """Root of every error raised by node_adapter."""


class ToolchainError(NodeAdapterError, RuntimeError):
    """A tool the project needs (Node.js, the npm packages, a Solidity compiler) is missing or broken."""


class CompilationError(NodeAdapterError, RuntimeError):
    """The Solidity compiler rejected the sources."""


class ArtifactError(NodeAdapterError, ValueError):
    """A committed contract artifact is missing, unreadable or stale."""


class ChainError(NodeAdapterError, RuntimeError):
    """A chain node could not be started, reached or used."""


class PortInUseError(ChainError):
    """The TCP port a local node should listen on is taken."""


class ChainAlreadyRunningError(ChainError):
    """A local chain started by this project is already running."""


class ChainIdMismatchError(ChainError, ValueError):
    """The node answers with a chain id other than the one configured."""

    def __init__(self, url: str, expected: int, actual: int) -> None:
        self.url = url
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the node at {url} reports chain id {actual}, but chain id {expected} is configured; "
            "point the settings at the right network or change the expected chain id"
        )


class EncodingError(NodeAdapterError, ValueError):
    """A value cannot be encoded as the chain expects: not JSON, or a malformed VIN, salt, key or Merkle input."""


# ---------------------------------------------------------------- Reaching nodes (node_adapter.connection)


class ChainUnavailableError(ChainError, ConnectionError):
    """No configured node answers."""


# ---------------------------------------------------------------- Settings (node_adapter.settings)


class SettingsError(NodeAdapterError, ValueError):
    """The settings are inconsistent or point at something unusable (says which setting)."""


# ---------------------------------------------------------------- Deployments (node_adapter.deploy)


class DeploymentError(NodeAdapterError, RuntimeError):
    """The suite could not be deployed, or a manifest does not match the chain."""


# ---------------------------------------------------------------- The outbox (node_adapter.outbox)


class OutboxError(NodeAdapterError):
    """Root of outbox errors."""


class InvalidWriteError(OutboxError, ValueError):
    """A write that cannot be recorded as given (says what is wrong)."""


class IdempotencyConflictError(OutboxError, ValueError):
    """The idempotency key was used before for a different write."""


class OutboxTimeoutError(OutboxError, TimeoutError):
    """A write did not reach a final state in the time the caller waited (it is still in the outbox)."""


class TransactionFailedError(OutboxError):
    """The outbox gave up on a write (not a revert: e.g. it could not be signed for this account)."""


# ---------------------------------------------------------------- Contract clients (node_adapter.clients)


class ContractArgumentError(EncodingError, TypeError):
    """An argument does not fit its ABI type (wrong type, size or range); raised before anything is submitted."""

    def __init__(self, function: str, argument: str, problem: str) -> None:
        self.function = function
        self.argument = argument
        self.problem = problem
        super().__init__(f"{function}: {argument} {problem}")


class UnexpectedResultError(ChainError):
    """A node answered a view with data the ABI cannot decode (no contract at the address, or another contract)."""


# ---------------------------------------------------------------- Proof bundles (node_adapter.bundle)


class BundleError(NodeAdapterError, ValueError):
    """A proof bundle cannot be built or read."""


class BundleFormatError(BundleError):
    """A bundle file is not a well-formed bundle; ``field`` names the first wrong field (``attestations[0].uid``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class BundleChainMismatchError(ChainIdMismatchError):
    """The node belongs to another chain than the bundle: nothing in the bundle can be checked there."""

    def __init__(self, url: str, expected: int, actual: int) -> None:
        super().__init__(url, expected, actual)
        self.args = (
            f"the bundle is about chain id {expected}, but the node at {url} reports chain id {actual}; "
            f"verify it against a node of chain {expected}",
        )


# ---------------------------------------------------------------- Contract reverts (node_adapter.contract_errors)


class ContractRevert(NodeAdapterError):
    """A transaction or call reverted; subclasses are the contracts' custom errors."""

    error_name: ClassVar[str] = "ContractRevert"
    http_status: ClassVar[int] = 500
    """What the portal answers when this revert reaches it (a category sets it; 500: a bug of ours, a panic)."""
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

    http_status = 403


class NotFoundRevert(ContractRevert, LookupError):
    """The thing referred to does not exist."""

    http_status = 404


class UnexpectedStateRevert(ContractRevert):
    """The thing exists but is in a state that does not allow this."""

    http_status = 409


class InvalidRequestRevert(ContractRevert, ValueError):
    """The request itself is invalid (bad parameters, duplicates, expired signatures, ...)."""

    http_status = 422


class SolidityError(InvalidRequestRevert):
    """A string revert, ``Error(string)`` (none in our contracts; libraries may raise them)."""

    error_name = "Error"


class SolidityPanic(ContractRevert):
    """A ``Panic(uint256)``: an assertion, overflow or bad array index inside a contract (a bug)."""

    error_name = "Panic"


class UnknownRevert(ContractRevert):
    """Revert data whose selector no artifact declares (or no data at all)."""

    error_name = "UnknownRevert"


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
