"""Canonical JSON (RFC 8785), salted record digests, VIN validation and keyed subject ids."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
import re
import struct
from decimal import Decimal
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from node_adapter.encoding import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    SUBJECT_DOMAIN,
    SaltedDocument,
    canonical_json,
    new_salt,
    record_digest,
    salted,
    subject_id,
    validate_vin,
    vin_check_digit,
)
from node_adapter.exceptions import EncodingError, NodeAdapterError

SALT_A = "0x" + "11" * 32
SALT_B = "0x" + "22" * 32
KEY = bytes(range(32))

# ------------------------------------------------------------------------------------------------ canonical JSON


def test_rfc8785_section_3_2_2_example() -> None:
    """The RFC's worked example: key order, number formats and string escapes at once."""
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = (
        r"""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"""
        r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
    ).encode()
    assert canonical_json(json.loads(source)) == expected


def test_rfc8785_section_3_2_3_keys_sort_by_utf16_code_units() -> None:
    source = r"""{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"""
    out = canonical_json(json.loads(source))
    assert list(json.loads(out).values()) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    # Non-ASCII is written as raw UTF-8, control characters as escapes.
    assert out.startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control"')


def test_astral_key_sorts_before_high_bmp_key_unlike_code_point_order() -> None:
    # U+1F600 is the surrogate pair D83D DE00 in UTF-16, which sorts before U+FB33; by code point it would be after.
    assert canonical_json({"\ufb33": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ufb33":1}'.encode()


# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits: str, text: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(value) == text.encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (1e-7, b"1e-7"),
        (1e-6, b"0.000001"),
        (-0.0, b"0"),
        (4.50, b"4.5"),
        (10.0, b"10"),
        (-1.5, b"-1.5"),
        (12345, b"12345"),
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        (True, b"true"),
        (None, b"null"),
    ],
)
def test_number_and_literal_formatting(value: Any, text: bytes) -> None:
    assert canonical_json(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("\u000f", b'"\\u000f"'),
        ("\x1f", b'"\\u001f"'),
        ("\n\t\r\b\f", b'"\\n\\t\\r\\b\\f"'),
        ('"\\', b'"\\"\\\\"'),
        ("/", b'"/"'),
        ("\x7f", b'"\x7f"'),
        ("€ 車", '"€ 車"'.encode()),
        ("\U0001f697", '"\U0001f697"'.encode()),
    ],
)
def test_string_escapes(value: str, text: bytes) -> None:
    assert canonical_json(value) == text


def test_no_whitespace_and_nested_objects_sorted() -> None:
    document: dict[str, Any] = {"b": [1, {"z": None, "a": "x"}], "a": {"y": True, "x": False}}
    assert canonical_json(document) == b'{"a":{"x":false,"y":true},"b":[1,{"a":"x","z":null}]}'


def test_insertion_order_and_tuple_vs_list_do_not_matter() -> None:
    assert canonical_json({"a": 1, "b": (1, 2)}) == canonical_json({"b": [1, 2], "a": 1})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"odometer": math.nan}, r"\$\.odometer: NaN and infinities"),
        ({"odometer": math.inf}, r"\$\.odometer: NaN and infinities"),
        ([1, -math.inf], r"\$\[1\]: NaN and infinities"),
        ({1: "x"}, "object key of type int; JSON object keys must be strings"),
        ({"a": {(1, 2): "x"}}, r"\$\.a: object key of type tuple"),
        ({"raw": b"\x00"}, r"\$\.raw: bytes are not a JSON value"),
        ({"raw": bytearray(b"\x00")}, "bytes are not a JSON value"),
        ({"tags": {"a", "b"}}, r"\$\.tags: a set is not a JSON value"),
        ({"tags": frozenset()}, "a set is not a JSON value"),
        ({"price": Decimal("1.10")}, "a Decimal is not a JSON value"),
        ({"wei": 2**53}, r"\$\.wei: integer outside ±\(2\*\*53 - 1\); RFC 8785 .* IEEE 754 doubles"),
        ({"wei": -(2**53)}, "integer outside"),
        ({"wei": 10**30}, "cannot represent it exactly"),
        ({"bad key": [{"s": "\ud800"}]}, r'\$\["bad key"\]\[0\]\.s: string contains a lone UTF-16 surrogate'),
        ({"\udfff": 1}, "an object key contains a lone UTF-16 surrogate"),
        (object(), r"\$: a object is not a JSON value"),
    ],
)
def test_what_json_cannot_carry_is_a_clear_error(document: Any, message: str) -> None:
    with pytest.raises(EncodingError, match=message) as info:
        canonical_json(document)
    assert isinstance(info.value, NodeAdapterError)
    assert isinstance(info.value, ValueError)


def test_error_messages_do_not_repeat_values() -> None:
    with pytest.raises(EncodingError) as info:
        canonical_json({"loan": {"amount_wei": 123456789012345678901234567890}})
    assert "123456789012345678901234567890" not in str(info.value)
    assert "$.loan.amount_wei" in str(info.value)


def test_cycle_is_an_error_not_a_crash() -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    with pytest.raises(EncodingError, match=r"\$\[1\]: the document contains itself"):
        canonical_json(looped)


def test_shared_but_acyclic_subdocument_is_fine() -> None:
    shared = {"k": 1}
    assert canonical_json({"a": shared, "b": [shared, shared]}) == b'{"a":{"k":1},"b":[{"k":1},{"k":1}]}'


def _nested(depth: int) -> Any:
    deep: Any = []
    for index in range(depth - 1):
        deep = [deep] if index % 2 else {"k": deep}
    return deep


def test_nesting_is_limited_to_max_depth() -> None:
    assert canonical_json(_nested(MAX_DEPTH)).count(b"[") + canonical_json(_nested(MAX_DEPTH)).count(b"{") == MAX_DEPTH
    with pytest.raises(EncodingError, match=f"nests deeper than {MAX_DEPTH} arrays and objects"):
        canonical_json(_nested(MAX_DEPTH + 1))
    with pytest.raises(EncodingError, match="nests deeper"):
        canonical_json(_nested(100_000))


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


def _parse_int_as_json_number(text: str) -> int | float:
    """JSON numbers are IEEE doubles: digits beyond the safe range (a large float written out) parse as a float."""
    number = int(text)
    return number if abs(number) <= MAX_SAFE_INTEGER else float(number)


def test_large_float_is_written_as_digits_that_read_back_as_the_same_double() -> None:
    out = canonical_json(3.625743083989426e16)
    assert out == b"36257430839894260"
    assert float(json.loads(out)) == 3.625743083989426e16
    # Python's json reads those digits as an int beyond 2**53, which canonical_json refuses: parse as doubles.
    with pytest.raises(EncodingError, match="integer outside"):
        canonical_json(json.loads(out))
    assert canonical_json(json.loads(out, parse_int=_parse_int_as_json_number)) == out


@given(json_values)
def test_canonical_json_parses_back_to_the_same_value_and_is_a_fixed_point(value: Any) -> None:
    out = canonical_json(value)
    parsed = json.loads(out, parse_int=_parse_int_as_json_number)
    assert parsed == value
    assert canonical_json(parsed) == out
    assert b"\n" not in out


@given(st.dictionaries(st.text(max_size=6), st.integers(-1000, 1000), min_size=2, max_size=8), st.randoms())
def test_key_order_of_the_input_never_matters(document: dict[str, int], random: Any) -> None:
    items = list(document.items())
    random.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(document)


# ------------------------------------------------------------------------------------------------ salts and digests


def test_new_salt_is_32_random_bytes_as_lowercase_hex() -> None:
    salts = {new_salt() for _ in range(50)}
    assert len(salts) == 50
    for salt in salts:
        assert re.fullmatch(r"0x[0-9a-f]{64}", salt)


def test_salted_puts_the_salt_under_the_reserved_key_without_touching_the_input() -> None:
    document = {"plate": "B-AB 123"}
    result = salted(document, SALT_A)
    assert result == {"plate": "B-AB 123", "_salt": SALT_A}
    assert document == {"plate": "B-AB 123"}


def test_salted_accepts_the_same_salt_again_but_refuses_another() -> None:
    assert salted({"_salt": SALT_A, "x": 1}, SALT_A) == {"_salt": SALT_A, "x": 1}
    with pytest.raises(EncodingError, match='already carries a different "_salt"'):
        salted({"_salt": SALT_B, "x": 1}, SALT_A)


@pytest.mark.parametrize("document", [[1, 2], "text", 5, None])
def test_only_json_objects_can_be_salted(document: Any) -> None:
    with pytest.raises(EncodingError, match="only a JSON object"):
        salted(document, SALT_A)


@pytest.mark.parametrize("salt", ["11" * 32, "0x" + "AB" * 32, "0x" + "11" * 31, "0x" + "11" * 33, "0x" + "zz" * 32, 7])
def test_malformed_salts_are_refused(salt: Any) -> None:
    with pytest.raises(EncodingError, match="64 lowercase hex digits"):
        salted({"x": 1}, salt)


def test_record_digest_is_keccak_of_the_canonical_salted_bytes() -> None:
    document: dict[str, Any] = {"odometer": 48213, "kind": "inspection"}
    expected_bytes = ('{"_salt":"' + SALT_A + '","kind":"inspection","odometer":48213}').encode()
    assert record_digest(document, SALT_A) == keccak(expected_bytes)
    assert len(record_digest(document, SALT_A)) == 32


def test_digest_changes_with_the_salt_and_differs_from_the_unsalted_hash() -> None:
    document = {"odometer": 48213}
    assert record_digest(document, SALT_A) != record_digest(document, SALT_B)
    assert record_digest(document, SALT_A) != keccak(canonical_json(document))


def test_guessing_a_low_entropy_record_without_the_salt_fails() -> None:
    """An attacker who knows the schema hashes every odometer reading; none matches the salted digest."""
    target = record_digest({"odometer": 48213}, new_salt())
    candidates = {keccak(canonical_json({"odometer": reading})) for reading in range(40_000, 60_000)}
    assert target not in candidates


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), json_values)
def test_two_different_salts_never_collide_for_the_same_record(a: bytes, b: bytes, value: Any) -> None:
    salt_a, salt_b = "0x" + a.hex(), "0x" + b.hex()
    document = {"value": value}
    same = record_digest(document, salt_a) == record_digest(document, salt_b)
    assert same == (salt_a == salt_b)


def test_salted_document_create_and_verify() -> None:
    record = SaltedDocument.create({"odometer": 48213, "vin_subject": "0x" + "ab" * 32})
    assert record.verify()
    assert record.digest == record_digest(record.document, record.salt)
    assert re.fullmatch(r"0x[0-9a-f]{64}", record.salt)
    assert "_salt" not in record.document


def test_the_same_document_twice_gets_two_salts_and_two_digests() -> None:
    first, second = SaltedDocument.create({"x": 1}), SaltedDocument.create({"x": 1})
    assert first.salt != second.salt
    assert first.digest != second.digest


def test_salted_document_detects_a_changed_document_or_salt() -> None:
    record = SaltedDocument.create({"odometer": 48213})
    assert not dataclasses.replace(record, document={"odometer": 48214}).verify()
    assert not dataclasses.replace(record, salt=new_salt()).verify()
    assert not dataclasses.replace(record, digest=bytes(32)).verify()


def test_salted_document_keeps_its_own_copy() -> None:
    document: dict[str, Any] = {"readings": [1, 2]}
    record = SaltedDocument.create(document)
    document["readings"].append(3)
    assert record.document == {"readings": [1, 2]}
    assert record.verify()


def test_salted_document_round_trips_through_its_salted_form() -> None:
    record = SaltedDocument.create({"claim": "rear bumper", "amount_cents": 125000})
    handed_over = json.loads(json.dumps(record.salted_document()))
    received = SaltedDocument.from_salted(handed_over, record.digest)
    assert received == record
    assert received.verify()
    forged = dict(handed_over, amount_cents=12500)
    assert not SaltedDocument.from_salted(forged, record.digest).verify()


def test_salted_document_refuses_malformed_parts() -> None:
    with pytest.raises(EncodingError, match='already carries "_salt"'):
        SaltedDocument.create({"_salt": SALT_A})
    with pytest.raises(EncodingError, match="only a JSON object"):
        SaltedDocument.create([1])  # type: ignore[arg-type]
    with pytest.raises(EncodingError, match='carries no "_salt"'):
        SaltedDocument.from_salted({"x": 1}, bytes(32))
    with pytest.raises(EncodingError, match="32 bytes"):
        SaltedDocument(document={"x": 1}, salt=SALT_A, digest=b"\x00" * 31)
    with pytest.raises(EncodingError, match="excludes the reserved key"):
        SaltedDocument(document={"_salt": SALT_A}, salt=SALT_A, digest=bytes(32))
    with pytest.raises(EncodingError, match="NaN"):
        SaltedDocument.create({"x": math.nan})


# ------------------------------------------------------------------------------------------------ VINs

VALID_VIN = "1M8GDM9AXKP042788"
CHINESE_VIN = "LSVAU2180N2183294"


@pytest.mark.parametrize(("vin", "digit"), [(VALID_VIN, "X"), ("11111111111111111", "1"), (CHINESE_VIN, "X")])
def test_vin_check_digit(vin: str, digit: str) -> None:
    assert vin_check_digit(vin) == digit


@pytest.mark.parametrize("vin", [VALID_VIN, "11111111111111111"])
def test_valid_vins_pass_strict_validation(vin: str) -> None:
    assert validate_vin(vin, check_digit=True) == vin


def test_vin_is_stripped_and_uppercased() -> None:
    assert validate_vin("  1m8gdm9axkp042788\n", check_digit=True) == VALID_VIN


@pytest.mark.parametrize(("vin", "length"), [("", 0), ("1M8GDM9AXKP04278", 16), ("1M8GDM9AXKP0427881", 18)])
def test_vin_of_wrong_length(vin: str, length: int) -> None:
    with pytest.raises(EncodingError, match=f"a VIN has 17 characters, this one has {length}$"):
        validate_vin(vin, check_digit=False)


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        ("1M8GIM9AXKP042788", r"'I' at position 5 \(I, O and Q are never used in VINs\)"),
        ("1M8GDM9AXKO042788", r"'O' at position 11 \(I, O and Q"),
        ("QM8GDM9AXKP042788", r"'Q' at position 1 \(I, O and Q"),
        ("1m8gdm9axkp04278o", r"'o' at position 17 \(I, O and Q"),
        ("1M8GDM9A-KP042788", "'-' at position 9$"),
        ("1M8GDM9AXKP04 788", "' ' at position 14$"),
        ("1M8GDM9AXKP04278\u017f", "'\u017f' at position 17$"),  # long s: uppercases to S, but is not ASCII
    ],
)
def test_vin_characters_outside_the_alphabet(vin: str, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        validate_vin(vin, check_digit=False)


def test_all_bad_vin_characters_are_reported_at_once() -> None:
    with pytest.raises(EncodingError, match=r"'I' at position 1.*'O' at position 2.*'Q' at position 3"):
        validate_vin("IOQGDM9AXKP042788", check_digit=False)


def test_bad_check_digit_only_fails_in_strict_mode() -> None:
    vin = "1M8GDM9A1KP042788"
    assert validate_vin(vin, check_digit=False) == vin
    with pytest.raises(EncodingError, match=r"check digit \(position 9\) is wrong: expected 'X', got '1'"):
        validate_vin(vin, check_digit=True)


def test_chinese_vin_without_valid_check_digit_is_accepted_when_not_strict() -> None:
    assert validate_vin(CHINESE_VIN, check_digit=False) == CHINESE_VIN
    with pytest.raises(EncodingError, match="expected 'X', got '0'"):
        validate_vin(CHINESE_VIN, check_digit=True)


def test_vin_that_is_not_a_string() -> None:
    with pytest.raises(EncodingError, match="a VIN is a string, not a bytes"):
        validate_vin(b"1M8GDM9AXKP042788", check_digit=False)  # type: ignore[arg-type]


vin_alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
vins = st.text(alphabet=vin_alphabet, min_size=17, max_size=17)


@given(vins, st.sampled_from("0123456789X"))
def test_strict_validation_accepts_exactly_the_computed_check_digit(vin: str, digit: str) -> None:
    candidate = vin[:8] + digit + vin[9:]
    if digit == vin_check_digit(candidate):
        assert validate_vin(candidate, check_digit=True) == candidate
    else:
        with pytest.raises(EncodingError, match="check digit"):
            validate_vin(candidate, check_digit=True)


@given(vins, st.integers(0, 16), st.sampled_from([c for c in vin_alphabet]))
def test_check_digit_catches_every_single_character_substitution(vin: str, position: int, char: str) -> None:
    """Weights 1-10 are units mod 11 and transliteration keeps most letters distinct: one typo changes the digit
    unless the two characters share a value (e.g. A and J both count 1) or the position has weight 0 (9)."""
    changed = vin[:position] + char + vin[position + 1 :]
    values = dict(zip("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", "012345678912345678123457923456789", strict=True))
    same_value = values[char] == values[vin[position]]
    if position == 8 or same_value:
        assert vin_check_digit(changed) == vin_check_digit(vin)
    else:
        assert vin_check_digit(changed) != vin_check_digit(vin)


# ------------------------------------------------------------------------------------------------ subject ids


def test_subject_id_is_the_domain_separated_hmac_of_the_normalised_vin() -> None:
    expected = hmac.new(KEY, b"VehicleEvidence.Subject.v1" + VALID_VIN.encode(), hashlib.sha256).digest()
    assert SUBJECT_DOMAIN == b"VehicleEvidence.Subject.v1"
    assert subject_id(VALID_VIN, KEY) == expected
    # Pinned vector (also checked with `openssl dgst -sha256 -mac HMAC`), so any change of the construction shows.
    assert expected.hex() == "01ef3da1cea499e1df26001e0f4b41fa04687a52efce9993ad3a3b23041595ee"


def test_subject_id_is_stable_across_spellings_of_the_same_vin() -> None:
    assert subject_id(" 1m8gdm9axkp042788 ", KEY) == subject_id(VALID_VIN, KEY)
    assert subject_id(VALID_VIN, bytearray(KEY)) == subject_id(VALID_VIN, KEY)


def test_subject_id_depends_on_the_key_and_the_vin() -> None:
    other_key = bytes(range(1, 33))
    assert subject_id(VALID_VIN, KEY) != subject_id(VALID_VIN, other_key)
    assert subject_id(VALID_VIN, KEY) != subject_id("11111111111111111", KEY)


def test_subject_id_cannot_be_recomputed_without_the_key() -> None:
    subject = subject_id(VALID_VIN, KEY)
    vin = VALID_VIN.encode()
    unkeyed = {
        keccak(vin),
        hashlib.sha256(vin).digest(),
        keccak(SUBJECT_DOMAIN + vin),
        hashlib.sha256(SUBJECT_DOMAIN + vin).digest(),
    }
    assert subject not in unkeyed
    assert len(subject) == 32


@given(st.binary(min_size=16, max_size=64), st.binary(min_size=16, max_size=64))
def test_different_keys_give_different_subject_ids(key_a: bytes, key_b: bytes) -> None:
    same = subject_id(VALID_VIN, key_a) == subject_id(VALID_VIN, key_b)
    assert same == (key_a == key_b)


def test_subject_id_key_must_be_at_least_16_bytes() -> None:
    assert len(subject_id(VALID_VIN, b"k" * 16)) == 32
    with pytest.raises(EncodingError, match="the consortium key has 15 bytes; at least 16 are required"):
        subject_id(VALID_VIN, b"k" * 15)
    with pytest.raises(EncodingError, match="the consortium key is bytes, not a str"):
        subject_id(VALID_VIN, "k" * 32)  # type: ignore[arg-type]


def test_subject_id_checks_the_check_digit_only_when_strict() -> None:
    assert subject_id(CHINESE_VIN, KEY) == subject_id(CHINESE_VIN.lower(), KEY)
    with pytest.raises(EncodingError, match="check digit"):
        subject_id(CHINESE_VIN, KEY, strict=True)
    with pytest.raises(EncodingError, match="'O' at position 2"):
        subject_id("1O8GDM9AXKP042788", KEY)


@settings(max_examples=50)
@given(vins)
def test_subject_ids_of_distinct_vins_differ(vin: str) -> None:
    if vin != VALID_VIN:
        assert subject_id(vin, KEY) != subject_id(VALID_VIN, KEY)
