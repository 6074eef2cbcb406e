from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from node_adapter.artifacts import artifact_names, load_artifact
from node_adapter.contract_errors import (
    InvalidRequestRevert,
    NotFoundRevert,
    SolidityError,
    SolidityPanic,
    UnauthorizedRevert,
    UnexpectedStateRevert,
    UnknownRevert,
    decode_revert,
    error_class,
    error_registry,
)


def test_no_two_errors_share_a_selector_across_contracts() -> None:
    signatures: dict[bytes, set[str]] = {}
    for name in artifact_names():
        for entry in load_artifact(name).abi:
            if entry["type"] == "error":
                registry_class = error_class(entry["name"])
                signatures.setdefault(registry_class.selector, set()).add(registry_class.signature)
    assert signatures, "no custom errors found in the artifacts"
    collisions = {sel.hex(): sigs for sel, sigs in signatures.items() if len(sigs) > 1}
    assert collisions == {}
    assert len(error_registry()) == len(signatures)


def test_every_error_decodes_to_its_class_with_named_arguments() -> None:
    samples = {"address": "0x" + "ab" * 20, "uint256": 7, "uint64": 3, "uint8": 2, "uint16": 9, "uint32": 11,
               "uint40": 12, "bytes32": b"\x01" * 32, "bool": True, "bytes": b"\xde\xad"}  # fmt: skip
    for selector, cls in error_registry().items():
        if not all(t in samples for t in cls.arg_types):
            continue
        values = [samples[t] for t in cls.arg_types]
        decoded = decode_revert(selector + encode(list(cls.arg_types), values))
        assert type(decoded) is cls
        assert decoded.error_name == cls.error_name
        assert list(decoded.args_by_name) == list(cls.arg_names)
        assert decoded.to_json()["error"] == cls.error_name


def test_categories_follow_the_error_names() -> None:
    assert issubclass(error_class("MembershipUnauthorizedAccount"), UnauthorizedRevert)
    assert issubclass(error_class("MembershipOnlyGovernance"), UnauthorizedRevert)
    assert issubclass(error_class("MembershipUnknownMember"), NotFoundRevert)
    assert issubclass(error_class("MembershipUnexpectedStatus"), UnexpectedStateRevert)
    assert issubclass(error_class("MembershipUnexpectedProposalState"), UnexpectedStateRevert)
    assert issubclass(error_class("MembershipInvalidRoles"), InvalidRequestRevert)
    assert issubclass(error_class("RegistryNotBatchAttester"), UnauthorizedRevert)
    assert issubclass(error_class("CollateralNotLoanBank"), UnauthorizedRevert)
    assert issubclass(error_class("RegistryDuplicateDigest"), UnexpectedStateRevert)  # a conflict: 409
    assert issubclass(error_class("MembershipAccountAlreadyBound"), UnexpectedStateRevert)
    assert issubclass(error_class("CollateralNoActiveLoan"), NotFoundRevert)


def test_string_errors_panics_and_unknown_data() -> None:
    message = decode_revert(keccak(text="Error(string)")[:4] + encode(["string"], ["nope"]))
    assert isinstance(message, SolidityError)
    assert message.args_by_name == {"message": "nope"}
    panic = decode_revert(keccak(text="Panic(uint256)")[:4] + encode(["uint256"], [0x11]))
    assert isinstance(panic, SolidityPanic)
    assert panic.args_by_name == {"code": 0x11}
    unknown = decode_revert("0xdeadbeef")
    assert isinstance(unknown, UnknownRevert)
    assert unknown.to_json() == {"error": "UnknownRevert", "args": {"data": "0xdeadbeef"}}
    assert isinstance(decode_revert(None), UnknownRevert)
    truncated = decode_revert(error_class("MembershipUnknownMember").selector + b"\x00")
    assert isinstance(truncated, UnknownRevert)
