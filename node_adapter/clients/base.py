"""The shared machinery of the typed clients: :class:`ContractClient`, one deployed contract at an address.

Its :meth:`~ContractClient.calldata` checks arguments against the ABI and encodes them; :meth:`~ContractClient.call`
runs a view through the connection (with failover) and decodes the result or the revert;
:meth:`~ContractClient.try_write` runs a write as a call first, so a write the contract would refuse is refused before
anyone signs it; :meth:`~ContractClient.submit` records a write in the outbox; :meth:`~ContractClient.events` decodes
the events of a confirmed write. The per-contract clients (membership, registry, collateral) build on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address
from web3.exceptions import ContractLogicError

from node_adapter.artifacts import load_artifact
from node_adapter.clients.abi import (
    AbiFunction,
    abi_from_python,
    abi_to_python,
    bytes_of,
    contract_spec,
    decode_event_args,
    describe_value,
    named_values,
    python_name_of,
)
from node_adapter.clients.types import EventLog
from node_adapter.connection import ChainConnection
from node_adapter.contract_errors import abi_type, decode_revert, revert_data_of
from node_adapter.exceptions import ArtifactError, ContractArgumentError, UnexpectedResultError
from node_adapter.outbox import Outbox, OutboxTx


class ContractClient:
    """A deployed contract: typed views and writes are built on :meth:`calldata`, :meth:`call` and :meth:`submit`."""

    contract_name: ClassVar[str]

    def __init__(self, connection: ChainConnection, address: str) -> None:
        self.connection = connection
        self.address: ChecksumAddress = abi_from_python(
            {"type": "address"}, address, function=type(self).__name__, path="address"
        )
        self.spec = contract_spec(self.contract_name)
        self.abi = load_artifact(self.contract_name).abi
        self._chain_id: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    @property
    def chain_id(self) -> int:
        """The chain id writes are recorded for (asked once)."""
        if self._chain_id is None:
            self._chain_id = self.connection.chain_id
        return self._chain_id

    def function(self, name: str) -> AbiFunction:
        """The ABI function ``name`` (its Solidity name)."""
        try:
            return self.spec.functions[name]
        except KeyError:
            raise ArtifactError(f"{self.contract_name} has no function {name!r}") from None

    # ------------------------------------------------------------------ encoding

    def calldata(self, fn_name: str, *args: Any, **kwargs: Any) -> bytes:
        """The calldata of ``fn_name(args)``, checked against the ABI; keywords by ABI or snake_case name.

        ``registry.calldata("registerKind", 1, schema, Role.DEALER, 10, 0)`` for a proposal.
        """
        fn = self.function(fn_name)
        where = fn.qualified_name
        if len(args) > len(fn.inputs):
            raise ContractArgumentError(where, "arguments", f"take at most {len(fn.inputs)}, got {len(args)}")
        values: list[Any] = []
        names = [str(p["name"]) for p in fn.inputs]
        accepted = {*names, *(python_name_of(n) for n in names)}
        unknown = sorted(k for k in kwargs if k not in accepted)
        if unknown:
            raise ContractArgumentError(where, "arguments", f"have unknown names {unknown} (expected {names})")
        for index, param in enumerate(fn.inputs):
            name, python_name = str(param["name"]), python_name_of(str(param["name"]))
            given = [k for k in (name, python_name) if k in kwargs]
            if index < len(args):
                if given:
                    raise ContractArgumentError(where, python_name, "is given both by position and by name")
                value = args[index]
            elif given:
                value = kwargs[given[0]]
            else:
                raise ContractArgumentError(where, python_name or f"argument {index}", "is missing")
            values.append(abi_from_python(param, value, function=where, path=python_name or f"argument {index}"))
        return fn.selector + encode([abi_type(p) for p in fn.inputs], values)

    def decode_calldata(self, data: bytes | str) -> tuple[str, dict[str, Any]]:
        """The function and arguments (by ABI name, as plain Python) of calldata for this contract."""
        raw = bytes_of(data)
        if raw is None or len(raw) < 4:
            raise ContractArgumentError(self.contract_name, "calldata", f"must be bytes, got {describe_value(data)}")
        fn = self.spec.selectors.get(raw[:4])
        if fn is None:
            raise ContractArgumentError(
                self.contract_name, "calldata", f"selector 0x{raw[:4].hex()} is not one of ours"
            )
        return fn.name, named_values(fn.inputs, decode([abi_type(p) for p in fn.inputs], raw[4:]))

    # ------------------------------------------------------------------ reads

    def call(self, fn_name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a view through the connection (with failover) and return its result as plain Python.

        One output is returned as is (a struct as a dict), several as a dict by output name. A revert raises the
        decoded custom error.
        """
        fn = self.function(fn_name)
        data = HexStr("0x" + self.calldata(fn_name, *args, **kwargs).hex())
        to = self.address
        try:
            raw = bytes(self.connection.call(lambda w3: w3.eth.call({"to": to, "data": data})))
        except ContractLogicError as exc:
            raise decode_revert(revert_data_of(exc)) from exc
        try:
            values = decode([abi_type(p) for p in fn.outputs], raw)
        except DecodingError as exc:
            raise UnexpectedResultError(
                f"{fn.qualified_name} at {self.address} answered {len(raw)} bytes the ABI cannot decode ({exc}): "
                "is the suite deployed on this chain?"
            ) from exc
        if len(fn.outputs) == 1:
            return abi_to_python(fn.outputs[0], values[0])
        return named_values(fn.outputs, values)

    # ------------------------------------------------------------------ writes

    def try_write(self, sender: str, data: bytes | str) -> None:
        """Run the write ``data`` as a call from ``sender`` on the latest block: raise the decoded custom error the
        contract would answer, so a write it would refuse is refused before anyone signs or sends it."""
        raw = bytes_of(data)
        if raw is None:
            raise ContractArgumentError(self.contract_name, "data", f"must be bytes, got {describe_value(data)}")
        call = {"from": to_checksum_address(sender), "to": self.address, "data": HexStr("0x" + raw.hex())}
        try:
            self.connection.call(lambda w3: w3.eth.call(call))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise decode_revert(revert_data_of(exc)) from exc

    def submit(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        data: bytes | str,
        purpose: str | None = None,
        gas_limit: int | None = None,
    ) -> OutboxTx:
        """Record a write of ``data`` (calldata of a state-changing function of this contract) in the outbox."""
        raw = bytes_of(data)
        fn = self.spec.selectors.get(raw[:4]) if raw is not None else None
        if raw is None or fn is None or fn.read_only:
            raise ContractArgumentError(
                self.contract_name, "data", "must be calldata of a state-changing function of this contract"
            )
        account = abi_from_python({"type": "address"}, sender, function=fn.qualified_name, path="sender")
        return outbox.submit(
            key=key,
            chain_id=self.chain_id,
            sender=account,
            to=self.address,
            data=raw,
            gas_limit=gas_limit,
            purpose=purpose or fn.qualified_name,
        )

    def _write(
        self, outbox: Outbox, key: str, sender: str, fn_name: str, *args: Any, gas_limit: int | None = None
    ) -> OutboxTx:
        data = self.calldata(fn_name, *args)
        return self.submit(outbox, key=key, sender=sender, data=data, gas_limit=gas_limit)

    # ------------------------------------------------------------------ events

    def events(self, tx: OutboxTx, name: str | None = None) -> list[EventLog]:
        """The events this contract emitted in a confirmed write (only those called ``name`` if given).

        Raises the decoded revert for a reverted write, and :class:`UnexpectedResultError` for one not mined yet
        (pass the row from ``outbox.wait(key)``, not the one ``submit`` returned).
        """
        tx.raise_for_status()
        tx_hash = tx.tx_hash
        if tx_hash is None or tx.block_number is None:
            raise UnexpectedResultError(
                f"write {tx.idempotency_key!r} is {tx.status}, not mined: wait for it (outbox.wait(key)) first"
            )
        receipt = self.connection.call(lambda w3: w3.eth.get_transaction_receipt(HexStr(tx_hash)))
        found = []
        for log in receipt["logs"]:
            if to_checksum_address(log["address"]) != self.address or not log["topics"]:
                continue
            entry = self.spec.events.get(bytes(log["topics"][0]))
            if entry is None or (name is not None and entry["name"] != name):
                continue
            found.append(
                EventLog(
                    contract=self.contract_name,
                    name=entry["name"],
                    args=decode_event_args(entry, [bytes(t) for t in log["topics"][1:]], bytes(log["data"])),
                    log_index=int(log["logIndex"]),
                    block_number=int(log["blockNumber"]),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
        return found

    def _created_id(self, tx: OutboxTx, event: str, arg: str) -> int:
        logs = self.events(tx, event)
        if len(logs) != 1:
            raise UnexpectedResultError(f"write {tx.idempotency_key!r} emitted {len(logs)} {event} events, not one")
        return int(logs[0].args[arg])
