"""A stand-in for a Besu node's ``PERM`` JSON-RPC API (Besu cannot run on these machines).

It answers the six local-permissioning methods the allowlist job uses as Besu's own implementation does
(``PermAddAccountsToAllowlist`` and its siblings, ``AccountLocalConfigPermissioningController`` and
``NodeLocalConfigPermissioningController``): accounts are lowercased; a call takes one list and either succeeds whole
(result ``"Success"``) or changes nothing and answers a -32000 error with Besu's message (empty list, invalid entry,
duplicates in the request, adding an existing entry, removing an absent one, removing a bootnode or static node);
every change is written back to the permissions file. Nothing else is simulated.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomli_w

from node_adapter.dev.localchain import free_port

ENODE = re.compile(r"^enode://([0-9a-fA-F]{128})@([^:]+):(\d+)(\?discport=(\d+))?$")
ERRORS = {
    "ACCOUNT_EMPTY": "Request contains an empty list of accounts",
    "ACCOUNT_INVALID": "Request contains an invalid account",
    "ACCOUNT_DUPLICATED": "Request contains duplicate accounts",
    "ACCOUNT_EXISTING": "Cannot add an existing account to allowlist",
    "ACCOUNT_ABSENT": "Cannot remove an absent account from allowlist",
    "NODE_EMPTY": "Request contains an empty list of nodes",
    "NODE_INVALID": "Request contains an invalid node",
    "NODE_DUPLICATED": "Request contains duplicate nodes",
    "NODE_EXISTING": "Cannot add an existing node to allowlist",
    "NODE_MISSING": "Cannot remove an absent node from allowlist",
    "NODE_FIXED": "Cannot remove a fixed node (bootnode or static node) from allowlist",
}


class PermError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(ERRORS[key])


def _enode(text: str) -> tuple[str, str, int]:
    """Besu's EnodeURL: node id, IP (DNS names are refused unless DNS support is on, which it is not here), port."""
    match = ENODE.match(text)
    if match is None:
        raise PermError("NODE_INVALID")
    try:
        ip = str(ipaddress.ip_address(match[2]))
    except ValueError:
        raise PermError("NODE_INVALID") from None
    return match[1].lower(), ip, int(match[3])


def _enode_text(node: tuple[str, str, int]) -> str:
    return f"enode://{node[0]}@{node[1]}:{node[2]}"


class FakeBesuPermissions:
    """One node's local permissioning, served over HTTP JSON-RPC on 127.0.0.1."""

    def __init__(self, permissions_file: Path, fixed_nodes: list[str] | None = None) -> None:
        self.file = permissions_file
        config = tomllib.loads(permissions_file.read_text())
        self.accounts: list[str] = [a.lower() for a in config.get("accounts-allowlist", [])]
        self.nodes: list[tuple[str, str, int]] = [_enode(e) for e in config.get("nodes-allowlist", [])]
        self.fixed = [_enode(e) for e in fixed_nodes or []]
        self.writes: list[tuple[str, list[str]]] = []
        """Every successful change: (method, its list)."""
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBesuPermissions:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def node_urls(self) -> list[str]:
        return [_enode_text(n) for n in self.nodes]

    # ------------------------------------------------------------------------ the methods

    def _persist(self) -> None:
        self.file.write_text(tomli_w.dumps({"accounts-allowlist": self.accounts, "nodes-allowlist": self.node_urls()}))

    @staticmethod
    def _account_list(params: list[Any]) -> list[str]:
        accounts = [str(a).lower() for a in (params[0] if params else None) or []]
        if not accounts:
            raise PermError("ACCOUNT_EMPTY")
        for account in accounts:
            if not re.fullmatch(r"0x[0-9a-f]{40}", account):
                raise PermError("ACCOUNT_INVALID")
        if len(set(accounts)) != len(accounts):
            raise PermError("ACCOUNT_DUPLICATED")
        return accounts

    @staticmethod
    def _node_list(params: list[Any]) -> list[tuple[str, str, int]]:
        enodes = [str(e) for e in (params[0] if params else None) or []]
        if not enodes:
            raise PermError("NODE_EMPTY")
        if len(set(enodes)) != len(enodes):
            raise PermError("NODE_DUPLICATED")
        return [_enode(e) for e in enodes]

    def call(self, method: str, params: list[Any]) -> Any:
        with self.lock:
            if method == "perm_getAccountsAllowlist":
                return list(self.accounts)
            if method == "perm_getNodesAllowlist":
                return self.node_urls()
            if method == "perm_addAccountsToAllowlist":
                accounts = self._account_list(params)
                if any(a in self.accounts for a in accounts):
                    raise PermError("ACCOUNT_EXISTING")
                self.accounts += accounts
            elif method == "perm_removeAccountsFromAllowlist":
                accounts = self._account_list(params)
                if not all(a in self.accounts for a in accounts):
                    raise PermError("ACCOUNT_ABSENT")
                self.accounts = [a for a in self.accounts if a not in accounts]
            elif method == "perm_addNodesToAllowlist":
                nodes = self._node_list(params)
                if any(n in self.nodes for n in nodes):
                    raise PermError("NODE_EXISTING")
                self.nodes += nodes
            elif method == "perm_removeNodesFromAllowlist":
                nodes = self._node_list(params)
                if any(n in self.fixed for n in nodes):
                    raise PermError("NODE_FIXED")
                if not all(n in self.nodes for n in nodes):
                    raise PermError("NODE_MISSING")
                self.nodes = [n for n in self.nodes if n not in nodes]
            else:
                raise LookupError(method)
            self.writes.append((method, [str(p) for p in params[0]]))
            self._persist()
            return "Success"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
                try:
                    reply["result"] = fake.call(request["method"], request.get("params") or [])
                except PermError as exc:
                    reply["error"] = {"code": -32000, "message": str(exc)}
                except LookupError:
                    reply["error"] = {"code": -32601, "message": "Method not found"}
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        return Handler
