"""Just enough Kubernetes protobuf decoding for the bodies kubectl sends that way.

kubectl's typed clients POST some kinds as ``application/vnd.kubernetes.protobuf`` (access
reviews for ``kubectl auth can-i``, ``SelfSubjectReview`` for ``auth whoami``, TokenRequest for
``kubectl create token``). Those bodies are a ``k8s\\0`` magic, then a ``runtime.Unknown``
envelope whose ``raw`` field holds the object. This module decodes those few messages into the
JSON shape the rest of the server handles; answers always go back as JSON, which kubectl
accepts too.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a base-128 varint at ``pos``; returns (value, next position)."""
    shift = value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> dict[int, list[Any]]:
    """Field number -> values (ints for varints, bytes for length-delimited)."""
    out: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _str(f: dict[int, list[Any]], n: int) -> str:
    """A string field ("" when absent)."""
    return f[n][0].decode() if n in f else ""


def _strings(f: dict[int, list[Any]], n: int) -> list[str]:
    """A repeated string field."""
    return [v.decode() for v in f.get(n, [])]


def _resource_attributes(data: bytes) -> dict[str, Any]:
    """authorization/v1 ResourceAttributes."""
    f = fields(data)
    names = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
             6: "subresource", 7: "name"}
    return {k: _str(f, n) for n, k in names.items() if n in f}


def _non_resource_attributes(data: bytes) -> dict[str, Any]:
    """authorization/v1 NonResourceAttributes."""
    f = fields(data)
    return {"path": _str(f, 1), "verb": _str(f, 2)}


def _access_review_spec(data: bytes, self_review: bool) -> dict[str, Any]:
    """(Self|Local)SubjectAccessReviewSpec."""
    f = fields(data)
    spec: dict[str, Any] = {}
    if 1 in f:
        spec["resourceAttributes"] = _resource_attributes(f[1][0])
    if 2 in f:
        spec["nonResourceAttributes"] = _non_resource_attributes(f[2][0])
    if not self_review:
        spec["user"] = _str(f, 3)
        spec["groups"] = _strings(f, 4)
        if 6 in f:
            spec["uid"] = _str(f, 6)
    return spec


def _token_request_spec(data: bytes) -> dict[str, Any]:
    """authentication/v1 TokenRequestSpec."""
    f = fields(data)
    spec: dict[str, Any] = {"audiences": _strings(f, 1)}
    if 4 in f:
        spec["expirationSeconds"] = f[4][0]
    if 3 in f:
        ref = fields(f[3][0])
        spec["boundObjectRef"] = {"kind": _str(ref, 1), "apiVersion": _str(ref, 2),
                                  "name": _str(ref, 3), "uid": _str(ref, 4)}
    return spec


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object of a supported kind as its JSON form (400 otherwise)."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "the protobuf body does not start with the k8s\\0 envelope",
                       "BadRequest")
    try:
        env = fields(body[len(MAGIC):])
        type_meta = fields(env[1][0]) if 1 in env else {}
        api_version, kind = _str(type_meta, 1), _str(type_meta, 2)
        obj = fields(env[2][0]) if 2 in env else {}
        doc: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
        if kind in ("SelfSubjectAccessReview", "SubjectAccessReview",
                    "LocalSubjectAccessReview"):
            spec = obj.get(2, [b""])[0]
            doc["spec"] = _access_review_spec(spec, kind == "SelfSubjectAccessReview")
        elif kind == "SelfSubjectRulesReview":
            doc["spec"] = {"namespace": _str(fields(obj.get(2, [b""])[0]), 1)}
        elif kind == "SelfSubjectReview":
            pass
        elif kind == "TokenRequest":
            doc["spec"] = _token_request_spec(obj.get(2, [b""])[0])
        else:
            raise ApiError(415, f"protobuf bodies of kind {kind or '(none)'} are not supported by "
                                "the sandbox; send JSON (application/json)",
                           "UnsupportedMediaType")
        return doc
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the protobuf body could not be decoded: {exc}", "BadRequest") \
            from None
