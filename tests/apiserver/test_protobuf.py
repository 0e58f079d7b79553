"""Protobuf request bodies: real kubectl 1.32 captures, synthetic messages, malformed input.

The captures are verbatim bodies kubectl 1.32 sent to a logging proxy in front
of the server (``kubectl create configmap|secret|namespace|deployment|service|
serviceaccount|token``, ``kubectl debug --copy-to``).  For the ``create`` commands the
expected dicts are what ``kubectl create ... --dry-run=client -o json`` printed,
less its ``null`` entries: the decoder must produce exactly the JSON the same
client would have sent.  Synthetic messages are built with a tiny encoder
below, independent of the decoder's tables, for the types kubectl does not send
(Lease, Event, Node, ...) and for the wire-format corner cases.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import time
from typing import Any

import pytest

from mizzen.apiserver.errors import ApiError
from mizzen.apiserver.protobuf import MAGIC, decode_message, decode_object, is_protobuf
from mizzen.apiserver.protobuf_wire import raw_fields

CONFIGMAP = bytes.fromhex(
    "6b3873000a0f0a0276311209436f6e6669674d6170121b0a110a016112001a0022002a0032003800420012060a01"
    "6b1201761a002200"
)
CONFIGMAP_BINARY = bytes.fromhex(
    "6b3873000a0f0a0276311209436f6e6669674d617012370a150a056d756c746912001a0022002a00320038004200"
    "12060a016112013112060a01621201321a0e0a0362696e12070001fffe62696e1a002200"
)
SECRET = bytes.fromhex(
    "6b3873000a0c0a027631120653656372657412350a120a02733112001a0022002a00320038004200120e0a036b65"
    "7912070001fffe62696e120d0a0475736572120561646d696e1a001a002200"
)
NAMESPACE = bytes.fromhex(
    "6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d6112001a0022002a003200380042"
    "0012001a020a001a002200"
)
DEPLOYMENT = bytes.fromhex(
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b8010a1f0a0377656212001a0022002a0032"
    "00380042005a0a0a0361707012037765621286010802120c0a0a0a0361707012037765621a6c0a1c0a0012001a00"
    "22002a003200380042005a0a0a036170701203776562124c122e0a056e67696e7812056e67696e782a00320a0a00"
    "1000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a"
    "01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200"
)
SERVICE = bytes.fromhex(
    "6b3873000a0d0a02763112075365727669636512630a1b0a017312001a0022002a003200380042005a080a036170"
    "7012017312400a1b0a0738302d38303830120354435018502207080010903f1a00280012080a036170701201731a"
    "002209436c757374657249503a00420052005a00600068001a020a001a002200"
)
SERVICEACCOUNT = bytes.fromhex(
    "6b3873000a140a027631120e536572766963654163636f756e7412170a150a05726f626f7412001a0022002a0032"
    "00380042001a002200"
)
TOKEN_REQUEST = bytes.fromhex(
    "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52657175657374"
    "123e0a100a0012001a0022002a0032003800420012240a036170690a057661756c741a130a03506f64120276311a"
    "02703122043132333420a0381a040a0012001a002200"
)
RICH_BODY = (
    "H4sIAAAAAAACA5VVO2zbRhi+40OP31ZMne1EIdJUZoDCFaAn0kBQu8SxnNi1HMFxi9RokFLkWWRE8tTjyZE9BZmKTEG2"
    "ZiqCDJkzdszUsciUuVOztWunHkUlbYcWKDiQ9/h5//f4/xu1YwR5UI6bRO0zl/xegBsA3He8VtVh4xOCzKxLj+xJICxU"
    "QS3URhvocAFUezwmWrLvMA+a8CknuDkogBYxQYnu0SBg5EkBLFCckFx4is+DCtgmBcAjoo9qYipKD5TSc7WMYQnUmDok"
    "18qAEjdLCD6AbOxwWzgeIcSATI+GjJ+QDGhXLvd8KIBOw7E4IRpRAMGHoHksFuQcrEKufmzzesCGJL/pc+oIGQcENNcW"
    "NoH9HGjjY6dpYKDyi7N75M5rfAhFaykB5BuPL5i6YCMaQdFcShPOJQmrztEQAGR4kmEZwSWyJs/NBPaABjFZnfG3FFJh"
    "JwfV0mnjBwVqydFjn3z0EF+Ci6A644l5LiUPAj/0RVxLpuRvm6HxXCXf6/PFaOhH006z1mqb+uzbUqpDa8G1JRVRmR0d"
    "fVrR6jE/bhUleiHGBir1LfXgWl9qtArIePtx6RNL/WKzX8k2arOnkwF8VYrUyYPe7fUPviKoIzPq39yUGq/C8gxD4T2G"
    "yA5pR4r2eVduNA3rTIqdaJOY8hLuLIN6beu6XAIzlzKFR501UHvdnpwskbOASGEOMZzpZ8pdjY2p5DGhgchRE0wo0rFH"
    "Q8rtoBpLteyhdA+ozes+FCGTBpIs6M1Wu+dL98xCpRGajUZI/iM6sU34D9vsLCdWNLCZrVPh1J3Qkm7eMVNvGMjU68mH"
    "hacVbY9FtIX2r0CFrEtLedQOhHdKIIflvhndJrK0GwcH/YrEfrsqaR0YegmXYR031MMSLJoAmRwy+iYiSEqjpCuDFViU"
    "8DXqeAwUzyeapeT0eyt1lx7XBeWhH9nCZ1FVGpgvbh/tMdHnNKaROF2Dc2DsdQ/ubmzvbd691d3/cvtal6hXd3cNVKYN"
    "3EYPMP4Oo8cYP8WLUpve3YQJqUsyRObcugZ+hle37CAY2M7ogO2yYXwz6nLO+Et8EQw4Iwm2BWTrIhzX2UimPgfVRuRr"
    "0GLfpSQ7mMQnAzatJJ3gPBSshdyLLZJJWfor4l9gZa4G9+2T+AFGs2zRM6xt+QE15/NltP5Ga80U6CxIbfxYVl8cuxs6"
    "ZwMmdtLXPrqNvkEe4p/J81BZLWvrPy81fs12TCARFTWHcVqLWWhPHRZFRLqldXlfotufRMIP6Wba0E4lQZwOH2LsPcJq"
    "PBk8wQyacB6STpIerWxHZnK8qUXHISUrOSAJSdqpzI9kulM/FrHZIe2cSy5DkSyl1ZtEzXojedc7zbOjyYBymRuNaz6r"
    "Jw0rqbCnuDjfUY0dj7qTgPJn+A5ofuSL90ybSuyZStUx84lzyslaQv7/Y/gVni+8wOglXoO8S11fik1done/ndiBiacW"
    "7LFb8zxeypaN3mNEVn6PdafUmQi6jn7EK5Brpo1FXhxHjBF1YPNXGP2E0WvZ6rLN2uwhql0byGLQI5eJmOCWKWuZulHc"
    "eIPRL3hZFvDUDscBlZKFdU5t9+Q3jP7AK9L3SY/fZfcp73OfcV+cPFI2cpjMuDcLm0xWx7tcrQL8/UpaV1r6DRYxvlEc"
    "M7cq5J8CCbTq2ZJHQ1YDSu+yHXSI+Gz0J1xtYiEHBwAA"
)
# SHA-256 of the decoded pod as canonical JSON (sorted keys, no spaces); see the test.
RICH_DIGEST = "fc71b5dfc0d6560a88e6502055495a849e3383cc020602dc3b73a5ccaae5094b"


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def ld(number: int, *parts: bytes | str) -> bytes:
    """A length-delimited field (string, bytes or message) made of ``parts``."""
    data = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    """A varint field (negative values as Go writes them: ten bytes)."""
    return _varint(number << 3) + _varint(value)


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return ld(number, ld(1, key), ld(2, value))


def obj(api_version: str, kind: str, *fields: bytes) -> bytes:
    return MAGIC + ld(1, ld(1, api_version), ld(2, kind)) + ld(2, *fields)


def ts(seconds: int, nanos: int = 0) -> bytes:
    return vi(1, seconds) + (vi(2, nanos) if nanos else b"")


def _unzip(text: str) -> bytes:
    return gzip.decompress(base64.b64decode(text))


CAPTURES: list[tuple[str, bytes, dict[str, Any]]] = [
    ("create configmap a --from-literal=k=v", CONFIGMAP,
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}),
    ("create configmap multi ... --from-file=bin=<binary>", CONFIGMAP_BINARY,
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "multi"},
      "data": {"a": "1", "b": "2"}, "binaryData": {"bin": "AAH//mJpbg=="}}),
    ("create secret generic s1 --from-literal=user=admin --from-file=key=<binary>", SECRET,
     {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
      "data": {"key": "AAH//mJpbg==", "user": "YWRtaW4="}}),
    ("create namespace team-a", NAMESPACE,
     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}, "spec": {},
      "status": {}}),
    ("create deployment web --image=nginx --replicas=2 --port=80", DEPLOYMENT,
     {"apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": {"name": "web", "labels": {"app": "web"}},
      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                                     "ports": [{"containerPort": 80}],
                                                     "resources": {}}]}},
               "strategy": {}},
      "status": {}}),
    ("create service clusterip s --tcp=80:8080", SERVICE,
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"app": "s"}},
      "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
               "selector": {"app": "s"}, "type": "ClusterIP"},
      "status": {"loadBalancer": {}}}),
    ("create serviceaccount robot", SERVICEACCOUNT,
     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}),
    ("create token robot --duration=2h --audience=api --audience=vault --bound-object-...",
     TOKEN_REQUEST,
     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {},
      "spec": {"audiences": ["api", "vault"], "expirationSeconds": 7200,
               "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p1",
                                  "uid": "1234"}},
      "status": {"token": ""}}),
]


@pytest.mark.parametrize(("command", "body", "expected"), CAPTURES, ids=[c[0] for c in CAPTURES])
def test_kubectl_captures_decode_to_kubectls_json(command: str, body: bytes,
                                                  expected: dict[str, Any]) -> None:
    unknown: list[str] = []
    assert decode_object(body, unknown) == expected
    assert unknown == []


def test_full_pod_spec_from_kubectl_debug_copy() -> None:
    # kubectl debug rich2 --copy-to=... --keep-*: a protobuf copy of a pod using most of
    # PodSpec.  Checked against the JSON of the pod it copied: the only differences are
    # kubectl's own edits (name, image, shareProcessNamespace), the dropped status, and Go's
    # JSON conventions (env value "" omitted, resourceFieldRef divisor "0" present).
    unknown: list[str] = []
    pod = decode_object(_unzip(RICH_BODY), unknown)
    assert unknown == []
    canonical = json.dumps(pod, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() == RICH_DIGEST, canonical
    spec = pod["spec"]
    # Go pointers keep their zero values, omitempty scalars lose theirs.
    assert (spec["terminationGracePeriodSeconds"], spec["priority"]) == (0, 0)
    assert spec["tolerations"][1] == {"operator": "Exists", "effect": "NoExecute",
                                      "tolerationSeconds": 0}
    app = spec["containers"][0]
    assert app["env"][1] == {"name": "EMPTY"}
    assert app["livenessProbe"]["httpGet"]["port"] == "http"  # IntOrString, inlined handler
    assert app["resources"]["limits"] == {"cpu": "1", "memory": "128Mi",
                                          "ephemeral-storage": "1Gi"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["sec"]["secret"] == {"secretName": "s1", "defaultMode": 0}
    assert volumes["empty"] == {"name": "empty", "emptyDir": {}}


def test_lease_micro_times_and_pointer_zeros() -> None:
    body = obj("coordination.k8s.io/v1", "Lease",
               ld(1, ld(1, "kube-scheduler"), ld(3, "kube-system"), ld(8, ts(1700000000))),
               ld(2, ld(1, "node-1_abc"), vi(2, 15), ld(3, ts(1700000000, 123456789)),
                  ld(4, ts(1700000005, 5000)), vi(5, 0)))
    assert decode_object(body) == {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "kube-scheduler", "namespace": "kube-system",
                     "creationTimestamp": "2023-11-14T22:13:20Z"},
        "spec": {"holderIdentity": "node-1_abc", "leaseDurationSeconds": 15,
                 "acquireTime": "2023-11-14T22:13:20.123456Z",
                 "renewTime": "2023-11-14T22:13:25.000005Z", "leaseTransitions": 0}}


def test_object_meta_as_go_marshals_it() -> None:
    # Go writes every non-pointer field, zero or not; an old client adds clusterName (15).
    meta = (ld(1, "cm") + ld(2, "") + ld(3, "ns") + ld(5, "u-1") + ld(6, "42") + vi(7, 3)
            + ld(8, b"") + ld(9, ts(1700000000, 999)) + vi(10, 0) + entry(11, "app", "x")
            + entry(12, "note", "") + ld(13, ld(1, "ReplicaSet"), ld(3, "rs"), ld(4, "u-0"),
                                         ld(5, "apps/v1"), vi(6, 1), vi(7, 0))
            + ld(14, "example.com/f") + ld(15, "")
            + ld(17, ld(1, "kubectl"), ld(2, "Update"), ld(3, "v1"), ld(4, ts(1700000001)),
                 ld(6, "FieldsV1"), ld(7, ld(1, b'{"f:data":{}}'))))
    unknown: list[str] = []
    assert decode_object(obj("v1", "ConfigMap", ld(1, meta)), unknown)["metadata"] == {
        "name": "cm", "namespace": "ns", "uid": "u-1", "resourceVersion": "42", "generation": 3,
        "deletionTimestamp": "2023-11-14T22:13:20Z", "deletionGracePeriodSeconds": 0,
        "labels": {"app": "x"}, "annotations": {"note": ""},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "u-0",
                             "apiVersion": "apps/v1", "controller": True,
                             "blockOwnerDeletion": False}],
        "finalizers": ["example.com/f"],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2023-11-14T22:13:21Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {}}}]}
    assert unknown == []


def test_workload_zeros_int_or_string_and_claim_templates() -> None:
    rolling = ld(2, ld(1, vi(1, 0), vi(2, 0)), ld(2, vi(1, 1), ld(3, "25%")))
    deployment = obj("apps/v1", "Deployment", ld(2, vi(1, 0), ld(4, ld(1, "RollingUpdate"),
                                                                   rolling),
                                                vi(6, 0), vi(7, 0), vi(9, 600)))
    assert decode_object(deployment)["spec"] == {
        "replicas": 0, "revisionHistoryLimit": 0, "progressDeadlineSeconds": 600,
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}}
    claim = ld(4, ld(1, ld(1, "data")),
               ld(2, ld(1, "ReadWriteOnce"), ld(2, entry(2, "storage", ld(1, "1Gi"))), ld(5, "")))
    sts = obj("apps/v1", "StatefulSet",
              ld(2, vi(1, 3), claim, ld(7, ld(1, "RollingUpdate"), ld(2, vi(1, 0)))),
              ld(3, vi(2, 0), vi(3, 0), vi(11, 0)))
    got = decode_object(sts)
    assert got["spec"] == {
        "replicas": 3,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Gi"}},
                                           "storageClassName": ""}}]}
    assert got["status"] == {"replicas": 0, "availableReplicas": 0}


def test_event_node_and_map_defaults() -> None:
    event = obj("v1", "Event", ld(2, ld(1, "Pod"), ld(3, "p")), ld(3, "Started"), vi(8, 2),
                ld(10, ts(1700000000, 1500)), ld(11, vi(1, 4), ld(2, ts(1700000009))),
                ld(14, ""), ld(15, "kubelet-1"))
    assert decode_object(event) == {
        "apiVersion": "v1", "kind": "Event", "involvedObject": {"kind": "Pod", "name": "p"},
        "reason": "Started", "count": 2, "eventTime": "2023-11-14T22:13:20.000001Z",
        "series": {"count": 4, "lastObservedTime": "2023-11-14T22:13:29.000000Z"},
        "reportingComponent": "", "reportingInstance": "kubelet-1"}
    node = obj("v1", "Node", ld(2, vi(4, 1)),
               ld(3, entry(1, "cpu", ld(1, "4")), ld(1, ld(1, "memory")),
                  ld(4, ld(1, "Ready"), ld(2, "True"), ld(3, ts(1700000000)), ld(4, b""))))
    assert decode_object(node) == {
        "apiVersion": "v1", "kind": "Node", "spec": {"unschedulable": True},
        "status": {"capacity": {"cpu": "4", "memory": "0"},
                   "conditions": [{"type": "Ready", "status": "True",
                                   "lastHeartbeatTime": "2023-11-14T22:13:20Z"}]}}


@pytest.mark.parametrize("api_version", ["meta.k8s.io/v1", "v1", "apps/v1"])
def test_delete_options_under_any_version(api_version: str) -> None:
    body = obj(api_version, "DeleteOptions", vi(1, 0), ld(2, ld(1, "u-1")), ld(4, "Foreground"),
               ld(5, "All"))
    assert decode_object(body) == {
        "apiVersion": api_version, "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u-1"}, "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_raw_extensions_hold_json_or_a_nested_object() -> None:
    body = obj("apps/v1", "ControllerRevision", ld(1, ld(1, "r-1")),
               ld(2, ld(1, b'{"spec":{"template":{}}}')), vi(3, 2))
    assert decode_object(body) == {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                                   "metadata": {"name": "r-1"},
                                   "data": {"spec": {"template": {}}}, "revision": 2}
    nested = obj("apps/v1", "ControllerRevision", ld(2, ld(1, CONFIGMAP)))
    assert decode_object(nested)["data"] == {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": "a"}, "data": {"k": "v"}}


def test_negative_packed_and_repeated_numbers() -> None:
    packed = ld(4, _varint(1) + _varint(2) + _varint(300))
    spec = ld(14, vi(2, -1), packed, vi(4, 4)) + vi(25, -5)
    assert decode_message("PodSpec", spec) == {
        "securityContext": {"runAsUser": -1, "supplementalGroups": [1, 2, 300, 4]},
        "priority": -5}


def test_unknown_fields_are_skipped_and_reported() -> None:
    body = obj("v1", "ConfigMap", ld(1, ld(1, "a"), vi(99, 7)), ld(2, ld(1, "k"), ld(2, "v"),
                                                                   ld(3, "x")),
               ld(40, "future"), _varint(41 << 3 | 1) + b"\0" * 8,
               _varint(42 << 3 | 5) + b"\0" * 4)
    unknown: list[str] = []
    assert decode_object(body, unknown) == {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "a"}, "data": {"k": "v"}}
    assert unknown == [
        "metadata: unknown field 99 (wire type 0) in ObjectMeta",
        "data: unknown map entry field 3 (wire type 2)",
        "<object>: unknown field 40 (wire type 2) in ConfigMap",
        "<object>: unknown field 41 (wire type 1) in ConfigMap",
        "<object>: unknown field 42 (wire type 5) in ConfigMap"]


def test_service_port_int_or_string_zero_is_omitted() -> None:
    port = ld(1, vi(3, 80), ld(4, vi(1, 0), vi(2, 0), ld(3, "")))
    named = ld(1, vi(3, 443), ld(4, vi(1, 1), ld(3, "https")))
    spec = decode_object(obj("v1", "Service", ld(2, port, named)))["spec"]
    assert spec == {"ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}


def test_media_type_and_input_types() -> None:
    assert is_protobuf("application/vnd.kubernetes.protobuf")
    assert is_protobuf("Application/Vnd.Kubernetes.Protobuf; charset=utf-8")
    assert is_protobuf("application/vnd.kubernetes.protobuf;stream=watch")
    assert not is_protobuf("application/json")
    assert decode_object(bytearray(CONFIGMAP)) == decode_object(memoryview(CONFIGMAP))
    with pytest.raises(ApiError):
        decode_message("NoSuchType", b"")


def _deep_revision(levels: int) -> bytes:
    body = obj("apps/v1", "ControllerRevision")
    for _ in range(levels):
        body = obj("apps/v1", "ControllerRevision", ld(2, ld(1, body)))
    return body


MALFORMED: list[tuple[str, bytes, str]] = [
    ("JSON, not protobuf", b'{"kind":"ConfigMap"}', 'magic number "k8s\\x00"'),
    ("truncated varint", MAGIC + b"\x0a\x80", "truncated varint at byte 5"),
    ("length beyond the buffer", MAGIC + b"\x0a\x10abc", "length 16 at byte 5 runs past"),
    ("wrong wire type", obj("v1", "ConfigMap", vi(1, 5)),
     "metadata: field 1 of ConfigMap has wire type 0, expected 2 (ObjectMeta)"),
    ("wrong wire type, nested", obj("apps/v1", "Deployment", ld(2, ld(1, "x"))),
     "spec.replicas: field 1 of DeploymentSpec has wire type 2, expected 0 (int32)"),
    ("kind without a table", obj("batch/v1", "Job"), 'no kind "Job" is registered for version'),
    ("compressed raw", MAGIC + ld(1, ld(1, "v1"), ld(2, "ConfigMap")) + ld(3, "gzip"),
     'unsupported content encoding "gzip"'),
    ("JSON inside the envelope",
     MAGIC + ld(1, ld(1, "v1"), ld(2, "ConfigMap")) + ld(4, "application/json"),
     'unsupported content type "application/json"'),
    ("magic alone", MAGIC, "the envelope names no kind"),
    ("field number 0", obj("v1", "ConfigMap", b"\x00\x01"), "invalid field number 0"),
    ("group wire type", obj("v1", "ConfigMap", b"\x4b"), "unsupported wire type 3"),
    ("overlong varint", obj("v1", "ConfigMap", b"\x20" + b"\xff" * 11), "longer than 10 bytes"),
    ("bad embedded JSON", obj("apps/v1", "ControllerRevision", ld(2, ld(1, "{nope"))),
     "data: embedded RawExtension is not valid JSON"),
    ("nanos out of range", obj("v1", "ConfigMap", ld(1, ld(8, vi(2, 10**9)))),
     "metadata.creationTimestamp: nanos 1000000000 out of range"),
    ("time out of range", obj("v1", "ConfigMap", ld(1, ld(8, vi(1, 1 << 50)))),
     "out of range"),
    ("quantity as a varint", obj("v1", "Node", ld(3, entry(1, "cpu", vi(1, 4)))),
     "field 1 has wire type 0, expected 2"),
    ("nested too deep", _deep_revision(120), "nested more than 100 deep"),
]


@pytest.mark.parametrize(("case", "body", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bodies_are_a_clear_400(case: str, body: bytes, message: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_object(body)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    assert message in info.value.message


def test_truncated_and_mutated_bodies_never_raise_anything_but_400() -> None:
    rng = random.Random(1)
    rich = _unzip(RICH_BODY)
    bodies = [DEPLOYMENT[:n] for n in range(len(DEPLOYMENT))]
    for _ in range(400):
        mutated = bytearray(rng.choice((DEPLOYMENT, SERVICE, rich)))
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(4, len(mutated))] = rng.randrange(256)
        bodies.append(bytes(mutated))
    bodies += [MAGIC + rng.randbytes(rng.randint(0, 64)) for _ in range(200)]
    for body in bodies:
        try:
            assert isinstance(decode_object(body), dict)
        except ApiError as exc:
            assert exc.code == 400


def test_a_full_deployment_decodes_well_under_a_millisecond() -> None:
    rich = _unzip(RICH_BODY)
    raw = raw_fields(rich, len(MAGIC), len(rich), "")[2]
    assert isinstance(raw, bytes)
    pod_spec = raw_fields(raw, 0, len(raw), "")[2]  # the rich PodSpec: 2 containers, 8 volumes
    assert isinstance(pod_spec, bytes)
    labels = entry(11, "app", "web")
    body = obj("apps/v1", "Deployment", ld(1, ld(1, "web"), ld(3, "default"), labels),
               ld(2, vi(1, 3), ld(2, ld(1, ld(1, "app"), ld(2, "web"))),
                  ld(3, ld(1, labels), ld(2, pod_spec))))
    assert len(decode_object(body)["spec"]["template"]["spec"]["containers"]) == 2
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(50):
            decode_object(body)
        best = min(best, (time.perf_counter() - start) / 50)
    assert best < 1e-3, f"{best * 1e6:.0f} µs per Deployment ({len(body)} bytes)"
