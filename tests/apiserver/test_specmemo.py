"""The spec-text memo that defaulting and validation share the design of (specmemo)."""

from __future__ import annotations

from mizzen.apiserver.specmemo import SpecMemo

POD = ("", "v1", "Pod")


def test_equal_specs_share_a_key_and_types_keep_them_apart() -> None:
    memo: SpecMemo[str] = SpecMemo(4, 1024)
    key = memo.key(POD, {"replicas": 1})
    assert key is not None and key == memo.key(POD, {"replicas": 1})
    assert key != memo.key(POD, {"replicas": 1.0})
    assert key != memo.key(POD, {"replicas": True})
    assert key != memo.key(("apps", "v1", "Deployment"), {"replicas": 1})


def test_what_cannot_be_kept_has_no_key() -> None:
    memo: SpecMemo[str] = SpecMemo(4, 16)
    assert memo.key(POD, None) is None
    assert memo.key(POD, ["not", "an", "object"]) is None
    assert memo.key(POD, {"n": 2 ** 70}) is None  # beyond JSON's 64-bit integers
    assert memo.key(POD, {"image": "x" * 32}) is None  # over max_bytes


def test_the_oldest_entry_leaves_first() -> None:
    memo: SpecMemo[int] = SpecMemo(2, 1024)
    keys = [key for i in range(3) if (key := memo.key(POD, {"i": i})) is not None]
    for i, key in enumerate(keys):
        memo.remember(key, i)
    assert len(memo) == 2 and keys[0] not in memo and memo[keys[1]] == 1
