"""Key material on disk (mizzen.pki.files): atomic private writes, tightening, the lock, ssl."""

from __future__ import annotations

import fcntl
import os
import ssl
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mizzen.pki import (
    PRIVATE,
    PUBLIC,
    Authority,
    Hosts,
    load_pair,
    locked,
    server_context,
    tighten,
    write_atomic,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("case", "existing", "wanted"), [
    ("new secret -> 0600", None, PRIVATE),
    ("new certificate -> 0644", None, PUBLIC),
    ("world-readable file replaced by a secret -> 0600", 0o666, PRIVATE),
])
def test_write_atomic(tmp_path: Path, case: str, existing: int | None, wanted: int) -> None:
    path = tmp_path / "file"
    if existing is not None:
        path.write_bytes(b"old")
        path.chmod(existing)
    write_atomic(path, b"new", wanted)
    assert path.read_bytes() == b"new" and mode(path) == wanted
    assert [p.name for p in tmp_path.iterdir()] == ["file"]  # no temp file left


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes", PRIVATE)  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.parametrize(("case", "before", "after"), [
    ("secret left 0600 -> unchanged", 0o600, 0o600),
    ("secret owner-only read -> unchanged", 0o400, 0o400),
    ("secret widened to 0644 -> 0600", 0o644, 0o600),
    ("secret widened to 0640 -> 0600", 0o640, 0o600),
])
def test_tighten(tmp_path: Path, case: str, before: int, after: int) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"s")
    path.chmod(before)
    tighten(path)
    assert mode(path) == after


def test_locked_excludes_other_holders_until_released(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"

    def free() -> bool:  # another open file description, as another process would have
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    with locked(lock):
        assert mode(lock) == PRIVATE
        assert not free()
    assert free()


def test_server_context_and_load_pair() -> None:
    now = datetime.now(UTC)
    ca = Authority.new("test-ca", now)
    pair = ca.issue("leaf", Hosts.parse([]), now)
    ctx = server_context()
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    load_pair(ctx, pair.cert_pem, pair.key_pem)
    with pytest.raises(ssl.SSLError):
        load_pair(ctx, pair.cert_pem, ca.key_pem)  # a key that is not the cert's
