"""Canonical JSON, salted record digests and keyed subject ids: how private data becomes what goes on chain.

Only digests go on chain (ARCHITECTURE.md, Privacy). Three rules keep those digests from leaking what they stand for:

* **Canonical JSON** (RFC 8785, JSON Canonicalization Scheme): one document has exactly one byte form, so every member
  computes the same digest for it whatever language, key order or number spelling produced the document.
* **A random salt inside every record.** Many records have little entropy: a plate number, an odometer reading, a
  "passed" inspection on a known date. Without a salt anyone could hash every candidate value and compare it with the
  digest on chain. ``record_digest`` hashes the document together with 32 random bytes stored under the reserved key
  ``"_salt"``; the salt travels with the document (off chain, to those allowed to see it), never alone.
* **A keyed hash for vehicles.** A VIN is public (printed on the car, in sales listings), so a plain hash of it would
  let anyone find a vehicle's whole history on chain. ``subject_id`` is an HMAC-SHA256 under a consortium secret:
  members can compute a vehicle's subject id, outsiders cannot link a subject id to a VIN.

Error messages name the place of a problem (a JSON path, a VIN position) but do not repeat document values or whole
VINs, since exception messages end up in logs.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import rfc8785
from eth_utils.crypto import keccak

from node_adapter.exceptions import EncodingError

JsonValue: TypeAlias = bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
"""What ``canonical_json`` accepts: JSON's scalars, sequences (list, tuple) as arrays and mappings as objects."""

JsonObject: TypeAlias = Mapping[str, JsonValue]
"""A JSON object: the shape of every record that gets a digest."""

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""Largest integer RFC 8785 can write exactly (JSON numbers are IEEE 754 doubles); the smallest is its negation."""

MAX_DEPTH: Final = 256
"""Deepest nesting of arrays and objects that ``canonical_json`` accepts: the same limit on every machine."""

SALT_KEY: Final = "_salt"
"""Reserved key under which ``salted`` stores a record's salt."""

SALT_BYTES: Final = 32
_SALT_RE: Final = re.compile(r"0x[0-9a-f]{64}")

SUBJECT_DOMAIN: Final = b"VehicleEvidence.Subject.v1"
"""Domain prefix of the subject-id HMAC, so the consortium key can never produce a subject id by accident elsewhere."""

MIN_KEY_BYTES: Final = 16

VIN_LENGTH: Final = 17
VIN_CHECK_POSITION: Final = 9
"""1-based position of the check digit in a VIN (ISO 3779 / North American 49 CFR 565)."""

_VIN_ALPHABET: Final = frozenset("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
_VIN_VALUES: Final[Mapping[str, int]] = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

_Plain: TypeAlias = bool | int | float | str | list["_Plain"] | dict[str, "_Plain"] | None


# ---------------------------------------------------------------------------------------------------- canonical JSON


def canonical_json(document: JsonValue) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``document``.

    Object keys are sorted by their UTF-16 code units, numbers are written as ECMAScript does (``1e+21``, ``1e-7``,
    ``-0`` as ``0``, ``4.50`` as ``4.5``), strings are raw UTF-8 with only the mandatory escapes, and there is no
    whitespace. Serialisation is done by the ``rfc8785`` package; this function first checks the document so that what
    JSON cannot carry fails with an :class:`EncodingError` naming where it is:

    * NaN and infinities (JSON has no such numbers);
    * integers beyond ±(2**53 - 1): RFC 8785 writes every number as an IEEE 754 double, which cannot represent them
      exactly, so two different integers could share one canonical form; send such values as strings;
    * object keys that are not strings (``json.dumps`` would silently turn ``1`` into ``"1"``);
    * bytes, sets, ``Decimal``, dates and any other non-JSON type; strings holding lone surrogates;
    * a container that contains itself, or nesting deeper than ``MAX_DEPTH`` arrays and objects.

    Lists and tuples both become arrays; any mapping becomes an object.
    """
    plain = _plain(document)
    try:
        return rfc8785.dumps(plain)
    except RecursionError as exc:  # pragma: no cover - _plain hits the limit first
        raise EncodingError("document nests too deeply to be canonicalised") from exc
    except rfc8785.CanonicalizationError as exc:  # pragma: no cover - _plain rejects all of these first
        raise EncodingError(f"document cannot be canonicalised: {exc}") from exc


def _plain(document: object) -> _Plain:
    try:
        return _to_plain(document, "$", set())
    except RecursionError as exc:
        raise EncodingError("document nests too deeply to be canonicalised") from exc


def _child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{_quoted(key)}]"


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_text(text: str, path: str, what: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"{path}: {what} contains a lone UTF-16 surrogate, which is not Unicode text") from exc
    return str(text)


def _to_plain(value: object, path: str, active: set[int]) -> _Plain:
    """A deep copy of ``value`` in plain dicts, lists and scalars; EncodingError says what is not JSON, and where."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise EncodingError(
                f"{path}: integer outside ±(2**53 - 1); RFC 8785 writes numbers as IEEE 754 doubles and cannot "
                "represent it exactly (send large integers such as amounts in wei as strings)"
            )
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EncodingError(f"{path}: NaN and infinities are not JSON numbers")
        return float(value)
    if isinstance(value, str):
        return _check_text(value, path, "string")
    if isinstance(value, bytes | bytearray | memoryview):
        raise EncodingError(f"{path}: bytes are not a JSON value; encode them first (e.g. as a 0x-hex string)")
    if isinstance(value, set | frozenset):
        raise EncodingError(f"{path}: a set is not a JSON value (its order is undefined); pass a sorted list")
    if isinstance(value, Mapping | Sequence):
        if id(value) in active:
            raise EncodingError(f"{path}: the document contains itself (a reference cycle)")
        if len(active) >= MAX_DEPTH:
            raise EncodingError(f"document nests deeper than {MAX_DEPTH} arrays and objects")
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                obj: dict[str, _Plain] = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise EncodingError(
                            f"{path}: object key of type {type(key).__name__}; JSON object keys must be strings"
                        )
                    name = _check_text(key, path, "an object key")
                    obj[name] = _to_plain(item, _child_path(path, name), active)
                return obj
            return [_to_plain(item, f"{path}[{index}]", active) for index, item in enumerate(value)]
        finally:
            active.discard(id(value))
    raise EncodingError(
        f"{path}: a {type(value).__name__} is not a JSON value (allowed: dict, list, tuple, str, int, float, bool, "
        "None); convert it first, e.g. a Decimal or a date to a string"
    )


# ---------------------------------------------------------------------------------------------------- salted digests


def new_salt() -> str:
    """32 bytes from the operating system's CSPRNG, as a lowercase 0x-hex string (66 characters).

    The salt makes a record's digest unguessable even when the record itself is easy to guess (see the module doc).
    """
    return "0x" + secrets.token_hex(SALT_BYTES)


def _check_salt(salt: object) -> str:
    if not isinstance(salt, str) or _SALT_RE.fullmatch(salt) is None:
        raise EncodingError(
            'a salt is "0x" followed by 64 lowercase hex digits (32 bytes, as new_salt() makes); '
            "one spelling only, so that the same salt always gives the same digest"
        )
    return salt


def salted(document: JsonObject, salt: str) -> dict[str, JsonValue]:
    """A shallow copy of the JSON object ``document`` with ``salt`` under the reserved key ``"_salt"``.

    A document that already carries ``"_salt"`` is accepted only if it holds this very salt (salting is idempotent);
    otherwise it would be ambiguous which salt the digest was made with. The salt must be in ``new_salt()``'s form.
    """
    if not isinstance(document, Mapping):
        raise EncodingError(f"only a JSON object (a dict) can be salted, not a {type(document).__name__}")
    _check_salt(salt)
    if SALT_KEY in document and document[SALT_KEY] != salt:
        raise EncodingError(f'the document already carries a different "{SALT_KEY}"; "{SALT_KEY}" is reserved')
    result: dict[str, JsonValue] = dict(document)
    result[SALT_KEY] = salt
    return result


def record_digest(document: JsonObject, salt: str) -> bytes:
    """The 32-byte digest that goes on chain for a record: ``keccak256(canonical_json(salted(document, salt)))``.

    Without the salt, a low-entropy record (an odometer reading, a plate) could be found by hashing candidates.
    """
    return keccak(canonical_json(salted(document, salt)))


@dataclass(frozen=True, slots=True)
class SaltedDocument:
    """A record, its salt and its digest: what a member stores off chain for every digest it puts on chain.

    ``create`` draws a fresh salt; ``verify`` recomputes the digest (a bank handed a document checks it against the
    digest it finds on chain with ``SaltedDocument.from_salted(received, digest).verify()``).
    """

    document: JsonObject
    salt: str
    digest: bytes

    def __post_init__(self) -> None:
        _check_salt(self.salt)
        if not isinstance(self.digest, bytes) or len(self.digest) != 32:
            raise EncodingError("a record digest is 32 bytes")
        if not isinstance(self.document, Mapping):
            raise EncodingError(f"a record is a JSON object (a dict), not a {type(self.document).__name__}")
        if SALT_KEY in self.document:
            raise EncodingError(f'SaltedDocument.document excludes the reserved key "{SALT_KEY}"; it is kept in .salt')

    @classmethod
    def create(cls, document: JsonObject) -> SaltedDocument:
        """Salt ``document`` with a new random salt and compute its digest.

        The document is deep-copied into plain dicts and lists, so later changes to the caller's object do not
        alter the stored record. A document that already carries ``"_salt"`` is refused (it would get a second salt).
        """
        plain = _plain(document)
        if not isinstance(plain, dict):
            raise EncodingError(f"only a JSON object (a dict) can be salted, not a {type(document).__name__}")
        if SALT_KEY in plain:
            raise EncodingError(f'the document already carries "{SALT_KEY}"; use SaltedDocument.from_salted')
        salt = new_salt()
        return cls(document=plain, salt=salt, digest=record_digest(plain, salt))

    @classmethod
    def from_salted(cls, salted_document: JsonObject, digest: bytes) -> SaltedDocument:
        """Split a document that carries its ``"_salt"`` (as stored or handed over) and pair it with ``digest``."""
        if not isinstance(salted_document, Mapping):
            raise EncodingError(f"a record is a JSON object (a dict), not a {type(salted_document).__name__}")
        if SALT_KEY not in salted_document:
            raise EncodingError(f'the document carries no "{SALT_KEY}"')
        salt = _check_salt(salted_document[SALT_KEY])
        document = {key: value for key, value in salted_document.items() if key != SALT_KEY}
        if isinstance(digest, bytearray | memoryview):
            digest = bytes(digest)
        return cls(document=document, salt=salt, digest=digest)

    def salted_document(self) -> dict[str, JsonValue]:
        """The document with its ``"_salt"``: the form to store or hand to someone who must verify the digest."""
        return salted(self.document, self.salt)

    def verify(self) -> bool:
        """Whether the document and salt still hash to ``digest`` (False once either was altered)."""
        return hmac.compare_digest(record_digest(self.document, self.salt), self.digest)


# ---------------------------------------------------------------------------------------------------- VINs and subjects


def validate_vin(vin: str, *, check_digit: bool) -> str:
    """The normalised VIN (surrounding whitespace stripped, upper case), or an EncodingError saying what is wrong.

    A VIN has 17 characters from A-H, J-N, P, R-Z and 0-9 (I, O and Q are never used: they look like 1 and 0).
    With ``check_digit=True`` position 9 must hold the ISO 3779 / North American check digit (``vin_check_digit``).
    Leave it off for VINs from markets where the check digit is not mandatory (many European and some Chinese VINs).
    """
    if not isinstance(vin, str):
        raise EncodingError(f"a VIN is a string, not a {type(vin).__name__}")
    stripped = vin.strip()
    if len(stripped) != VIN_LENGTH:
        raise EncodingError(f"a VIN has {VIN_LENGTH} characters, this one has {len(stripped)}")
    problems = []
    for position, char in enumerate(stripped, start=1):
        if char.isascii() and char.upper() in _VIN_ALPHABET:
            continue
        hint = " (I, O and Q are never used in VINs)" if char.upper() in "IOQ" else ""
        problems.append(f"{char!r} at position {position}{hint}")
    if problems:
        raise EncodingError("VIN characters must be A-H, J-N, P, R-Z or 0-9; not allowed: " + ", ".join(problems))
    normalised = stripped.upper()
    if check_digit:
        expected = vin_check_digit(normalised)
        actual = normalised[VIN_CHECK_POSITION - 1]
        if actual != expected:
            raise EncodingError(
                f"VIN check digit (position {VIN_CHECK_POSITION}) is wrong: expected {expected!r}, got {actual!r}"
            )
    return normalised


def vin_check_digit(vin: str) -> str:
    """The check digit (``"0"``-``"9"`` or ``"X"``) that position 9 of ``vin`` should hold, per ISO 3779 / 49 CFR 565.

    Each character is transliterated to a number, multiplied by its position's weight, the products summed modulo 11;
    a remainder of 10 is written ``X``. Position 9 itself has weight 0.
    """
    normalised = validate_vin(vin, check_digit=False)
    remainder = sum(_VIN_VALUES[char] * weight for char, weight in zip(normalised, _VIN_WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def subject_id(vin: str, consortium_key: bytes | bytearray, *, strict: bool = False) -> bytes:
    """The 32-byte on-chain id of a vehicle: ``HMAC-SHA256(consortium_key, b"VehicleEvidence.Subject.v1" || VIN)``.

    The VIN is normalised first (``validate_vin``; its check digit is enforced only with ``strict=True``) and encoded
    as ASCII; it has a fixed length, so prefix and VIN concatenate unambiguously. A plain hash of a VIN could be
    recomputed by anyone who reads the VIN off a car or a listing and used to pull that car's history from the chain;
    the keyed hash can only be computed with the consortium secret. The key must be at least 16 bytes (32 random
    bytes recommended), and it must never change: a new key gives every vehicle a new subject id.
    """
    if not isinstance(consortium_key, bytes | bytearray):
        raise EncodingError(f"the consortium key is bytes, not a {type(consortium_key).__name__}")
    if len(consortium_key) < MIN_KEY_BYTES:
        raise EncodingError(
            f"the consortium key has {len(consortium_key)} bytes; at least {MIN_KEY_BYTES} are required "
            "(use 32 random bytes, e.g. secrets.token_bytes(32))"
        )
    normalised = validate_vin(vin, check_digit=strict)
    return hmac.new(bytes(consortium_key), SUBJECT_DOMAIN + normalised.encode("ascii"), hashlib.sha256).digest()
