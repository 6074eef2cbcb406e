"""Exceptions raised by node_adapter.

Every exception derives from :class:`NodeAdapterError`; where one resembles a builtin it mixes that builtin in, so
callers can catch either (``except ValueError`` still sees a bad chain id).
"""

from __future__ import annotations


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
