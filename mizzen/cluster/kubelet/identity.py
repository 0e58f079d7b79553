"""What the simulated runtime hands out: image IDs, container IDs and pod IPs.

**Images.**  A real runtime resolves ``nginx:1.25`` to ``docker.io/library/nginx``
and reports the digest it pulled as ``imageID``.  The simulator has no
registry, so the digest is the SHA-256 of the normalised reference: the same
reference always gives the same ``imageID`` (tests and benchmarks are
reproducible), a new tag gives a new one (what in-place update controllers
watch for), and a reference that already names a digest (``app@sha256:…``)
keeps it — so two tags of one digest share an ``imageID``, as on a real node.
:func:`repository` decides "same repository as before", which makes an
in-place update to a new tag cost ``pull_cached_layers`` instead of ``pull``.

**Containers.**  IDs derive from the pod UID, the container name and the
instance number, so every restart shows a new ``containerID``.

**Pod IPs.**  One :class:`IpPool` per node, carved from its ``spec.podCIDR``:
the lowest free host address (``.1`` is the node's bridge, as with the usual
bridge plugins), so addresses are unique per node — and cluster-wide, since
node ranges do not overlap — and reused once the pod holding one is deleted.
A kubelet restarting over existing pods *reserves* the addresses their status
reports, so no running pod changes its IP.  Pools are plain state of the
kubelet simulator, used between awaits on one event loop: no locks.
"""

from __future__ import annotations

import hashlib
import ipaddress

__all__ = ["IpPool", "PoolExhausted", "container_id", "image_id", "normalise", "repository"]

_DEFAULT_REGISTRY = "docker.io"
RUNTIME_SCHEME = "mizzen-sim://"


def _split(ref: str) -> tuple[str, str, str]:
    """(repository as written, tag or "", digest or "")."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def repository(ref: str) -> str:
    """The fully qualified repository: ``nginx:1.25`` -> ``docker.io/library/nginx``."""
    name, _, _ = _split(ref.strip())
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return name
    if not sep:
        return f"{_DEFAULT_REGISTRY}/library/{name}"
    return f"{_DEFAULT_REGISTRY}/{name}"


def normalise(ref: str) -> str:
    """The fully qualified reference (``latest`` when no tag or digest is given)."""
    _, tag, digest = _split(ref.strip())
    if digest:
        return f"{repository(ref)}@{digest}"
    return f"{repository(ref)}:{tag or 'latest'}"


def image_id(ref: str) -> str:
    """``<repository>@sha256:<64 hex>``, derived from the reference (or its own digest)."""
    _, _, digest = _split(ref.strip())
    if not digest:
        digest = "sha256:" + hashlib.sha256(normalise(ref).encode()).hexdigest()
    return f"{repository(ref)}@{digest}"


def container_id(pod_uid: str, name: str, instance: int) -> str:
    """``mizzen-sim://<64 hex>`` for the ``instance``-th start of a container of a pod."""
    digest = hashlib.sha256(f"{pod_uid}/{name}/{instance}".encode()).hexdigest()
    return RUNTIME_SCHEME + digest


class PoolExhausted(Exception):
    """Every address of the node's range is in use."""


class IpPool:
    """The free and used pod addresses of one node's range."""

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr
        net = ipaddress.ip_network(cidr, strict=False)
        self._base = int(net.network_address)
        # Usable offsets: skip the network address and the bridge (.1), and the
        # broadcast address of IPv4 ranges.
        last = net.num_addresses - (1 if net.version == 4 else 0)
        self._offsets = range(2, max(last, 2))
        self._version = net.version
        self._used: set[int] = set()
        self._next = 0  # index into _offsets where the search for a free one starts

    def __len__(self) -> int:
        """Addresses in use."""
        return len(self._used)

    @property
    def capacity(self) -> int:
        return len(self._offsets)

    def _address(self, offset: int) -> str:
        return str(ipaddress.ip_address(self._base + offset))

    def _offset(self, address: str) -> int | None:
        try:
            offset = int(ipaddress.ip_address(address)) - self._base
        except ValueError:
            return None
        return offset if offset in self._offsets else None

    def allocate(self) -> str:
        """The lowest free address; raises :class:`PoolExhausted` when none is left."""
        for i in range(self._next, len(self._offsets)):
            offset = self._offsets[i]
            if offset not in self._used:
                self._used.add(offset)
                self._next = i + 1
                return self._address(offset)
        raise PoolExhausted(f"no free pod address in {self.cidr}")

    def reserve(self, address: str) -> bool:
        """Mark ``address`` used (a pod that already has it); ``False`` if it is not in
        this range or is taken."""
        offset = self._offset(address)
        if offset is None or offset in self._used:
            return False
        self._used.add(offset)
        return True

    def release(self, address: str) -> None:
        """Return ``address`` to the pool (no-op if it is not from this pool)."""
        offset = self._offset(address)
        if offset is not None and offset in self._used:
            self._used.discard(offset)
            self._next = min(self._next, self._offsets.index(offset))

    def in_use(self, address: str) -> bool:
        offset = self._offset(address)
        return offset is not None and offset in self._used
