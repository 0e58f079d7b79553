"""The Kubernetes protobuf message tables, as compact text compiled at import.

No maintained Python package ships the Kubernetes message definitions, and
vendoring the ``generated.proto`` files plus a protobuf runtime would bring in
far more than a request decoder needs.  So each message is one line of text
written by hand from the upstream ``generated.proto`` of ``k8s.io/api`` and
``k8s.io/apimachinery``: field numbers are the wire contract, and the JSON
name of every field is its proto name.  A message reads::

    "ConfigMap": "1 metadata ObjectMeta; 4 immutable bool!; 2 data {string}; ..."

that is ``number name type`` entries separated by ``;``, where ``type`` is

* a scalar: ``string``, ``int32``, ``int64``, ``bool``, ``bytes`` (base64 in JSON);
* a well-known apimachinery type with its own JSON form: ``Time`` and
  ``MicroTime`` (RFC 3339 strings), ``Quantity`` (its string),
  ``IntOrString`` (int or string), ``RawExtension`` and ``FieldsV1``
  (embedded JSON);
* the name of another message of these tables;
* ``[T]`` for a repeated field, ``{T}`` for ``map<string, T>``;

suffixed by ``!`` when a zero value must be kept.  Go marshals every
non-pointer field, so the wire carries ``generation: 0`` and ``name: ""`` even
when unset; a JSON client would have left those out (``omitempty``).  The
decoder therefore drops zero scalars unless the field is a Go pointer or has no
``omitempty`` (``replicas: 0``, ``storageClassName: ""``, ``containerPort``),
which is what ``!`` marks.  The name ``...`` marks a field embedded with
``json:",inline"`` (``VolumeSource`` in ``Volume``): its fields join the parent.
The name ``-`` marks a field removed upstream that older clients still send
(``ObjectMeta.clusterName``): it is skipped without being reported as unknown.
"""

from __future__ import annotations

from mizzen.apiserver.protobuf_apps import APPS_MESSAGES
from mizzen.apiserver.protobuf_core import CORE_MESSAGES
from mizzen.apiserver.protobuf_pod import POD_MESSAGES
from mizzen.apiserver.protobuf_volumes import VOLUME_MESSAGES

# Value kinds.
K_STRING, K_INT32, K_INT64, K_BOOL, K_BYTES, K_MESSAGE = range(6)
K_TIME, K_MICROTIME, K_QUANTITY, K_INTORSTRING, K_RAWEXTENSION, K_FIELDSV1 = range(6, 12)

_SCALARS = {"string": K_STRING, "int32": K_INT32, "int64": K_INT64, "bool": K_BOOL,
            "bytes": K_BYTES}
_SPECIAL = {"Time": K_TIME, "MicroTime": K_MICROTIME, "Quantity": K_QUANTITY,
            "IntOrString": K_INTORSTRING, "RawExtension": K_RAWEXTENSION,
            "FieldsV1": K_FIELDSV1}
_VARINT_KINDS = frozenset((K_INT32, K_INT64, K_BOOL))

# Decoder operations, one per (field, wire type) pair, so the decoder's loop
# makes a single dict lookup and a single dispatch per field.
(OP_STRING, OP_STRINGS, OP_MESSAGE, OP_MESSAGES, OP_INLINE, OP_INT32, OP_INT64, OP_BOOL,
 OP_NUMBERS, OP_PACKED, OP_MAP, OP_BYTES, OP_SPECIAL, OP_SPECIALS) = range(14)

META_MESSAGES: dict[str, str] = {
    # k8s.io/apimachinery/pkg/apis/meta/v1
    "ObjectMeta": """1 name string; 2 generateName string; 3 namespace string; 4 selfLink string;
        5 uid string; 6 resourceVersion string; 7 generation int64; 8 creationTimestamp Time;
        9 deletionTimestamp Time; 10 deletionGracePeriodSeconds int64!; 11 labels {string};
        12 annotations {string}; 13 ownerReferences [OwnerReference]; 14 finalizers [string];
        17 managedFields [ManagedFieldsEntry]; 15 - string; 16 - Initializers""",
    "OwnerReference": """5 apiVersion string!; 1 kind string!; 3 name string!; 4 uid string!;
        6 controller bool!; 7 blockOwnerDeletion bool!""",
    "ManagedFieldsEntry": """1 manager string; 2 operation string; 3 apiVersion string;
        4 time Time; 6 fieldsType string; 7 fieldsV1 FieldsV1; 8 subresource string""",
    "LabelSelector": "1 matchLabels {string}; 2 matchExpressions [LabelSelectorRequirement]",
    "LabelSelectorRequirement": "1 key string!; 2 operator string!; 3 values [string]",
    "Condition": """1 type string!; 2 status string!; 3 observedGeneration int64;
        4 lastTransitionTime Time; 5 reason string!; 6 message string!""",
    "DeleteOptions": """1 gracePeriodSeconds int64!; 2 preconditions Preconditions;
        3 orphanDependents bool!; 4 propagationPolicy string!; 5 dryRun [string];
        6 ignoreStoreReadErrorWithClusterBreakingPotential bool!""",
    "Preconditions": "1 uid string!; 2 resourceVersion string!",
}

# (apiVersion, kind) of a request body -> its message.  ``DeleteOptions`` is
# accepted under any apiVersion, as clients stamp it with the resource's group.
KINDS: dict[tuple[str, str], str] = {
    **{("v1", kind): kind for kind in (
        "ConfigMap", "Secret", "Namespace", "Service", "ServiceAccount", "Pod", "Event",
        "Endpoints", "PersistentVolumeClaim", "Node", "Binding")},
    **{("apps/v1", kind): kind for kind in (
        "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision")},
    ("coordination.k8s.io/v1", "Lease"): "Lease",
    ("autoscaling/v1", "Scale"): "Scale",
    ("policy/v1", "Eviction"): "Eviction",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
}
ANY_VERSION_KINDS = frozenset({"DeleteOptions"})


class Message:
    """One message type: its fields by number, and by expected tag for decoding."""

    __slots__ = ("by_tag", "fields", "ignored", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.fields: dict[int, Field] = {}
        # tag (number << 3 | wire type) -> (operation, JSON name, sub-message, keep, field)
        self.by_tag: dict[int, Op] = {}
        # Removed upstream, still sent by old clients: skipped silently.
        self.ignored: frozenset[int] = frozenset()


class Field:
    """One field: JSON name, value kind, and how it is laid out."""

    __slots__ = ("inline", "is_map", "keep", "kind", "message", "name", "number", "repeated",
                 "type_name", "wire")

    def __init__(self, number: int, name: str, spec: str) -> None:
        self.number = number
        self.name = name
        self.inline = name == "..."
        self.keep = spec.endswith("!")
        spec = spec.rstrip("!")
        self.repeated = spec.startswith("[") and spec.endswith("]")
        self.is_map = spec.startswith("{") and spec.endswith("}")
        if self.repeated or self.is_map:
            spec = spec[1:-1]
        self.type_name = spec
        self.kind = _SCALARS.get(spec, _SPECIAL.get(spec, K_MESSAGE))
        self.message: Message | None = None
        # Expected wire type: varint for numbers and bools, length-delimited otherwise
        # (a repeated number may also come packed, length-delimited).
        self.wire = 0 if self.kind in _VARINT_KINDS and not self.is_map else 2

    def operations(self) -> list[tuple[int, Op]]:
        """(tag, operation) pairs this field may arrive as."""
        if self.is_map:
            op = OP_MAP
        elif self.kind == K_MESSAGE:
            op = OP_INLINE if self.inline else OP_MESSAGES if self.repeated else OP_MESSAGE
        elif self.kind == K_STRING:
            op = OP_STRINGS if self.repeated else OP_STRING
        elif self.kind == K_BYTES:
            op = OP_BYTES
        elif self.wire == 0:
            if self.repeated:
                none = _NOT_A_MESSAGE
                return [(self.number << 3, (OP_NUMBERS, self.name, none, self.keep, self)),
                        (self.number << 3 | 2, (OP_PACKED, self.name, none, self.keep, self))]
            op = {K_INT32: OP_INT32, K_INT64: OP_INT64}.get(self.kind, OP_BOOL)
        else:
            op = OP_SPECIALS if self.repeated else OP_SPECIAL
        sub = self.message or _NOT_A_MESSAGE
        return [(self.number << 3 | self.wire, (op, self.name, sub, self.keep, self))]


Op = tuple[int, str, Message, bool, Field]
_NOT_A_MESSAGE = Message("(none)")


def _compile(texts: dict[str, str]) -> dict[str, Message]:
    messages = {name: Message(name) for name in texts}
    for name, text in texts.items():
        msg = messages[name]
        for entry in text.split(";"):
            if not entry.strip():
                continue
            number, field_name, spec = entry.split()
            if field_name == "-":
                msg.ignored |= {int(number)}
                continue
            field = Field(int(number), field_name, spec)
            if field.number in msg.fields:
                raise RuntimeError(f"protobuf table {name}: field {number} defined twice")
            if field.kind == K_MESSAGE:
                if field.type_name not in messages:
                    raise RuntimeError(f"protobuf table {name}.{field_name}: "
                                       f"unknown type {field.type_name}")
                field.message = messages[field.type_name]
            if field.inline and field.message is None:
                raise RuntimeError(f"protobuf table {name}: only messages can be inlined")
            if field.kind == K_BYTES and field.repeated:
                raise RuntimeError(f"protobuf table {name}: repeated bytes are not supported")
            msg.fields[field.number] = field
            msg.by_tag.update(field.operations())
    return messages


def _merge(*tables: dict[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for table in tables:
        for name, text in table.items():
            if name in merged:
                raise RuntimeError(f"protobuf table {name} defined twice")
            merged[name] = text
    return merged


MESSAGES: dict[str, Message] = _compile(_merge(
    META_MESSAGES, CORE_MESSAGES, POD_MESSAGES, VOLUME_MESSAGES, APPS_MESSAGES))

for _message_name in (*KINDS.values(), *ANY_VERSION_KINDS):
    if _message_name not in MESSAGES:  # pragma: no cover - a table bug, caught at import
        raise RuntimeError(f"protobuf kind {_message_name} has no message table")
