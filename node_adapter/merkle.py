"""Merkle trees for batch anchoring, byte-compatible with OpenZeppelin 5 ``MerkleProof``.

A batch of records goes on chain as one root (``EvidenceRegistry.anchorBatch``). Each record becomes a leaf by
:func:`batch_leaf`, exactly as the contract computes it::

    leaf = keccak256(bytes.concat(keccak256(abi.encode(LEAF_DOMAIN, batchId, subject, digest))))
    LEAF_DOMAIN = keccak256("VehicleEvidence.BatchLeaf.v1")

The domain binds a leaf to this use and to its batch; the second hash makes every leaf the keccak of 32 bytes, while
every inner node is the keccak of 64 bytes, so an inner node can never be passed off as a record (see
:func:`batch_leaf`). Inner nodes use OpenZeppelin's commutative hash, ``keccak256(min(a, b) ++ max(a, b))``
(``Hashes.commutativeKeccak256``), so a proof is just the list of siblings from the leaf up, with no left/right flags,
and :func:`verify` is ``MerkleProof.verify``.

Tree shape: the layout of OpenZeppelin's JavaScript ``@openzeppelin/merkle-tree`` (``SimpleMerkleTree``): a complete
binary tree stored in an array of ``2n - 1`` nodes, the root at index 0, the children of node ``i`` at ``2i + 1`` and
``2i + 2``, the leaves in the last ``n`` slots in reverse order. By default the leaves are sorted first (the library's
``sortLeaves: true``), so the root does not depend on the order in which a batch's records were collected and equals
``SimpleMerkleTree.of(leaves).root``; ``sort_leaves=False`` keeps the given order. Building hashes each inner node
once (``n - 1`` hashes); a proof has at most ``ceil(log2 n)`` siblings. For 100,000 leaves, building takes about 1.5-2 s
and all proofs another 0.5-1 s on a development machine; keccak (pycryptodome, about 12 us a hash) dominates, so
turning 100,000 records into leaves with ``batch_leaf`` (two hashes and an ABI encoding each) costs about 4 s more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from node_adapter.exceptions import EncodingError

LEAF_DOMAIN: Final = keccak(b"VehicleEvidence.BatchLeaf.v1")
"""Domain separator of batch leaves, ``keccak256("VehicleEvidence.BatchLeaf.v1")`` as in the registry contract."""

_LEAF_TYPES: Final = ("bytes32", "uint256", "bytes32", "bytes32")
_UINT256_LIMIT: Final = 2**256


def _bytes32(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        size = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else f"a {type(value).__name__}"
        raise EncodingError(f"{what} must be 32 bytes, got {size}")
    return bytes(value)


def batch_leaf(batch_id: int, subject: bytes, digest: bytes) -> bytes:
    """The Merkle leaf of one record in batch ``batch_id``, identical to the registry contract's.

    ``keccak256(keccak256(abi.encode(LEAF_DOMAIN, batch_id, subject, digest)))`` with the ABI types
    ``(bytes32, uint256, bytes32, bytes32)``. ``subject`` and ``digest`` must be exactly 32 bytes (ABI encoding
    would silently right-pad shorter values, which would give a leaf no one intended).

    Why hash twice: an inner node is ``keccak256`` of a 64-byte pair, and ``MerkleProof`` accepts an inner node as a
    "leaf" with the upper part of a proof. Because the contract derives the leaf itself from (batch, subject, digest)
    and that leaf is ``keccak256`` of a 32-byte value, matching an inner node would need a keccak collision between a
    32-byte and a 64-byte input.
    """
    if isinstance(batch_id, bool) or not isinstance(batch_id, int) or not 0 <= batch_id < _UINT256_LIMIT:
        raise EncodingError("batch_id must be an integer in the uint256 range")
    encoded = abi_encode(_LEAF_TYPES, [LEAF_DOMAIN, batch_id, _bytes32(subject, "subject"), _bytes32(digest, "digest")])
    return keccak(keccak(encoded))


def node_hash(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's ``Hashes.commutativeKeccak256``: ``keccak256`` of the two 32-byte nodes, smaller one first."""
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(proof: Iterable[bytes], leaf: bytes) -> bytes:
    """The root rebuilt from ``leaf`` and its sibling ``proof``, as ``MerkleProof.processProof`` computes it."""
    computed = _bytes32(leaf, "leaf")
    for position, sibling in enumerate(proof):
        computed = node_hash(computed, _bytes32(sibling, f"proof element {position}"))
    return computed


def verify(proof: Iterable[bytes], root: bytes, leaf: bytes) -> bool:
    """``MerkleProof.verify``: whether ``proof`` proves that ``leaf`` belongs to the tree with ``root``.

    Every element must be 32 bytes (``bytes32`` in Solidity); anything else raises ``EncodingError`` rather than
    answering False, since it cannot even be submitted to the contract.
    """
    return process_proof(proof, leaf) == _bytes32(root, "root")


class MerkleTree:
    """A Merkle tree over distinct 32-byte leaves (see the module doc for its shape).

    ``leaves`` are used as given (hash records first with :func:`batch_leaf`). They must be distinct, since a batch
    never holds the same record twice, and there must be at least one; a single leaf is its own root, with an
    empty proof. ``proof(i)`` refers to the ``i``-th leaf in the order given, whether or not the tree sorts them.
    """

    __slots__ = ("_index", "_leaves", "_nodes", "_positions")

    def __init__(self, leaves: Iterable[bytes], *, sort_leaves: bool = True) -> None:
        given = tuple(_bytes32(leaf, f"leaf {position}") for position, leaf in enumerate(leaves))
        if not given:
            raise EncodingError("a Merkle tree needs at least one leaf")
        index: dict[bytes, int] = {}
        for position, leaf in enumerate(given):
            first = index.setdefault(leaf, position)
            if first != position:
                raise EncodingError(
                    f"leaf {position} repeats leaf {first} (0x{leaf.hex()}); a batch cannot hold one record twice"
                )
        count = len(given)
        order = sorted(range(count), key=given.__getitem__) if sort_leaves else list(range(count))
        size = 2 * count - 1
        nodes: list[bytes] = [b""] * size
        positions = [0] * count
        for rank, position in enumerate(order):
            slot = size - 1 - rank
            nodes[slot] = given[position]
            positions[position] = slot
        for slot in range(size - 1 - count, -1, -1):
            left, right = nodes[2 * slot + 1], nodes[2 * slot + 2]
            nodes[slot] = keccak(left + right) if left < right else keccak(right + left)
        self._leaves = given
        self._index = index
        self._nodes = nodes
        self._positions = positions

    @property
    def root(self) -> bytes:
        """The 32-byte root, what goes on chain."""
        return self._nodes[0]

    @property
    def leaves(self) -> tuple[bytes, ...]:
        """The leaves in the order given."""
        return self._leaves

    def __len__(self) -> int:
        return len(self._leaves)

    def __contains__(self, leaf: object) -> bool:
        return leaf in self._index

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._leaves)

    def index_of(self, leaf: bytes) -> int:
        """Position of ``leaf`` in the order given; ``EncodingError`` when it is not in the tree."""
        try:
            return self._index[_bytes32(leaf, "leaf")]
        except KeyError:
            raise EncodingError(f"leaf 0x{bytes(leaf).hex()} is not in this tree") from None

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from the ``index``-th leaf (order given) up to the root, for ``MerkleProof.verify``."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._leaves):
            raise EncodingError(f"leaf index must be an integer from 0 to {len(self._leaves) - 1}")
        nodes = self._nodes
        slot = self._positions[index]
        proof: list[bytes] = []
        while slot > 0:
            proof.append(nodes[slot + 1] if slot % 2 else nodes[slot - 1])
            slot = (slot - 1) // 2
        return proof

    def proof_for(self, leaf: bytes) -> list[bytes]:
        """The proof of ``leaf``; ``EncodingError`` when it is not in the tree."""
        return self.proof(self.index_of(leaf))

    def proofs(self) -> list[list[bytes]]:
        """Every leaf's proof, in the order the leaves were given."""
        return [self.proof(index) for index in range(len(self._leaves))]

    @classmethod
    def of_records(
        cls, batch_id: int, records: Sequence[tuple[bytes, bytes]], *, sort_leaves: bool = True
    ) -> MerkleTree:
        """The tree of a batch from its ``(subject, digest)`` pairs, each turned into a leaf by :func:`batch_leaf`."""
        return cls((batch_leaf(batch_id, subject, digest) for subject, digest in records), sort_leaves=sort_leaves)
