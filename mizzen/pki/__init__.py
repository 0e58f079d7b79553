"""The shared private PKI of Mizzen's TLS servers: host names, a CA, serving certs, files.

The embedded API server (:mod:`mizzen.apiserver.security`) and the webhook
server (:mod:`mizzen.webhook.certs`) each own a self-signed CA and one serving
certificate it signed.  What they share lives here once, in three pieces:

* :mod:`mizzen.pki.hosts` — :class:`Hosts`, host names in a normal form that
  compares with a certificate's SubjectAlternativeName;
* :mod:`mizzen.pki.issue` — :class:`Authority`: minting and loading a CA,
  issuing serving pairs, and the rule for when a pair must be re-issued;
* :mod:`mizzen.pki.files` — atomic private writes, the directory lock, and
  the TLS server context.

What differs stays with each owner: file names and locations, subject names,
what to do with an unusable CA (the API server refuses, since kubeconfigs
trust it; the webhook mints another, since it re-publishes its caBundle), and
the log lines.  This package sits at the bottom of the layers beside
:mod:`mizzen.api`, so any layer may use it and it uses none of them; it does
file I/O, which is why it is not part of :mod:`mizzen.api`.
"""

from __future__ import annotations

from mizzen.pki.files import (
    PRIVATE,
    PUBLIC,
    load_pair,
    locked,
    server_context,
    tighten,
    write_atomic,
)
from mizzen.pki.hosts import LOOPBACK, Hosts, IPAddr
from mizzen.pki.issue import (
    CA_VALIDITY,
    CLOCK_SKEW,
    RENEW_BEFORE,
    SERVING_VALIDITY,
    Authority,
    AuthorityError,
    CertAndKey,
    MismatchedAuthority,
    ServingPair,
    SigningKey,
    UnreadableAuthority,
    key_matches,
    key_pem,
    key_usage,
)

__all__ = [
    "CA_VALIDITY",
    "CLOCK_SKEW",
    "LOOPBACK",
    "PRIVATE",
    "PUBLIC",
    "RENEW_BEFORE",
    "SERVING_VALIDITY",
    "Authority",
    "AuthorityError",
    "CertAndKey",
    "Hosts",
    "IPAddr",
    "MismatchedAuthority",
    "ServingPair",
    "SigningKey",
    "UnreadableAuthority",
    "key_matches",
    "key_pem",
    "key_usage",
    "load_pair",
    "locked",
    "server_context",
    "tighten",
    "write_atomic",
]
