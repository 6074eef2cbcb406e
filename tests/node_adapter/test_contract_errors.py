from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from node_adapter.artifacts import artifact_names, load_artifact
from node_adapter.contract_errors import CATEGORY, category_of, decode_revert, error_class, error_registry
from node_adapter.exceptions import (
    InvalidRequestRevert,
    NotFoundRevert,
    SolidityError,
    SolidityPanic,
    UnauthorizedRevert,
    UnexpectedStateRevert,
    UnknownRevert,
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


def test_every_contract_error_has_a_declared_category_and_the_table_names_no_other() -> None:
    declared_in_abi = {
        entry["name"] for name in artifact_names() for entry in load_artifact(name).abi if entry["type"] == "error"
    }
    undeclared = sorted(declared_in_abi - set(CATEGORY))
    assert undeclared == [], f"add these contract errors to node_adapter.contract_errors.CATEGORY: {undeclared}"
    assert sorted(set(CATEGORY) - declared_in_abi) == [], "CATEGORY names errors no contract declares"
    for cls in error_registry().values():
        assert cls.__mro__[1] is CATEGORY[cls.error_name]


def test_the_http_status_is_declared_by_the_category() -> None:
    assert error_class("MembershipUnauthorizedAccount").http_status == 403
    assert error_class("CollateralUnknownLoan").http_status == 404
    assert error_class("CollateralUnexpectedCaseState").http_status == 409
    assert error_class("RegistryInvalidDigest").http_status == 422
    assert SolidityPanic.http_status == 500
    assert UnknownRevert.http_status == 500


def test_an_error_the_table_does_not_know_is_an_invalid_request() -> None:
    assert category_of("RegistrySomethingNew") is InvalidRequestRevert


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
