"""``metadata.managedFields``: who owns which fields, maintained on every write.

This is kube-apiserver's field manager (``k8s.io/apimachinery/pkg/util/
managedfields``) over the field sets of :mod:`~mizzen.apiserver.fieldpath`,
hand-written because no maintained Python implementation of
structured-merge-diff exists.  Upstream stacks a dozen small managers; the
ones that change results are folded into two functions here, in upstream's
order:

* :func:`update_managed_fields` for create, update, patch and the ``status``
  and ``scale`` subresources (operation ``Update``).  Which entries it starts
  from: the live object's for a subresource; none if the client sent ``[]``
  or ``[{}]`` (a reset); the client's if they decode and are not empty;
  otherwise the live object's.  An existing object without entries stays
  without them (upstream's skip-non-applied).  Then the writer's entry gains
  every field this write added or changed, every other entry loses them (an
  update always forces) and fields the write removed leave every entry.  The
  entry's ``time`` moves only when it gained fields; identity metadata is
  never owned (strip-meta); over ten ``Update`` entries fold the oldest into
  ``ancient-changes``.  A create with no entries to carry (the common case)
  takes a short cut with the same result: its one entry's FieldsV1 is written
  in one walk of the object (:mod:`~mizzen.apiserver.fieldpath_created`).
* :func:`~mizzen.apiserver.apply.apply_config` (operation ``Apply``) shares
  the core, :func:`changes`.

Entries are keyed as upstream's manager identifiers: ``Update`` entries by
manager, apiVersion and subresource, ``Apply`` entries by manager and
subresource only.  A manager that conflicts is described as upstream's
``printManager`` does (``"kubectl" with subresource "scale" using apps/v1``).

All functions are pure: objects are read, never changed.  Entries read from
the live object stay in their stored FieldsV1 until a whole set is needed
(:class:`Ownership`), so a write that moves a field or two costs a few path
lookups, not a decode and re-encode of every entry; the results may share
those FieldsV1 dicts with the live object, which nothing may mutate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from mizzen.apiserver import fieldpath_v1
from mizzen.apiserver.fieldpath import FieldSet, SchemaView
from mizzen.apiserver.fieldpath_created import STRIP_META, STRIP_ROOT, created_fields_v1
from mizzen.apiserver.fieldpath_walk import Comparison, compare, zero_object
from mizzen.apiserver.objectmeta import parse_time, rfc3339

__all__ = ["APPLY", "STRIP", "UPDATE", "Managed", "ManagerKey", "Ownership", "changes",
           "decode", "encode", "live_managed", "record_update", "reset_fields",
           "set_managed_fields", "transfer", "update_managed_fields", "without_managed_fields"]

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
_FEW = 64  # up to this many paths, edit a stored FieldsV1 rather than decode it
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
CURRENT_OPERATION = "current-operation"

# Fields no manager ever owns (upstream stripMetaManager).
STRIP = FieldSet([(pe,) for pe in STRIP_ROOT] + [("f:metadata", pe) for pe in STRIP_META])
_STATUS = FieldSet.of("status")  # what a main-resource write never owns (field sets are frozen)


class ManagerKey(NamedTuple):
    """Upstream's manager identifier: what makes two managedFields entries the same one.

    A named tuple, not a dataclass: every write hashes and compares a few of
    these as dict keys, and a tuple does both in C.
    """

    manager: str
    operation: str
    api_version: str = ""  # always "" for Apply
    subresource: str = ""

    def identifier(self) -> str:
        """The JSON upstream keys managers by (conflicts are listed in its sort order)."""
        entry: dict[str, str] = {"manager": self.manager, "operation": self.operation}
        if self.api_version:
            entry["apiVersion"] = self.api_version
        if self.subresource:
            entry["subresource"] = self.subresource
        return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)

    def describe(self) -> str:
        """``"mgr" with subresource "status" using v1``, as conflict messages print it."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


class Ownership:
    """One entry's fields, the apiVersion they were written in, and when.

    An entry read from the live object keeps its stored FieldsV1 (``raw``, only
    ever this module's canonical output) and decodes it only when the whole set
    is needed; membership tests and small edits work on the trie directly
    (:mod:`~mizzen.apiserver.fieldpath_v1`), and an unchanged entry is written
    back as it was.
    """

    __slots__ = ("_fields", "api_version", "raw", "time")

    def __init__(self, fields: FieldSet | None, api_version: str, time: str | None = None,
                 raw: dict[str, Any] | None = None) -> None:
        if fields is None and raw is None:
            raise ValueError("an ownership needs its fields or their FieldsV1")
        self._fields = fields
        self.api_version = api_version
        self.time = time
        self.raw = raw

    @property
    def fields(self) -> FieldSet:
        if self._fields is None:
            assert self.raw is not None
            self._fields = FieldSet.from_fields_v1(self.raw, trusted=True)
        return self._fields

    @property
    def empty(self) -> bool:
        return not self._fields if self._fields is not None else not self.raw

    def fields_v1(self) -> dict[str, Any]:
        return self.raw if self.raw is not None else self.fields.to_fields_v1()

    def owned(self, paths: FieldSet) -> FieldSet:
        """``paths`` ∩ this entry's fields (cheap for a few paths and an undecoded entry)."""
        if self._fields is not None or len(paths) > _FEW:
            return self.fields & paths
        assert self.raw is not None
        return FieldSet(p for p in paths.paths if fieldpath_v1.has(self.raw, p))

    def without(self, paths: FieldSet) -> Ownership:
        """This entry minus ``paths``."""
        hit = self.owned(paths)
        if not hit:
            return self
        raw = fieldpath_v1.patch(self.raw, remove=hit.paths) \
            if self.raw is not None and len(hit) <= _FEW else None
        fields = None if raw is not None and self._fields is None else self.fields - hit
        return Ownership(fields, self.api_version, self.time, raw)

    def adding(self, paths: FieldSet, time: str | None) -> Ownership:
        """This entry plus ``paths``, as of ``time``."""
        if self._fields is None and self.raw is not None and len(paths) <= _FEW:
            return Ownership(None, self.api_version, time,
                             fieldpath_v1.patch(self.raw, add=paths.paths))
        return self.with_fields(self.fields | paths, time)

    def with_fields(self, fields: FieldSet, time: str | None) -> Ownership:
        """This entry owning ``fields`` as of ``time`` (the stored encoding kept if it fits)."""
        raw = None
        if self.raw is not None:
            if fields == self.fields:
                raw = self.raw
            else:
                gone, new = self.fields - fields, fields - self.fields
                if len(gone) + len(new) <= _FEW:
                    raw = fieldpath_v1.patch(self.raw, remove=gone.paths, add=new.paths)
        return Ownership(fields, self.api_version, time, raw)


Managed = dict[ManagerKey, Ownership]


def decode(entries: Any, *, stored: bool = False) -> Managed:
    """managedFields as sent or stored; :class:`ValueError` where upstream refuses them.

    ``stored`` entries (the live object's, written by :func:`encode`) are trusted
    to be canonical: their elements are not re-parsed and their FieldsV1 is kept.
    """
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    out: Managed = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise ValueError(f"managed fields entry {i} must be an object")
        op = e.get("operation")
        if op not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        api_version = e.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError("apiVersion must not be empty")
        if e.get("fieldsType") != FIELDS_V1:
            raise ValueError(f"invalid fieldsType {e.get('fieldsType')!r} in managed fields "
                             f"entry {i}" if e.get("fieldsType") else
                             f"missing fieldsType in managed fields entry {i}")
        time = e.get("time")
        if time is not None:
            if not isinstance(time, str):
                raise ValueError(f"invalid time in managed fields entry {i}")
            parse_time(time)
        key = ManagerKey(str(e.get("manager") or ""), op, "" if op == APPLY else api_version,
                         str(e.get("subresource") or ""))
        raw = e.get("fieldsV1")
        raw = {} if raw is None else raw
        if stored:
            if not isinstance(raw, dict):
                raise ValueError("fieldsV1 must be an object")
            out[key] = Ownership(None, api_version, time, raw)
        else:
            out[key] = Ownership(FieldSet.from_fields_v1(raw), api_version, time)
    return out


def _seconds(t: str | None) -> float:
    return parse_time(t).timestamp() if t else 0.0


def encode(managed: Managed) -> list[dict[str, Any]]:
    """Entries in upstream's order (Apply first, then by time, manager, version, subresource)."""
    rows = [(k, o) for k, o in managed.items() if not o.empty]
    if len(rows) > 1:
        rows.sort(key=lambda ko: (ko[0].operation, _seconds(ko[1].time), ko[0].manager,
                                  ko[1].api_version, ko[0].subresource))
    out: list[dict[str, Any]] = []
    for k, o in rows:
        entry: dict[str, Any] = {"manager": k.manager, "operation": k.operation,
                                 "apiVersion": o.api_version}
        if o.time is not None:
            entry["time"] = o.time
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = o.fields_v1()
        if k.subresource:
            entry["subresource"] = k.subresource
        out.append(entry)
    return out


def live_managed(obj: dict[str, Any] | None) -> Managed:
    """A stored object's entries (an undecodable list counts as none)."""
    if obj is None:
        return {}
    try:
        return decode((obj.get("metadata") or {}).get("managedFields"), stored=True)
    except ValueError:
        return {}


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``obj`` minus ``metadata.managedFields`` (for comparing)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def set_managed_fields(obj: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Store ``entries`` in ``obj`` (in place); none removes the field, as upstream."""
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


def reset_fields(subresource: str, has_status: bool,
                 obj: Mapping[str, Any] | None = None) -> FieldSet | None:
    """The fields a write through ``subresource`` cannot set (upstream ``GetResetFields``).

    The main resource of a kind with a status subresource cannot own ``status``;
    ``/status`` owns nothing outside ``status`` (the registry keeps the rest).
    """
    if subresource == "status":
        names = [k for k in (obj or {}) if k not in ("status", "apiVersion", "kind")]
        return FieldSet.of("spec", *names)
    if not subresource and has_status:
        return _STATUS
    return None


def changes(live: Any, new: Any, view: SchemaView, managed: Managed, writer: ManagerKey,
            ignored: FieldSet | None) -> tuple[Comparison, dict[ManagerKey, FieldSet]]:
    """What a write changes, and which fields of other entries it would take over.

    ``live``/``new`` must not carry managedFields.  Upstream ``Updater.update``:
    every version of an object is compared in the request's version here.
    """
    cmp = compare(live, new, view).exclude(ignored)
    taken = cmp.modified | cmp.added
    conflicts: dict[ManagerKey, FieldSet] = {}
    if taken:
        for key, own in managed.items():
            if key != writer:
                hit = own.owned(taken)
                if hit:
                    conflicts[key] = hit
    return cmp, conflicts


def transfer(managed: Managed, writer: ManagerKey, cmp: Comparison,
             conflicts: Mapping[ManagerKey, FieldSet]) -> Managed:
    """Other entries lose the fields taken over and the fields removed; empty ones go."""
    out: Managed = {}
    for key, own in managed.items():
        if key != writer:
            if key in conflicts:
                own = own.without(conflicts[key])
            if cmp.removed:
                own = own.without(cmp.removed)
        if not own.empty:
            out[key] = own
    return out


def record_update(live: dict[str, Any] | None, new: dict[str, Any], managed: Managed,
                  key: ManagerKey, view: SchemaView, now: datetime,
                  ignored: FieldSet | None) -> Managed:
    """One ``Update`` by ``key`` (upstream's updater with its ``current-operation``)."""
    lhs = without_managed_fields(live) if live is not None else zero_object(new, view)
    rhs = without_managed_fields(new)
    op = ManagerKey(CURRENT_OPERATION, UPDATE, key.api_version, key.subresource)
    cmp, conflicts = changes(lhs, rhs, view, managed, op, ignored)
    out = transfer(managed, op, cmp, conflicts)
    gained = (cmp.modified | cmp.added) - cmp.removed - STRIP  # ``ignored`` already excluded
    if gained:
        prev, time = out.get(key), rfc3339(now)
        out[key] = Ownership(gained, key.api_version, time) if prev is None \
            else prev.adding(gained, time)
    return _cap_updates(out)


def _cap_updates(managed: Managed) -> Managed:
    """Fold the oldest ``Update`` entries into ``ancient-changes`` buckets (one per version)."""
    updaters = [k for k in managed if k.operation == UPDATE]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return managed
    updaters.sort(key=lambda k: (_seconds(managed[k].time), k.identifier()))
    out = dict(managed)
    first: dict[str, ManagerKey] = {}
    length = len(updaters)
    for key in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            break
        own = out[key]
        version = own.api_version
        bucket = ManagerKey(ANCIENT_CHANGES, UPDATE, version)
        if version not in first:
            first[version] = key
            continue
        if bucket not in out:
            out[bucket] = out.pop(first[version])
        out[bucket] = Ownership(own.fields | out[bucket].fields, version, own.time)
        del out[key]
        length -= 1
    return out


def _is_reset(sent: Any) -> bool:
    return isinstance(sent, list) and (sent == [] or sent == [{}])


def update_managed_fields(live: dict[str, Any] | None, new: dict[str, Any], *, manager: str,
                          operation: str = UPDATE, api_version: str, subresource: str = "",
                          now: datetime, view: SchemaView,
                          ignored: FieldSet | None = None) -> list[dict[str, Any]]:
    """The managedFields ``new`` should be stored with after a non-apply write.

    ``live`` is the stored object (``None`` on create), ``new`` the object about
    to be stored, including whatever managedFields the client sent.
    """
    if operation != UPDATE:
        raise ValueError("update_managed_fields records Update operations; use apply_config")
    if subresource:
        managed = live_managed(live)
    else:
        sent = (new.get("metadata") or {}).get("managedFields")
        stored = ((live or {}).get("metadata") or {}).get("managedFields")
        if _is_reset(sent):
            managed = {}
        elif sent is not None and sent == stored:  # sent back as read: the common case
            managed = live_managed(live)
        else:
            try:
                managed = decode(sent)
            except ValueError:
                managed = {}
            if not managed:
                managed = live_managed(live)
    if not managed:
        if live is not None:
            return []  # objects without managedFields are not tracked until applied
        fields = created_fields_v1(new, view, ignored)  # a create: one walk, no diff
        if fields is not None:
            return [{"manager": manager, "operation": UPDATE, "apiVersion": api_version,
                     "time": rfc3339(now), "fieldsType": FIELDS_V1, "fieldsV1": fields,
                     **({"subresource": subresource} if subresource else {})}] if fields else []
    key = ManagerKey(manager, UPDATE, api_version, subresource)
    return encode(record_update(live, new, managed, key, view, now, ignored))
