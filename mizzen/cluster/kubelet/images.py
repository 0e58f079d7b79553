"""Image references as a container runtime reports them, and deterministic IDs.

A real runtime resolves ``nginx:1.25`` to ``docker.io/library/nginx`` and reports
the digest it pulled as ``imageID``.  The simulator has no registry, so the
digest is the SHA-256 of the normalised reference: the same reference always
gives the same ``imageID`` (tests and benchmarks are reproducible), a new tag
gives a new one (what in-place update controllers watch for), and a
reference that already names a digest (``app@sha256:…``) keeps it — so two
tags of one digest share an ``imageID``, as on a real node.

Container IDs are likewise derived from the pod UID, the container name and
the instance number, so a restart always shows a new ``containerID``.

:func:`repository` decides "same repository as before", which makes an
in-place update to a new tag cost ``pull_cached_layers`` instead of ``pull``.
"""

from __future__ import annotations

import hashlib

__all__ = ["container_id", "image_id", "normalise", "repository"]

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
