"""The names a serving certificate answers to, as one comparable value.

A caller hands over a loose list of strings (``"10.0.0.7"``, ``"[fd00::1]"``,
``"API.example.test."``) and later has to ask "does the certificate on disk
already cover these?".  That question is only answerable when both sides are
in one normal form, so :class:`Hosts` splits names into DNS names (lower case,
no trailing dot) and IP addresses (parsed, brackets and IPv6 zone ids
dropped, since a certificate cannot carry a zone).  The same value reads a
certificate's SubjectAlternativeName back (:meth:`Hosts.of`) and writes one
(:meth:`Hosts.san`), so a certificate issued for some hosts always covers
them when it is read again, and re-issuing never flip-flops between lists.

Loopback names are always included: both servers that own a PKI here (the API
server and the webhook server) are dialled on loopback by the embedded
control plane.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509

__all__ = ["LOOPBACK", "Hosts", "IPAddr"]

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

# Always in a serving certificate: the embedded control plane dials loopback.
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class Hosts:
    """A set of DNS names and IP addresses in normal form."""

    dns: frozenset[str]  # lower case, no trailing dot
    ips: frozenset[IPAddr]  # without an IPv6 zone id

    @classmethod
    def none(cls) -> Hosts:
        """The empty set: what an unreadable certificate carries."""
        return cls(frozenset(), frozenset())

    @classmethod
    def parse(cls, hosts: Sequence[str], *, always: Iterable[str] = LOOPBACK) -> Hosts:
        """``hosts`` plus ``always`` in normal form; blank entries are skipped.

        A bare ``str`` is refused: it is a sequence of one-letter host names,
        which is never what the caller meant.
        """
        if isinstance(hosts, str):
            raise TypeError("hosts must be a sequence of host names, not a str")
        dns: set[str] = set()
        ips: set[IPAddr] = set()
        for raw in (*always, *hosts):
            host = raw.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
            if not host:
                continue
            try:
                ips.add(ipaddress.ip_address(host))
            except ValueError:
                dns.add(host.lower().rstrip("."))
        return cls(frozenset(dns), frozenset(ips))

    @classmethod
    def of(cls, cert: x509.Certificate) -> Hosts:
        """The names in ``cert``'s SubjectAlternativeName (none without one)."""
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return cls.none()
        ips = [
            ip
            for ip in san.get_values_for_type(x509.IPAddress)
            if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
        ]
        dns = (n.lower() for n in san.get_values_for_type(x509.DNSName))
        return cls(frozenset(dns), frozenset(ips))

    def covers(self, other: Hosts) -> bool:
        """Whether every name of ``other`` is also one of ours."""
        return other.dns <= self.dns and other.ips <= self.ips

    def union(self, other: Hosts) -> Hosts:
        return Hosts(self.dns | other.dns, self.ips | other.ips)

    def san(self) -> x509.SubjectAlternativeName:
        """The extension for a certificate: DNS names sorted, then IPv4, then IPv6."""
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(self.dns)]
        names += [x509.IPAddress(ip) for ip in sorted(self.ips, key=lambda a: (a.version, a))]
        return x509.SubjectAlternativeName(names)

    def describe(self) -> str:
        """One line for a log message: ``"localhost, 127.0.0.1, ::1"``."""
        return ", ".join([*sorted(self.dns), *sorted(str(ip) for ip in self.ips)])
