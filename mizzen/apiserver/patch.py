"""Patch content types: JSON patch, JSON merge patch and strategic merge patch.

JSON patch (RFC 6902) comes from the ``jsonpatch`` library; merge patch
(RFC 7386) is ten lines and faster written here than adapted; strategic merge
lives in :mod:`mizzen.apiserver.strategicmerge`.  Server-side apply
(``application/apply-patch+yaml``) is not a patch of the live object but a
merge under field ownership: :mod:`mizzen.apiserver.apply`, called by the
registry.
Errors follow kube-apiserver: an unparsable patch is 400, a patch that fails
to apply (including a failed ``test`` op) is 422.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.schema import Node, SchemaSet
from mizzen.apiserver.strategicmerge import apply_strategic_merge

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: returns a new value; ``target`` is not modified."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def _rejected(detail: str, index: int) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           f"our request: {detail}",
                           causes=[errors.Cause("FieldValueInvalid", detail, f"[{index}]")])


def decode_patch(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from None


def apply_patch(content_type: str, original: dict[str, Any], body: bytes,
                schemas: SchemaSet, root: Node | None) -> dict[str, Any]:
    """Apply a non-apply patch to ``original`` and return the new object."""
    doc = decode_patch(body)
    if content_type == JSON_PATCH:
        if not isinstance(doc, list):
            raise errors.bad_request("json patch must be a list of operations")
        result: Any = original
        for i, op in enumerate(doc):
            path = op.get("path", "") if isinstance(op, dict) else ""
            try:
                result = jsonpatch.JsonPatch([op]).apply(result, in_place=False)
            except jsonpatch.JsonPatchTestFailed:
                raise _rejected(f"testing value {path} failed: test failed", i) from None
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise _rejected(f"{exc}", i) from None
            except (TypeError, KeyError, ValueError, IndexError, AttributeError) as exc:
                raise errors.bad_request(f"invalid json patch operation {i}: {exc}") from None
        if not isinstance(result, dict):
            raise errors.ApiError(422, "Invalid", "json patch must leave an object")
        return result
    if not isinstance(doc, dict):
        raise errors.bad_request("patch body must be a JSON object")
    if content_type == MERGE_PATCH:
        out = merge_patch(original, doc)
        assert isinstance(out, dict)
        return out
    if content_type == STRATEGIC_PATCH:
        return apply_strategic_merge(original, doc, schemas, root)
    raise errors.unsupported_media_type(content_type)
