"""The errors of :mod:`consortium.network`: one root, :class:`NetworkError`, a :class:`ChainError` of node_adapter's
(so the ``consortium`` command prints it as one line)."""

from __future__ import annotations

from node_adapter.exceptions import ChainError, ToolchainError


class NetworkError(ChainError):
    """Root of the errors of the local geth network."""


class GethMissingError(NetworkError, ToolchainError):
    """geth is not installed where the project keeps it, or not at the pinned version (the message says how to fix)."""


class NetworkStateError(NetworkError, ValueError):
    """The state folder holds no network, or one that differs from what was asked (says what differs)."""


class NetworkRunningError(NetworkError):
    """The network of this state folder is already running (says where)."""
