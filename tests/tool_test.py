#!/usr/bin/env python3
"""The shmtable command-line tool, run as a user runs it: each test spawns the binary,
and checks its exit code, its standard output and its standard error.

    tool_test.py PATH_TO_SHMTABLE [unittest options]

Tables are named shmt-tool-PID-TEST-..., file-backed ones live in a scratch directory,
and every test removes what it made. A few tests write into a table's file by hand to
plant what a crash or a stray write leaves, through the documented layouts
(src/segment_header.hpp, src/lockfree_layout.hpp, src/mutex_layout.hpp).
"""
import base64
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

TOOL = None  # set from argv in main
ENGINES = ["lockfree", "mutex", "robust"]
COMMANDS = ["ls", "stat", "get", "set", "del", "keys", "dump", "load", "fsck", "recover",
            "unlink", "demo"]


def run(*args, stdin=None, timeout=60):
    """Runs the tool; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


class ToolTest(unittest.TestCase):
    def setUp(self):
        self.made = []
        self.dir = tempfile.mkdtemp(prefix="shmtable-tool-test-")
        self.children = []

    def tearDown(self):
        for child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        for name in self.made:
            # A creator killed at the end of its creation may leave its lock file too.
            for f in [name, "." + name + ".shmtable-creating"]:
                try:
                    os.unlink("/dev/shm/" + f)
                except FileNotFoundError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers -------------------------------------------------------------------

    def name(self, tag=""):
        n = "shmt-tool-%d-%s-%s" % (os.getpid(), self._testMethodName[5:35], tag)
        self.made.append(n)
        return n

    def path(self, tag):
        return os.path.join(self.dir, tag + ".tbl")

    def ok(self, *args, stdin=None):
        rc, out, err = run(*args, stdin=stdin)
        self.assertEqual(rc, 0, "shmtable %s: exit %d, stderr: %s" % (" ".join(args), rc, err))
        return out

    def fails(self, code, needle, *args, stdin=None):
        """Runs the tool, which must exit with `code` and say `needle` in its one-line
        error 'shmtable: COMMAND: ...' on stderr. Returns stderr."""
        rc, out, err = run(*args, stdin=stdin)
        self.assertEqual(rc, code, "shmtable %s: exit %d (expected %d), stderr: %s, stdout: %r"
                         % (" ".join(args), rc, code, err, out))
        self.assertTrue(err.startswith("shmtable: %s: " % args[0]), err)
        self.assertIn(needle, err)
        return err

    def json(self, *args, stdin=None):
        return json.loads(self.ok(*args, stdin=stdin))

    def create(self, name, engine="lockfree", capacity=64, *more):
        self.ok("set", name, "created-by", "test", "--create", "--engine", engine,
                "--capacity", str(capacity), *more)

    def hold(self, *where):
        """A second process that keeps the table open: stat --watch, until the test ends."""
        child = subprocess.Popen([TOOL, "stat", *where, "--watch", "--interval", "0.2"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        self.children.append(child)
        deadline = time.time() + 20
        while time.time() < deadline:
            info = self.json("stat", *where, "--json")
            if info["attached_handles"] is None or info["attached_handles"] >= 1:
                return child
            time.sleep(0.05)
        self.fail("the holder never attached")

    # ---- help and the command line -------------------------------------------------

    def test_help_lists_every_command_and_the_exit_codes(self):
        out = self.ok("help").decode()
        for c in COMMANDS:
            self.assertIn("\n  " + c + " ", out)
        for code in ["0", "1", "2", "3", "4"]:
            self.assertIn("\n  %s  " % code, out)
        self.assertEqual(self.ok("--help").decode(), out)
        for c in COMMANDS:
            text = self.ok(c, "--help").decode()
            self.assertTrue(text.startswith("usage: shmtable " + c), text)
            self.assertEqual(self.ok("help", c).decode(), text)

    def test_bad_command_lines_exit_2(self):
        rc, _, err = run()
        self.assertEqual(rc, 2)
        self.assertIn("usage: shmtable COMMAND", err)
        rc, _, err = run("frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("unknown command 'frobnicate'", err)
        n = self.name()
        self.fails(2, "unknown option '--frob'", "get", n, "k", "--frob")
        self.fails(2, "missing KEY", "get", n)
        self.fails(2, "no table named", "get")
        self.fails(2, "unexpected argument 'extra'", "get", n, "k", "extra")
        self.fails(2, "--capacity: 'lots' is not a whole number", "get", n, "k", "--capacity", "lots")
        self.fails(2, "--engine: 'fast' is no engine; use lockfree, mutex or robust",
                   "get", n, "k", "--engine", "fast")
        self.fails(2, "--path needs a value", "get", "--path")
        self.fails(2, "character '/' is not allowed", "get", "a/b", "k")
        self.fails(2, "--interval", "stat", n, "--interval", "0")

    # ---- entries -------------------------------------------------------------------

    def test_set_get_del_and_keys(self):
        n = self.name()
        self.fails(3, "no such table; --create makes one", "set", n, "k", "v")
        self.assertFalse(os.path.exists("/dev/shm/" + n), "set never creates unasked")
        self.ok("set", n, "user:1", "alice", "--create")
        self.ok("set", n, "user:2", "bob")
        self.ok("set", n, "other", "x")
        self.assertEqual(self.ok("get", n, "user:1"), b"alice\n")
        self.assertEqual(self.json("get", n, "user:2", "--json"), {"key": "user:2", "value": "bob"})
        self.fails(1, "key 'nope' is not in shm '%s'" % n, "get", n, "nope")
        self.assertEqual(self.ok("keys", n), b"other\nuser:1\nuser:2\n")
        self.assertEqual(self.ok("keys", n, "--prefix", "user:"), b"user:1\nuser:2\n")
        self.assertEqual(self.json("keys", n, "--prefix", "user:", "--json"),
                         [{"key": "user:1"}, {"key": "user:2"}])
        self.ok("del", n, "user:1")
        self.fails(1, "key 'user:1' is not in", "del", n, "user:1")
        self.assertEqual(self.ok("keys", n), b"other\nuser:2\n")
        # A key that starts with '-', after "--"; a value from stdin, any bytes.
        self.ok("set", n, "--", "-dash", "v")
        self.assertEqual(self.ok("get", n, "--", "-dash"), b"v\n")
        self.ok("set", n, "bin", "--stdin", stdin=b"\xff\x00\xfe")
        self.assertEqual(self.ok("get", n, "bin"), b"\xff\x00\xfe\n")
        self.assertEqual(self.json("get", n, "bin", "--json"), {"key": "bin", "value_b64": "/wD+"})
        self.fails(2, "not both", "set", n, "k", "v", "--stdin")
        self.fails(2, "missing VALUE", "set", n, "k")
        self.fails(3, "max_value_bytes of 256", "set", n, "k", "x" * 257)
        self.fails(3, "key_too_large", "get", n, "k" * 65)

    def test_ttl_makes_the_entry_expire(self):
        for engine in ENGINES:
            n = self.name(engine)
            self.create(n, engine)
            self.ok("set", n, "long", "v", "--ttl", "3600")
            self.ok("set", n, "short", "v", "--ttl", "0.001")
            # The entry is gone once the table clock (CLOCK_REALTIME_COARSE, a tick of a
            # few ms) has passed its deadline: wait for that, however long it takes.
            while run("get", n, "short")[0] != 1:
                time.sleep(0.01)
            self.assertEqual(self.ok("get", n, "long"), b"v\n")
            self.fails(2, "not a number of seconds in 0.001..", "set", n, "k", "v", "--ttl", "0")
            self.fails(2, "not a number of seconds", "set", n, "k", "v", "--ttl", "soon")
            self.fails(1, "not in", "get", n, "k")

    def test_every_engine_is_opened_as_its_header_says(self):
        for engine in ENGINES:
            n = self.name(engine)
            self.create(n, engine, 32)
            self.ok("set", n, "k", engine)
            self.assertEqual(self.ok("get", n, "k"), engine.encode() + b"\n")
            info = self.json("stat", n, "--json")
            self.assertEqual(info["engine"], engine)
            self.assertEqual(info["layout"]["capacity"], 32)
            self.assertTrue(info["persist"], "a table the tool creates outlives it")
            self.assertEqual(self.ok("get", n, "k", "--engine", engine), engine.encode() + b"\n")

    def test_a_table_of_another_engine_or_layout_is_refused(self):
        lf, mx = self.name("lf"), self.name("mx")
        self.create(lf, "lockfree", 64)
        self.create(mx, "mutex", 64)
        self.fails(3, "the segment belongs to the 'lockfree' engine, this handle is 'mutex'",
                   "get", lf, "created-by", "--engine", "mutex")
        self.fails(3, "layout_mismatch", "get", mx, "created-by", "--engine", "lockfree")
        self.fails(3, "robust: the segment has false, the options ask for true",
                   "get", mx, "created-by", "--engine", "robust")
        self.fails(3, "capacity: the segment has 64, the options ask for 128",
                   "keys", lf, "--capacity", "128")
        self.fails(3, "max_value_bytes: the segment has 256", "stat", mx, "--max-value-bytes", "9")
        # --create on an existing table opens it, and checks the same way.
        self.fails(3, "engine", "set", lf, "k", "v", "--create", "--engine", "mutex")
        self.ok("set", lf, "k", "v", "--create", "--engine", "lockfree", "--capacity", "64")

    # ---- dump and load -------------------------------------------------------------

    def test_dump_and_load_round_trip_any_bytes(self):
        src, dst = self.name("src"), self.name("dst")
        self.create(src, "robust", 64)
        entries = {b"plain": b"text", b"utf8-\xc3\xa9": b"caf\xc3\xa9 \xe2\x82\xac",
                   b"bin-\xff": b"\x00\xfe\x01", b"ctl": b"\x00\x01", b"empty": b"",
                   b"nl": b"two\nlines"}
        # Keys go through argv (any bytes but NUL), values through stdin.
        for k, v in entries.items():
            subprocess.run([TOOL, "set", src, "--stdin", "--", k], input=v, check=True)
        dump = self.ok("dump", src)
        lines = [json.loads(l) for l in dump.decode().splitlines()]
        self.assertEqual(len(lines), len(entries) + 1)  # and created-by
        self.assertIn({"key": "utf8-é", "value": "café €"}, lines)
        self.assertIn({"key_b64": "YmluLf8=", "value_b64": "AP4B"}, lines)
        self.assertIn({"key": "ctl", "value": "\x00\x01"}, lines)  # UTF-8: escaped, not base64
        self.assertIn({"key": "empty", "value": ""}, lines)
        self.assertIn({"key": "nl", "value": "two\nlines"}, lines)
        keys = [l["key"].encode() if "key" in l else base64.b64decode(l["key_b64"]) for l in lines]
        self.assertEqual(keys, sorted(keys), "sorted by key, bytewise")
        # Into a new table of another engine, from a file; then again from stdin.
        dump_file = os.path.join(self.dir, "dump.jsonl")
        with open(dump_file, "wb") as f:
            f.write(dump)
        self.fails(3, "no such table; --create makes one", "load", dst, dump_file)
        out = self.ok("load", dst, dump_file, "--create", "--engine", "lockfree")
        self.assertEqual(out.decode(), "loaded 7 entries into shm '%s' (created)\n" % dst)
        self.assertEqual(self.ok("dump", dst), dump)
        self.assertEqual(self.json("load", dst, "--json", stdin=dump),
                         {"table": "shm '%s'" % dst, "loaded": 7, "created": False})
        self.assertEqual(self.ok("get", dst, "nl"), b"two\nlines\n")
        self.assertEqual(self.ok("dump", dst, "--prefix", "utf8"),
                         b'{"key":"utf8-\xc3\xa9","value":"caf\xc3\xa9 \xe2\x82\xac"}\n')

    def test_load_refuses_bad_input_by_line_and_writes_nothing(self):
        n = self.name()
        self.create(n, "lockfree", 64, "--max-value-bytes", "8")
        good = b'{"key":"a","value":"1"}\n'
        cases = [
            (b'{"key":"b","value":"2"}\nnot json\n', "line 2: not JSON"),
            (good + b'\n[1,2]\n', "line 3: not a JSON object"),
            (good + b'{"key":"b"}\n', 'line 2: no "value" (or "value_b64")'),
            (good + b'{"key":"b","key_b64":"YQ==","value":"1"}\n', 'line 2: both "key" and "key_b64"'),
            (good + b'{"key":"b","value_b64":"not base64!"}\n', 'line 2: "value_b64" is not valid base64'),
            (good + b'{"key":"b","value_b64":"YQ="}\n', "is not valid base64"),
            (good + b'{"key":7,"value":"1"}\n', 'line 2: "key" is not a string'),
            (good + b'{"key":"b","value":"1","ttl":5}\n', 'line 2: unknown field "ttl"'),
            (good + b'{"key":"b","value":"123456789"}\n', "line 2: a key of 1 bytes and a value of 9 bytes"),
        ]
        for text, needle in cases:
            self.fails(2, needle, "load", n, stdin=text)
        self.assertEqual(self.ok("keys", n), b"created-by\n", "nothing was loaded")
        self.fails(2, "cannot read", "load", n, os.path.join(self.dir, "missing.jsonl"))

    # ---- stat, fsck, recover -------------------------------------------------------

    def test_stat_shows_layout_entries_and_probe_lengths(self):
        n = self.name()
        self.create(n, "lockfree", 16)
        for i in range(11):
            self.ok("set", n, "key-%d" % i, "v")
        text = self.ok("stat", n).decode()
        for needle in ["engine       lockfree", "16 slots", "entries      12 (load 75.0%)",
                       "eviction     no (a full table refuses new keys)",
                       "probe length", "record buffers", "snapshot     exact", "counters"]:
            self.assertIn(needle, text)
        info = self.json("stat", n, "--json")
        insp = info["inspection"]
        self.assertEqual(insp["entries"], 12)
        self.assertEqual(sum(insp["probe_lengths"]), 12)
        self.assertEqual(insp["free_slots"], 4)
        self.assertTrue(insp["consistent"])
        self.assertEqual(insp["findings"], [])
        self.assertEqual(info["counted_entries"], 12)
        self.assertFalse(info["eviction"])
        self.assertEqual(info["attached_handles"], 0)
        self.assertEqual(insp["buffers"]["in_slots"], 12)
        mx = self.name("mx")
        self.shows_counters(n)

        self.create(mx, "mutex", 16)
        self.ok("set", mx, "a", "1")
        self.ok("del", mx, "created-by")
        text = self.ok("stat", mx).decode()
        self.assertIn("locks held   0", text)
        self.assertIn("tombstones", text)
        watched = self.ok("stat", n, "--json", "--watch", "--count", "3", "--interval", "0.05")
        self.assertEqual(len(watched.splitlines()), 3)
        watched = self.ok("stat", n, "--watch", "--count", "2", "--interval", "0.05").decode()
        self.assertEqual(watched.count("table        shm"), 2)

    def shows_counters(self, n):
        """stat's counters: what every process (here, each tool command) counted."""
        self.ok("get", n, "key-1")
        self.assertEqual(run("get", n, "absent")[0], 1)
        stats = self.json("stat", n, "--json")["stats"]
        for field, value in [("hits", 1), ("misses", 1), ("sets", 12), ("inserts", 12),
                             ("erases", 0), ("evictions", 0), ("expirations", 0),
                             ("table_full", 0), ("entries", 12), ("leaked_buffers", 0)]:
            self.assertEqual(stats[field], value, field)
        text = self.ok("stat", n).decode()
        for needle in ["1 hits, 1 misses (hit rate 50.0%)", "12 sets (12 inserts), 0 erases",
                       "0 record buffers leaked"]:
            self.assertIn(needle, text)

    def test_fsck_verdicts_and_recover(self):
        for engine in ENGINES:
            p = self.path(engine)
            self.ok("set", "--path", p, "k", "v", "--create", "--engine", engine, "--capacity", "64")
            out = self.ok("fsck", "--path", p).decode()
            self.assertIn("verdict: consistent", out)
            layout = self.json("stat", "--path", p, "--json")["layout"]
            # The entry counter, off by one, as a process killed between publishing an
            # entry and counting it leaves it: the lock-free engine's is at control + 64
            # (after the pool head's line), the mutex engine's after the table mutex.
            at = layout["control_offset"] + (64 if engine == "lockfree" else 40)
            with open(p, "r+b") as f:
                f.seek(at)
                f.write(struct.pack("<Q", 5))
            rc, out, err = run("fsck", "--path", p)
            self.assertEqual(rc, 4, err)
            self.assertIn("count_mismatch", out.decode())
            self.assertIn("shmtable recover --path " + p, out.decode())
            rc, out, _ = run("fsck", "--path", p, "--json")
            self.assertEqual(rc, 4)
            report = json.loads(out)
            self.assertEqual(report["verdict"], "needs_recovery")
            self.assertEqual(report["inspection"]["finding_counts"], {"count_mismatch": 1})
            rec = self.json("recover", "--path", p, "--json")
            self.assertEqual(rec["entries"], 1)
            self.assertIn("entries after recovery", self.ok("recover", "--path", p).decode())
            self.ok("fsck", "--path", p)

    def test_fsck_finds_a_corrupt_slot(self):
        p = self.path("corrupt")
        self.ok("set", "--path", p, "k", "v", "--create", "--capacity", "64")
        layout = self.json("stat", "--path", p, "--json")["layout"]
        with open(p, "r+b") as f:
            for slot in range(64):  # the first free control word gets state 3
                f.seek(layout["slots_offset"] + 16 * slot)
                if f.read(16) == bytes(16):
                    f.seek(layout["slots_offset"] + 16 * slot + 8)
                    f.write(struct.pack("<Q", 3))
                    break
        rc, out, err = run("fsck", "--path", p)
        self.assertEqual(rc, 1, err)
        self.assertIn("corrupt_slot at slot %d: state 3" % slot, out.decode())
        self.assertIn("verdict: corrupt", out.decode())
        self.assertEqual(self.ok("get", "--path", p, "k"), b"v\n", "fsck changed nothing")
        self.assertRegex(self.ok("recover", "--path", p).decode(), r"corrupt slots freed +1\n")
        self.ok("fsck", "--path", p)

    def test_another_process_attached(self):
        n = self.name()
        self.create(n, "mutex")
        self.hold(n)
        rows = {r["name"]: r for r in self.json("ls", "--json")}
        self.assertTrue(rows[n]["in_use"])
        if rows[n]["attached_handles"] is not None:
            self.assertEqual(rows[n]["attached_handles"], 1)
            self.assertEqual(self.json("stat", n, "--json")["attached_handles"], 1)
        err = self.fails(3, "recover runs only when no other process has it open", "recover", n)
        self.assertIn("[busy]", err)
        out = self.ok("fsck", n).decode()
        self.assertIn("other handles were attached: a best-effort check", out)
        self.assertIn("verdict: consistent", out)
        self.assertFalse(self.json("stat", n, "--json")["inspection"]["alone"])
        rc, _, err = run("unlink", n)
        self.assertEqual(rc, 0, err)
        self.assertIn("is still open (1 handles)" if rows[n]["attached_handles"] else "is still open", err)
        self.assertFalse(os.path.exists("/dev/shm/" + n))

    # ---- ls ------------------------------------------------------------------------

    def test_ls_lists_tables_and_opens_none(self):
        lf, mx = self.name("lf"), self.name("mx")
        self.create(lf, "lockfree", 128)
        self.create(mx, "robust", 32)
        self.ok("set", lf, "a", "1")
        junk = self.name("junk")
        with open("/dev/shm/" + junk, "wb") as f:
            f.write(b"not a table, but a file of somebody else's" * 20)
        rows = {r["name"]: r for r in self.json("ls", "--json")}
        self.assertEqual({k: rows[lf][k] for k in ["engine", "capacity", "entries", "persist", "table"]},
                         {"engine": "lockfree", "capacity": 128, "entries": 2, "persist": True,
                          "table": True})
        self.assertEqual(rows[mx]["engine"], "robust")
        self.assertEqual(rows[mx]["attached_handles"] in (0, None), True)
        self.assertNotIn(junk, rows, "not a table: listed with --all only")
        rows = {r["name"]: r for r in self.json("ls", "--json", "--all")}
        self.assertFalse(rows[junk]["table"])
        self.assertIn("not a shmtable segment", rows[junk]["note"])
        text = self.ok("ls", "--all").decode()
        self.assertRegex(text, r"NAME +ENGINE +CAPACITY +ENTRIES +ATTACHED +PERSIST")
        self.assertRegex(text, lf + r" +lockfree +128 +2 +0 +yes")
        self.assertRegex(text, junk + r" .*not a table: shm '%s': not a shmtable segment" % junk)

    def test_a_dead_table_is_listed_not_removed_and_an_open_removes_it(self):
        # The demo's table does not persist: killed with its peer, it is left dead.
        n = self.name()
        demo = subprocess.Popen([TOOL, "demo", n], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.children.append(demo)
        deadline = time.time() + 20
        while not os.path.exists("/dev/shm/" + n) and time.time() < deadline:
            time.sleep(0.005)
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()
        # The demo's other process dies with it, but is not ours to wait for: its lock
        # goes when the kernel has finished it, which ls then shows.
        deadline = time.time() + 20
        while True:
            rows = {r["name"]: r for r in self.json("ls", "--json")}
            if not rows.get(n, {}).get("in_use") or time.time() > deadline:
                break
            time.sleep(0.01)
        self.assertIn(n, rows)
        self.assertFalse(rows[n]["in_use"])
        self.assertIn("dead", rows[n]["note"])
        self.assertTrue(os.path.exists("/dev/shm/" + n), "ls removes nothing")
        self.fails(3, "every process that had it is gone", "stat", n)
        self.assertFalse(os.path.exists("/dev/shm/" + n))

    # ---- what is not a table -------------------------------------------------------

    def test_a_name_that_does_not_exist(self):
        n = self.name()
        for args in [["get", n, "k"], ["del", n, "k"], ["keys", n], ["dump", n], ["stat", n],
                     ["fsck", n], ["recover", n], ["unlink", n]]:
            self.fails(3, "segment_missing", *args)
        self.fails(3, "no such table; shmtable ls lists them", "stat", n)

    def test_a_file_that_is_not_a_table(self):
        p = self.path("text")
        with open(p, "w") as f:
            f.write("hello\n" * 100)
        for args in [["get", "--path", p, "k"], ["stat", "--path", p], ["fsck", "--path", p],
                     ["load", "--path", p], ["set", "--path", p, "k", "v", "--create"]]:
            self.fails(3, "not a shmtable segment", *args, stdin=b"")
        self.fails(3, "not removed, as it may be somebody else's file", "unlink", "--path", p)
        self.assertTrue(os.path.exists(p))
        self.ok("unlink", "--path", p, "--force")
        self.assertFalse(os.path.exists(p))
        empty = self.path("empty")
        open(empty, "w").close()
        self.fails(3, "an empty file", "stat", "--path", empty)
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        self.fails(3, "not a regular file", "stat", "--path", fifo)
        self.fails(3, "not a regular file", "unlink", "--path", self.dir)
        # By name too: anyone may put a FIFO in /dev/shm, and no open may wait on it.
        named = self.name("fifo")
        os.mkfifo("/dev/shm/" + named)
        for command in ("stat", "get", "fsck"):
            args = (command, named, "k") if command == "get" else (command, named)
            self.fails(3, "not a regular file", *args)

    def test_a_corrupted_header(self):
        p = self.path("hdr")
        self.ok("set", "--path", p, "k", "v", "--create")
        with open(p, "r+b") as f:
            f.seek(32)  # the capacity field: the checksum no longer matches
            f.write(b"\x07")
        for args in [["stat", "--path", p], ["get", "--path", p, "k"], ["fsck", "--path", p]]:
            self.fails(3, "header checksum mismatch", *args)
        with open(p, "r+b") as f:
            f.seek(8)  # the format version
            f.write(struct.pack("<I", 99))
        self.fails(3, "format_version: the segment has 99", "stat", "--path", p)

    def test_path_backed_tables(self):
        p = self.path("file")
        self.ok("set", "--path", p, "k", "v", "--create", "--engine", "mutex")
        self.assertTrue(os.path.exists(p))
        self.assertEqual(self.ok("get", "--path", p, "k"), b"v\n")
        self.assertEqual(self.json("stat", "--path", p, "--json")["table"], "file '%s'" % p)
        self.ok("unlink", "--path", p)
        self.assertFalse(os.path.exists(p))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: tool_test.py PATH_TO_SHMTABLE [unittest options]")
    TOOL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
