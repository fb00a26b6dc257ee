// Segment lifecycle: create/open, validate, map, close, unlink.
//
// Locking discipline (the whole crash-safety argument of the lifecycle):
//  L1. Every attached handle holds flock(LOCK_SH) on its own open file description of
//      the segment for as long as it is attached. The kernel releases it when the
//      process dies, however it dies.
//  L2. A process that gets flock(LOCK_EX|LOCK_NB) on a fresh description therefore knows
//      that nobody is attached. Only such a process may (re)initialise a segment, and
//      only if it is unfinished (creator died before publishing `ready`) or stale (not
//      persistent, and every process that had it is gone).
//  L3. A persistent, ready segment is never reinitialised by the library.
//  L4. flock's EX->SH conversion is not atomic (flock(2)); a creator therefore re-reads
//      the header's `instance` after it holds LOCK_SH and starts over if another process
//      slipped in and re-created the table in that window.
//  L5. Every attached handle also holds an open-file-description (OFD) read lock on byte
//      0 of the segment (fcntl F_OFD_SETLK, independent of flock; an opener retries it
//      until ready_timeout_ms while another handle holds the byte exclusively). Upgrading it to a
//      write lock with F_OFD_SETLK either succeeds atomically, meaning no other handle
//      in any process is attached, or fails leaving the read lock in place. That is how
//      Segment::run_exclusive (and the engines' recover()) knows nobody else can be
//      running an operation. The kernel drops OFD locks when the process dies.
#include "shmtable/segment.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <utility>

#include <xxhash.h>

#include "segment_header.hpp"
#include "shmtable/error.hpp"

namespace shmtable {
namespace {

using detail::SegmentHeader;
using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_os(const std::string &what, int err) {
  Errc code = Errc::kSystem;
  if (err == EACCES || err == EPERM) {
    code = Errc::kPermissionDenied;
  } else if (err == ENOENT) {
    code = Errc::kSegmentMissing;
  }
  throw Error(code, what + ": " + std::strerror(err));
}

struct Location {
  bool by_path;
  std::string where;   // name (no slash) or path
  std::string display; // "shm 'name'" / "file 'path'"
};

Location resolve(const Options &opts) {
  if (opts.name.empty() == opts.path.empty()) {
    throw Error(Errc::kInvalidArgument, "options: set exactly one of name and path");
  }
  if (!opts.name.empty()) {
    validate_name(opts.name);
    return {false, opts.name, "shm '" + opts.name + "'"};
  }
  if (opts.path.find('\0') != std::string::npos) {
    throw Error(Errc::kInvalidArgument, "path: contains a NUL byte");
  }
  return {true, opts.path, "file '" + opts.path + "'"};
}

int open_fd(const Location &loc, int flags, unsigned mode) {
  if (loc.by_path) {
    return ::open(loc.where.c_str(), flags | O_CLOEXEC, mode);
  }
  return ::shm_open(("/" + loc.where).c_str(), flags, mode); // shm_open sets FD_CLOEXEC
}

int remove_location(const Location &loc) {
  return loc.by_path ? ::unlink(loc.where.c_str()) : ::shm_unlink(("/" + loc.where).c_str());
}

// True if `loc` still names the object `fd` refers to (it may have been unlinked, and
// perhaps re-created, between our open and our flock).
bool names_same_object(int fd, const Location &loc) {
  struct stat mine {};
  struct stat named {};
  if (::fstat(fd, &mine) != 0) {
    return false;
  }
  const int other = open_fd(loc, O_RDONLY, 0);
  if (other < 0) {
    if (errno == ENOENT) {
      return false;
    }
    throw_os(loc.display + ": reopen to check identity", errno); // e.g. EMFILE
  }
  const bool ok = ::fstat(other, &named) == 0;
  ::close(other);
  return ok && mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_); // also drops any flock held through this description
    }
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

// L5: the attach byte's lock, one try (EAGAIN or EACCES while another handle's lock
// conflicts).
int attach_byte_lock(int fd, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  for (;;) {
    if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) {
      return 0;
    }
    if (errno != EINTR) {
      return errno;
    }
  }
}

// Sleeps before the next try of a lock: 100 us, doubling up to 10 ms.
struct Pause {
  std::chrono::microseconds next{100};
  void operator()() {
    std::this_thread::sleep_for(next);
    next = std::min(next * 2, std::chrono::microseconds(10000));
  }
};

// L5's read lock, waited for while a recover()/run_exclusive() of another handle holds
// the byte, until `deadline` (the open's ready_timeout_ms): a stopped or endless holder
// must not hang every opener.
void hold_attach_byte(int fd, const Location &loc, Clock::time_point deadline,
                      unsigned timeout_ms) {
  for (Pause pause;; pause()) {
    const int err = attach_byte_lock(fd, F_RDLCK);
    if (err == 0) {
      return;
    }
    if (err != EAGAIN && err != EACCES) {
      throw_os(loc.display + ": fcntl(F_OFD_SETLK)", err);
    }
    if (Clock::now() >= deadline) {
      throw Error(Errc::kBusy, loc.display +
                                   ": another handle held it exclusively (recover() or "
                                   "run_exclusive()) for over " +
                                   std::to_string(timeout_ms) + " ms (ready_timeout_ms)");
    }
  }
}

// An existing segment that another user owns and that every user may write could have
// been planted by anyone (/dev/shm is world-writable): refuse it. Sharing a table across
// users goes through a group (mode 0660) instead.
void refuse_untrusted(int fd, const Location &loc) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw_os(loc.display + ": fstat", errno);
  }
  if (st.st_uid != ::geteuid() && (st.st_mode & S_IWOTH) != 0) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  ": owned by uid %u, not this process's uid %u, and writable by every user "
                  "(mode 0%o): not trusted; share a table across users through a group",
                  static_cast<unsigned>(st.st_uid), static_cast<unsigned>(::geteuid()),
                  static_cast<unsigned>(st.st_mode & 0777));
    throw Error(Errc::kPermissionDenied, loc.display + buf);
  }
}

// Polls for a flock until `deadline`; false on timeout.
bool lock_until(int fd, int op, Clock::time_point deadline, const Location &loc) {
  for (Pause pause;; pause()) {
    if (::flock(fd, op | LOCK_NB) == 0) {
      return true;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      throw_os(loc.display + ": flock", errno);
    }
    if (Clock::now() >= deadline) {
      return false;
    }
  }
}

struct Mapping {
  std::byte *base;
  std::size_t bytes;
};

Mapping map_fd(int fd, std::uint64_t bytes, const Location &loc) {
  void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    throw_os(loc.display + ": mmap of " + std::to_string(bytes) + " bytes", errno);
  }
  return {static_cast<std::byte *>(p), static_cast<std::size_t>(bytes)};
}

std::uint64_t header_checksum(const SegmentHeader &h) {
  return XXH64(&h, detail::kChecksummedBytes, 0);
}

std::atomic_ref<std::uint32_t> ready_flag(std::byte *base) {
  return std::atomic_ref<std::uint32_t>(reinterpret_cast<SegmentHeader *>(base)->ready);
}

enum class State { kUnfinished, kReady };

// Reads the header through the file descriptor. kUnfinished: a creator died before
// publishing `ready` (an empty file, or our magic with ready still 0). Anything else that
// is not a well-formed header of ours is refused, never overwritten.
State read_header(int fd, const Location &loc, SegmentHeader &h, std::uint64_t &file_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw_os(loc.display + ": fstat", errno);
  }
  file_bytes = static_cast<std::uint64_t>(st.st_size);
  h = SegmentHeader{};
  const auto want = static_cast<ssize_t>(sizeof h);
  const ssize_t got = ::pread(fd, &h, sizeof h, 0);
  if (got < 0) {
    throw_os(loc.display + ": read header", errno);
  }
  if (got == 0) {
    return State::kUnfinished; // created, and its creator wrote nothing yet (or died)
  }
  // A creator writes our magic before anything else (initialise()), so a file that starts
  // with zeros is somebody else's: refused, never reinitialised.
  static constexpr SegmentHeader kZero{};
  if (std::memcmp(&h, &kZero, static_cast<std::size_t>(got)) == 0) {
    throw Error(Errc::kCorruptedHeader,
                loc.display + ": not a shmtable segment (it starts with " + std::to_string(got) +
                    " zero bytes; a shmtable segment starts with its magic from the moment "
                    "it is created)");
  }
  if (got < want) {
    throw Error(Errc::kCorruptedHeader, loc.display + ": not a shmtable segment (" +
                                            std::to_string(file_bytes) +
                                            " bytes, shorter than a header)");
  }
  if (h.magic != kMagic) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "magic is 0x%016llx, expected 0x%016llx",
                  static_cast<unsigned long long>(h.magic),
                  static_cast<unsigned long long>(kMagic));
    throw Error(Errc::kCorruptedHeader, loc.display + ": not a shmtable segment (" + buf + ")");
  }
  if (h.ready == 0) {
    return State::kUnfinished;
  }
  if (h.ready != detail::kReadyValue) {
    throw Error(Errc::kCorruptedHeader, loc.display + ": ready flag holds " +
                                            std::to_string(h.ready) +
                                            ", neither 0 nor the ready value");
  }
  return State::kReady;
}

std::string describe_flags(std::uint32_t flags, std::uint32_t bit) {
  return (flags & bit) != 0 ? "true" : "false";
}

void check_field(const Location &loc, const char *field, std::uint64_t segment,
                 std::uint64_t requested) {
  if (requested != 0 && requested != segment) {
    throw Error(Errc::kLayoutMismatch, loc.display + ": " + field + ": the segment has " +
                                           std::to_string(segment) + ", the options ask for " +
                                           std::to_string(requested));
  }
}

void check_computed(const Location &loc, const char *field, std::uint64_t segment,
                    std::uint64_t computed) {
  if (segment != computed) {
    throw Error(Errc::kLayoutMismatch, loc.display + ": " + field + ": the segment has " +
                                           std::to_string(segment) + ", this build computes " +
                                           std::to_string(computed) +
                                           " (written by another version or ABI of shmtable?)");
  }
}

// Validates a ready header against this build and the caller's request; returns the
// layout to use. Order: format, integrity, ownership, geometry, then the request. Only
// the flags in `compared_flags` are checked (the others the opener adopts).
Layout validate(const SegmentHeader &h, std::uint64_t file_bytes, const TableParams &req,
                std::uint32_t compared_flags, Segment::LayoutFn layout_fn, const Location &loc) {
  if (h.format_version != kFormatVersion) {
    throw Error(Errc::kLayoutMismatch, loc.display + ": format_version: the segment has " +
                                           std::to_string(h.format_version) +
                                           ", this library reads " +
                                           std::to_string(kFormatVersion));
  }
  const std::uint64_t sum = header_checksum(h);
  if (sum != h.checksum) {
    throw Error(Errc::kCorruptedHeader, loc.display + ": header checksum mismatch (stored " +
                                            std::to_string(h.checksum) + ", computed " +
                                            std::to_string(sum) + ")");
  }
  if (h.engine != static_cast<std::uint32_t>(req.engine)) {
    throw Error(Errc::kLayoutMismatch,
                loc.display + ": engine: the segment belongs to the '" +
                    std::string(to_string(static_cast<EngineKind>(h.engine))) +
                    "' engine, this handle is '" + std::string(to_string(req.engine)) + "'");
  }
  TableParams params;
  params.engine = req.engine;
  params.flags = h.flags;
  params.capacity = h.capacity;
  params.max_key_bytes = h.max_key_bytes;
  params.max_value_bytes = h.max_value_bytes;
  params.hash_seed = h.hash_seed;
  Layout lay;
  try {
    lay = layout_fn(params);
  } catch (const Error &e) {
    throw Error(Errc::kCorruptedHeader,
                loc.display + ": header parameters out of range: " + e.what());
  }
  check_computed(loc, "slot_bytes", h.slot_bytes, lay.slot_bytes);
  check_computed(loc, "control_offset", h.control_offset, lay.control_offset);
  check_computed(loc, "slots_offset", h.slots_offset, lay.slots_offset);
  check_computed(loc, "total_bytes", h.total_bytes, lay.total_bytes);
  check_computed(loc, "abi_signature", h.abi_signature, lay.abi_signature);
  if (file_bytes != h.total_bytes) {
    throw Error(Errc::kCorruptedHeader,
                loc.display + ": size: the segment is " + std::to_string(file_bytes) +
                    " bytes, its header says " + std::to_string(h.total_bytes));
  }
  check_field(loc, "capacity", h.capacity, req.capacity);
  check_field(loc, "max_key_bytes", h.max_key_bytes, req.max_key_bytes);
  check_field(loc, "max_value_bytes", h.max_value_bytes, req.max_value_bytes);
  check_field(loc, "hash_seed", h.hash_seed, req.hash_seed);
  for (auto [bit, field] : {std::pair{kFlagPersist, "persist"}, std::pair{kFlagRobust, "robust"}}) {
    if ((compared_flags & bit) != 0 && (h.flags & bit) != (req.flags & bit)) {
      throw Error(Errc::kLayoutMismatch,
                  loc.display + ": " + field + ": the segment has " + describe_flags(h.flags, bit) +
                      ", the options ask for " + describe_flags(req.flags, bit));
    }
  }
  return lay;
}

std::uint64_t fresh_instance() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
         static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
}

// Initialises the segment behind `fd`, which the caller holds with LOCK_EX (rule L2).
// Returns the mapping with the header published.
TableParams with_defaults(TableParams params) {
  if (params.capacity == 0) {
    params.capacity = kDefaultCapacity;
  }
  if (params.max_key_bytes == 0) {
    params.max_key_bytes = kDefaultMaxKeyBytes;
  }
  if (params.max_value_bytes == 0) {
    params.max_value_bytes = kDefaultMaxValueBytes;
  }
  return params;
}

// "N bytes (X.Y GiB)", for messages about sizes a person has to compare.
std::string bytes_text(std::uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.1f GiB)", static_cast<unsigned long long>(bytes),
                static_cast<double>(bytes) / static_cast<double>(1ULL << 30));
  return buf;
}

// A segment larger than the free space of its file system is created and mapped without
// complaint (sparse), and the first write past that space kills the writer with SIGBUS.
// Refused here instead, while the creator can still remove what it made. Free space, not
// the file system's size: other tables and files share it. (Tables created side by side
// can still overcommit it together; each one alone fits.)
void check_space(int fd, const Location &loc, const Layout &lay) {
  struct statvfs vfs {};
  if (::fstatvfs(fd, &vfs) != 0) {
    throw_os(loc.display + ": fstatvfs", errno);
  }
  const std::uint64_t avail = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  // f_blocks 0: a file system with no size limit (ramfs, tmpfs mounted size=0) reports
  // no free blocks either; there is nothing to check against.
  if (vfs.f_blocks != 0 && lay.total_bytes > avail) {
    const std::string fs = loc.by_path ? "the file system of '" + loc.where + "'" : "/dev/shm";
    throw Error(Errc::kInvalidArgument,
                loc.display + ": capacity: " + std::to_string(lay.params.capacity) +
                    " slots need " + bytes_text(lay.total_bytes) + ", more than the " +
                    bytes_text(avail) + " available in " + fs +
                    " (f_bavail * f_frsize); ask for fewer slots or smaller key and value "
                    "limits, or free space there");
  }
}

Mapping initialise(int fd, const Location &loc, const Options &opts, const TableParams &params,
                   Segment::LayoutFn layout_fn, const Segment::InitFn &init, Layout &lay,
                   std::uint64_t &instance) {
  lay = layout_fn(with_defaults(params));
  // Zero everything a dead creator may have left, then size the segment. Both are O(1)
  // in the segment's size: the kernel hands out zero pages on first touch.
  if (::ftruncate(fd, 0) != 0) {
    throw_os(loc.display + ": truncate", errno);
  }
  check_space(fd, loc, lay); // after the truncate: a dead creator's pages count as free
  if (::fchmod(fd, opts.mode) != 0 && errno != EPERM) { // umask must not narrow `mode`
    throw_os(loc.display + ": chmod", errno);
  }
  // Our mark, before the file grows: from here on a creator that dies leaves our magic
  // with ready = 0, which the next open redoes; a file that starts with zeros is never
  // taken for one of ours (read_header).
  SegmentHeader mark{};
  mark.magic = kMagic;
  if (::pwrite(fd, &mark, sizeof mark, 0) != static_cast<ssize_t>(sizeof mark)) {
    throw_os(loc.display + ": write header", errno);
  }
  if (::ftruncate(fd, static_cast<off_t>(lay.total_bytes)) != 0) {
    throw_os(loc.display + ": cannot size the segment to " + std::to_string(lay.total_bytes) +
                 " bytes",
             errno);
  }
  if (lay.reserve) {
    if (const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(lay.total_bytes)); rc != 0) {
      throw_os(loc.display + ": cannot reserve " + std::to_string(lay.total_bytes) + " bytes", rc);
    }
  }
  Mapping m = map_fd(fd, lay.total_bytes, loc);
  try {
    if (init) {
      init(m.base, lay);
    }
  } catch (...) {
    ::munmap(m.base, m.bytes);
    throw;
  }
  SegmentHeader h{};
  h.magic = kMagic;
  h.format_version = kFormatVersion;
  h.engine = static_cast<std::uint32_t>(lay.params.engine);
  h.flags = lay.params.flags;
  h.max_key_bytes = lay.params.max_key_bytes;
  h.max_value_bytes = lay.params.max_value_bytes;
  h.slot_bytes = lay.slot_bytes;
  h.capacity = lay.params.capacity;
  h.control_offset = lay.control_offset;
  h.slots_offset = lay.slots_offset;
  h.total_bytes = lay.total_bytes;
  h.hash_seed = lay.params.hash_seed;
  h.abi_signature = lay.abi_signature;
  h.instance = instance = fresh_instance();
  h.checksum = header_checksum(h);
  h.ready = 0;
  std::memcpy(m.base, &h, sizeof h);
  // Release: orders the engine's initialisation and the header bytes above before the
  // flag. Pairs with the acquire load in attach_mapping() of any process that maps the
  // segment later. (Openers also synchronise through flock, which the kernel orders.)
  ready_flag(m.base).store(detail::kReadyValue, std::memory_order_release);
  return m;
}

Mapping attach_mapping(int fd, const Layout &lay, const Location &loc) {
  Mapping m = map_fd(fd, lay.total_bytes, loc);
  // Acquire: pairs with the creator's release store of `ready` in initialise(), so the
  // engine's initialised control block and slots are visible to this process.
  if (ready_flag(m.base).load(std::memory_order_acquire) != detail::kReadyValue) {
    ::munmap(m.base, m.bytes);
    throw Error(Errc::kCorruptedHeader, loc.display + ": ready flag cleared while attaching");
  }
  return m;
}

void backoff(std::mt19937 &rng) {
  std::this_thread::sleep_for(std::chrono::microseconds(50 + rng() % 500));
}

} // namespace

std::string_view to_string(EngineKind engine) noexcept {
  switch (engine) {
  case EngineKind::kMutex:
    return "mutex";
  case EngineKind::kLockFree:
    return "lockfree";
  }
  return "unknown";
}

void validate_name(std::string_view name) {
  if (name.empty()) {
    throw Error(Errc::kInvalidName, "name: must not be empty");
  }
  if (name.size() > kMaxNameBytes) {
    throw Error(Errc::kInvalidName, "name: " + std::to_string(name.size()) +
                                        " bytes exceeds the limit of " +
                                        std::to_string(kMaxNameBytes));
  }
  if (name.front() == '.') {
    throw Error(Errc::kInvalidName, "name: must not start with '.'");
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) {
      char shown[8];
      std::snprintf(shown, sizeof shown, (c > 32 && c < 127) ? "'%c'" : "0x%02x",
                    static_cast<unsigned char>(c));
      throw Error(Errc::kInvalidName, std::string("name: character ") + shown +
                                          " is not allowed (use A-Z a-z 0-9 . _ -)");
    }
  }
}

Segment Segment::attach(const Options &opts, const TableParams &requested, LayoutFn layout_fn,
                        const InitFn &init) {
  const Location loc = resolve(opts);
  if ((opts.mode & ~0777u) != 0 || (opts.mode & 0600u) != 0600u) {
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  "mode: 0%o must be permission bits within 0777 that include 0600", opts.mode);
    throw Error(Errc::kInvalidArgument, buf);
  }
  TableParams req = requested;
  req.flags |= opts.persist.value_or(false) ? kFlagPersist : 0;
  const std::uint32_t compared = opts.persist.has_value() ? ~0u : ~kFlagPersist;
  (void)layout_fn(with_defaults(req)); // refuse bad sizing before anything is created
  const auto deadline = Clock::now() + std::chrono::milliseconds(opts.ready_timeout_ms);
  std::mt19937 rng(static_cast<unsigned>(fresh_instance()));

  for (bool first = true;; first = false) {
    if (!first && Clock::now() >= deadline) {
      throw Error(Errc::kNotReady, loc.display + ": another process kept creating it for over " +
                                       std::to_string(opts.ready_timeout_ms) +
                                       " ms (ready_timeout_ms)");
    }
    int raw = -1;
    if (opts.open_mode != OpenMode::kOpen) {
      raw = open_fd(loc, O_CREAT | O_EXCL | O_RDWR, opts.mode);
      if (raw < 0 && errno != EEXIST) {
        throw_os(loc.display + ": create", errno);
      }
    }
    const bool ours = raw >= 0; // created just now by O_EXCL
    if (raw < 0) {
      raw = open_fd(loc, O_RDWR, 0);
      if (raw < 0) {
        if (errno == ENOENT && opts.open_mode != OpenMode::kOpen) {
          continue; // removed since our create attempt: try again
        }
        throw_os(loc.display + ": open", errno);
      }
    }
    Fd fd(raw);
    if (!ours) {
      refuse_untrusted(fd.get(), loc);
    }
    Segment seg;
    seg.by_path_ = loc.by_path;
    seg.location_ = loc.where;
    seg.display_ = loc.display;
    SegmentHeader h{};
    std::uint64_t file_bytes = 0;

    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      // Rule L2: nobody is attached.
      if (!names_same_object(fd.get(), loc)) {
        continue;
      }
      const State state = read_header(fd.get(), loc, h, file_bytes);
      const bool stale = state == State::kUnfinished || (h.flags & kFlagPersist) == 0;
      if (!stale) { // L3: persistent and ready: attach, never reinitialise
        if (opts.open_mode == OpenMode::kCreate) {
          throw Error(Errc::kAlreadyExists, loc.display + ": already exists (open_mode kCreate)");
        }
        seg.layout_ = validate(h, file_bytes, req, compared, layout_fn, loc);
        Mapping m = attach_mapping(fd.get(), seg.layout_, loc);
        seg.base_ = m.base;
        if (::flock(fd.get(), LOCK_SH) != 0) { // L1
          throw_os(loc.display + ": flock", errno);
        }
        hold_attach_byte(fd.get(), loc, deadline, opts.ready_timeout_ms); // L5
        seg.fd_ = fd.release();
        return seg;
      }
      if (opts.open_mode == OpenMode::kOpen) {
        // Logically it does not exist: remove it now, under LOCK_EX, so that an opener
        // queued behind us for LOCK_SH cannot attach to the dead processes' contents.
        if (::ftruncate(fd.get(), 0) == 0) {
          remove_location(loc);
        }
        throw Error(Errc::kSegmentMissing,
                    loc.display + (state == State::kUnfinished
                                       ? ": its creator died before finishing it"
                                       : ": not persistent, and every process that had it "
                                         "is gone"));
      }
      std::uint64_t instance = 0;
      Mapping m{};
      try {
        m = initialise(fd.get(), loc, opts, req, layout_fn, init, seg.layout_, instance);
      } catch (...) {
        // Leave nothing half-made behind: we hold LOCK_EX, so nobody is attached (L2).
        if (::ftruncate(fd.get(), 0) == 0 && names_same_object(fd.get(), loc)) {
          remove_location(loc);
        }
        throw;
      }
      seg.base_ = m.base;
      seg.created_ = true;
      if (::flock(fd.get(), LOCK_SH) != 0) { // L1
        throw_os(loc.display + ": flock", errno);
      }
      // L4: the conversion above may have let another process re-create the table.
      SegmentHeader now{};
      if (read_header(fd.get(), loc, now, file_bytes) != State::kReady ||
          now.instance != instance) {
        seg.close();
        backoff(rng);
        continue;
      }
      hold_attach_byte(fd.get(), loc, deadline, opts.ready_timeout_ms); // L5
      seg.fd_ = fd.release();
      return seg;
    }
    if (errno != EWOULDBLOCK) {
      throw_os(loc.display + ": flock", errno);
    }
    // Someone is attached, or creating it (holding LOCK_EX): wait for shared access.
    if (!lock_until(fd.get(), LOCK_SH, deadline, loc)) {
      continue; // the deadline check at the top reports it
    }
    if (!names_same_object(fd.get(), loc)) {
      continue;
    }
    if (read_header(fd.get(), loc, h, file_bytes) == State::kUnfinished) {
      backoff(rng); // its creator died; the next round takes LOCK_EX and redoes it
      continue;
    }
    if (opts.open_mode == OpenMode::kCreate) {
      throw Error(Errc::kAlreadyExists, loc.display + ": already exists (open_mode kCreate)");
    }
    seg.layout_ = validate(h, file_bytes, req, compared, layout_fn, loc);
    seg.base_ = attach_mapping(fd.get(), seg.layout_, loc).base;
    hold_attach_byte(fd.get(), loc, deadline, opts.ready_timeout_ms); // L5
    seg.fd_ = fd.release();
    return seg;
  }
}

Segment::Segment(Segment &&other) noexcept { *this = std::move(other); }

Segment &Segment::operator=(Segment &&other) noexcept {
  if (this != &other) {
    close();
    base_ = std::exchange(other.base_, nullptr);
    fd_ = std::exchange(other.fd_, -1);
    layout_ = other.layout_;
    created_ = other.created_;
    by_path_ = other.by_path_;
    location_ = std::move(other.location_);
    display_ = std::move(other.display_);
  }
  return *this;
}

Segment::~Segment() { close(); }

void Segment::close() noexcept {
  if (base_ != nullptr) {
    ::munmap(base_, layout_.total_bytes);
    base_ = nullptr;
  }
  if (fd_ < 0) {
    return;
  }
  if ((layout_.params.flags & kFlagPersist) == 0) {
    // Last one out removes a non-persistent table. Converting our LOCK_SH to LOCK_EX
    // succeeds only if no other description holds a lock (L1): nobody else is attached.
    const Location loc{by_path_, location_, display_};
    try {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0 && names_same_object(fd_, loc)) {
        remove_location(loc);
      }
    } catch (...) { // could not tell: leave it; the next opener finds it stale (L2)
    }
  }
  ::close(fd_);
  fd_ = -1;
}

bool Segment::run_exclusive(const std::function<void()> &fn) {
  if (fd_ < 0) {
    throw Error(Errc::kInvalidArgument, "run_exclusive: the handle is closed");
  }
  const int err = attach_byte_lock(fd_, F_WRLCK); // L5: atomic upgrade or nothing
  if (err == EAGAIN || err == EACCES) {
    return false; // another handle is attached; our read lock is untouched
  }
  if (err != 0) {
    throw_os(display_ + ": fcntl(F_OFD_SETLK)", err);
  }
  struct Downgrade { // back to the read lock L5 requires, however fn exits
    int fd;
    ~Downgrade() { attach_byte_lock(fd, F_RDLCK); } // a downgrade cannot conflict
  } downgrade{fd_};
  fn();
  return true;
}

void unlink(std::string_view name) {
  validate_name(name);
  const Location loc{false, std::string(name), "shm '" + std::string(name) + "'"};
  if (remove_location(loc) != 0) {
    throw_os(loc.display + ": unlink", errno);
  }
}

void unlink_path(const std::string &path) {
  const Location loc{true, path, "file '" + path + "'"};
  if (remove_location(loc) != 0) {
    throw_os(loc.display + ": unlink", errno);
  }
}

} // namespace shmtable
