"""Leader election on a coordination.k8s.io/v1 Lease, as client-go does it.

Several replicas of a manager run; only the one holding the Lease runs
controllers.  The Lease's ``spec`` is the record: ``holderIdentity``,
``leaseDurationSeconds``, ``acquireTime``/``renewTime`` (MicroTime,
``2006-01-02T15:04:05.000000Z``) and ``leaseTransitions``.

**Trying** (:meth:`LeaderElector._try_acquire_or_renew`) is GET, then:

* 404 — create the Lease naming ourselves (losing a create race is a no);
* held by someone else and not expired — no;
* otherwise (ours, expired, or released with an empty holder) — PUT the new
  record with the GET's resourceVersion, so of two candidates seeing the same
  expired Lease exactly one wins and the other gets 409 Conflict.

**Expiry is judged on our own clock**, never by comparing ``renewTime`` with
our wall clock: a record counts as expired when it has not changed for
``lease_duration`` seconds of our monotonic time since we first saw it.
Clock skew between replicas therefore cannot make two of them leaders.

**Timing** (client-go defaults 15 s / 10 s / 2 s, all configurable): a
candidate retries every ``retry_period`` (jittered up to 2.2x so replicas
do not move in lockstep); the leader renews every ``retry_period`` and,
if it cannot renew for ``renew_deadline`` seconds, gives up — before any
other replica may consider the Lease expired, since ``renew_deadline <
lease_duration``.  On giving up, or when :meth:`LeaderElector.run` is cancelled,
the leading task is cancelled first.  With ``release_on_cancel`` a cancelled
leader also writes an empty holder with a 1 s duration so a successor takes
over within one retry period instead of waiting for expiry.

:meth:`LeaderElector.run` campaigns, runs the ``leading`` coroutine while it
holds the Lease, and returns when leadership ends; the manager loops it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import LEASES
from mizzen.runtime.clock import Clock, with_timeout
from mizzen.runtime.metrics import RuntimeMetrics

__all__ = ["MICROTIME_FORMAT", "LeaderElectionConfig", "LeaderElector", "LeaderRecord"]

log = logging.getLogger(__name__)

MICROTIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
JITTER = 1.2  # client-go's JitterFactor: waits are retry_period * [1, 1 + JITTER)


def microtime(t: datetime) -> str:
    return t.strftime(MICROTIME_FORMAT)


@dataclass(frozen=True)
class LeaderElectionConfig:
    """Which Lease, who we are, and the timing (seconds)."""

    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError("leader election needs a non-empty identity")
        if not self.lease_duration > self.renew_deadline > 0:
            raise ValueError("need lease_duration > renew_deadline > 0")
        if not self.renew_deadline > JITTER * self.retry_period > 0:
            raise ValueError("need renew_deadline > 1.2 * retry_period > 0")


@dataclass(frozen=True)
class LeaderRecord:
    """The election state kept in a Lease's spec."""

    holder: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str = ""
    renew_time: str = ""
    transitions: int = 0

    @classmethod
    def from_lease(cls, lease: dict[str, Any]) -> LeaderRecord:
        spec = lease.get("spec") or {}
        return cls(str(spec.get("holderIdentity") or ""),
                   int(spec.get("leaseDurationSeconds") or 0),
                   str(spec.get("acquireTime") or ""), str(spec.get("renewTime") or ""),
                   int(spec.get("leaseTransitions") or 0))

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"holderIdentity": self.holder,
                                "leaseDurationSeconds": self.lease_duration_seconds,
                                "leaseTransitions": self.transitions}
        if self.acquire_time:
            spec["acquireTime"] = self.acquire_time
        if self.renew_time:
            spec["renewTime"] = self.renew_time
        return spec


class LeaderElector:
    """Campaigns for one Lease and runs a coroutine while holding it."""

    def __init__(self, client: Client, config: LeaderElectionConfig, clock: Clock, *,
                 metrics: RuntimeMetrics | None = None, rng: random.Random | None = None,
                 on_new_leader: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.config = config
        self._clock = clock
        self._metrics = metrics
        self._rng = rng if rng is not None else random.Random()
        self._on_new_leader = on_new_leader
        self._observed: LeaderRecord | None = None
        self._observed_at = 0.0
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def leader(self) -> str:
        """The holder we last saw ("" if none or not yet looked)."""
        return self._observed.holder if self._observed is not None else ""

    async def run(self, leading: Callable[[], Awaitable[None]]) -> None:
        """Acquire the Lease, run ``leading()`` while renewing it; return when it ends.

        Leadership ends when renewing fails for ``renew_deadline`` (``leading``
        is cancelled), when ``leading`` returns, or when ``run`` is cancelled.
        An exception from ``leading`` is re-raised after the Lease is released.
        """
        cfg = self.config
        while not await self._try_acquire_or_renew():
            await self._clock.sleep(cfg.retry_period * (1 + JITTER * self._rng.random()))
        log.info("%s: acquired lease %s/%s", cfg.identity, cfg.namespace, cfg.name)
        self._set_leading(True)
        task = asyncio.ensure_future(leading())
        cancelled = False
        try:
            await self._renew_until_lost(task)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self._set_leading(False)
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            if cfg.release_on_cancel or not cancelled:
                await self._release()
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error

    # -- internals -------------------------------------------------------------------

    def _set_leading(self, leading: bool) -> None:
        self._leading = leading
        if self._metrics is not None:
            self._metrics.set_leader(self.config.name, leading)

    async def _renew_until_lost(self, task: asyncio.Future[None]) -> None:
        cfg = self.config
        while True:
            pause = asyncio.ensure_future(self._clock.sleep(cfg.retry_period))
            await asyncio.wait((task, pause), return_when=asyncio.FIRST_COMPLETED)
            pause.cancel()
            if task.done():
                return
            deadline = self._clock.monotonic() + cfg.renew_deadline
            while True:
                remaining = deadline - self._clock.monotonic()
                try:
                    if remaining > 0 and await with_timeout(
                            self._clock, self._try_acquire_or_renew(), remaining):
                        break
                except TimeoutError:
                    pass
                if self._clock.monotonic() >= deadline:
                    log.warning("%s: could not renew lease %s/%s within %.1fs; stepping down",
                                cfg.identity, cfg.namespace, cfg.name, cfg.renew_deadline)
                    return
                await self._clock.sleep(cfg.retry_period)

    def _observe(self, record: LeaderRecord) -> None:
        if record != self._observed:
            if self._observed is None or record.holder != self._observed.holder:
                if self._on_new_leader is not None and record.holder:
                    self._on_new_leader(record.holder)
            self._observed = record
            self._observed_at = self._clock.monotonic()

    async def _try_acquire_or_renew(self) -> bool:
        cfg = self.config
        now = microtime(self._clock.now())
        mine = LeaderRecord(cfg.identity, max(1, math.ceil(cfg.lease_duration)), now, now, 0)
        try:
            lease = await self.client.get(LEASES, cfg.name, cfg.namespace)
        except ApiError as exc:
            if not exc.not_found:
                log.warning("%s: reading lease: %s", cfg.identity, exc)
                return False
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                    "spec": mine.to_spec()}
            try:
                await self.client.create(LEASES, body, cfg.namespace)
            except Exception as err:
                log.info("%s: creating lease: %s", cfg.identity, err)
                return False
            self._observe(mine)
            return True
        except Exception as exc:
            log.warning("%s: reading lease: %s: %s", cfg.identity, type(exc).__name__, exc)
            return False
        old = LeaderRecord.from_lease(lease)
        self._observe(old)
        expired = self._observed_at + cfg.lease_duration <= self._clock.monotonic()
        if old.holder and old.holder != cfg.identity and not expired:
            return False
        if old.holder == cfg.identity:
            new = replace(mine, acquire_time=old.acquire_time or now,
                          transitions=old.transitions)
        else:
            new = replace(mine, transitions=old.transitions + 1)
        return await self._put(lease, new)

    async def _put(self, lease: dict[str, Any], record: LeaderRecord) -> bool:
        body = {**lease, "spec": {**(lease.get("spec") or {}), **record.to_spec()}}
        try:
            await self.client.update(LEASES, body)
        except ApiError as exc:
            if not exc.conflict:
                log.warning("%s: updating lease: %s", self.config.identity, exc)
            return False
        except Exception as exc:
            log.warning("%s: updating lease: %s: %s", self.config.identity,
                        type(exc).__name__, exc)
            return False
        self._observe(record)
        return True

    async def _release(self) -> None:
        """Hand the Lease back (empty holder, 1 s) if we still hold it."""
        cfg = self.config
        try:
            lease = await self.client.get(LEASES, cfg.name, cfg.namespace)
        except Exception as exc:
            log.info("%s: releasing lease: %s", cfg.identity, exc)
            return
        old = LeaderRecord.from_lease(lease)
        if old.holder != cfg.identity:
            return
        now = microtime(self._clock.now())
        if await self._put(lease, LeaderRecord("", 1, now, now, old.transitions)):
            log.info("%s: released lease %s/%s", cfg.identity, cfg.namespace, cfg.name)
