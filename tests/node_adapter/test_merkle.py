"""Merkle trees and batch leaves, checked against OpenZeppelin's Solidity and JavaScript results."""

from __future__ import annotations

import math
import random

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from node_adapter.exceptions import EncodingError
from node_adapter.merkle import LEAF_DOMAIN, MerkleTree, batch_leaf, node_hash, process_proof, verify


def h(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


# ------------------------------------------------------------------------------------------------ batch leaves

# Computed by the registry's Solidity expression
#   keccak256(bytes.concat(keccak256(abi.encode(LEAF_DOMAIN, batchId, subject, digest))))
# in a contract compiled with the project's solc 0.8.37 and called on Anvil.
SOLIDITY_LEAVES = [
    (0, bytes(32), bytes(32), "7ad965d27fa7769532e2385a5c698f975ef7a8ec6a4c00362a362470bb437800"),
    (1, bytes(range(32)), bytes(range(32, 64)), "41207ba4cdb8d8541e19aee19829f4216f1cfdb52d02dd4fa235b922cb315b43"),
    (2**256 - 1, b"\xff" * 32, b"\x01" * 32, "550a4f799bafed9c76214f0f5bf7a33873e56a70a5d75efa93ea5d0e3a1d1095"),
]


def test_leaf_domain_is_the_contracts_constant() -> None:
    assert keccak(b"VehicleEvidence.BatchLeaf.v1") == LEAF_DOMAIN
    assert LEAF_DOMAIN.hex() == "0756c56fb8b8aeb603f6e1ef9bb35011b07a046531933846e5fad0e2a06779d4"


@pytest.mark.parametrize(("batch_id", "subject", "digest", "leaf"), SOLIDITY_LEAVES)
def test_batch_leaf_matches_solidity(batch_id: int, subject: bytes, digest: bytes, leaf: str) -> None:
    assert batch_leaf(batch_id, subject, digest).hex() == leaf


@given(st.integers(0, 2**256 - 1), st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_batch_leaf_is_the_double_keccak_of_four_abi_words(batch_id: int, subject: bytes, digest: bytes) -> None:
    words = LEAF_DOMAIN + batch_id.to_bytes(32, "big") + subject + digest
    assert batch_leaf(batch_id, subject, digest) == keccak(keccak(words))


def test_batch_leaf_binds_batch_subject_and_digest() -> None:
    subject, digest = b"\x01" * 32, b"\x02" * 32
    leaf = batch_leaf(7, subject, digest)
    assert leaf != batch_leaf(8, subject, digest)
    assert leaf != batch_leaf(7, digest, subject)
    assert leaf != batch_leaf(7, subject, b"\x03" * 32)


@pytest.mark.parametrize(
    ("batch_id", "subject", "digest", "message"),
    [
        (1, b"\x01" * 31, bytes(32), "subject must be 32 bytes, got 31 bytes"),
        (1, bytes(32), b"\x01" * 33, "digest must be 32 bytes, got 33 bytes"),
        (1, "0x" + "00" * 32, bytes(32), "subject must be 32 bytes, got a str"),
        (-1, bytes(32), bytes(32), "batch_id must be an integer in the uint256 range"),
        (2**256, bytes(32), bytes(32), "uint256 range"),
        (True, bytes(32), bytes(32), "uint256 range"),
    ],
)
def test_batch_leaf_refuses_what_abi_encoding_would_pad_or_reject(
    batch_id: object, subject: object, digest: object, message: str
) -> None:
    with pytest.raises(EncodingError, match=message):
        batch_leaf(batch_id, subject, digest)  # type: ignore[arg-type]


def test_inner_node_cannot_pass_as_a_batch_leaf() -> None:
    records = [(bytes([i]) * 32, bytes([100 + i]) * 32) for i in range(4)]
    leaves = [batch_leaf(5, subject, digest) for subject, digest in records]
    tree = MerkleTree(leaves)
    proof = tree.proof(0)
    inner = node_hash(leaves[0], proof[0])
    # The danger: MerkleProof itself accepts an inner node as a "leaf" with the upper part of a proof ...
    assert verify(proof[1:], tree.root, inner)
    # ... but no record produces it: the contract computes the leaf from (batch, subject, digest), and batch_leaf
    # over the inner node's own 64 bytes, in either order, is a different hash.
    low, high = sorted((leaves[0], proof[0]))
    assert inner == keccak(low + high)
    for batch_id in (0, 5):
        assert batch_leaf(batch_id, low, high) != inner
        assert batch_leaf(batch_id, high, low) != inner
    assert inner not in leaves


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), st.integers(0, 2**64))
def test_batch_leaf_never_equals_the_inner_node_of_the_same_bytes(a: bytes, b: bytes, batch_id: int) -> None:
    assert batch_leaf(batch_id, a, b) != node_hash(a, b)
    assert batch_leaf(batch_id, a, b) != keccak(a + b)


# ------------------------------------------------------------------------------------------------ hashing and proofs


def test_node_hash_is_commutative_and_sorts_the_pair() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert node_hash(a, b) == node_hash(b, a) == keccak(a + b)
    assert node_hash(a, b) != keccak(b + a)


def test_process_proof_hashes_upwards_with_sorted_pairs() -> None:
    leaf, s1, s2 = b"\x09" * 32, b"\x01" * 32, b"\xff" * 32
    expected = keccak(keccak(s1 + leaf) + s2)  # s1 < leaf, then keccak(s1 + leaf) < s2
    assert process_proof([s1, s2], leaf) == expected
    assert verify([s1, s2], expected, leaf)
    assert process_proof([], leaf) == leaf


def test_verify_rejects_malformed_input() -> None:
    with pytest.raises(EncodingError, match="proof element 1 must be 32 bytes"):
        verify([bytes(32), bytes(31)], bytes(32), bytes(32))
    with pytest.raises(EncodingError, match="root must be 32 bytes"):
        verify([], b"", bytes(32))
    with pytest.raises(EncodingError, match="leaf must be 32 bytes"):
        verify([], bytes(32), "00" * 32)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ trees

# From @openzeppelin/merkle-tree's SimpleMerkleTree snapshot tests (seed 0): twelve leaves in the order given, the
# root with the library's default sortLeaves and without it, and a proof from each tree.
OZ_LEAVES = [
    h(x)
    for x in (
        "1d3d2f27573475675df2df1fb427256b05d4fb3c1b60baa7f58e479719daa0aa",
        "46cfb9f0d1f86847e17e8975657bb314b1a3b6bb89e4a55f7d6f4c2fdf0e5422",
        "0229437bdff01e90d3cd2c5dc9d3253d2c13bcb59c0b1caf0862bac2bd829db1",
        "8c11d27a6e9c74765e13271dc8aeae29070438ee6ee872b94347de321c114657",
        "88a73a1171ee3428809bb0a61a2e3c5d1cbf719910d939ae243ec2859fdad36a",
        "aa504056e189fd775322d63793b5a16fa1207441aa1a32439deb249fcdf54c3b",
        "e6c6ce5eb372e601197002c965ee5d050cb2925dbb89822c5c8f27585a9b5a96",
        "9f71c4166a5f935a4bb399392a0e19c8f6f6d70f9a57a5f49b76fd723b694795",
        "223dc038a27b04f90f865157aefbee4e661bdcf6a35cf443f57daae5e6eb3e10",
        "f26f6ac933beb3e3608203578396131902729b62338aae6b4e1a767ae30c8b76",
        "2fac6f51addc8d004b3ff871d87c51837a4d881adb95b2a27820dbcafa94e7b8",
        "c36697399f86481780854e17b7cbc50072efd74da5bfe81a712db493185c82ec",
    )
]


def test_root_and_proof_match_openzeppelin_simple_merkle_tree_sorted() -> None:
    tree = MerkleTree(OZ_LEAVES)
    assert tree.root == h("6e12fdaf4d30f09cb298cbae1fefca45e012f15c4cbe029971591354cb02fb93")
    assert tree.proof(0) == [
        h("0229437bdff01e90d3cd2c5dc9d3253d2c13bcb59c0b1caf0862bac2bd829db1"),
        h("d6032017bee1596c5fb773f5e068cbecf331fec7f8352d6289c6358144e269b2"),
        h("d2d16a5e6aa61d811bf4f049c73845650d6abc8fd29b6b726096cd2ee34cf482"),
        h("7d21ca77f257ea4fdcbdb873e4c3a7b7023504685c9ac265bebe6638ce27da0b"),
    ]


def test_root_and_proof_match_openzeppelin_simple_merkle_tree_unsorted() -> None:
    tree = MerkleTree(OZ_LEAVES, sort_leaves=False)
    assert tree.root == h("e63fd9d6327adc6f47acceb58d2d9842ecd428ec4d6dda7904e6b828bae3c636")
    assert tree.proof(0) == [
        h("46cfb9f0d1f86847e17e8975657bb314b1a3b6bb89e4a55f7d6f4c2fdf0e5422"),
        h("a1323737209d41c02223f1cc9f0a7a7f98f41c1e9f322c0157ee652792dd37f0"),
        h("ecb6d25b86ba91881829508dad368761fd1d4eea38262c3628f8d633b9367a4a"),
        h("41e07ff981b5cbeb9029e61aa3fb1065c569aea5d85e5b9d6125a67aa3396817"),
    ]


def test_three_leaf_tree_layout() -> None:
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    # Complete binary tree: slots [root, inner, c, b, a]; the odd leaf (c) hangs one level up.
    expected = node_hash(node_hash(a, b), c)
    assert MerkleTree([a, b, c]).root == expected
    assert MerkleTree([c, a, b]).root == expected  # sorted first
    assert MerkleTree([a, b, c], sort_leaves=False).root == expected
    assert MerkleTree([c, b, a], sort_leaves=False).root == node_hash(node_hash(c, b), a)
    assert MerkleTree([a, b, c]).proof(2) == [node_hash(a, b)]
    assert MerkleTree([a, b, c]).proof(0) == [b, c]


def test_one_leaf_tree_is_its_own_root_with_an_empty_proof() -> None:
    leaf = batch_leaf(1, bytes(32), bytes(32))
    tree = MerkleTree([leaf])
    assert tree.root == leaf
    assert tree.proof(0) == []
    assert verify([], tree.root, leaf)
    assert not verify([], tree.root, bytes(32))


def test_two_leaf_tree() -> None:
    a, b = b"\xaa" * 32, b"\x11" * 32
    tree = MerkleTree([a, b])
    assert tree.root == keccak(b + a)
    assert tree.proof(0) == [b]
    assert tree.proof_for(b) == [a]


def test_empty_tree_is_an_error() -> None:
    with pytest.raises(EncodingError, match="at least one leaf"):
        MerkleTree([])


def test_duplicate_leaves_are_an_error() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    with pytest.raises(EncodingError, match=r"leaf 2 repeats leaf 0 .*a batch cannot hold one record twice"):
        MerkleTree([a, b, a])


def test_leaves_must_be_32_bytes() -> None:
    with pytest.raises(EncodingError, match="leaf 1 must be 32 bytes, got 20 bytes"):
        MerkleTree([bytes(32), bytes(20)])
    with pytest.raises(EncodingError, match="leaf 0 must be 32 bytes, got a str"):
        MerkleTree(["0x" + "00" * 32])  # type: ignore[list-item]


def test_sorted_tree_root_does_not_depend_on_leaf_order() -> None:
    leaves = [keccak(bytes([i])) for i in range(10)]
    shuffled = leaves[:]
    random.Random(3).shuffle(shuffled)
    assert MerkleTree(leaves).root == MerkleTree(shuffled).root
    assert MerkleTree(leaves, sort_leaves=False).root != MerkleTree(shuffled, sort_leaves=False).root


def test_proofs_index_leaves_in_the_order_given() -> None:
    leaves = [keccak(bytes([i])) for i in range(9)]
    tree = MerkleTree(leaves)
    assert tree.leaves == tuple(leaves)
    assert len(tree) == 9
    assert list(tree) == leaves
    for index, leaf in enumerate(leaves):
        assert leaf in tree
        assert tree.index_of(leaf) == index
        assert tree.proof_for(leaf) == tree.proof(index)
        assert process_proof(tree.proof(index), leaf) == tree.root
    assert tree.proofs() == [tree.proof(i) for i in range(9)]


def test_unknown_leaf_and_bad_index_are_errors() -> None:
    tree = MerkleTree([keccak(b"a"), keccak(b"b")])
    assert keccak(b"c") not in tree
    with pytest.raises(EncodingError, match="is not in this tree"):
        tree.proof_for(keccak(b"c"))
    for index in (-1, 2, True):
        with pytest.raises(EncodingError, match="leaf index must be an integer from 0 to 1"):
            tree.proof(index)


def test_of_records_builds_from_batch_leaves() -> None:
    records = [(bytes([i]) * 32, bytes([i + 50]) * 32) for i in range(5)]
    tree = MerkleTree.of_records(9, records)
    assert tree.leaves == tuple(batch_leaf(9, s, d) for s, d in records)
    assert verify(tree.proof(3), tree.root, batch_leaf(9, *records[3]))
    assert not verify(tree.proof(3), tree.root, batch_leaf(10, *records[3]))


leaf_sets = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=300, unique=True)


@settings(max_examples=40, deadline=None)
@given(leaf_sets, st.booleans(), st.binary(min_size=32, max_size=32))
def test_every_proof_verifies_and_proves_nothing_else(leaves: list[bytes], sort: bool, outsider: bytes) -> None:
    tree = MerkleTree(leaves, sort_leaves=sort)
    count = len(leaves)
    wrong_root = bytes([tree.root[0] ^ 1]) + tree.root[1:]
    for index, leaf in enumerate(leaves):
        proof = tree.proof(index)
        assert len(proof) <= math.ceil(math.log2(count))
        assert verify(proof, tree.root, leaf)
        assert not verify(proof, wrong_root, leaf)
        if count > 1:
            assert not verify(proof, tree.root, leaves[(index + 1) % count])
        if outsider not in leaves:
            assert not verify(proof, tree.root, outsider)


@settings(max_examples=40, deadline=None)
@given(leaf_sets.filter(lambda leaves: len(leaves) > 1), st.data())
def test_a_tampered_proof_never_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = tree.proof(index)
    position = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    tampered = list(proof)
    tampered[position] = (int.from_bytes(proof[position], "big") ^ (1 << bit)).to_bytes(32, "big")
    assert not verify(tampered, tree.root, leaves[index])
    assert not verify(proof[:-1], tree.root, leaves[index])
    assert not verify([*proof, proof[-1]], tree.root, leaves[index])


def test_hundred_thousand_leaves() -> None:
    """A large batch: every sampled proof verifies and proofs stay logarithmic (speed is the benchmark's job)."""
    leaves = [keccak(i.to_bytes(8, "big")) for i in range(100_000)]
    tree = MerkleTree(leaves)
    proofs = tree.proofs()
    assert max(len(proof) for proof in proofs) == 17
    for index in range(0, 100_000, 9_973):
        assert verify(proofs[index], tree.root, leaves[index])
