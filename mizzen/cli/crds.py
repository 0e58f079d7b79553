"""Installing Mizzen's CRDs into a cluster: ``mizzen up`` at start, ``mizzen install-crds`` by hand.

Why shaped so: the CRDs come from one source (:func:`mizzen.api.crds.all_crds`),
and installing them must be repeatable — every ``mizzen up`` re-applies them
so an upgraded Mizzen serves its newer schemas.  One field is not ours to
reset: ``spec.conversion``, which the webhook registration points at the
running webhook server (with its CA bundle).  An update therefore keeps the
cluster's conversion block and replaces the rest of the spec.  Installing
waits until every CRD is ``Established``, so the first request for a custom
resource right after start-up does not meet a 404.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mizzen.api.crds import all_crds
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import CRDS
from mizzen.runtime.cache import copy_of

__all__ = ["established", "install_crds"]

Obj = dict[str, Any]


def established(crd: Obj) -> bool:
    """The CRD's ``Established`` condition is True."""
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or ())


async def _install_one(client: Client, crd: Obj) -> Obj:
    name = crd["metadata"]["name"]
    for _ in range(5):
        try:
            current = await client.get(CRDS, name)
        except ApiError as exc:
            if not exc.not_found:
                raise
            try:
                return await client.create(CRDS, crd)
            except ApiError as exc2:
                if exc2.already_exists:
                    continue
                raise
        desired = copy_of(crd)
        desired["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        conversion = (current.get("spec") or {}).get("conversion")
        if conversion is not None:
            desired["spec"]["conversion"] = conversion
        if desired["spec"] == current.get("spec") and \
                desired["metadata"].get("labels") == current["metadata"].get("labels"):
            return current
        try:
            return await client.update(CRDS, desired)
        except ApiError as exc:
            if not exc.conflict:
                raise
    raise RuntimeError(f"could not install CRD {name}: it kept changing")


async def install_crds(client: Client, *, timeout: float = 30.0) -> list[str]:
    """Create or update every Mizzen CRD and wait until each is Established."""
    names = []
    for crd in all_crds():
        await _install_one(client, crd)
        names.append(str(crd["metadata"]["name"]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for name in names:
        while not established(await client.get(CRDS, name)):
            if loop.time() > deadline:
                raise TimeoutError(f"CRD {name} is not Established after {timeout:.0f}s")
            await asyncio.sleep(0.05)
    return names
