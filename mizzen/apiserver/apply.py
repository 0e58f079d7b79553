"""Server-side apply (``application/apply-patch+yaml``): merge, prune, conflicts.

:func:`apply_config` is ``sigs.k8s.io/structured-merge-diff``'s
``merge.Updater.Apply`` with kube-apiserver's field-manager layers around it,
hand-written because no maintained Python implementation of
structured-merge-diff exists.  The steps, in upstream's order:

1. Check the configuration (``invalid object type``, ``metadata.managedFields
   must be nil``, the name) and convert it strictly: duplicate keys in an
   associative or set list, or an item without its key fields, fail with
   upstream's ``failed to create typed patch object`` text.  Upstream answers
   that with an untyped 500; here it is a 422 ``Invalid``.
2. An existing object without managedFields first gets a ``before-first-apply``
   ``Update`` entry owning everything it has.
3. ``merged`` = live merged with the configuration
   (:func:`~mizzen.apiserver.fieldpath_walk.merge`); the applier's set becomes
   the configuration's fields.
4. Prune: what the applier applied last time but not now, and nobody else
   (applier or updater) owns, is removed, list items and map elements
   included (with what lies below them).
5. Compare live with the result: fields other managers own that this apply
   adds or changes are conflicts (409 with upstream's message) unless
   ``force``, which moves them to the applier; removed fields leave every
   entry.  Applying the value someone else owns is no change, hence shared
   ownership.  For manager ``kubectl``, conflicts on fields the
   ``last-applied-configuration`` annotation still matches are forgiven (the
   client-side to server-side upgrade), and that annotation is kept in step.
6. The entry's ``time`` moves only when the object changed; an unchanged
   object is returned as the live one with the new managedFields.

The live object is copied once (``orjson`` round trip); the configuration is
consumed: the result shares its values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import yaml

from mizzen.apiserver.errors import ApiError, Cause, bad_request, field_forbidden, invalid
from mizzen.apiserver.fieldpath import FieldPathError, FieldSet, SchemaView, from_object
from mizzen.apiserver.fieldpath_elements import path_string
from mizzen.apiserver.fieldpath_walk import Comparison, compare, members, merge, remove_items
from mizzen.apiserver.managedfields import (
    APPLY,
    STRIP,
    UPDATE,
    Managed,
    ManagerKey,
    Ownership,
    changes,
    encode,
    live_managed,
    record_update,
    set_managed_fields,
    transfer,
    without_managed_fields,
)
from mizzen.apiserver.objectmeta import rfc3339

__all__ = ["LAST_APPLIED", "apply_config", "check_patch_options", "conflict_error",
           "decode_apply_body"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BEFORE_FIRST_APPLY = "before-first-apply"
_LAST_APPLIED_LIMIT = 256 * 1024


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as ``sigs.k8s.io/yaml`` reads it: timestamps stay strings."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def decode_apply_body(body: bytes) -> dict[str, Any]:
    """The configuration of an ``application/apply-patch+yaml`` body (JSON is YAML too)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            doc = yaml.load(body, Loader=_Loader)  # a SafeLoader: no arbitrary objects
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise bad_request("error decoding YAML: the apply configuration must be an object")
    return doc


def check_patch_options(*, apply: bool, field_manager: str | None, force_given: bool) -> None:
    """Upstream ``ValidatePatchOptions``: an apply names its manager; ``force`` is apply-only.

    ``field_manager`` is the ``fieldManager`` query parameter as sent (not the
    User-Agent fallback); ``force_given`` whether ``force`` was sent at all.
    """
    causes: list[Cause] = []
    if apply and not field_manager:
        causes.append(Cause("FieldValueRequired", "Required value: is required for apply patch",
                            "fieldManager"))
    if not apply and force_given:
        causes.append(field_forbidden("force", "may not be specified for non-apply patch"))
    if causes:
        raise invalid("PatchOptions", "meta.k8s.io", "", causes)


def _gvk(api_version: Any, kind: Any) -> str:
    group, _, version = str(api_version or "").rpartition("/")
    return f"{group}/{version}, Kind={kind or ''}"


def _check_config(config: Any, api_version: str, kind: str | None, name: str) -> None:
    if not isinstance(config, dict):
        raise bad_request("the apply configuration must be an object")
    got_version, got_kind = config.get("apiVersion"), config.get("kind")
    if got_version != api_version or not got_kind or (kind and got_kind != kind):
        raise bad_request(f"invalid object type: {_gvk(got_version, got_kind)}")
    meta = config.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    meta = meta or {}
    if meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    got_name = meta.get("name")
    if not got_name:
        raise bad_request(f"the name of the object ({name} based on URL) was undeterminable: "
                          "name must be provided")
    if name and got_name != name:
        raise bad_request(f"the name of the object ({got_name}) does not match the name on "
                          f"the URL ({name})")


def _typed_error(config: dict[str, Any], exc: FieldPathError) -> ApiError:
    meta = config.get("metadata") or {}
    where = (f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; "
             f"{_gvk(config.get('apiVersion'), config.get('kind'))}")
    return ApiError(422, "Invalid", f"failed to create typed patch object ({where}): "
                    f"{exc.text()}", name=str(meta.get("name") or ""), kind=str(
                        config.get("kind") or ""),
                    causes=[Cause("FieldValueInvalid", m, p) for p, m in exc.problems])


def conflict_error(conflicts: dict[ManagerKey, FieldSet]) -> ApiError:
    """409 with upstream's message and one ``FieldManagerConflict`` cause per field."""
    order = sorted(conflicts, key=ManagerKey.identifier)
    pairs = [(k, p) for k in order for p in conflicts[k].sorted()]
    causes = [Cause("FieldManagerConflict", f"conflict with {k.describe()}", path_string(p))
              for k, p in pairs]
    if len(pairs) == 1:
        k, p = pairs[0]
        message = f"Apply failed with 1 conflict: conflict with {k.describe()}: {path_string(p)}"
    else:
        lines: list[str] = []
        for k in order:
            lines.append(f"conflicts with {k.describe()}:")
            lines.extend(f"- {path_string(p)}" for p in conflicts[k].sorted())
        message = f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, causes=causes)


def _prune(merged: dict[str, Any], managed: Managed, key: ManagerKey, dropped: FieldSet,
           view: SchemaView) -> dict[str, Any]:
    """Remove what the applier dropped and nobody else owns (upstream ``prune``).

    Upstream removes the whole last-applied set from the merged object, adds
    back what any manager owns, then adds back what was not in that set,
    converting the object to field sets between the steps.  Since a field set
    holds every list item and map element above each of its fields, that nets
    out to removing the dropped paths that are fields of the merged object
    (members of its field set: not, say, a ``labels`` map some update made its
    own) and that no other entry owns; ``tests/apiserver/test_apply_checks.py``
    checks this against the three steps on random histories.
    """
    if not dropped:
        return merged
    dropped = members(merged, dropped, view)
    for other, own in managed.items():
        if other != key and dropped:
            dropped = dropped - own.owned(dropped)
    out: dict[str, Any] = remove_items(merged, dropped, view)
    return out


def _forgiven(live: dict[str, Any], view: SchemaView, api_version: str) -> FieldSet:
    """Fields the live object still has as its client-side last-applied configuration says."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return FieldSet()
    try:
        last = orjson.loads(text)
        if not isinstance(last, dict) or last.get("apiVersion") != api_version:
            return FieldSet()
        fields = from_object(last, view, strict=True)
    except (orjson.JSONDecodeError, FieldPathError):
        return FieldSet()
    cmp = compare(last, live, view)
    return fields - cmp.modified - cmp.added - cmp.removed


def _last_applied(config: dict[str, Any]) -> str:
    """``buildLastApplied``: the configuration minus that annotation, as Go encodes it."""
    doc: dict[str, Any] = orjson.loads(orjson.dumps(config))
    annotations = (doc.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode() + "\n"


def apply_config(live: dict[str, Any] | None, config: dict[str, Any], *, manager: str,
                 api_version: str, force: bool, view: SchemaView, now: datetime,
                 kind: str | None = None, name: str = "", subresource: str = "",
                 ignored: FieldSet | None = None) -> dict[str, Any]:
    """The object to store after ``manager`` applies ``config`` to ``live`` (``None``: create).

    ``ignored`` are the reset fields of the endpoint
    (:func:`~mizzen.apiserver.managedfields.reset_fields`); ``name`` is the name
    on the URL.  Raises :class:`ApiError` 400, 409 or 422.
    """
    kind = kind or (live or {}).get("kind")
    _check_config(config, api_version, kind, name or ((live or {}).get("metadata") or {})
                  .get("name") or "")
    try:
        applied = from_object(config, view, strict=True)
    except FieldPathError as exc:
        raise _typed_error(config, exc) from None
    applied = applied - STRIP
    if ignored:
        applied = applied.recursive_difference(ignored)

    base: dict[str, Any] = orjson.loads(orjson.dumps(without_managed_fields(live))) \
        if live is not None else {}
    managed = live_managed(live)
    if not managed and live is not None:  # upstream's skip-non-applied manager
        managed = record_update(None, base, {}, ManagerKey(BEFORE_FIRST_APPLY, UPDATE,
                                                           api_version), view, now, None)

    key = ManagerKey(manager, APPLY, "", subresource)
    last = managed.get(key)
    mine = last.with_fields(applied, last.time) if last is not None \
        else Ownership(applied, api_version)
    managed[key] = mine
    merged = merge(base, config, view)
    if last is not None:
        merged = _prune(merged, managed, key, last.fields - applied, view)

    conflicts: dict[ManagerKey, FieldSet] = {}
    if live is None and len(managed) == 1:  # a create: nobody to conflict with
        cmp, changed = Comparison(FieldSet(), FieldSet(), FieldSet()), True
    else:
        cmp, conflicts = changes(base, merged, view, managed, key, ignored)
        changed = not cmp.is_same()
    if conflicts and not force:
        remaining = conflicts
        if manager == "kubectl" and live is not None:  # upstream's lastAppliedManager
            forgiven = _forgiven(live, view, api_version)
            remaining = {k: left for k, c in conflicts.items() if (left := c - forgiven)}
        if remaining:
            raise conflict_error(remaining)
    managed = transfer(managed, key, cmp, conflicts)
    result = merged if changed else base
    if applied:
        managed[key] = Ownership(applied, api_version, rfc3339(now) if changed else mine.time,
                                 mine.raw)
    else:
        managed.pop(key, None)

    if manager == "kubectl" and live is not None and (
            ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)):
        value = _last_applied(config)
        annotations = result.setdefault("metadata", {}).setdefault("annotations", {})
        if len(value) <= _LAST_APPLIED_LIMIT:
            annotations[LAST_APPLIED] = value
        else:
            annotations.pop(LAST_APPLIED, None)
    set_managed_fields(result, encode(managed))
    return result
