"""Writing key material to disk so that it is never torn and never readable by others.

Private keys, tokens and kubeconfigs share three needs, whoever writes them:

* :func:`write_atomic` — the bytes land in a temp file in the same directory
  (created 0600 by ``mkstemp``, then set to the wanted mode before anything
  is written) and are moved over the target with ``os.replace``, so a crash
  leaves the old file or the new one, never half of either, and a secret is
  never wider than 0600 even for an instant;
* :func:`tighten` — a secret whose mode a user widened is narrowed again on
  the next start instead of staying world-readable;
* :func:`locked` — processes sharing a directory take an exclusive ``flock``
  on a lock file in it, so two of them cannot mint two CAs at once.

:func:`server_context` and :func:`load_pair` are where the files meet
``ssl``: one TLS policy for every server (1.2 or later, HTTP/1.1 over ALPN,
since aiohttp speaks nothing else), and a way to load PEM bytes held in memory,
which ``ssl`` reads only from files, through a private temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "PRIVATE",
    "PUBLIC",
    "load_pair",
    "locked",
    "server_context",
    "tighten",
    "write_atomic",
]

PRIVATE = 0o600  # keys, tokens, kubeconfigs
PUBLIC = 0o644  # certificates


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` (file mode ``mode``) in one step."""
    # mkstemp creates the file 0600, so the content is never wider than that.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def tighten(path: Path) -> None:
    """Drop any group/other permission bits a user may have added to a secret."""
    if path.stat().st_mode & 0o077:
        os.chmod(path, PRIVATE)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created 0600) for the ``with`` block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def load_pair(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """Load a serving pair held in memory into ``ctx`` (new handshakes use it)."""
    with tempfile.TemporaryDirectory(prefix="mizzen-pki-") as tmp:
        cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        write_atomic(cert, cert_pem, PRIVATE)
        write_atomic(key, key_pem, PRIVATE)
        ctx.load_cert_chain(certfile=cert, keyfile=key)


def server_context() -> ssl.SSLContext:
    """A server-side context (TLS 1.2 or later, HTTP/1.1 over ALPN), no pair loaded yet."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # aiohttp speaks HTTP/1.1 only; clients offering h2 settle on it at once.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
