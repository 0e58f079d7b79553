"""Table responses (mizzen.apiserver.tablerows): the envelope, includeObject, Accept
negotiation, and list bodies encoded from rows cached per stored version, which must be
byte for byte what encoding the dict form gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.store_log import Entry, WarmSet
from mizzen.apiserver.tablerows import encode_table, parse_accept, to_table
from mizzen.apiserver.tables import Column, Printer, since
from tests.apiserver.test_tables import NOW, info, meta, ts


def pods() -> list[dict[str, Any]]:
    running = {"phase": "Running", "podIP": "10.0.0.7", "containerStatuses": [
        {"name": "c", "ready": True, "restartCount": 3, "state": {"running": {}},
         "lastState": {"terminated": {"finishedAt": ts(400)}}}]}
    return [
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta("a", 50, labels={"app": "w"},
                                                            uid="u-a"),
         "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "n1"},
         "status": running},
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta("b", 7200, annotations={
            "note": "caf\u00e9 \"quoted\" text"}), "spec": {"containers": [{"name": "c"}]}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": meta("c", 5, deletionTimestamp=ts(1), finalizers=["x"]),
         "spec": {"containers": [{"name": "c"}, {"name": "d"}]}, "status": {"phase": "Pending"}},
    ]


def stored(objs: list[dict[str, Any]]) -> list[Entry]:
    warm = WarmSet(4)
    return [Entry(None, orjson.dumps(o), i + 1, warm) for i, o in enumerate(objs)]


def test_table_envelope_and_row_objects() -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta("cm"), "data": {}}
    t = to_table(info("configmaps"), [obj], resource_version="42", continue_token="abc",
                 remaining=3, now=NOW)
    assert (t["kind"], t["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert t["metadata"] == {"resourceVersion": "42", "continue": "abc",
                             "remainingItemCount": 3}
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata",
                                      "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
    full = to_table(info("configmaps"), [obj], resource_version="1", include_object="Object",
                    now=NOW)
    assert full["metadata"] == {"resourceVersion": "1"}
    assert full["rows"][0]["object"] is obj
    bare = to_table(info("configmaps"), [obj], resource_version="1", include_object="None",
                    now=NOW)
    assert "object" not in bare["rows"][0]
    assert to_table(info("configmaps"), [], resource_version="1", now=NOW)["rows"] == []


def test_naive_now_and_missing_timestamps() -> None:
    naive = NOW.replace(tzinfo=None)
    t = to_table(info("configmaps"), [{"metadata": {"name": "a"}}], resource_version="1",
                 now=naive)
    assert t["rows"][0]["cells"] == ["a", 0, "<unknown>"]


KUBECTL = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
           "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


@pytest.mark.parametrize(("accept", "mode"), [
    (KUBECTL, "table"),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "json"),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "json"),
    ("application/json", "json"),
    ("", "json"),
    ("*/*", "json"),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io," + KUBECTL, "table"),
    ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json",
     "partial"),
    ("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", "partial"),
    ("application/json, application/json;as=Table;v=v1;g=meta.k8s.io", "json"),
    ("application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io", "table"),
    ("application/json;as=Table;v=v1;g=meta.k8s.io;q=0, application/json", "json"),
    ("application/json; as=Table; v=v1; g=meta.k8s.io", "table"),
])
def test_parse_accept(accept: str, mode: str) -> None:
    assert parse_accept(accept) == mode


@pytest.mark.parametrize("include", ["Metadata", "Object", "None"])
def test_encoded_lists_are_the_dict_form_byte_for_byte(include: str) -> None:
    entries = stored(pods())
    for now in (NOW, NOW + timedelta(hours=3)):  # the second pass renders cached rows
        body = encode_table(info("pods"), entries, resource_version="9", continue_token="tok",
                            remaining=4, include_object=include, now=now)
        expected = to_table(info("pods"), [orjson.loads(e.raw) for e in entries],
                            resource_version="9", continue_token="tok", remaining=4,
                            include_object=include, now=now)
        assert body == orjson.dumps(expected)
    assert not any(e.warm for e in entries)  # listing parsed without warming anything
    empty = encode_table(info("pods"), [], resource_version="1", now=NOW)
    assert empty == orjson.dumps(to_table(info("pods"), [], resource_version="1", now=NOW))


def test_rows_are_computed_once_per_stored_version() -> None:
    calls: list[str] = []

    def cells(obj: dict[str, Any]) -> list[Any]:
        calls.append(obj["metadata"]["name"])
        return [obj["metadata"]["name"], since(obj["metadata"]["creationTimestamp"])]

    printer = Printer((Column("Name", format="name"), Column("Age")), cells)
    crd = ResourceInfo("example.com", "v1", "widgets", "Widget", "widget", True, custom=True)
    entries = stored([{"metadata": meta("w1", 10)}, {"metadata": meta("w2", 20)}])
    first = encode_table(crd, entries, resource_version="1", now=NOW, printer=printer)
    later = encode_table(crd, entries, resource_version="1", now=NOW + timedelta(seconds=100),
                         printer=printer)
    assert calls == ["w1", "w2"]
    assert [r["cells"] for r in orjson.loads(first)["rows"]] == [["w1", "10s"], ["w2", "20s"]]
    assert [r["cells"] for r in orjson.loads(later)["rows"]] == [["w1", "110s"], ["w2", "2m"]]
    entries[0].retire()  # a superseded version forgets its row
    encode_table(crd, entries, resource_version="1", now=NOW, printer=printer)
    assert calls == ["w1", "w2", "w1"]


def test_served_versions_convert_before_printing_and_present_their_bytes() -> None:
    crd = ResourceInfo("example.com", "v2", "widgets", "Widget", "widget", True, custom=True)
    entries = stored([{"apiVersion": "example.com/v1", "kind": "Widget",
                       "metadata": meta("w", 60), "spec": {"size": 1}}])

    def convert(obj: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "apiVersion": "example.com/v2", "spec": {"replicas": obj["spec"]["size"]}}

    for include in ("Metadata", "Object"):
        body = encode_table(crd, entries, resource_version="3", include_object=include,
                            now=NOW, convert=convert,
                            present=lambda e: orjson.dumps(convert(orjson.loads(e.raw))))
        expected = to_table(crd, [convert(orjson.loads(entries[0].raw))], resource_version="3",
                            include_object=include, now=NOW)
        assert body == orjson.dumps(expected)
