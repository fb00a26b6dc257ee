// libFuzzer target: opening corrupted segments, then operating on them.
//
// The input becomes the bytes of a file-backed segment, which is opened through the
// public API (Options::path, persist, sizes adopted from the header) and then driven by
// the rest of the input: get, get_into, set, erase, contains, add, compare_and_set,
// set_if_absent, clear, keys, size, recover. The engines' promise: a corrupted or hostile
// segment can make an operation fail, never read or write outside the mapping. So every Error
// is fine; a crash, an ASan/UBSan report or a hang (libFuzzer -timeout) is a bug. Also
// checked, because they follow from bounds-checking what is read:
//  - get()/get_into() values fit max_value_bytes, keys() keys fit max_key_bytes;
//  - right after a successful recover(): size() == keys().size() == report.entries, and
//    (lock-free, report.duplicate_keys == 0) keys() lists no key twice.
//
// Built once per engine (fuzz_engine.hpp: "lockfree" or "mutex").
// The first byte: bits 0-1 pick how the file is made (below); bit 4 opens with
// kOpenOrCreate instead of kOpen; bits 2+5 (both set) open with persist = false, bits
// 3+6 with the other robust setting (mutex), so that mismatches are refused too.
//  0  raw: [u16 n][n bytes] is the whole file.
//  1  raw, identity fixed: as 0, then magic, format_version, engine and ready are set
//     and the header checksum recomputed, so the geometry checks are what is fuzzed.
//  2  raw, geometry fixed: as 1, but capacity/limits are folded into small ranges and
//     the layout fields and file size are what this build computes for them, so the
//     fuzzed bytes reach the control block, the slots and the record buffers.
//  3  built and patched: a real table is created and filled by a few operations, then
//     its bytes are patched (raw byte ranges per region, or typed fields: a control
//     word's state/buffer/bound/fingerprint, the pool head, a record's lengths; for the
//     mutex engine a slot's state/key_len/value_len/live), and optionally the header
//     checksum is recomputed after header patches.
// The faithful mutex engine's slots hold process-shared pthread mutexes: random bytes
// there can make a lock look held forever, which is that engine's documented behaviour
// (a hang), not a memory-safety bug. So for MutexTable every mutex in the file (the
// table-wide one and each slot's) is re-initialised after fuzzing, at the places this
// build's layout puts them; everything else in the segment is fuzzed.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <xxhash.h>

#include "fuzz_engine.hpp"
#include "fuzz_input.hpp"
#include "lockfree_layout.hpp"
#include "mutex_layout.hpp"
#include "segment_header.hpp"
#include "shmtable/shmtable.hpp"

namespace {

using namespace shmtable;
using detail::SegmentHeader;
using Bytes = std::vector<std::uint8_t>;

constexpr bool kMutex = FuzzTable::kEngine == EngineKind::kMutex;
constexpr std::uint64_t kMaxFileBytes = 1 << 20; // mode 2 leaves bigger layouts as they are
constexpr unsigned kMaxOps = 48;

// The segment file: one per process (libFuzzer -jobs/-fork workers are processes),
// removed after every input (libFuzzer may leave without running atexit handlers). On
// tmpfs (/dev/shm) by default: on ext4, rewriting a file with O_TRUNC flushes it to disk
// at close, which made every execution cost milliseconds. SHMTABLE_FUZZ_DIR overrides.
const std::string &segment_path() {
  static const std::string path = [] {
    const char *dir = std::getenv("SHMTABLE_FUZZ_DIR");
    std::string p = std::string(dir != nullptr && *dir != '\0' ? dir : "/dev/shm") +
                    "/shmtable-fuzz-segment-" + std::to_string(::getpid());
    return p;
  }();
  return path;
}

void write_file(const std::string &path, const Bytes &bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (!bytes.empty() &&
                 ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))) {
    fuzz::fail("cannot write " + path);
  }
  ::close(fd);
}

Bytes read_file(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  Bytes out;
  if (fd < 0) {
    fuzz::fail("cannot read " + path);
  }
  std::uint8_t buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

SegmentHeader header_of(Bytes &f) {
  if (f.size() < sizeof(SegmentHeader)) {
    f.resize(sizeof(SegmentHeader));
  }
  SegmentHeader h;
  std::memcpy(&h, f.data(), sizeof h);
  return h;
}

void store_header(Bytes &f, SegmentHeader h, bool rechecksum) {
  if (rechecksum) {
    h.checksum = XXH64(&h, detail::kChecksummedBytes, 0);
  }
  std::memcpy(f.data(), &h, sizeof h);
}

void fix_identity(SegmentHeader &h) {
  h.magic = kMagic;
  h.format_version = kFormatVersion;
  h.engine = static_cast<std::uint32_t>(FuzzTable::kEngine);
  h.ready = detail::kReadyValue;
}

// The layout this build derives from the header's parameters, as Segment's open does.
std::optional<Layout> layout_of(const SegmentHeader &h) {
  try {
    return FuzzTable::layout_for(TableParams{FuzzTable::kEngine, h.flags, h.capacity,
                                             h.max_key_bytes, h.max_value_bytes, h.hash_seed});
  } catch (const Error &) {
    return std::nullopt;
  }
}

// MutexTable only: fresh process-shared mutexes wherever the engine will lock, so that
// fuzzed mutex bytes cannot stand for a lock held forever (see the file comment).
void init_mutexes(Bytes &f, const Layout &lay) {
  if constexpr (kMutex) {
    if (lay.total_bytes != f.size()) {
      return; // the open will refuse the size; nothing will be locked
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if ((lay.params.flags & kFlagRobust) != 0) {
      pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    }
    const auto init_at = [&](std::uint64_t offset) {
      pthread_mutex_t m;
      pthread_mutex_init(&m, &attr);
      std::memcpy(f.data() + offset, &m, sizeof m);
    };
    init_at(lay.control_offset + offsetof(detail::mutex::MutexControl, global));
    for (std::uint64_t i = 0; i < lay.params.capacity; ++i) {
      init_at(lay.slots_offset + i * lay.slot_bytes +
              offsetof(detail::mutex::MutexSlotHeader, mutex));
    }
    pthread_mutexattr_destroy(&attr);
  } else {
    (void)f;
    (void)lay;
  }
}

// Modes 0-2: the input's bytes are the file.
Bytes raw_file(fuzz::Input &in, unsigned mode) {
  const std::string_view raw = in.bytes(in.u16());
  Bytes f(raw.begin(), raw.end());
  if (mode == 0) {
    if (f.size() >= sizeof(SegmentHeader)) { // a raw file may still carry a valid header
      SegmentHeader h;
      std::memcpy(&h, f.data(), sizeof h);
      if (const std::optional<Layout> lay = layout_of(h)) {
        init_mutexes(f, *lay);
      }
    }
    return f;
  }
  SegmentHeader h = header_of(f);
  fix_identity(h);
  if (mode == 2) {
    h.capacity = 1 + h.capacity % 32;
    h.max_key_bytes = 1 + h.max_key_bytes % 80;
    h.max_value_bytes = 1 + h.max_value_bytes % 300;
    h.flags &= kFlagPersist | (kMutex ? kFlagRobust : 0);
    if (const std::optional<Layout> lay = layout_of(h); lay && lay->total_bytes <= kMaxFileBytes) {
      h.slot_bytes = lay->slot_bytes;
      h.control_offset = lay->control_offset;
      h.slots_offset = lay->slots_offset;
      h.total_bytes = lay->total_bytes;
      h.abi_signature = lay->abi_signature;
      f.resize(lay->total_bytes);
    }
  }
  store_header(f, h, true);
  if (const std::optional<Layout> lay = layout_of(h)) {
    init_mutexes(f, *lay);
  }
  return f;
}

// Mode 3: a real table, filled by a few operations, then patched.
Bytes built_file(fuzz::Input &in) {
  const fuzz::Geometry g = fuzz::decode_geometry(in);
  Options o;
  o.path = segment_path();
  o.capacity = g.capacity;
  o.max_key_bytes = g.max_key_bytes;
  o.max_value_bytes = g.max_value_bytes;
  o.hash_seed = g.hash_seed;
  o.robust = kMutex && g.robust;
  o.persist = true;
  o.open_mode = OpenMode::kCreate;
  ::unlink(o.path.c_str());
  Layout lay;
  try {
    FuzzTable t(o);
    lay = t.layout();
    for (unsigned n = in.byte() % 24, i = 0; i < n; ++i) {
      const std::uint8_t op = in.byte();
      const std::string key = fuzz::decode_key(in.byte(), g.max_key_bytes);
      try {
        if ((op & 3) != 0) {
          t.set(key, fuzz::decode_value(in, g.max_value_bytes, i));
        } else {
          t.erase(key);
        }
      } catch (const Error &) { // oversize, full: fine, the point is the bytes it leaves
      }
    }
  } catch (const Error &e) {
    fuzz::fail(std::string("cannot build the table to corrupt: ") + e.what());
  }
  Bytes f = read_file(o.path);
  if (f.size() != lay.total_bytes) {
    fuzz::fail("the built segment has an unexpected size");
  }
  // Lock-free: the record buffers start on the first cache line after the words.
  const std::uint64_t records =
      kMutex ? lay.slots_offset
             : (lay.slots_offset + lay.params.capacity * 16 + kCacheLineBytes - 1) /
                   kCacheLineBytes * kCacheLineBytes;
  // The control block alone: the statistics region after it (stats_region.hpp) is left
  // as built, since nothing reads an index, a length or a pointer from it (its counts
  // are summed, its owners' pids only probed with signal 0), and so that a seed's
  // control-block patches land where they did before the region existed.
  const std::uint64_t stats_offset =
      kMutex ? detail::mutex::stats_offset_of(lay) : detail::lockfree::stats_offset_of(lay);
  const std::uint64_t regions[4][2] = {{0, sizeof(SegmentHeader)},
                                       {lay.control_offset, stats_offset},
                                       {lay.slots_offset, lay.total_bytes},
                                       {records, lay.total_bytes}};
  const auto buffers = static_cast<std::uint32_t>(LockFreeTable::buffers_for(lay.params.capacity));
  const auto record_bytes = static_cast<std::uint32_t>((lay.total_bytes - records) / buffers);
  // A 32-bit quantity near an interesting limit: small, limit - 1, limit, or huge.
  const auto near = [&](std::uint32_t limit) -> std::uint32_t {
    const std::uint8_t b = in.byte();
    switch (b >> 6) {
    case 0:
      return b & 0x3f;
    case 1:
      return limit - 1 + (b & 3);
    case 2:
      return 0xffffffffu - (b & 0x3f);
    default:
      return static_cast<std::uint32_t>(in.u64());
    }
  };
  const auto put = [&](std::uint64_t offset, const void *src, std::size_t n) {
    if (offset + n <= f.size()) {
      std::memcpy(f.data() + offset, src, n);
    }
  };
  bool header_patched = false;
  for (unsigned n = in.byte() % 16, i = 0; i < n; ++i) {
    const std::uint8_t kind = in.byte();
    const std::uint16_t where = in.u16();
    if ((kind & 0x80) == 0) { // raw bytes into a region
      const auto &r = regions[kind & 3];
      const std::string_view b = in.bytes(1 + in.byte() % 16);
      if (r[1] > r[0]) {
        put(r[0] + where % (r[1] - r[0]), b.data(), b.size());
        header_patched |= (kind & 3) == 0;
      }
      continue;
    }
    if constexpr (!kMutex) {
      const std::uint64_t slot = where % lay.params.capacity;
      const std::uint64_t at = lay.slots_offset + slot * 16;
      detail::lockfree::Word128 w;
      std::memcpy(&w, f.data() + at, sizeof w);
      // The record buffer this slot's word names (else any buffer), to reach live ones.
      const std::uint64_t named = w.hi >> detail::lockfree::kBufferShift;
      const std::uint64_t rec =
          records + (named < buffers ? named : where % buffers) * record_bytes;
      std::uint64_t head;
      std::memcpy(&head, f.data() + rec, 8);
      switch (kind & 0x0f) {
      case 0: // state (including the undefined 3)
        w.hi = (w.hi & ~detail::lockfree::kStateMask) | (in.byte() & 3);
        break;
      case 1: // buffer index
        w.hi = (w.hi & 0xffffffffULL) |
               (std::uint64_t{near(buffers)} << detail::lockfree::kBufferShift);
        break;
      case 2: // bound
        w.hi = (w.hi & ~(detail::lockfree::kMaxBound << detail::lockfree::kBoundShift)) |
               ((std::uint64_t{in.u16()} & detail::lockfree::kMaxBound)
                << detail::lockfree::kBoundShift);
        break;
      case 3: // fingerprint
        w.hi =
            (w.hi & ~(0xffffULL << detail::lockfree::kFpShift)) | (std::uint64_t{in.u16()} << 16);
        break;
      case 4: { // the pool head: free-list top + 1, bump
        const std::uint64_t top = near(buffers + 1);
        const std::uint64_t hi = top | (std::uint64_t{near(buffers)} << 32);
        put(lay.control_offset + offsetof(detail::lockfree::LockFreeControl, pool) + 8, &hi, 8);
        continue;
      }
      case 5: // the record's value length
        head = (head & 0xffffffffULL) | (std::uint64_t{near(lay.params.max_value_bytes)} << 32);
        put(rec, &head, 8);
        continue;
      case 6: // the record's key length
        head = (head & ~0xffffffffULL) | near(lay.params.max_key_bytes);
        put(rec, &head, 8);
        continue;
      case 7: { // the live-entry counter
        const std::uint64_t entries = in.u64();
        put(lay.control_offset + offsetof(detail::lockfree::LockFreeControl, entries), &entries, 8);
        continue;
      }
      case 8: { // the free-list link in the pool's top buffer (next index + 1)
        std::uint64_t pool_hi;
        std::memcpy(&pool_hi,
                    f.data() + lay.control_offset +
                        offsetof(detail::lockfree::LockFreeControl, pool) + 8,
                    8);
        const std::uint64_t top = pool_hi & 0xffffffffULL;
        const std::uint64_t link = near(buffers + 1);
        if (top != 0 && top <= buffers) {
          put(records + (top - 1) * record_bytes, &link, 8);
        }
        continue;
      }
      default: // a whole fuzzed control word
        w.hi = in.u64();
        break;
      }
      put(at, &w, sizeof w);
    } else {
      const std::uint64_t at = lay.slots_offset + (where % lay.params.capacity) * lay.slot_bytes;
      detail::mutex::MutexSlotHeader s;
      std::memcpy(&s, f.data() + at, sizeof s);
      switch (kind & 3) {
      case 0:
        s.state = in.byte() % 4;
        break;
      case 1:
        s.key_len = static_cast<std::uint16_t>(near(lay.params.max_key_bytes));
        break;
      case 2:
        s.value_len[in.byte() & 1] = near(lay.params.max_value_bytes);
        break;
      default:
        s.live = in.byte();
        break;
      }
      put(at, &s, sizeof s);
    }
  }
  const std::uint8_t finish = in.byte();
  if (header_patched && (finish & 1) != 0) {
    store_header(f, header_of(f), true); // header fields fuzzed past the checksum
  }
  init_mutexes(f, lay);
  return f;
}

void check_keys(const std::vector<std::string> &keys, std::uint32_t max_key_bytes) {
  for (const std::string &k : keys) {
    if (k.size() > max_key_bytes) {
      fuzz::fail("keys() returned a key of " + std::to_string(k.size()) +
                 " bytes, over max_key_bytes " + std::to_string(max_key_bytes));
    }
  }
}

void check_value(std::size_t size, std::uint32_t max_value_bytes, const char *op) {
  if (size > max_value_bytes) {
    fuzz::fail(std::string(op) + " returned a value of " + std::to_string(size) +
               " bytes, over max_value_bytes " + std::to_string(max_value_bytes));
  }
}

void check_after_recover(FuzzTable &t, const RecoveryReport &r) {
  const std::vector<std::string> keys = t.keys();
  check_keys(keys, t.max_key_bytes());
  if (t.size() != keys.size() || r.entries != keys.size()) {
    fuzz::fail("after recover(): size() " + std::to_string(t.size()) + ", keys() " +
               std::to_string(keys.size()) + ", report.entries " + std::to_string(r.entries));
  }
  if (!kMutex && r.duplicate_keys == 0 &&
      std::set<std::string>(keys.begin(), keys.end()).size() != keys.size()) {
    fuzz::fail("after recover() reported no duplicate keys, keys() lists one twice");
  }
}

void operate(FuzzTable &t, fuzz::Input &in) {
  const std::uint32_t mk = t.max_key_bytes();
  const std::uint32_t mv = t.max_value_bytes();
  for (unsigned i = 0; i < kMaxOps && !in.empty(); ++i) {
    const std::uint8_t op = in.byte();
    const std::string key = fuzz::decode_key(in.byte(), mk);
    try {
      switch (op % 12) {
      case 0:
        if (const std::optional<std::string> v = t.get(key)) {
          check_value(v->size(), mv, "get()");
        }
        break;
      case 1:
        t.set(key, fuzz::decode_value(in, mv, i));
        break;
      case 2:
        t.erase(key);
        break;
      case 3:
        t.contains(key);
        break;
      case 4:
        check_keys(t.keys(), mk);
        break;
      case 5:
        (void)t.size();
        break;
      case 6:
        check_after_recover(t, t.recover());
        break;
      case 7:
        t.add(key, fuzz::decode_delta(in));
        break;
      case 8: {
        const std::string expected = fuzz::decode_value(in, mv, i);
        t.compare_and_set(key, expected, fuzz::decode_value(in, mv, i + 1));
        break;
      }
      case 9:
        t.set_if_absent(key, fuzz::decode_value(in, mv, i));
        break;
      case 10:
        t.clear();
        break;
      default: {
        const std::size_t size = in.byte() % (mv + 2u);
        const std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]); // ASan-exact
        if (const auto n = t.get_into(key, std::span<char>(buf.get(), size))) {
          check_value(*n, std::min<std::size_t>(mv, size), "get_into()");
        }
        break;
      }
      }
    } catch (const Error &) { // failing cleanly is allowed
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  struct RemoveFile { // after the table below has been closed
    ~RemoveFile() { ::unlink(segment_path().c_str()); }
  } remove_file;
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  const Bytes file = (mode & 3) == 3 ? built_file(in) : raw_file(in, mode & 3);
  write_file(segment_path(), file);
  Options o;
  o.path = segment_path();
  o.capacity = 0; // adopt the segment's sizes
  o.max_key_bytes = 0;
  o.max_value_bytes = 0;
  o.hash_seed = 0;
  // Mostly what the header says; a quarter of the inputs ask otherwise (kLayoutMismatch).
  o.persist = (mode & 0x24) != 0x24;
  o.robust = kMutex && file.size() >= sizeof(SegmentHeader) &&
             ((file[offsetof(SegmentHeader, flags)] & kFlagRobust) != 0) != ((mode & 0x48) == 0x48);
  o.open_mode = (mode & 0x10) == 0 ? OpenMode::kOpen : OpenMode::kOpenOrCreate;
  o.ready_timeout_ms = 100;
  static const bool verbose = std::getenv("SHMTABLE_FUZZ_VERBOSE") != nullptr;
  std::optional<FuzzTable> table;
  try {
    table.emplace(o);
  } catch (const Error &e) {
    if (verbose) {
      std::fprintf(stderr, "mode %u, %zu-byte file: refused: %s\n", mode & 3u, file.size(),
                   e.what());
    }
    return 0; // refused cleanly
  }
  if (verbose) {
    std::fprintf(stderr, "mode %u, %zu-byte file: opened, %zu keys\n", mode & 3u, file.size(),
                 table->keys().size());
  }
  operate(*table, in);
  return 0;
}
