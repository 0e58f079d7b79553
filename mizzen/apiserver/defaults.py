"""Server-side defaults of built-in kinds, as kube-apiserver 1.32 fills them in.

Reading an object back should look as on a real cluster, and ``kubectl diff`` of an
applied manifest should be empty, so every write of a built-in kind passes through
:meth:`Defaulter.apply` before it is validated and stored.  The rules themselves,
one function per kind, are :mod:`~mizzen.apiserver.defaults_rules`; this module is
the entry point, and it remembers what the rules made of recent pod and workload
specs, because a controller sends the same spec again and again (every pod of a
ReplicaSet carries its template's) and defaulting one costs far more than looking
its JSON text up.
"""

from __future__ import annotations

from typing import Any

import orjson

from mizzen.apiserver.defaults_rules import BY_KIND, SPEC_ONLY
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.specmemo import SpecMemo

__all__ = ["REMEMBERED_SPECS", "REMEMBERED_SPEC_BYTES", "Defaulter"]

REMEMBERED_SPECS = 128  # defaulted specs remembered per Defaulter
REMEMBERED_SPEC_BYTES = 32 * 1024  # larger specs are defaulted every time


class Defaulter:
    """Fills in the defaults kube-apiserver sets on create and update, in place.

    Pods and workloads are defaulted from their ``spec`` alone, so the defaulted
    text of recent specs is remembered (:class:`~mizzen.apiserver.specmemo.SpecMemo`):
    a repeat costs a JSON encode and, when defaulting adds anything, a decode into
    a fresh ``spec``.
    """

    def __init__(self, schemas: SchemaSet) -> None:
        self._schemas = schemas
        # spec -> its defaulted text (None: defaulting changes nothing)
        self._specs: SpecMemo[bytes | None] = SpecMemo(REMEMBERED_SPECS, REMEMBERED_SPEC_BYTES)

    def apply(self, info: ResourceInfo, obj: dict[str, Any]) -> None:
        if info.custom or self._schemas.root(info.group, info.version, info.kind) is None:
            return
        kind = (info.group, info.kind)
        rule = BY_KIND.get(kind)
        if rule is None:
            return
        key = self._specs.key((info.group, info.version, info.kind), obj.get("spec")) \
            if kind in SPEC_ONLY else None
        if key is not None and key in self._specs:
            done = self._specs[key]
            if done is not None:
                obj["spec"] = orjson.loads(done)
            return
        rule(obj)
        if key is not None:
            after = orjson.dumps(obj["spec"])
            self._specs.remember(key, None if after == key[1] else after)
