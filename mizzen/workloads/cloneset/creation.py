"""The executor of a create write: a CloneSet's new instances, pods with their PVCs.

Why apart from the controller: creating is the one write with more to it than a request
per object — instance ids drawn (the only random choice, from the controller's seeded
generator), the PVCs of each instance created before its pod (a PVC that exists already
is reused), slow-start batches (1, 2, 4, ... as upstream, so a CloneSet whose pods cannot
be created fails after one pod, not after five hundred), and expectations: every pod and
PVC is expected before its batch is sent, and lowered at once for what fails or is never
sent (no event will come for it).  An Event per pod says what happened.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mizzen.api.cloneset.parse import parse_spec
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import PODS, PVCS
from mizzen.cluster.podutil import BY_CONTROLLER
from mizzen.runtime.events import NORMAL, WARNING
from mizzen.runtime.reconcile import Request
from mizzen.workloads.cloneset.decision import CLONESETS, CloneSetPlan, Event
from mizzen.workloads.cloneset.handlers import Informers, Written
from mizzen.workloads.cloneset.instances import new_instances
from mizzen.workloads.cloneset.revision import template_of
from mizzen.workloads.cloneset.scale import BURST, slow_start_batches

__all__ = ["Creator"]

Obj = dict[str, Any]


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


class Creator:
    """Creates the instances a plan asks for (``Write.CREATE``)."""

    def __init__(self, client: Client, sources: Informers, written: Written,
                 rng: random.Random, now: Callable[[], datetime],
                 event: Callable[[Obj, Event], None]) -> None:
        self.client = client
        self.sources = sources
        self.written = written
        self._rng = rng
        self._now = now
        self._event = event

    async def create(self, request: Request, cs: Obj, decision: CloneSetPlan) -> None:
        ns, uid = request.namespace, str(cs["metadata"]["uid"])
        templates: dict[str, Obj] = {}
        for revision_name, _ in decision.create:
            revision = self.sources.revisions.cache.get(revision_name, ns)
            if revision is None:
                return  # deleted meanwhile: its event brings us back
            templates[revision_name] = template_of(revision)
        bodies = new_instances(cs, parse_spec(cs), decision.create, templates,
                               self.sources.pods.cache.by_index(BY_CONTROLLER, uid),
                               self.sources.pvcs.cache.by_index(BY_CONTROLLER, uid), self._rng,
                               self._now(), CLONESETS.api_version, CLONESETS.kind)
        # A reused id whose old pod is still terminating: created once that pod is gone.
        bodies = [(pod, claims) for pod, claims in bodies
                  if self.sources.pods.cache.get(_name(pod), ns) is None]
        for pod, claims in bodies:
            self.written.pods.expect_create(request, _name(pod))
            if claims:
                self.written.pvcs.expect_create(request, *(_name(c) for c in claims))
        queue = list(bodies)
        for size in slow_start_batches(min(len(queue), BURST)):
            batch, queue = queue[:size], queue[size:]
            results = await asyncio.gather(*(self._one(request, cs, pod, claims)
                                             for pod, claims in batch),
                                           return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                for pod, claims in queue:  # never sent: no event will come
                    self.written.pods.observe_create(request, _name(pod))
                    for claim in claims:
                        self.written.pvcs.observe_create(request, _name(claim))
                raise errors[0]

    async def _one(self, request: Request, cs: Obj, pod: Obj, claims: list[Obj]) -> None:
        ns = request.namespace
        try:
            for claim in claims:
                try:
                    await self.client.create(PVCS, claim, ns)
                except ApiError as exc:
                    if not exc.already_exists:
                        raise
                    self.written.pvcs.observe_create(request, _name(claim))
            await self.client.create(PODS, pod, ns)
        except BaseException as exc:
            self.written.pods.observe_create(request, _name(pod))
            for claim in claims:
                self.written.pvcs.observe_create(request, _name(claim))
            self._event(cs, Event(WARNING, "FailedCreate",
                                  f"failed to create pod {_name(pod)}: {exc}"))
            raise
        self._event(cs, Event(NORMAL, "SuccessfulCreate", f"succeed to create pod {_name(pod)}"))
