"""Image references, imageIDs, containerIDs and per-node pod IP pools."""

from __future__ import annotations

import re

import pytest

from mizzen.cluster.kubelet.identity import (
    IpPool,
    PoolExhausted,
    container_id,
    image_id,
    normalise,
    repository,
)

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.mark.parametrize(("ref", "repo", "full"), [
    ("nginx", "docker.io/library/nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.25", "docker.io/library/nginx", "docker.io/library/nginx:1.25"),
    ("bitnami/redis:7", "docker.io/bitnami/redis", "docker.io/bitnami/redis:7"),
    ("quay.io/org/app:v1", "quay.io/org/app", "quay.io/org/app:v1"),
    ("localhost:5000/app:v2", "localhost:5000/app", "localhost:5000/app:v2"),
    ("localhost/app", "localhost/app", "localhost/app:latest"),
])
def test_references_are_qualified_as_a_runtime_reports_them(ref: str, repo: str,
                                                            full: str) -> None:
    assert repository(ref) == repo
    assert normalise(ref) == full


def test_image_ids_are_deterministic_per_reference() -> None:
    first = image_id("nginx:1.25")
    repo, _, digest = first.partition("@sha256:")
    assert repo == "docker.io/library/nginx" and HEX64.match(digest)
    assert image_id("nginx:1.25") == first == image_id("docker.io/library/nginx:1.25")
    assert image_id("nginx:1.26") != first
    assert image_id("nginx") == image_id("nginx:latest")


def test_a_reference_by_digest_keeps_its_digest() -> None:
    digest = "sha256:" + "ab" * 32
    assert image_id(f"nginx:1.25@{digest}") == f"docker.io/library/nginx@{digest}"
    assert image_id(f"nginx:1.26@{digest}") == image_id(f"nginx:1.25@{digest}")


def test_container_ids_differ_per_instance() -> None:
    one, two = container_id("uid", "app", 1), container_id("uid", "app", 2)
    assert one.startswith("mizzen-sim://") and HEX64.match(one.removeprefix("mizzen-sim://"))
    assert one != two and one == container_id("uid", "app", 1)
    assert container_id("other", "app", 1) != one


def test_addresses_are_unique_lowest_first_and_reused_after_release() -> None:
    pool = IpPool("10.244.3.0/24")
    assert pool.capacity == 253  # .2 to .254
    first, second, third = pool.allocate(), pool.allocate(), pool.allocate()
    assert (first, second, third) == ("10.244.3.2", "10.244.3.3", "10.244.3.4")
    pool.release(second)
    assert pool.allocate() == second
    assert pool.allocate() == "10.244.3.5"
    assert len(pool) == 4


def test_reserve_keeps_a_reported_address() -> None:
    pool = IpPool("10.244.0.0/24")
    assert pool.reserve("10.244.0.7") and pool.in_use("10.244.0.7")
    assert not pool.reserve("10.244.0.7")  # taken
    assert not pool.reserve("10.244.1.7")  # another node's range
    assert not pool.reserve("10.244.0.1")  # the bridge
    assert not pool.reserve("not-an-ip")
    assert [pool.allocate() for _ in range(6)][-1] == "10.244.0.8"  # .7 skipped


def test_an_exhausted_pool_says_so() -> None:
    pool = IpPool("10.244.0.0/30")  # .2 only
    assert pool.allocate() == "10.244.0.2"
    with pytest.raises(PoolExhausted):
        pool.allocate()
    pool.release("10.244.0.2")
    pool.release("10.244.0.2")  # twice is harmless
    assert pool.allocate() == "10.244.0.2"
