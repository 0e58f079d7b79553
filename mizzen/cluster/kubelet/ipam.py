"""Pod IP addresses: one pool per node, carved from the node's ``spec.podCIDR``.

The simulated CNI hands each pod the lowest free host address of its node's
range (``.1`` is the node's bridge, as with the usual bridge plugins), so
addresses are unique per node — and cluster-wide, since node ranges do not
overlap — and an address is reused once the pod that held it is deleted.
A kubelet restarting over existing pods *reserves* the addresses their
status already reports, so no running pod changes its IP.

Pools are plain per-node state of the kubelet simulator; every call runs on
the event loop between awaits, so no locking is needed.
"""

from __future__ import annotations

import ipaddress

__all__ = ["IpPool", "PoolExhausted"]


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
