"""Build ``proto/webcast.proto`` from the flattened v3 schema dump.

The dump (``webcast_v3_schema_dump.txt``, see ``protocol.md``) lists every message and enum of
TikTokLiveProto 0.3.0 with its field numbers, one Python module per ``webcast.*`` package. This
script keeps the envelope types and the message of every method in ``fastlive.events.EVENT_TYPES``,
adds everything they reference, and writes one proto3 file in one package, deterministically:

- a type name defined in more than one module keeps its bare name in the module listed in
  ``PREFERRED_MODULE`` and gets a module prefix elsewhere (``OecMsgTag``);
- a reference resolves to the type in the referring module first, then to the only type of that
  name, then to ``PREFERRED_MODULE``; a name defined twice in one module keeps its last definition,
  as Python does when it runs the module;
- enum values get the enum's UPPER_SNAKE name as prefix (proto enum values share the package
  scope), a ``<PREFIX>_UNSPECIFIED = 0`` value when the enum has no zero, and ``allow_alias`` when
  two names share a number.

Usage (from the project root)::

    python proto/build_schema.py [path/to/webcast_v3_schema_dump.txt] [-o proto/webcast.proto]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DUMP = Path("../shared/webcast_v3_schema_dump.txt")
"""Default dump path, relative to the project root."""
DEFAULT_OUTPUT = ROOT / "proto" / "webcast.proto"
PACKAGE = "fastlive.webcast"
COMMAND = "python proto/build_schema.py"

ENVELOPE_TYPES = (
    "WebcastPushFrame",
    "PushHeader",
    "ProtoMessageFetchResult",
    "BaseProtoMessage",
    "HeartBeatMessage",
    "WebcastImEnterRoomMessage",
)
"""Frame, batch and client-to-server types: not events, but needed to read and write frames."""

PREFERRED_MODULE = {
    # CommonMessageData.display_text and every message field: key/default_pattern/pieces.
    "Text": "webcast.model.message.common",
    # User.authentication_info: webcast.model's is a superset (adds has_cert).
    "AuthenticationInfo": "webcast.model",
    # Linkmic references (LinkerInfo, SecondDegreeRelationContent): the shared user triple.
    "UserInfo": "webcast.shared",
    # Linkmic references (JoinGroupBizContent.from_tag): the interact tag, not the shop one.
    "Tag": "webcast.chatroom.interact.model",
    # Only referenced from within each module; this one keeps the bare name.
    "FlashSaleEnhancementInfo": "webcast.model.message",
}
"""Which module's type keeps the bare name when several modules define it (and wins a
reference from a third module). A new duplicate in the dump stops the build until listed here."""

SCALARS = {"int32", "int64", "bool", "string", "bytes", "double", "float"}

_MESSAGE_RE = re.compile(r"^message ([\w.]+):(\w+)\s+\[([^\]]*)\]\s*$")
_ENUM_RE = re.compile(r"^enum ([\w.]+):(\w+) \{(.*)\}\s*$")
_FIELD_RE = re.compile(r"^\s+(\d+) (\w+) (.+?)\s*$")
_MAP_RE = re.compile(r"^map<(\w+), (\w+)>:dict\[\w+, (\w+)\]$")
_REF_RE = re.compile(r"^(message|enum):(?:list\[(\w+)\]|(\w+))$")


class SchemaError(Exception):
    """The dump does not say something the build needs, or says it twice."""


@dataclass(frozen=True)
class Ref:
    """A reference to a message or enum by its Python class name."""

    kind: str  # "message" or "enum"
    name: str


@dataclass
class Field:
    number: int
    name: str
    repeated: bool = False
    scalar: str | None = None  # one of SCALARS
    ref: Ref | None = None
    map_key: str | None = None  # set for map fields; the value is scalar or ref


@dataclass
class TypeDef:
    kind: str  # "message" or "enum"
    module: str
    name: str
    full_name: str = ""  # the proto name betterproto2 saw, or "?"
    fields: list[Field] = field(default_factory=list)
    values: list[tuple[str, int]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.module, self.name)


def _parse_type(spec: str, where: str) -> tuple[str | None, Ref | None, str | None]:
    """Split a field type into (scalar, ref, map key)."""
    match = _MAP_RE.match(spec)
    if match:
        key, value, py_value = match.groups()
        if value in SCALARS:
            return value, None, key
        if value in ("message", "enum"):
            return None, Ref(value, py_value), key
        raise SchemaError(f"{where}: unknown map value type {spec!r}")
    if spec in SCALARS:
        return spec, None, None
    match = _REF_RE.match(spec)
    if match:
        kind, listed, single = match.groups()
        return None, Ref(kind, listed or single), None
    raise SchemaError(f"{where}: unknown field type {spec!r}")


def parse_dump(text: str) -> list[TypeDef]:
    """Every message and enum of the dump, in dump order."""
    out: list[TypeDef] = []
    current: TypeDef | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"line {lineno}"
        if line.startswith("message "):
            match = _MESSAGE_RE.match(line)
            if not match:
                raise SchemaError(f"{where}: bad message line {line!r}")
            module, name, full_name = match.groups()
            current = TypeDef("message", module, name, full_name.strip())
            out.append(current)
        elif line.startswith("enum "):
            match = _ENUM_RE.match(line)
            if not match:
                raise SchemaError(f"{where}: bad enum line {line!r}")
            module, name, body = match.groups()
            values = []
            for item in body.split(","):
                value_name, _, number = item.strip().partition("=")
                values.append((value_name.strip(), int(number)))
            out.append(TypeDef("enum", module, name, values=values))
            current = None
        else:
            match = _FIELD_RE.match(line)
            if not match or current is None:
                raise SchemaError(f"{where}: unexpected line {line!r}")
            number, name, rest = match.groups()
            repeated = rest.endswith(" repeated")
            spec = rest.removesuffix(" repeated").strip()
            scalar, ref, map_key = _parse_type(spec, where)
            current.fields.append(Field(int(number), name, repeated, scalar, ref, map_key))
    return out


class Schema:
    """The dump's types, with cross-module references resolved and proto names assigned."""

    def __init__(self, defs: list[TypeDef]) -> None:
        # A name defined twice in one module: Python keeps the last class statement.
        by_key: dict[tuple[str, str], TypeDef] = {}
        self.shadowed: list[tuple[str, str]] = []
        for d in defs:
            if d.key in by_key:
                self.shadowed.append(d.key)
            by_key[d.key] = d
        self.types = by_key
        self.by_name: dict[str, list[TypeDef]] = defaultdict(list)
        for d in by_key.values():
            self.by_name[d.name].append(d)
        self.proto_names = self._assign_names()

    def _assign_names(self) -> dict[tuple[str, str], str]:
        names: dict[tuple[str, str], str] = {}
        taken = set(self.by_name)
        for name, group in sorted(self.by_name.items()):
            if len(group) == 1:
                names[group[0].key] = name
                continue
            preferred = PREFERRED_MODULE.get(name)
            if preferred not in {d.module for d in group}:
                modules = ", ".join(sorted(d.module for d in group))
                raise SchemaError(
                    f"{name} is defined in several modules ({modules}): "
                    "add it to PREFERRED_MODULE in proto/build_schema.py"
                )
            for d in sorted(group, key=lambda d: d.module):
                if d.module == preferred:
                    names[d.key] = name
                    continue
                parts = d.module.split(".")
                for depth in range(1, len(parts) + 1):
                    prefix = "".join(_camel(p) for p in parts[-depth:])
                    candidate = prefix + name
                    if candidate not in taken:
                        break
                else:
                    raise SchemaError(f"no free name for {d.module}:{name}")
                taken.add(candidate)
                names[d.key] = candidate
        return names

    def resolve(self, ref: Ref, from_module: str) -> TypeDef:
        """The type a reference from ``from_module`` means (same module, unique, preferred)."""
        group = [d for d in self.by_name.get(ref.name, ()) if d.kind == ref.kind]
        for d in group:
            if d.module == from_module:
                return d
        if len(group) == 1:
            return group[0]
        if not group:
            raise SchemaError(f"{from_module}: unknown {ref.kind} {ref.name}")
        preferred = PREFERRED_MODULE.get(ref.name)
        for d in group:
            if d.module == preferred:
                return d
        raise SchemaError(f"{from_module}: ambiguous reference to {ref.name}")

    def find_message(self, name: str) -> TypeDef | None:
        """A message by its class name (the preferred one when several modules define it)."""
        group = [d for d in self.by_name.get(name, ()) if d.kind == "message"]
        if len(group) > 1:
            group = [d for d in group if d.module == PREFERRED_MODULE.get(name)]
        return group[0] if group else None

    def closure(self, roots: list[TypeDef]) -> list[TypeDef]:
        """``roots`` and every type they reference, transitively."""
        seen: dict[tuple[str, str], TypeDef] = {}
        stack = list(roots)
        while stack:
            d = stack.pop()
            if d.key in seen:
                continue
            seen[d.key] = d
            for f in d.fields:
                if f.ref is not None:
                    stack.append(self.resolve(f.ref, d.module))
        return list(seen.values())


def _camel(part: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in part.split("_"))


def upper_snake(name: str) -> str:
    """``LinkMicBattleBattleAction`` -> ``LINK_MIC_BATTLE_BATTLE_ACTION``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).upper()


def _field_type(schema: Schema, d: TypeDef, f: Field) -> str:
    if f.ref is not None:
        value = schema.proto_names[schema.resolve(f.ref, d.module).key]
    else:
        assert f.scalar is not None
        value = f.scalar
    if f.map_key is not None:
        return f"map<{f.map_key}, {value}>"
    return f"repeated {value}" if f.repeated else value


def render_message(schema: Schema, d: TypeDef) -> list[str]:
    name = schema.proto_names[d.key]
    lines = [f"// {d.module}:{d.name} [{d.full_name}]", f"message {name} {{"]
    for f in sorted(d.fields, key=lambda f: f.number):
        lines.append(f"  {_field_type(schema, d, f)} {f.name} = {f.number};")
    lines.append("}")
    return lines


def render_enum(schema: Schema, d: TypeDef) -> list[str]:
    name = schema.proto_names[d.key]
    prefix = upper_snake(name)
    values = sorted(d.values, key=lambda v: v[1])  # stable: dump order among aliases
    rendered: list[tuple[str, int]] = []
    if not any(number == 0 for _, number in values):
        rendered.append((f"{prefix}_UNSPECIFIED", 0))
    for value_name, number in values:
        proto_name = value_name if value_name.startswith(prefix + "_") else f"{prefix}_{value_name}"
        rendered.append((proto_name, number))
    seen_names = [n for n, _ in rendered]
    if len(set(seen_names)) != len(seen_names):
        raise SchemaError(f"enum {d.module}:{d.name}: value names collide after prefixing")
    lines = [f"// {d.module}:{d.name}", f"enum {name} {{"]
    numbers = [number for _, number in rendered]
    if len(set(numbers)) != len(numbers):
        lines.append("  option allow_alias = true;")
    lines.extend(f"  {n} = {number};" for n, number in rendered)
    lines.append("}")
    return lines


def event_methods() -> list[str]:
    """The method names fastlive maps to events (``fastlive.events.EVENT_TYPES``)."""
    sys.path.insert(0, str(ROOT / "src"))
    try:
        from fastlive.events import EVENT_TYPES
    finally:
        sys.path.pop(0)
    return sorted(EVENT_TYPES)


def build(dump_text: str, methods: list[str]) -> tuple[str, list[str]]:
    """The .proto text for ``methods`` plus the envelope, and the methods missing from the dump."""
    schema = Schema(parse_dump(dump_text))
    roots: list[TypeDef] = []
    missing: list[str] = []
    for name in [*ENVELOPE_TYPES, *methods]:
        d = schema.find_message(name)
        if d is None:
            missing.append(name)
        else:
            roots.append(d)
    kept = schema.closure(roots)
    messages = sorted(
        (d for d in kept if d.kind == "message"), key=lambda d: schema.proto_names[d.key]
    )
    enums = sorted((d for d in kept if d.kind == "enum"), key=lambda d: schema.proto_names[d.key])
    digest = hashlib.sha256(dump_text.encode()).hexdigest()
    header = [
        f"// Generated by `{COMMAND}` from webcast_v3_schema_dump.txt: do not edit.",
        f"// Dump sha256: {digest}",
        "// TikTokLiveProto 0.3.0 'v3' schema (see protocol.md), flattened into one package:",
        f"// {len(messages)} messages and {len(enums)} enums, the envelope types and the message",
        f"// of each of the {len(methods)} methods in fastlive.events.EVENT_TYPES, with every",
        "// type they reference. Each type's comment names its Python module and proto name.",
    ]
    if missing:
        header.append("// Not in the dump: " + ", ".join(missing))
    for module, name in sorted(set(schema.shadowed)):
        if (module, name) in {d.key for d in kept}:
            header.append(f"// {module}:{name} is defined twice in the dump: the last one is kept.")
    lines = [*header, "", 'syntax = "proto3";', "", f"package {PACKAGE};", ""]
    for d in messages:
        lines.extend(render_message(schema, d))
        lines.append("")
    for d in enums:
        lines.extend(render_enum(schema, d))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n", missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "dump",
        nargs="?",
        help="schema dump (default: ../shared/webcast_v3_schema_dump.txt from the project root)",
    )
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), help="where to write")
    args = parser.parse_args(argv)
    dump = Path(args.dump) if args.dump else ROOT / DEFAULT_DUMP
    text, missing = build(dump.read_text(encoding="utf-8"), event_methods())
    Path(args.output).write_text(text, encoding="utf-8")
    for name in missing:
        print(f"warning: {name} is not in the dump", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
