"""When an in-place update is done: the kubelet runs every updated container's new image.

Upstream's test (``defaultCheckContainersInPlaceUpdateCompleted``), kept:
each container recorded in ``lastContainerStatuses`` must report an
``imageID`` different from the recorded one — or, for an image whose digest
did not change (a new tag of the same image), report the spec's image — and
every recorded container must appear in the status.  Mizzen adds "and it is
running": the simulated kubelet (like a real one) keeps reporting the
previous instance's image while the new one is being created, and a
container that is not running yet is not an update that worked.

A resized container (vertical scaling) is done when its reported
``resources`` equal the spec's cpu/memory requests and limits.

:func:`completion` also waits for a grace period to end and for every batch
to be written; :func:`containers_completion` judges only the batches written
so far (what gates the next batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mizzen.cluster.kubelet.identity import normalise
from mizzen.workloads.inplace.qos import same_quantities
from mizzen.workloads.inplace.state import (
    InPlaceUpdateState,
    PendingSpec,
    StateError,
    read_grace,
    read_state,
)

__all__ = ["Completion", "completion", "containers_completion", "parsed_completion", "same_image"]


@dataclass(frozen=True)
class Completion:
    """Whether an in-place update is done, and if not, what it waits for."""

    # True: nothing left to wait for (also when no update was ever recorded).
    done: bool
    # What it waits for (or why it is done), for conditions and events.
    message: str = ""


def same_image(spec_image: str, status_image: str) -> bool:
    """Whether a reported image is the spec's (``nginx`` == ``docker.io/library/nginx:latest``)."""
    return spec_image == status_image or normalise(spec_image) == normalise(status_image)


def _container_problem(name: str, spec: Mapping[str, Any], status: Mapping[str, Any],
                       image_id: str, resources: Mapping[str, Any] | None) -> str | None:
    image = str(spec.get("image") or "")
    reported = str(status.get("image") or "")
    if str(status.get("imageID") or "") == image_id and not same_image(image, reported):
        return f"container {name} still runs imageID {image_id or '(none)'} ({reported})"
    state = status.get("state") or {}
    if "running" not in state:
        why = ((state.get("waiting") or {}).get("reason")
               or ("terminated" if "terminated" in state else "no state"))
        return f"container {name} is not running yet ({why})"
    if resources is not None:
        have = status.get("resources")
        want = spec.get("resources") or {}
        if not isinstance(have, dict):
            return f"container {name} has not reported its resources"
        for kind in ("requests", "limits"):
            if not same_quantities(want.get(kind), have.get(kind)):
                return f"container {name} still reports its old resources.{kind}"
    return None


def containers_completion(pod: Mapping[str, Any], state: InPlaceUpdateState) -> Completion:
    """Whether every container patched so far (``lastContainerStatuses``) runs its update."""
    specs = {str(c.get("name")): c for c in (pod.get("spec") or {}).get("containers") or ()}
    statuses = {str(s.get("name")): s
                for s in (pod.get("status") or {}).get("containerStatuses") or ()}
    for name in sorted(state.last_container_statuses):
        record = state.last_container_statuses[name]
        status = statuses.get(name)
        if status is None:
            return Completion(False, f"container {name} has no status yet")
        problem = _container_problem(name, specs.get(name) or {}, status, record.image_id,
                                     record.resources)
        if problem is not None:
            return Completion(False, problem)
    return Completion(True, "updated containers run their new spec")


def completion(pod: Mapping[str, Any]) -> Completion:
    """Whether the pod's in-place update is done: no grace period left, every batch
    written, every written container running its new image."""
    try:
        grace = read_grace(pod)
        state = read_state(pod)
    except StateError as exc:
        return Completion(False, f"unreadable in-place update annotation: {exc}")
    return parsed_completion(pod, grace, state)


def parsed_completion(pod: Mapping[str, Any], grace: PendingSpec | None,
                      state: InPlaceUpdateState | None) -> Completion:
    """:func:`completion` from the pod's annotations already read (``read_grace``,
    ``read_state``), for callers that need them for more than this."""
    if grace is not None:
        return Completion(False, f"in the grace period ({grace.grace_seconds}s) of the "
                                 f"update to {grace.revision}")
    if state is None:
        return Completion(True, "no in-place update recorded")
    if state.has_next_batch:
        waiting = sorted({*state.next_container_images, *state.next_container_ref_metadata,
                          *state.next_container_resources})
        return Completion(False, f"containers {', '.join(waiting)} wait for the next batch")
    return containers_completion(pod, state)
