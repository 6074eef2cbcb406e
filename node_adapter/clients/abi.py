"""ABI machinery of the typed clients: contract specs from the committed artifacts, argument checking and decoding.

:func:`contract_spec` reads a contract's functions (by name and selector) and events (by topic) from its artifact;
:func:`abi_from_python` checks a Python value against an ABI parameter and returns what ``eth_abi.encode`` takes (a
wrong value raises :class:`ContractArgumentError` naming the function and the argument); :func:`abi_to_python` and
:func:`decode_event_args` turn ABI values and event logs back into plain Python. The helpers ``python_name_of``,
``describe_value``, ``bytes_of`` and ``named_values`` are shared with :mod:`node_adapter.clients.base`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel
from pydantic.alias_generators import to_snake

from node_adapter.artifacts import load_artifact
from node_adapter.contract_errors import abi_type
from node_adapter.exceptions import ArtifactError, ContractArgumentError

_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")


# ------------------------------------------------------------------------------------------------- ABI machinery


@dataclass(frozen=True)
class AbiFunction:
    """One function of a contract's ABI."""

    contract: str
    name: str
    inputs: tuple[dict[str, Any], ...]
    outputs: tuple[dict[str, Any], ...]
    mutability: str
    selector: bytes

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(abi_type(i) for i in self.inputs)})"

    @property
    def read_only(self) -> bool:
        return self.mutability in ("view", "pure")

    @property
    def qualified_name(self) -> str:
        return f"{self.contract}.{self.name}"


@dataclass(frozen=True)
class ContractSpec:
    """A contract's functions by name and by selector, and its events by topic, from its artifact."""

    name: str
    functions: Mapping[str, AbiFunction]
    selectors: Mapping[bytes, AbiFunction]
    events: Mapping[bytes, dict[str, Any]]


@cache
def contract_spec(name: str) -> ContractSpec:
    """The functions and events of a committed artifact (overloaded functions are refused: we declare none)."""
    functions: dict[str, AbiFunction] = {}
    events: dict[bytes, dict[str, Any]] = {}
    for entry in load_artifact(name).abi:
        if entry.get("type") == "function":
            if entry["name"] in functions:
                raise ArtifactError(f"{name}.{entry['name']} is overloaded; the typed clients do not support that")
            inputs = tuple(entry.get("inputs", []))
            functions[entry["name"]] = AbiFunction(
                contract=name,
                name=entry["name"],
                inputs=inputs,
                outputs=tuple(entry.get("outputs", [])),
                mutability=str(entry.get("stateMutability", "nonpayable")),
                selector=keccak(text=f"{entry['name']}({','.join(abi_type(i) for i in inputs)})")[:4],
            )
        elif entry.get("type") == "event" and not entry.get("anonymous"):
            types = ",".join(abi_type(i) for i in entry.get("inputs", []))
            events[keccak(text=f"{entry['name']}({types})")] = entry
    return ContractSpec(name, functions, {f.selector: f for f in functions.values()}, events)


@cache  # ABI names are few and fixed; calldata() asks for each on every call
def python_name_of(abi_name: str) -> str:
    return to_snake(abi_name.strip("_"))


def describe_value(value: Any) -> str:
    """A value's type and size for error messages: integers are shown, bytes and strings never (they may be private)."""
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    if isinstance(value, str):
        if _HEX.fullmatch(value):
            return f"0x-hex of {(len(value) - 2) // 2} bytes"
        if _HEX.fullmatch("0x" + value):
            return f"{len(value)} hex digits without the 0x prefix"
        return f"a string of {len(value)} characters"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return f"{value}"
    if isinstance(value, Sequence):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def bytes_of(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and _HEX.fullmatch(value):
        return bytes.fromhex(value[2:])
    return None


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def abi_from_python(param: Mapping[str, Any], value: Any, *, function: str, path: str) -> Any:
    """Check ``value`` against the ABI parameter ``param`` and return what ``eth_abi.encode`` takes.

    Raises :class:`ContractArgumentError` naming ``function`` and the argument's ``path``.
    """
    kind = str(param["type"])

    def refuse(expected: str) -> ContractArgumentError:
        return ContractArgumentError(function, path, f"must be {expected}, got {describe_value(value)}")

    if kind.endswith("]"):
        inner_kind, _, size = kind[:-1].rpartition("[")
        if not _is_sequence(value):
            raise refuse(f"a sequence ({kind})")
        if size and len(value) != int(size):
            raise refuse(f"a sequence of exactly {size} items ({kind})")
        inner = {**param, "type": inner_kind}
        return [abi_from_python(inner, item, function=function, path=f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "tuple":
        return _tuple_from_python(param, value, function=function, path=path)
    if kind == "address":
        raw = "0x" + value.hex() if isinstance(value, bytes | bytearray) and len(value) == 20 else value
        if not isinstance(raw, str) or not raw.startswith("0x") or not is_address(raw):
            raise refuse("an address (0x + 40 hex digits, checksummed or lower-case)")
        return to_checksum_address(raw)
    if kind == "bool":
        if not isinstance(value, bool):
            raise refuse("a bool")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise refuse("a str")
        return value
    if kind.startswith("bytes"):
        data = bytes_of(value)
        if kind == "bytes":
            if data is None:
                raise refuse("bytes or 0x-hex")
            return data
        width = int(kind[len("bytes") :])
        if data is None or len(data) != width:
            raise refuse(f"{kind}: exactly {width} bytes (or 0x-hex of {width} bytes)")
        return data
    if kind.startswith(("uint", "int")):
        signed = kind.startswith("int")
        bits = int(kind[3 if signed else 4 :] or 256)
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        if not isinstance(value, int) or isinstance(value, bool):
            raise refuse(f"an int ({kind})")
        if not low <= value <= high:
            raise refuse(f"{kind}, {low}..{high}")
        return int(value)
    raise ContractArgumentError(function, path, f"has ABI type {kind}, which the typed clients do not encode")


def _tuple_from_python(param: Mapping[str, Any], value: Any, *, function: str, path: str) -> tuple[Any, ...]:
    components: list[dict[str, Any]] = list(param["components"])
    names = [str(c["name"]) for c in components]
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        missing = [n for n in names if python_name_of(n) not in fields]
        if missing:
            raise ContractArgumentError(
                function, path, f"must be a {_struct_name(param)}, got a {type(value).__name__} without {missing}"
            )
        items = [getattr(value, python_name_of(n)) for n in names]
    elif isinstance(value, Mapping):
        known = {*names, *(python_name_of(n) for n in names)}
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            raise ContractArgumentError(function, path, f"has unknown fields {unknown} (expected {names})")
        items = []
        for n in names:
            if n in value:
                items.append(value[n])
            elif python_name_of(n) in value:
                items.append(value[python_name_of(n)])
            else:
                raise ContractArgumentError(function, f"{path}.{python_name_of(n)}", "is missing")
    elif _is_sequence(value):
        if len(value) != len(components):
            raise ContractArgumentError(
                function, path, f"must have {len(components)} components {names}, got {len(value)}"
            )
        items = list(value)
    else:
        raise ContractArgumentError(
            function,
            path,
            f"must be a {_struct_name(param)} (a model, a mapping or a sequence), got {describe_value(value)}",
        )
    return tuple(
        abi_from_python(c, item, function=function, path=f"{path}.{python_name_of(c['name'])}")
        for c, item in zip(components, items, strict=True)
    )


def _struct_name(param: Mapping[str, Any]) -> str:
    internal = str(param.get("internalType", "struct"))
    return internal.removeprefix("struct ").split(".")[-1]


def abi_to_python(param: Mapping[str, Any], value: Any) -> Any:
    """An ABI value as plain Python, recursively: structs (web3's tuples) become dicts keyed by the ABI component
    names, arrays lists, bytes 0x-hex strings, addresses checksummed strings; integers and bools stay as they are."""
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [abi_to_python(inner, item) for item in value]
    if kind == "tuple":
        components = param["components"]
        if isinstance(value, Mapping):
            return {c["name"]: abi_to_python(c, value[c["name"]]) for c in components}
        return {c["name"]: abi_to_python(c, item) for c, item in zip(components, value, strict=True)}
    if kind == "address":
        return to_checksum_address(value)
    if kind.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


def named_values(params: Sequence[Mapping[str, Any]], values: Sequence[Any]) -> dict[str, Any]:
    return {p["name"] or f"output{i}": abi_to_python(p, v) for i, (p, v) in enumerate(zip(params, values, strict=True))}


def decode_event_args(entry: Mapping[str, Any], topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
    """The arguments of a log of the ABI event ``entry`` (topics after the signature, and data), as plain Python."""
    inputs = list(entry.get("inputs", []))
    plain = iter(decode([abi_type(p) for p in inputs if not p.get("indexed")], data))
    indexed = iter(topics)
    args: dict[str, Any] = {}
    for param in inputs:
        if not param.get("indexed"):
            args[param["name"]] = abi_to_python(param, next(plain))
            continue
        topic, kind = next(indexed), abi_type(param)
        if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
            args[param["name"]] = "0x" + topic.hex()  # an indexed dynamic value is stored as its hash
        else:
            args[param["name"]] = abi_to_python(param, decode([kind], topic)[0])
    return args
