#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (proofs/fuzz/corpus/<target>/).

Each seed is a small input in the format the target decodes (fuzz_input.hpp,
fuzz_ops.cpp, fuzz_segment.cpp), named after the behaviour it starts the fuzzer at.
Run from anywhere: python3 proofs/fuzz/make_seeds.py  (it rewrites those files only).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- shared encodings (fuzz_input.hpp) -------------------------------------------------

KEY_LIMITS = [1, 2, 7, 8, 9, 16, 17, 64]
VALUE_LIMITS = [1, 7, 8, 9, 16, 20, 64, 256]
FILLS = {"a": 0, "b": 1, "\0": 2, "\xff": 3}


def geometry(capacity, max_key, max_value, seed=0, robust=False):
    g0 = (capacity - 1) | (0x10 if robust else 0) | (seed << 5)
    g1 = KEY_LIMITS.index(max_key) | (VALUE_LIMITS.index(max_value) << 3)
    return bytes([g0, g1])


def key(length, fill="a", last_z=False):
    """A short key: `length` (0..15) bytes of `fill`, the last one 'z' if last_z."""
    return (length & 0x0F) | (FILLS[fill] << 4) | (0x40 if last_z else 0)


def long_key(over, fill="a"):
    """A key of max_key_bytes - 1 + over bytes (over 0..3: 2 and 3 are oversize)."""
    return 0x80 | over | (FILLS[fill] << 2)


def filler(n):
    return bytes([n & 0x3F])


def at_limit(delta):
    """A value of max_value_bytes + delta bytes, delta in -2..1."""
    return bytes([0x40 | (delta + 2)])


def number(i):
    """A decimal value -16..31."""
    return bytes([0x80 | (i + 32)])


SPECIAL = {"0": 0, "1": 1, "-1": 2, "max": 3, "min": 4, "max-1": 5, "+1": 7, " 1": 8,
           "": 10, "abc": 11, "007": 12, "-0": 13, "2^64": 14, "1.5": 15}


def special(name):
    return bytes([0x80 | SPECIAL[name]])


def raw(b):
    return bytes([0xC0, len(b)]) + b


def delta(d):
    if d == "max":
        return bytes([0x7E])
    if d == "min":
        return bytes([0x7F])
    if not -128 <= d <= 127 or d in (0x7D, 0x7E, 0x7F):
        return bytes([0x7D]) + struct.pack("<q", d)
    return struct.pack("<b", d)


# ---- ops targets (model_check.hpp) -----------------------------------------------------

SET, GET, GET_INTO, ERASE, CONTAINS, ADD, CAS, SET_IF_ABSENT = range(8)
CLEAR, VERIFY, SIZE, RECOVER, HANDLE2 = 8, 9, 10, 11, 12
ON_SECOND = 0x10


def op(code, k=0, *operands):
    return bytes([code, k]) + b"".join(operands)


def ops_seeds():
    s = {}
    s["fill-until-full"] = geometry(4, 8, 8) + b"".join(
        op(SET, key(i + 1), filler(3)) for i in range(5)) + op(VERIFY) + op(
        ERASE, key(2)) + op(SET, key(6), filler(2)) + op(SET, key(7), filler(2)) + op(
        SET_IF_ABSENT, key(9), filler(1)) + op(ADD, key(10), delta(1)) + op(VERIFY)
    s["oversize-keys-and-values"] = geometry(8, 8, 8) + op(SET, long_key(1), at_limit(0)) + op(
        SET, long_key(2), filler(1)) + op(SET, key(1), at_limit(1)) + op(
        SET, long_key(3), at_limit(1)) + op(GET, long_key(2)) + op(ERASE, long_key(2)) + op(
        CAS, key(1), b"\x01", filler(1), at_limit(1)) + op(SET_IF_ABSENT, key(2), at_limit(1)) + op(
        VERIFY)
    s["add-counters"] = geometry(4, 8, 20) + op(ADD, key(1), delta(5)) + op(
        ADD, key(1), delta(-7)) + op(ADD, key(2), delta("max")) + op(ADD, key(2), delta(1)) + op(
        SET, key(3), special("abc")) + op(ADD, key(3), delta(1)) + op(
        SET, key(4), special("min")) + op(ADD, key(4), delta(-1)) + op(
        SET, key(4), special("-0")) + op(ADD, key(4), delta(0)) + op(
        SET, key(1), special("+1")) + op(ADD, key(1), delta(1)) + op(VERIFY)
    s["add-past-value-limit"] = geometry(2, 8, 1) + op(ADD, key(1), delta(9)) + op(
        ADD, key(1), delta(1)) + op(ADD, key(2), delta(-1)) + op(ADD, key(3), delta(2)) + op(
        VERIFY)
    s["cas-and-set-if-absent"] = geometry(8, 16, 16) + op(SET, key(3), filler(5)) + op(
        CAS, key(3), b"\x01", filler(6)) + op(CAS, key(3), b"\x00", filler(9), filler(2)) + op(
        CAS, key(4), b"\x00", filler(1), filler(1)) + op(SET_IF_ABSENT, key(3), filler(4)) + op(
        SET_IF_ABSENT, key(5), filler(4)) + op(VERIFY)
    s["get-into-boundaries"] = geometry(4, 8, 16) + op(SET, key(2), filler(16)) + op(
        GET_INTO, key(2), b"\xff") + op(GET_INTO, key(2), b"\xfe") + op(
        GET_INTO, key(2), b"\x00") + op(SET, key(3), filler(0)) + op(GET_INTO, key(3), b"\x00") + op(
        GET_INTO, key(9), b"\x05")
    s["nul-keys-and-lengths"] = geometry(16, 9, 9) + op(SET, key(0), filler(1)) + op(
        SET, key(1, "\0"), filler(2)) + op(SET, key(2, "\0"), filler(3)) + op(
        SET, key(8, "\0"), filler(4)) + op(SET, long_key(1, "\0"), filler(5)) + op(
        SET, key(8, "\xff", True), raw(b"\0\0\xff")) + op(GET, key(1, "\0")) + op(
        ERASE, key(2, "\0")) + op(VERIFY)
    s["second-handle-and-recover"] = geometry(4, 8, 8, seed=3) + op(SET, key(1), filler(3)) + op(
        HANDLE2) + op(SET | ON_SECOND, key(2), filler(4)) + op(GET | ON_SECOND, key(1)) + op(
        RECOVER) + op(HANDLE2) + op(ERASE, key(1)) + op(RECOVER) + op(VERIFY)
    s["clear-and-reuse"] = geometry(3, 2, 7, robust=True) + b"".join(
        op(SET, key(i % 3, "b", i > 2), filler(i)) for i in range(6)) + op(CLEAR) + op(
        SIZE) + b"".join(op(SET, key(2, "a", i > 0), filler(1)) for i in range(4)) + op(
        ERASE, key(2)) + op(RECOVER) + op(VERIFY)
    s["one-slot"] = geometry(1, 1, 1) + op(SET, key(1), filler(1)) + op(SET, key(0), filler(1)) + op(
        ERASE, key(1)) + op(SET, key(0), filler(2)) + op(SET, key(0), filler(0)) + op(VERIFY)
    return s


# ---- segment targets (fuzz_segment.cpp) ------------------------------------------------

MAGIC = 0x454C4241544D4853
READY = 0x52454459
PERSIST, ROBUST = 1, 2
LOCKFREE_ENGINE, MUTEX_ENGINE = 2, 1
# The statistics region after each engine's control block (src/stats_region.hpp): an
# overflow stripe and 128 stripes of 128 bytes.
STATS_BYTES = 129 * 128


def header(engine, flags=PERSIST, capacity=4, max_key=8, max_value=8, ready=READY,
           magic=MAGIC, version=1, rest=b""):
    """The SegmentHeader's leading fields (the harness fixes what its mode fixes)."""
    h = struct.pack("<QIIIIII", magic, version, engine, flags, max_key, max_value, 0)
    assert len(h) == 32
    # capacity; control_offset .. instance (6 x u64); checksum; ready (+ padding to 104).
    h += struct.pack("<Q", capacity) + b"\0" * 48 + struct.pack("<Q", 0)
    h += struct.pack("<I", ready) + b"\0" * 4
    assert len(h) == 104, "sizeof(SegmentHeader)"
    return h + rest


def raw_file(mode, contents, ops=b""):
    return bytes([mode]) + struct.pack("<H", len(contents)) + contents + ops


def folded(capacity, max_key, max_value, engine, flags=PERSIST, body=b""):
    """Mode 2: header fields the harness folds back to (capacity, max_key, max_value)."""
    return header(engine, flags, capacity - 1, max_key - 1, max_value - 1).ljust(256, b"\0") + body


def fnv1a(data, seed=0):
    h = 14695981039346656037 ^ seed
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


# Segment target op codes (operate() in fuzz_segment.cpp: op % 12).
S_GET, S_SET, S_ERASE, S_CONTAINS, S_KEYS, S_SIZE, S_RECOVER, S_ADD, S_CAS, S_SIA, S_CLEAR, S_GETI = (
    range(12))


def sop(code, k=0, *operands):
    return bytes([code, k]) + b"".join(operands)


WALK = (sop(S_KEYS) + sop(S_GET, key(1)) + sop(S_GETI, key(2), b"\x07") + sop(S_SET, key(3), filler(2))
        + sop(S_ADD, key(4), delta(1)) + sop(S_ERASE, key(1)) + sop(S_RECOVER) + sop(S_KEYS)
        + sop(S_SIZE) + sop(S_SET, key(5), filler(3)) + sop(S_CLEAR) + sop(S_RECOVER))


def built(geom, fill_ops, patches, finish=0, ops=WALK):
    """Mode 3: build a table with fill_ops [(op byte, key byte, value bytes)], patch it."""
    out = bytes([3]) + geom + bytes([len(fill_ops)])
    out += b"".join(bytes([o, k]) + v for o, k, v in fill_ops)
    out += bytes([len(patches)]) + b"".join(patches) + bytes([finish])
    return out + ops


def typed(kind, where, *operands):
    return bytes([0x80 | kind]) + struct.pack("<H", where) + b"".join(operands)


def region(r, where, data):
    return bytes([r]) + struct.pack("<H", where) + bytes([len(data) - 1]) + data


FILL3 = [(1, key(1), filler(4)), (1, key(2), filler(5)), (1, key(3), filler(8)),
         (0, key(2), b"")]


def segment_seeds(engine):
    lockfree = engine == LOCKFREE_ENGINE
    s = {}
    g = geometry(4, 8, 8)
    s["built-untouched"] = built(g, FILL3, [])
    s["built-header-byte-rechecksummed"] = built(g, FILL3, [region(0, 64, b"\x07")], finish=1)
    s["built-header-byte-bad-checksum"] = built(g, FILL3, [region(0, 16, b"\x09")])
    s["built-slot-bytes"] = built(g, FILL3, [region(2, 40, b"\xff" * 16)])
    s["built-control-bytes"] = built(g, FILL3, [region(1, 64, b"\x05" + b"\0" * 7)])
    if lockfree:
        # Near-limit patches: 1 = small, 0x41.. = limit - 1.., 0x80 = huge (near()).
        s["word-state-undefined"] = built(g, FILL3, [typed(0, 0, b"\x03"), typed(0, 1, b"\x01")])
        s["word-buffer-out-of-range"] = built(g, FILL3, [typed(1, 1, b"\x41"), typed(1, 2, b"\x80")])
        s["word-bound-huge"] = built(g, FILL3, [typed(2, 0, b"\xff\x3f")])
        s["word-fingerprint"] = built(g, FILL3, [typed(3, 2, b"\x34\x12")])
        s["pool-head"] = built(g, FILL3, [typed(4, 0, b"\x42", b"\x41")])
        s["record-value-length-huge"] = built(g, FILL3, [typed(5, 0, b"\x80"), typed(5, 1, b"\x42")])
        s["record-key-length"] = built(g, FILL3, [typed(6, 0, b"\x42"), typed(6, 1, b"\x81")])
        s["entries-counter"] = built(g, FILL3, [typed(7, 0, struct.pack("<Q", 2**64 - 1))])
        s["free-list-link"] = built(g, FILL3, [typed(8, 0, b"\x01")])
        s["whole-word"] = built(g, FILL3, [typed(9, 3, struct.pack("<Q", 0xFFFFFFFF0000FFFF))])
    else:
        s["slot-state-undefined"] = built(g, FILL3, [typed(0, 0, b"\x03"), typed(0, 1, b"\x07")])
        s["slot-key-length"] = built(g, FILL3, [typed(1, 0, b"\x42"), typed(1, 2, b"\x80")])
        s["slot-value-length"] = built(g, FILL3, [typed(2, 0, b"\x00", b"\x80"),
                                                  typed(2, 1, b"\x01", b"\x42")])
        s["slot-live-half"] = built(geometry(4, 8, 8, robust=True), FILL3, [typed(3, 0, b"\x01")])
    # Raw files: not a segment, a short one, our magic unfinished, a bad ready flag.
    s["raw-empty"] = raw_file(0, b"", WALK)
    s["raw-zeros"] = raw_file(0, b"\0" * 120)
    s["raw-short"] = raw_file(0, struct.pack("<Q", MAGIC))
    s["raw-unfinished"] = raw_file(0, header(engine, ready=0))
    s["raw-bad-ready"] = raw_file(0, header(engine, ready=7))
    s["raw-create-over-unfinished"] = bytes([0x10]) + raw_file(0, header(engine, ready=0))[1:]
    s["identity-fixed-bad-geometry"] = raw_file(1, header(engine, capacity=2**63))
    s["identity-fixed-not-persistent"] = raw_file(1, header(engine, flags=0))
    # Mode 2: the harness lays the file out; the bytes after the header are fuzzed.
    if lockfree:
        # Slots at 256 + 128 + STATS_BYTES (16-byte words: the fingerprint is 15 bits, bit
        # 31 `timed`), records after them: cap 4, keys/values <= 8; a record is
        # [lengths | deadline | key | value].
        words = struct.pack("<QQ", 1, 2 | (1 << 2) | (0x2BCD << 16) | (0 << 32))
        words += struct.pack("<QQ", 1, 2 | (1 << 32)) + struct.pack("<QQ", 1, 1 | (70 << 32))
        no_deadline = struct.pack("<Q", 0)
        records = (struct.pack("<II", 1, 3) + no_deadline + b"a".ljust(8, b"\0") +
                   b"xyz".ljust(8, b"\0"))
        records += struct.pack("<II", 2, 0xFFFFFFFF) + no_deadline + b"bb".ljust(16, b"\0")
        body = b"\0" * (128 + STATS_BYTES) + words.ljust(64, b"\0") + records
        s["layout-fixed-slots-and-records"] = raw_file(2, folded(4, 8, 8, engine, body=body), WALK)
    else:
        # Slots at 256 + 64 + STATS_BYTES, each 80 + max_key + max_value bytes (header:
        # mutex 40 B, state, live, key_len, value_len[2], timestamp, deadline[2]). Entries
        # at their FNV-1a homes, one over-long, none with a deadline.
        cap, mk, mv, hb = 4, 8, 8, 80
        slots = bytearray(cap * (hb + mk + mv))
        for k, v, vlen in ((b"a", b"12", 2), (b"bb", b"xy", 0xFFFF)):
            i = fnv1a(k) % cap
            at = i * (hb + mk + mv)
            slots[at + 40:at + 52] = struct.pack("<BBHII", 1, 0, len(k), vlen, 0)
            slots[at + hb:at + hb + len(k)] = k
            slots[at + hb + mk:at + hb + mk + len(v)] = v
        body = b"\0" * (64 + STATS_BYTES) + bytes(slots)
        s["layout-fixed-slots"] = raw_file(2, folded(cap, mk, mv, engine, body=body),
                                           sop(S_GET, key(1)) + sop(S_GET, key(2, "b")) + WALK)
        s["layout-fixed-robust"] = raw_file(2, folded(cap, mk, mv, engine, PERSIST | ROBUST,
                                                      body=body), WALK)
    return s


# Seeds the fuzzer found (regression inputs, proofs/README.md), kept as they are when the
# hand-made ones are rewritten. Mode 3 seeds build their table with the current layout,
# so they need no rewriting when the format changes.
FOUND_BY_FUZZER = {"segment-lockfree": {"memo-and-padded-record-disagree"},
                   "segment-mutex": {"recover-counts-an-expired-entry"}}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name not in FOUND_BY_FUZZER.get(target, set()):
            os.remove(os.path.join(d, name))
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("ops-lockfree", ops_seeds())
    write("ops-mutex", ops_seeds())
    write("segment-lockfree", segment_seeds(LOCKFREE_ENGINE))
    write("segment-mutex", segment_seeds(MUTEX_ENGINE))


if __name__ == "__main__":
    main()
