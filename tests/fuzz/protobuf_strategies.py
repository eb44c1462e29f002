"""Hypothesis strategies for any protobuf request, built from its message descriptor alone.

Every field type (all the integer widths at their limits, floats with NaN and infinities, bool,
strings with control and astral characters, bytes), nested messages to a bounded depth, repeated
fields, maps, one member (or none) of each oneof, enum numbers outside the declared ones (proto3
enums are open: a server must refuse them, not crash), and now and then one huge string or bytes
field, kept under the 4 MiB gRPC message limit so the server reads it.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

MAX_DEPTH = 3
MAX_REPEATED = 4
HUGE_MIN, HUGE_MAX = 64 * 1024, 3 * 1024 * 1024  # "huge", yet under the 4 MiB default receive limit

T = FieldDescriptor
INT_RANGES: dict[int, tuple[int, int]] = {
    T.TYPE_INT32: (-(2**31), 2**31 - 1),
    T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    T.TYPE_INT64: (-(2**63), 2**63 - 1),
    T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    T.TYPE_UINT32: (0, 2**32 - 1),
    T.TYPE_FIXED32: (0, 2**32 - 1),
    T.TYPE_UINT64: (0, 2**64 - 1),
    T.TYPE_FIXED64: (0, 2**64 - 1),
}
TRICKY_TEXT = ["", " ", "0", "-1", "NaN", "../../etc/passwd", "\x00", "A" * 300, "日本語", "🏦", "1e309", "%s%n"]


def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = sorted({low, high, 0, 1, -1 if low < 0 else 0, min(high, 2**31 - 1), max(low, -(2**31))})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(TRICKY_TEXT), st.text(max_size=40), st.from_regex(r"[0-9A-Z\-]{1,24}", fullmatch=True)
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in INT_RANGES:
        return _integers(*INT_RANGES[kind])
    if kind == T.TYPE_BOOL:
        return st.booleans()
    if kind == T.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == T.TYPE_DOUBLE:
        return st.floats()
    if kind == T.TYPE_STRING:
        return _text()
    if kind == T.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"\x30\x82", b"-----BEGIN CERTIFICATE-----"]))
    if kind == T.TYPE_ENUM:
        declared = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(declared), _integers(-(2**31), 2**31 - 1))  # out of range too
    raise AssertionError(f"no strategy for field type {kind} ({field.full_name})")


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == T.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _fields(descriptor: Descriptor, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Values for some of the message's fields: each field set or left out; one member per oneof at most."""
    in_oneof = {f.name for o in descriptor.oneofs for f in o.fields}
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.name in in_oneof:
            continue
        parts[field.name] = st.one_of(st.none(), _value(field, depth))
    for oneof in descriptor.oneofs:
        choices = [st.tuples(st.just(f.name), _value(f, depth)) for f in oneof.fields]
        parts[f"oneof:{oneof.name}"] = st.one_of(st.none(), *choices)
    return st.fixed_dictionaries(parts)


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if _is_map(field):
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return st.dictionaries(_scalar(key), _single(value, depth + 1), max_size=MAX_REPEATED)
    if _repeated(field):
        return st.lists(_single(field, depth + 1), max_size=MAX_REPEATED)
    return _single(field, depth + 1)


def _single(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type != T.TYPE_MESSAGE:
        return _scalar(field)
    if depth > MAX_DEPTH:
        return st.just({})  # present but empty: the recursion stops here
    return _fields(field.message_type, depth)


def _fill(message: Message, values: dict[str, Any]) -> None:
    descriptor = message.DESCRIPTOR
    for name, value in values.items():
        if value is None:
            continue
        if name.startswith("oneof:"):
            name, value = value
        field = descriptor.fields_by_name[name]
        target = getattr(message, name)
        if _is_map(field):
            entry = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if entry.type == T.TYPE_MESSAGE:
                    _fill(target[key], item)
                else:
                    target[key] = item
        elif _repeated(field):
            for item in value:
                if field.type == T.TYPE_MESSAGE:
                    _fill(target.add(), item)
                else:
                    target.append(item)
        elif field.type == T.TYPE_MESSAGE:
            target.SetInParent()
            _fill(target, value)
        else:
            setattr(message, name, value)


def _huge_fields(descriptor: Descriptor) -> list[FieldDescriptor]:
    return [
        f for f in descriptor.fields if f.type in (T.TYPE_STRING, T.TYPE_BYTES) and not _repeated(f) and not _is_map(f)
    ]


def messages(descriptor: Descriptor) -> st.SearchStrategy[Message]:
    """Random instances of the message ``descriptor`` describes (sometimes with one huge top-level field)."""
    cls = GetMessageClass(descriptor)
    huge = _huge_fields(descriptor)
    huge_choice = st.none() if not huge else st.one_of(
        st.none(), st.none(), st.none(), st.tuples(st.sampled_from(huge), st.integers(HUGE_MIN, HUGE_MAX))
    )  # fmt: skip

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        _fill(message, draw(_fields(descriptor, 0)))
        chosen = draw(huge_choice)
        if chosen is not None:
            field, size = chosen
            setattr(message, field.name, ("x" if field.type == T.TYPE_STRING else b"\x01") * size)
        return message

    return build()
