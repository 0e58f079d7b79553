"""Host names in normal form (mizzen.pki.hosts): parsing, covering, SAN round trips."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from mizzen.pki import LOOPBACK, Authority, Hosts

NOW = datetime(2030, 1, 1, tzinfo=UTC)
CA = Authority.new("test-ca", NOW)


def hosts(*dns: str, ips: tuple[str, ...] = ()) -> Hosts:
    return Hosts(frozenset(dns), frozenset(ipaddress.ip_address(ip) for ip in ips))


@pytest.mark.parametrize(("case", "given", "dns", "ips"), [
    ("no hosts -> loopback only", [], {"localhost"}, {"127.0.0.1", "::1"}),
    ("an IPv4 address -> an IP name", ["10.0.0.7"], {"localhost"},
     {"127.0.0.1", "::1", "10.0.0.7"}),
    ("a bracketed IPv6 address -> brackets dropped", ["[fd00::7]"], {"localhost"},
     {"127.0.0.1", "::1", "fd00::7"}),
    ("an IPv6 address with a zone id -> zone dropped", ["fe80::1%eth0"], {"localhost"},
     {"127.0.0.1", "::1", "fe80::1"}),
    ("a DNS name in upper case with a trailing dot -> lower case, no dot",
     ["API.Example.Test."], {"localhost", "api.example.test"}, {"127.0.0.1", "::1"}),
    ("blank entries and repeats -> skipped", ["  ", "", "localhost", " 127.0.0.1 "],
     {"localhost"}, {"127.0.0.1", "::1"}),
])
def test_parse(case: str, given: list[str], dns: set[str], ips: set[str]) -> None:
    got = Hosts.parse(given)
    assert got.dns == dns
    assert {str(ip) for ip in got.ips} == ips


def test_parse_without_loopback_and_refusing_a_bare_string() -> None:
    assert Hosts.parse(["a.test"], always=()) == hosts("a.test")
    with pytest.raises(TypeError):
        Hosts.parse("a.test")
    assert set(LOOPBACK) == {"127.0.0.1", "::1", "localhost"}


@pytest.mark.parametrize(("case", "has", "wanted", "covers"), [
    ("same names -> covered", hosts("a", ips=("10.0.0.1",)), hosts("a", ips=("10.0.0.1",)),
     True),
    ("a subset -> covered", hosts("a", "b", ips=("10.0.0.1",)), hosts("b"), True),
    ("nothing wanted -> covered", Hosts.none(), Hosts.none(), True),
    ("a new DNS name -> not covered", hosts("a"), hosts("a", "b"), False),
    ("a new IP -> not covered", hosts("a", ips=("10.0.0.1",)), hosts(ips=("10.0.0.2",)),
     False),
    ("an IP written as a DNS name elsewhere -> not covered", hosts("10.0.0.1"),
     hosts(ips=("10.0.0.1",)), False),
])
def test_covers(case: str, has: Hosts, wanted: Hosts, covers: bool) -> None:
    assert has.covers(wanted) is covers
    assert has.union(wanted).covers(has) and has.union(wanted).covers(wanted)


def test_san_is_sorted_dns_then_ipv4_then_ipv6_and_reads_back_equal() -> None:
    given = Hosts.parse(["z.test", "fd00::2", "10.0.0.9", "a.test", "10.0.0.10"])
    names = [str(n.value) for n in given.san()]
    assert names == ["a.test", "localhost", "z.test", "10.0.0.9", "10.0.0.10", "127.0.0.1",
                     "::1", "fd00::2"]
    assert given.describe() == "a.test, localhost, z.test, 10.0.0.10, 10.0.0.9, 127.0.0.1, " \
                               "::1, fd00::2"
    issued = CA.issue("leaf", given, NOW)
    assert Hosts.of(issued.cert) == given


def test_a_certificate_without_a_san_carries_no_names() -> None:
    assert Hosts.of(CA.cert) == Hosts.none()
