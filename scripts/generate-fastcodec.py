#!/usr/bin/env python3
"""Generates Shared/ExchangeProtocol/Generated/exchange_v1_fastcodec.swift from the protoc-generated
Swift messages next to it.

SwiftProtobuf encodes and decodes through generic visitors that the compiler cannot specialize
across modules; in the ledger and matching services that was a third of the CPU. This writes, for
every message of the contract, a direct encoder that emits exactly SwiftProtobuf's bytes (fields in
number order, proto3 defaults skipped, unknown fields last) and a direct decoder that handles the
encodings our own encoders produce and gives up (`ProtoFallback`) on anything else: an unknown
field, a wire type it does not expect, a repeated singular message or oneof, invalid UTF-8. The
caller then decodes with SwiftProtobuf, so behaviour on unusual input is SwiftProtobuf's.

The field list is read from the generated `decodeMessage` (field number, kind, property) and the
struct's property declarations (types, `has` accessors), so it follows the .proto contract through
`scripts/generate-protos.sh`, which runs this afterwards. Run: scripts/generate-fastcodec.py
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "Shared", "ExchangeProtocol", "Generated")
OUT = os.path.join(GEN, "exchange_v1_fastcodec.swift")

CASE = re.compile(r"case (\d+): try \{ try decoder\.decode(Singular|Repeated)(\w+?)Field\(value: &(?:self\.|_storage\.)(_?)(`?\w+`?)\) \}\(\)")
ONEOF = re.compile(r"case (\d+): try \{\s*var v: ([\w.]+)\?.*?(?:_storage\._|self\.)(\w+) = \.(\w+)\(v\)", re.S)


def block(text, start):
    """The text from `start` (at an opening brace) through its matching closing brace."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise ValueError("unbalanced braces")


def messages(text):
    out = []
    for m in re.finditer(r"extension (Exchange_V1_\w+): SwiftProtobuf\.Message, ", text):
        name = m.group(1)
        ext = block(text, text.index("{", m.end()))
        d = ext.index("func decodeMessage")
        decode = block(ext, ext.index("{", d))
        s = re.search(r"struct " + re.escape(name) + r": [^{]*\{", text)
        struct = block(text, s.end() - 1)
        props = dict(re.findall(r"public var (`?\w+`?): ([\w.\[\]]+)", struct))
        has = set(re.findall(r"public var has(\w+): Bool", struct))
        fields = []
        for c in CASE.finditer(decode):
            number, arity, kind, _under, prop = int(c.group(1)), c.group(2), c.group(3), c.group(4), c.group(5)
            fields.append(dict(number=number, arity=arity, kind=kind, prop=prop, type=props.get(prop),
                               has=cap(prop) in has))
        oneofs = {}
        for o in ONEOF.finditer(decode):
            number, typ, prop, case = int(o.group(1)), o.group(2), o.group(3), o.group(4)
            oneofs.setdefault(prop, []).append(dict(number=number, type=typ, case=case))
        out.append(dict(name=name, fields=fields, oneofs=oneofs,
                        cases=len(re.findall(r"\bcase \d+:", decode))))
    return out


def cap(prop):
    """`operator` -> Operator: the name after `has`."""
    bare = prop.strip("`")
    return bare[0].upper() + bare[1:]


def varint(v):
    out = []
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return out


def tag(number, wire):
    return ", ".join("0x%02X" % b for b in varint((number << 3) | wire))


WIRE = {"String": 2, "Bytes": 2, "Message": 2}
INT_KINDS = {"Int32", "Int64", "UInt32", "UInt64", "Bool", "Enum"}


def encode_value(kind, expr, typ):
    if kind == "String":
        return "w.string(%s)" % expr
    if kind == "Bytes":
        return "w.data(%s)" % expr
    if kind == "Message":
        return "w.message(%s)" % expr
    if kind in ("Int64",):
        return "w.varint(UInt64(bitPattern: %s))" % expr
    if kind == "Int32":
        return "w.varint(UInt64(bitPattern: Int64(%s)))" % expr
    if kind in ("UInt32", "UInt64"):
        return "w.varint(UInt64(%s))" % expr
    if kind == "Bool":
        return "w.varint(%s ? 1 : 0)" % expr
    if kind == "Enum":
        return "w.varint(UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: %s.rawValue))))" % expr
    raise ValueError(kind)


def nonzero(kind, expr):
    if kind in ("String", "Bytes"):
        return "!%s.isEmpty" % expr
    if kind == "Bool":
        return expr
    if kind == "Enum":
        return "%s.rawValue != 0" % expr
    return "%s != 0" % expr


def decode_value(kind, typ):
    if kind == "String":
        return "try r.string()"
    if kind == "Bytes":
        return "try r.data()"
    if kind == "Message":
        return "try r.message(%s.self)" % typ
    if kind == "Int64":
        return "Int64(bitPattern: try r.varint())"
    if kind == "Int32":
        return "Int32(truncatingIfNeeded: try r.varint())"
    if kind == "UInt32":
        return "UInt32(truncatingIfNeeded: try r.varint())"
    if kind == "UInt64":
        return "try r.varint()"
    if kind == "Bool":
        return "try r.varint() != 0"
    if kind == "Enum":
        return "%s(protoValue: try r.varint())" % typ
    raise ValueError(kind)


def emit(msgs):
    lines = []
    a = lines.append
    a("// DO NOT EDIT. Generated by scripts/generate-fastcodec.py from the protoc-generated messages.")
    a("// Direct protobuf encoders/decoders for every message (see `FastProtoMessage`).")
    a("")
    a("import Foundation")
    a("import SwiftProtobuf")
    a("")
    enums = set()
    for m in msgs:
        for f in m["fields"]:
            if f["kind"] == "Enum":
                enums.add(f["type"].strip("[]"))
    for e in sorted(enums):
        a("extension %s {" % e)
        a("    @inline(__always) init(protoValue: UInt64) {")
        a("        let raw = Int(Int32(truncatingIfNeeded: protoValue))")
        a("        self = Self(rawValue: raw) ?? .UNRECOGNIZED(raw)")
        a("    }")
        a("}")
        a("")
    for m in msgs:
        name = m["name"]
        handled = len(m["fields"]) + sum(len(v) for v in m["oneofs"].values())
        if handled != m["cases"]:
            sys.exit("%s: %d decode cases, %d understood" % (name, m["cases"], handled))
        entries = [("field", f["number"], f) for f in m["fields"]]
        for prop, cases in m["oneofs"].items():
            entries.append(("oneof", min(c["number"] for c in cases), (prop, cases)))
        entries.sort(key=lambda e: e[1])
        a("extension %s: FastProtoMessage {" % name)
        # A message whose oneof `payload` comes after all its other fields (the Envelope) also gets
        # its header (the fields before the oneof) and its payload (the rest) as separate encoders,
        # so a copy of an envelope for another topic can reuse the payload's bytes.
        split = None
        if "payload" in m["oneofs"]:
            first = min(c["number"] for c in m["oneofs"]["payload"])
            if all(f["number"] < first for f in m["fields"]):
                split = first
        if split is not None:
            a("    public func fastEncode(into w: inout ProtoWriter) {")
            a("        fastEncodeHeader(into: &w)")
            a("        fastEncodePayload(into: &w)")
            a("    }")
            a("")
            a("    /// The fields before the oneof `payload`: `fastEncode` writes these, then `fastEncodePayload`.")
            a("    public func fastEncodeHeader(into w: inout ProtoWriter) {")
        else:
            a("    public func fastEncode(into w: inout ProtoWriter) {")
        for kind, _, f in entries:
            if split is not None and kind == "oneof":
                a("    }")
                a("")
                a("    /// The oneof `payload` and unknown fields (what follows `fastEncodeHeader`).")
                a("    public func fastEncodePayload(into w: inout ProtoWriter) {")
            if kind == "oneof":
                prop, cases = f
                a("        switch self.%s {" % prop)
                for c in sorted(cases, key=lambda c: c["number"]):
                    a("        case .%s(let v)?:" % c["case"])
                    a("            w.tag(%s)" % tag(c["number"], 2))
                    a("            w.message(v)")
                a("        case nil: break")
                a("        }")
                continue
            wire = WIRE.get(f["kind"], 0)
            if f["arity"] == "Repeated":
                a("        for v in self.%s {" % f["prop"])
                a("            w.tag(%s)" % tag(f["number"], wire))
                a("            %s" % encode_value(f["kind"], "v", f["type"]))
                a("        }")
                continue
            expr = "self.%s" % f["prop"]
            cond = ("self.has%s" % cap(f["prop"])) if (f["has"] or f["kind"] == "Message") else nonzero(f["kind"], expr)
            a("        if %s {" % cond)
            a("            w.tag(%s)" % tag(f["number"], wire))
            a("            %s" % encode_value(f["kind"], expr, f["type"]))
            a("        }")
        a("        w.unknown(self.unknownFields)")
        a("    }")
        a("")
        a("    public static func fastDecode(_ r: inout ProtoReader, end: Int) throws(ProtoFallback) -> Self {")
        a("        var m = Self()")
        a("        while r.position < end {")
        a("            let key = try r.varint()")
        a("            switch key {")
        for kind, _, f in entries:
            if kind == "oneof":
                prop, cases = f
                for c in sorted(cases, key=lambda c: c["number"]):
                    a("            case %d:" % ((c["number"] << 3) | 2))
                    a("                guard m.%s == nil else { throw ProtoFallback() }" % prop)
                    a("                m.%s = .%s(try r.message(%s.self))" % (prop, c["case"], c["type"]))
                continue
            wire = WIRE.get(f["kind"], 0)
            a("            case %d:" % ((f["number"] << 3) | wire))
            value = decode_value(f["kind"], f["type"].strip("[]") if f["type"] else None)
            if f["arity"] == "Repeated":
                a("                m.%s.append(%s)" % (f["prop"], value))
            else:
                if f["kind"] == "Message":
                    a("                guard !m.has%s else { throw ProtoFallback() }" % cap(f["prop"]))
                a("                m.%s = %s" % (f["prop"], value))
        a("            default:")
        a("                throw ProtoFallback()")
        a("            }")
        a("        }")
        a("        guard r.position == end else { throw ProtoFallback() }")
        a("        return m")
        a("    }")
        a("}")
        a("")
    return "\n".join(lines)


def main():
    msgs = []
    for fn in sorted(os.listdir(GEN)):
        if fn.endswith(".pb.swift"):
            with open(os.path.join(GEN, fn)) as f:
                msgs += messages(f.read())
    if not msgs:
        sys.exit("no generated messages under " + GEN)
    with open(OUT, "w") as f:
        f.write(emit(msgs))
    print("wrote %s (%d messages)" % (os.path.relpath(OUT, ROOT), len(msgs)))


if __name__ == "__main__":
    main()
