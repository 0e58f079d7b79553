"""FNV hashes against published reference vectors, the safe encoding, the canonical form."""

from __future__ import annotations

from mizzen.runtime.hashing import canonical, fnv1_32, fnv1a_32, normalised, safe_encode


def test_fnv1a_matches_the_reference_vectors() -> None:
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_fnv1_matches_the_reference_vectors() -> None:
    assert fnv1_32(b"") == 0x811C9DC5
    assert fnv1_32(b"a") == 0x050C5D7E
    assert fnv1_32(b"foobar") == 0x31F0B262


def test_hashing_continues_from_a_previous_value() -> None:
    assert fnv1a_32(b"bar", fnv1a_32(b"foo")) == fnv1a_32(b"foobar")
    assert fnv1_32(b"bar", fnv1_32(b"foo")) == fnv1_32(b"foobar")


def test_safe_encode_maps_digits_into_the_vowel_free_alphabet() -> None:
    assert safe_encode("0123456789") == "456789bcdf"


def test_empty_members_do_not_change_the_canonical_form() -> None:
    assert normalised({"a": None, "b": {}, "c": [], "d": {"e": None}, "f": [1, {}]}) == \
        {"f": [1, {}]}
    assert canonical({"b": 1, "a": {"x": None}}) == b'{"b":1}'
