"""LIST semantics: resourceVersion rules, selectors, pagination.

kube-apiserver's list contract, as clients depend on it: an unset
resourceVersion is a consistent read of the latest state; ``"0"`` is "any"
(served from memory, like the watch cache); ``N`` with ``NotOlderThan`` waits
until the server has caught up to N; ``Exact`` reads the state at N.  Pages
after the first keep the first page's revision, so a paginated list is one
consistent snapshot; a token older than the change log answers 410 Expired.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
from dataclasses import dataclass

import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.selectors import Predicate
from mizzen.apiserver.store import Entry, Store

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")


@dataclass(frozen=True, slots=True)
class ListOptions:
    resource_version: str = ""
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str = ""


@dataclass(frozen=True, slots=True)
class ListResult:
    entries: list[Entry]
    rv: int
    continue_token: str
    remaining: int | None


def _encode_continue(rv: int, start_after: tuple[str, str]) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(start_after)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        ns, name = data["start"]
        return int(data["rv"]), (str(ns), str(name))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise errors.bad_request(f"invalid continue token {token!r}") from None


def _parse_rv(text: str) -> int:
    try:
        rv = int(text)
    except ValueError:
        raise errors.bad_request(f'invalid resource version "{text}"') from None
    if rv < 0:
        raise errors.bad_request(f'invalid resource version "{text}"')
    return rv


async def wait_for_rv(store: Store, rv: int, timeout: float = 3.0) -> None:
    """Wait until the store has committed ``rv`` (clients may be ahead of a restart)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while store.committed_rv < rv:
        if asyncio.get_running_loop().time() > deadline:
            raise errors.ApiError(504, "Timeout",
                                  f"Too large resource version: {rv}, current: "
                                  f"{store.committed_rv}",
                                  causes=[errors.Cause("ResourceVersionTooLarge",
                                                       "Too large resource version")])
        await asyncio.sleep(0.01)


def _key(e: Entry) -> tuple[str, str]:
    return e.key


async def list_objects(store: Store, info: ResourceInfo, ns: str | None,
                       opts: ListOptions, predicate: Predicate | None) -> ListResult:
    match = opts.resource_version_match
    if match not in ("", "NotOlderThan", "Exact"):
        raise errors.bad_request(f'invalid resourceVersionMatch "{match}"')
    if match and not opts.resource_version:
        raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion "
                                 "is provided")
    if opts.continue_token and opts.resource_version:
        raise errors.bad_request("specifying resource version is not allowed when using "
                                 "continue")
    if opts.limit < 0:
        raise errors.bad_request("limit must not be negative")
    start_after: tuple[str, str] | None = None
    if opts.continue_token:
        rv, start_after = _decode_continue(opts.continue_token)
        try:
            entries = store.list_at(info.store_key, ns, rv)
        except errors.ApiError:
            raise errors.ApiError(410, "Expired", CONTINUE_EXPIRED) from None
    elif opts.resource_version and match == "Exact":
        rv = _parse_rv(opts.resource_version)
        if rv > store.committed_rv:
            await wait_for_rv(store, rv)
        entries = store.list_at(info.store_key, ns, rv)
    else:
        if opts.resource_version not in ("", "0"):
            await wait_for_rv(store, _parse_rv(opts.resource_version))
        rv = store.committed_rv
        entries = store.snapshot(info.store_key, ns)
    if predicate is not None:
        entries = [e for e in entries if predicate(e.obj)]
    if start_after is not None:  # entries are sorted by key
        entries = entries[bisect.bisect_right(entries, start_after, key=_key):]
    if opts.limit and len(entries) > opts.limit:
        page = list(entries[:opts.limit])  # resolved now: a snapshot is only valid until then
        token = _encode_continue(rv, _key(page[-1]))
        # With selectors upstream cannot count cheaply and leaves the field unset.
        remaining = None if predicate is not None else len(entries) - opts.limit
        return ListResult(page, rv, token, remaining)
    return ListResult(list(entries), rv, "", None)
