#!/usr/bin/env python3
"""Reads a GGUF file with the PyPI gguf package (GGUFReader) and prints a JSON summary on stdout, for
test_gguf_py.cpp to compare with what hotrod's writer was asked to write.

Summary: version, alignment, data_offset; per key: the type chain gguf-py reports (nested arrays are flattened by
gguf-py: ["array", "array", "u8"]) and its contents() (strings as strings, numbers as numbers; arrays flattened);
per tensor: name, type, shape (ggml order), n_bytes, absolute data offset, FNV-1a 64 of its data bytes (hex).

usage: check_with_gguf_py.py FILE.gguf
"""
import json
import sys

import gguf

NAMES = {
    gguf.GGUFValueType.UINT8: "u8", gguf.GGUFValueType.INT8: "i8", gguf.GGUFValueType.UINT16: "u16",
    gguf.GGUFValueType.INT16: "i16", gguf.GGUFValueType.UINT32: "u32", gguf.GGUFValueType.INT32: "i32",
    gguf.GGUFValueType.FLOAT32: "f32", gguf.GGUFValueType.BOOL: "bool", gguf.GGUFValueType.STRING: "string",
    gguf.GGUFValueType.ARRAY: "array", gguf.GGUFValueType.UINT64: "u64", gguf.GGUFValueType.INT64: "i64",
    gguf.GGUFValueType.FLOAT64: "f64",
}


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def contents(field):
    t = field.types
    if t[0] == gguf.GGUFValueType.STRING:
        return bytes(field.parts[-1]).decode("utf-8")
    if t[0] != gguf.GGUFValueType.ARRAY:
        v = field.parts[-1][0]
        return bool(v) if t[0] == gguf.GGUFValueType.BOOL else v.item()
    out = []
    for idx in field.data:  # leaves, in order, through any nesting
        part = field.parts[idx]
        if t[-1] == gguf.GGUFValueType.STRING:
            out.append(bytes(part).decode("utf-8"))
        elif t[-1] == gguf.GGUFValueType.BOOL:
            out.append(bool(part[0]))
        else:
            out.append(part[0].item())
    return out


def main():
    r = gguf.GGUFReader(sys.argv[1])
    summary = {
        "version": int(r.fields["GGUF.version"].parts[-1][0]),
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "kv": [],
        "tensors": [],
    }
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        summary["kv"].append({"key": name, "types": [NAMES[t] for t in field.types], "value": contents(field)})
    for t in r.tensors:
        summary["tensors"].append({
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(d) for d in t.shape],
            "n_bytes": int(t.n_bytes),
            "offset": int(t.data_offset),
            "fnv1a64": "0x%016x" % fnv1a64(t.data.tobytes()),
        })
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
