"""Credentials that change while a client runs, and the TLS context a client presents.

A static token or client certificate is just data in
:class:`~mizzen.client.config.ClientConfig`.  Two kinds of credential are not:

* :class:`FileToken` — a token file that something else rewrites: the
  projected service-account token in a pod (the kubelet replaces it well
  before it expires) or a kubeconfig ``tokenFile``.  It is re-read whenever the file's
  identity (inode, size, mtime) changes, which costs one ``stat`` per request
  and no timer; a projected volume swaps a symlink, so the inode changes.
* :class:`ExecCredentials` — a kubeconfig ``exec`` plugin (cloud login
  helpers, ``kubelogin``) that prints a ``client.authentication.k8s.io``
  ``ExecCredential``.  The token is cached until shortly before its
  ``expirationTimestamp`` (for the process lifetime without one, as the
  protocol says); concurrent requests that find it expired share one plugin
  run, which happens in a worker thread so the event loop keeps serving.

Both are ``async () -> str`` callables, the ``token_provider`` shape, plus an
``invalidate()`` the client calls on a 401 so a token revoked early is
refreshed once before the error is reported (what client-go does for exec
plugins).

:func:`ssl_context` turns the TLS parts of a config into an ``SSLContext``.
Python's ``ssl`` loads a client certificate only from files, so the PEM bytes
are written to a private temporary directory for the duration of the load and
removed at once.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mizzen.client.errors import ConfigError

if TYPE_CHECKING:
    from mizzen.client.config import ClientConfig

__all__ = ["ExecCredentials", "FileToken", "Invalidatable", "parse_timestamp", "ssl_context"]

# Refresh an exec token this long before it expires, so a request never carries a token
# that lapses in flight.
EXPIRY_SKEW = timedelta(seconds=10)


class Invalidatable(Protocol):
    """A token provider that can be told its token was refused."""

    def invalidate(self) -> None: ...


class FileToken:
    """A bearer token read from a file, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signature: tuple[int, int, int] | None = None
        self._token: str | None = None

    def read(self) -> str:
        """The current token (re-reading the file if it changed); raises ConfigError."""
        try:
            st = os.stat(self.path)
            signature = (st.st_ino, st.st_size, st.st_mtime_ns)
            if signature != self._signature or self._token is None:
                token = self.path.read_text(encoding="utf-8").strip()
                if not token:
                    raise ConfigError(f"token file {self.path} is empty")
                self._token, self._signature = token, signature
        except OSError as exc:
            if self._token is not None:
                return self._token  # mid-rotation; the old token is still the best we have
            raise ConfigError(f"cannot read token file {self.path}: {exc}") from exc
        return self._token

    async def __call__(self) -> str:
        return self.read()

    def invalidate(self) -> None:
        self._signature = None


class ExecCredentials:
    """An exec plugin's token, cached until it expires.

    ``run`` executes the plugin once, synchronously, and returns the
    ``status`` of its ExecCredential; ``now`` is the wall clock expiry is
    compared against.  :meth:`prime` stores a status obtained elsewhere (the
    config loader runs the plugin once up front to learn what it returns).
    """

    def __init__(self, run: Callable[[], dict[str, Any]],
                 now: Callable[[], datetime] | None = None) -> None:
        self._run = run
        self._now = now or (lambda: datetime.now(UTC))
        self._token: str | None = None
        self._expiry: datetime | None = None
        self._lock = asyncio.Lock()
        self.runs = 0

    def prime(self, status: dict[str, Any]) -> None:
        token = status.get("token")
        if not isinstance(token, str) or not token:
            raise ConfigError("exec plugin returned no token")
        expiry = status.get("expirationTimestamp")
        self._token = token
        self._expiry = parse_timestamp(expiry) if isinstance(expiry, str) and expiry else None

    def fetch(self) -> dict[str, Any]:
        """Run the plugin now (blocking) and return its status; counts in :attr:`runs`."""
        self.runs += 1
        return self._run()

    def _valid(self) -> bool:
        if self._token is None:
            return False
        return self._expiry is None or self._now() < self._expiry - EXPIRY_SKEW

    async def __call__(self) -> str:
        if self._valid():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._valid():
                self.prime(await asyncio.to_thread(self.fetch))
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        self._token = None


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp (``2024-01-01T00:00:00Z``) as an aware datetime."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError(f"invalid timestamp {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ssl_context(config: ClientConfig) -> ssl.SSLContext:
    """Verify the server against the config's CA (system CAs without one); present the
    client certificate if there is one."""
    try:
        if config.ca_data and not config.insecure:
            ctx = ssl.create_default_context(cadata=config.ca_data.decode("ascii"))
        else:
            ctx = ssl.create_default_context()
        if config.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"invalid certificate authority data: {exc}") from exc
    if config.client_cert or config.client_key:
        if not (config.client_cert and config.client_key):
            raise ConfigError("a client certificate needs both the certificate and the key")
        with tempfile.TemporaryDirectory(prefix="mizzen-tls-") as tmp:
            cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            for path, data in ((cert, config.client_cert), (key, config.client_key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
            try:
                ctx.load_cert_chain(cert, key)
            except ssl.SSLError as exc:
                raise ConfigError(f"invalid client certificate or key: {exc}") from exc
    return ctx
