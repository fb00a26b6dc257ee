// Segment lifecycle: create/open, validate, map, close, unlink.
//
// Locking discipline (the whole crash-safety argument of the lifecycle). Two one-byte
// open-file-description (OFD) locks, fcntl(F_OFD_SETLK), on the segment file: they
// belong to the open file description, conflict between descriptions even within one
// process, and the kernel drops them when the description's last descriptor closes,
// however the process dies. Lock upgrades and downgrades are atomic.
//  L1. The attach byte (kAttachByte). Every attached handle holds a read lock on it for
//      as long as it is attached.
//  L2. The gate byte (kGateByte). A write lock on it is held by whoever decides about an
//      existing name: an opener (attach, or remove a dead table) and a closing handle of
//      a non-persistent table (remove it). Never held while operating, nor while
//      waiting for anything but the gate itself.
//  L3. Holding the gate, a handle that gets the attach byte's write lock knows that
//      nobody is attached and nobody else is deciding. Only then is a table removed from
//      its name: a non-persistent one (its processes are gone or closing) or an
//      unfinished one (an earlier version's creator died). A persistent, ready table is
//      never removed or reinitialised by the library.
//      Holding the gate, an opener that cannot get the write lock takes the read lock
//      and attaches: every read lock belongs to a complete, live table's handle (L4, or
//      taken under the gate), and no closer can be removing the name meanwhile (L2).
//  L4. A table gets its name only when complete. The creator builds it in a file no
//      opener looks at (O_TMPFILE in the name's directory), takes its attach byte's
//      read lock, and links it to the name with linkat, which fails if the name exists
//      (two racing creators: one names its table, the other attaches to it). No crash
//      leaves a half-made or empty file under a name, so an empty file there is
//      somebody else's: refused, never reinitialised or removed. (A dead table that this
//      process may not remove is started afresh in place, under L3, our bare mark
//      first: a crash then leaves an unfinished table of ours, which L3 handles.)
//  L5. Segment::run_exclusive (and the engines' recover()) upgrades its attach read lock
//      to a write lock, without the gate: success means no other handle, in any process,
//      is attached; failure leaves the read lock in place. Openers meanwhile find the
//      byte taken and wait (without holding the gate) until their ready_timeout_ms.
#include "shmtable/segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
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

#include "entry_counter.hpp"
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

// O_NONBLOCK | O_NOCTTY on every open, by name or path: a FIFO put where a table is
// expected (/dev/shm is writable by every user) must not make the open wait for a
// writer, and a terminal must not become the caller's controlling one. A regular file
// ignores both, and the checks after the open refuse anything else. (glibc's shm_open
// passes the flags on to open(2).)
int open_fd(const Location &loc, int flags, unsigned mode) {
  flags |= O_NONBLOCK | O_NOCTTY;
  if (loc.by_path) {
    return ::open(loc.where.c_str(), flags | O_CLOEXEC, mode);
  }
  return ::shm_open(("/" + loc.where).c_str(), flags, mode); // shm_open sets FD_CLOEXEC
}

int remove_location(const Location &loc) {
  return loc.by_path ? ::unlink(loc.where.c_str()) : ::shm_unlink(("/" + loc.where).c_str());
}

// True if `loc` still names the object `fd` refers to (it may have been unlinked, and
// perhaps re-created, between our open and our taking the gate).
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

using detail::kAttachByte;
using detail::kGateByte;

// One try of an OFD lock on one byte (which may lie past the end of the file): 0, or errno (EAGAIN
// or EACCES while another description's lock conflicts). F_UNLCK releases.
int byte_lock(int fd, off_t byte, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
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

// Releases both lock bytes. Explicitly, not by closing: a child forked meanwhile shares
// the open file description, which keeps its locks until its last descriptor closes.
void release_locks(int fd) {
  byte_lock(fd, kAttachByte, F_UNLCK);
  byte_lock(fd, kGateByte, F_UNLCK);
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      release_locks(fd_); // a child forked by another thread may share the description
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

bool conflicts(int err) { return err == EAGAIN || err == EACCES; }

// Sleeps before the next try of a lock: 100 us, doubling up to 10 ms.
struct Pause {
  std::chrono::microseconds next{100};
  void operator()() {
    std::this_thread::sleep_for(next);
    next = std::min(next * 2, std::chrono::microseconds(10000));
  }
};

// L2: takes the gate, trying until `deadline` (at least once); false on timeout.
bool take_gate(int fd, Clock::time_point deadline, const std::string &display) {
  for (Pause pause;; pause()) {
    const int err = byte_lock(fd, kGateByte, F_WRLCK);
    if (err == 0) {
      return true;
    }
    if (!conflicts(err)) {
      throw_os(display + ": fcntl(F_OFD_SETLK) on the gate byte", err);
    }
    if (Clock::now() >= deadline) {
      return false;
    }
  }
}

// Releases the gate when the decision is made, however it is left (closing the
// descriptor releases it too).
struct Gate {
  int fd;
  explicit Gate(int held) : fd(held) {}
  Gate(const Gate &) = delete;
  Gate &operator=(const Gate &) = delete;
  ~Gate() { byte_lock(fd, kGateByte, F_UNLCK); }
};

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

// Our magic, every other byte zero: what a restart in place writes first (and an earlier
// version's creator wrote first), so that a crash leaves an unfinished table of ours.
SegmentHeader bare_mark() {
  SegmentHeader mark{};
  mark.magic = kMagic;
  return mark;
}

enum class State { kUnfinished, kReady };

// Reads the header through the file descriptor. kUnfinished: our magic with ready still
// 0, left by a restart in place cut short (L4) or by a creator of an earlier version,
// which initialised tables under their names. Anything else that is not a well-formed header of
// ours, an empty file included, is refused, never overwritten.
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
    throw Error(Errc::kCorruptedHeader,
                loc.display + ": not a shmtable segment (an empty file; a table is given its "
                              "name only once it is complete, so an empty file there is not "
                              "one of ours: remove it, or use another name or path)");
  }
  // Every header of ours starts with the magic, so a file that starts with zeros is
  // somebody else's: refused, never reinitialised.
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
  // The format version says where every other field is, so it is checked before any
  // of them is believed: a table of another version is never taken for a dead or
  // unfinished one of ours (and removed). The one exception is the magic alone, the rest
  // zero: the mark an earlier version's creator wrote first.
  const SegmentHeader mark = bare_mark();
  const bool is_bare_mark = std::memcmp(&h, &mark, sizeof h) == 0;
  if (h.format_version != kFormatVersion && !is_bare_mark) {
    throw Error(Errc::kLayoutMismatch, loc.display + ": format_version: the segment has " +
                                           std::to_string(h.format_version) +
                                           ", this library reads " +
                                           std::to_string(kFormatVersion));
  }
  if (h.ready == 0) {
    return State::kUnfinished;
  }
  if (h.ready != detail::kReadyValue) {
    throw Error(Errc::kCorruptedHeader, loc.display + ": ready flag holds " +
                                            std::to_string(h.ready) +
                                            ", neither 0 nor the ready value");
  }
  if (const std::uint64_t sum = header_checksum(h); sum != h.checksum) {
    throw Error(Errc::kCorruptedHeader, loc.display + ": header checksum mismatch (stored " +
                                            std::to_string(h.checksum) + ", computed " +
                                            std::to_string(sum) + ")");
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

// Validates a ready header, whose format and checksum read_header() has checked,
// against this build and the caller's request; returns the layout to use. Order:
// ownership, geometry, then the request. Only the flags in `compared_flags` are checked
// (the others the opener adopts).
Layout validate(const SegmentHeader &h, std::uint64_t file_bytes, const TableParams &req,
                std::uint32_t compared_flags, Segment::LayoutFn layout_fn, const Location &loc) {
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
  for (auto [bit, field] : {std::pair{kFlagPersist, "persist"}, std::pair{kFlagRobust, "robust"},
                            std::pair{kFlagEvict, "eviction"}}) {
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

// Initialises the table behind `fd`: a new, empty, unnamed file (L4: nobody else looks
// at it), or `in_place`, a dead table under its name that this process may not remove
// (L3: it holds the gate and nobody is attached). Returns the mapping with the header
// and `ready` published.
Mapping initialise(int fd, const Location &loc, const Options &opts, const TableParams &params,
                   Segment::LayoutFn layout_fn, const Segment::InitFn &init, Layout &lay,
                   std::uint64_t &instance, bool in_place) {
  lay = layout_fn(with_defaults(params));
  if (in_place) {
    // Our bare mark first: a crash from here on leaves an unfinished table of ours
    // (read_header), never an empty or foreign-looking file. Then drop the old contents.
    const SegmentHeader mark = bare_mark();
    if (::pwrite(fd, &mark, sizeof mark, 0) != static_cast<ssize_t>(sizeof mark) ||
        ::ftruncate(fd, sizeof mark) != 0) {
      throw_os(loc.display + ": start the dead table afresh", errno);
    }
  }
  check_space(fd, loc, lay); // after the truncate: the dead table's pages count as free
  if (::fchmod(fd, opts.mode) != 0 && errno != EPERM) { // umask must not narrow `mode`
    throw_os(loc.display + ": chmod", errno);
  }
  // Sizing is O(1) in the segment's size: the kernel hands out zero pages on first touch.
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
  // segment later. (Openers also synchronise through the attach lock and linkat, which
  // the kernel orders.)
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

// Where a segment lives as a file. POSIX shm names are files in /dev/shm on Linux
// (glibc's shm_open opens /dev/shm/NAME), which is what lets a table be built unnamed
// there and then linked to its name (L4).
std::string file_path(const Location &loc) {
  return loc.by_path ? loc.where : "/dev/shm/" + loc.where;
}

std::string directory_of(const Location &loc) {
  if (!loc.by_path) {
    return "/dev/shm";
  }
  const auto slash = loc.where.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : loc.where.substr(0, slash);
}

// L4: a new, empty file where `loc` will live, which no other process can open: an
// O_TMPFILE file in its directory or, on a file system without O_TMPFILE, a hidden
// temporary name beside it (returned in `temp`, which the caller removes; no table name
// can take it, as names do not start with '.').
int open_unnamed(const Location &loc, unsigned mode, std::string &temp, std::mt19937 &rng) {
  const std::string dir = directory_of(loc);
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
  if (fd >= 0) {
    return fd;
  }
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    throw_os(loc.display + ": create (an unnamed file in '" + dir + "')", errno);
  }
  const std::string path = file_path(loc);
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, ".shmtable-new-%08x%08x", static_cast<unsigned>(rng()),
                static_cast<unsigned>(rng()));
  temp = dir + "/." + path.substr(path.rfind('/') + 1) + suffix;
  fd = ::open(temp.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode);
  if (fd < 0) {
    throw_os(loc.display + ": create '" + temp + "'", errno);
  }
  return fd;
}

// L4: gives the finished file its name. False if the name exists (another creator won,
// or something else is there now); the caller then opens what is there.
bool give_name(int fd, const std::string &temp, const Location &loc) {
  const std::string target = file_path(loc);
  int rc = 0;
  if (temp.empty()) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    rc = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW);
    if (rc != 0 && errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0) {
      // No /proc here: linking by descriptor, which needs CAP_DAC_READ_SEARCH.
      rc = ::linkat(fd, "", AT_FDCWD, target.c_str(), AT_EMPTY_PATH);
    }
  } else {
    rc = ::link(temp.c_str(), target.c_str());
  }
  if (rc == 0) {
    return true;
  }
  if (errno == EEXIST) {
    return false;
  }
  throw_os(loc.display + ": give the new table its name (linkat to '" + target + "')", errno);
}

// Processes racing to create a table whose creation writes every page (Layout::reserve:
// the faithful mutex engine, seconds for millions of slots) wait for one creator instead
// of each building a copy: the creator write-locks a hidden file beside the name while it
// builds, and removes it when done. Only an economy: linkat (L4) still decides which
// table gets the name, so a lock file that was lost, removed or cannot be opened costs
// duplicated work, never correctness. A creator killed mid-build leaves the empty lock
// file, which the next creation of that name removes.
class CreationLock {
public:
  enum class Outcome {
    kHeld,       // ours until destruction
    kTimedOut,   // another creator held it past the deadline
    kUnavailable // the lock file cannot be opened or locked here: create without it
  };
  CreationLock() = default;
  CreationLock(const CreationLock &) = delete;
  CreationLock &operator=(const CreationLock &) = delete;
  ~CreationLock() {
    if (fd_ >= 0) {
      ::unlink(path_.c_str()); // before letting go: a waiter re-checks the name (take())
      ::close(fd_);
    }
  }

  Outcome take(const Location &loc, unsigned mode, Clock::time_point deadline) {
    const std::string named = file_path(loc);
    path_ = directory_of(loc) + "/." + named.substr(named.rfind('/') + 1) + detail::kCreatingSuffix;
    for (Pause pause;; pause()) {
      const int fd = ::open(path_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode);
      if (fd < 0) {
        return Outcome::kUnavailable;
      }
      const int err = byte_lock(fd, 0, F_WRLCK);
      struct stat mine {};
      struct stat now {};
      if (err == 0 && ::fstat(fd, &mine) == 0 && ::stat(path_.c_str(), &now) == 0 &&
          mine.st_dev == now.st_dev && mine.st_ino == now.st_ino) {
        fd_ = fd;
        return Outcome::kHeld;
      }
      ::close(fd); // busy, or removed by a creator that finished: look again
      if (err != 0 && !conflicts(err)) {
        return Outcome::kUnavailable;
      }
      if (err != 0 && Clock::now() >= deadline) {
        return Outcome::kTimedOut;
      }
    }
  }

private:
  std::string path_;
  int fd_ = -1;
};

// Why an open went round again: what the timeout's error then names.
enum class Retry { kNone, kGate, kExclusive, kCreating, kRace };

[[noreturn]] void throw_timeout(Retry why, const Location &loc, unsigned timeout_ms) {
  const std::string limit = " for over " + std::to_string(timeout_ms) + " ms (ready_timeout_ms)";
  switch (why) {
  case Retry::kExclusive:
    throw Error(Errc::kBusy, loc.display +
                                 ": another handle held it exclusively (recover() or "
                                 "run_exclusive())" +
                                 limit);
  case Retry::kCreating:
    throw Error(Errc::kNotReady, loc.display + ": another process kept creating it" + limit);
  case Retry::kGate:
    throw Error(Errc::kNotReady,
                loc.display + ": another process held its gate (opening or closing it)" + limit);
  case Retry::kNone:
  case Retry::kRace:
    break;
  }
  throw Error(Errc::kNotReady,
              loc.display + ": other processes kept removing or re-creating it" + limit);
}

// Whether a lock of another open file description covers the attach byte (any attached
// handle's read lock, or an exclusive holder's write lock): F_OFD_GETLK asks without
// taking one. Locks of `fd`'s own description never conflict with it.
bool attach_byte_taken(int fd, const std::string &display) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kAttachByte;
  fl.l_len = 1;
  for (;;) {
    if (::fcntl(fd, F_OFD_GETLK, &fl) == 0) {
      return fl.l_type != F_UNLCK;
    }
    if (errno != EINTR) {
      throw_os(display + ": fcntl(F_OFD_GETLK) on the attach byte", errno);
    }
  }
}

// How many read locks cover the attach byte of the file behind `fd`: its attached handles
// (L1), as /proc/locks lists them (OFD locks are listed whatever the pid namespace), or
// nullopt if that file cannot be read. Lines look like
//   "3: OFDLCK ADVISORY  READ -1 00:1b:25700684 0 0"   (class, mode, type, pid, dev:ino,
// first and last byte, or EOF).
std::optional<std::uint64_t> attached_handles(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::nullopt;
  }
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", static_cast<unsigned>(major(st.st_dev)),
                static_cast<unsigned>(minor(st.st_dev)),
                static_cast<unsigned long long>(st.st_ino));
  std::FILE *f = std::fopen("/proc/locks", "re");
  if (f == nullptr) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    char cls[16], mode[16], type[16], pid[16], where[64], first[32], last[32];
    char number[16];
    if (std::sscanf(line, "%15s %15s %15s %15s %15s %63s %31s %31s", number, cls, mode, type, pid,
                    where, first, last) != 8) {
      continue;
    }
    // A blocked waiter's line has "->" where the class is: not a held lock.
    if (std::strcmp(cls, "OFDLCK") == 0 && std::strcmp(type, "READ") == 0 &&
        std::strcmp(where, id) == 0 && std::strcmp(first, "0") == 0) {
      ++n; // starts at the attach byte (kAttachByte is 0), so it covers it
    }
  }
  std::fclose(f);
  return n;
}

SegmentInfo inspect(const Location &loc) {
  const int raw = open_fd(loc, O_RDONLY, 0); // a FIFO does not block it (open_fd)
  if (raw < 0) {
    throw_os(loc.display + ": open", errno);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{raw};
  struct stat st {};
  if (::fstat(raw, &st) != 0) {
    throw_os(loc.display + ": fstat", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(Errc::kCorruptedHeader,
                loc.display + ": not a shmtable segment (not a regular file)");
  }
  SegmentInfo info;
  info.display = loc.display;
  SegmentHeader h{};
  info.ready = read_header(raw, loc, h, info.file_bytes) == State::kReady;
  Layout &lay = info.layout;
  lay.params.engine = static_cast<EngineKind>(h.engine);
  lay.params.flags = h.flags;
  lay.params.capacity = h.capacity;
  lay.params.max_key_bytes = h.max_key_bytes;
  lay.params.max_value_bytes = h.max_value_bytes;
  lay.params.hash_seed = h.hash_seed;
  lay.slot_bytes = h.slot_bytes;
  lay.control_offset = h.control_offset;
  lay.slots_offset = h.slots_offset;
  lay.total_bytes = h.total_bytes;
  lay.abi_signature = h.abi_signature;
  // The entry counter, read from the file (not mapped: a file cut short meanwhile gives a
  // short read, where a mapping would give SIGBUS).
  const auto at = detail::entry_counter_offset(lay);
  std::uint64_t count = 0;
  if (info.ready && at && *at + sizeof count <= info.file_bytes &&
      ::pread(raw, &count, sizeof count, static_cast<off_t>(*at)) ==
          static_cast<ssize_t>(sizeof count)) {
    info.entries = detail::entry_count_of(lay.params.engine, count);
  }
  info.in_use = attach_byte_taken(raw, loc.display);
  info.attached_handles = attached_handles(raw);
  return info;
}

} // namespace

SegmentInfo inspect_segment(std::string_view name) {
  validate_name(name);
  return inspect(Location{false, std::string(name), "shm '" + std::string(name) + "'"});
}

SegmentInfo inspect_segment_path(const std::string &path) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    throw Error(Errc::kInvalidArgument, "path: must be non-empty, without NUL bytes");
  }
  return inspect(Location{true, path, "file '" + path + "'"});
}

bool Segment::others_attached() const {
  if (fd_ < 0) {
    throw Error(Errc::kInvalidArgument, "others_attached: the handle is closed");
  }
  return attach_byte_taken(fd_, display_);
}

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
  req.flags |= opts.eviction.value_or(false) ? kFlagEvict : 0;
  const std::uint32_t compared = (opts.persist.has_value() ? ~0u : ~kFlagPersist) &
                                 (opts.eviction.has_value() ? ~0u : ~kFlagEvict);
  // Refuses bad sizing before anything is created.
  const bool costly_creation = layout_fn(with_defaults(req)).reserve;
  const auto deadline = Clock::now() + std::chrono::milliseconds(opts.ready_timeout_ms);
  std::mt19937 rng(static_cast<unsigned>(fresh_instance()));

  // What every open that succeeds ends with: the handle keeps the descriptor, and with it
  // its attach byte's read lock (L1).
  const auto keep = [](Segment &seg, Fd &fd, bool created) {
    seg.created_ = created;
    seg.fd_ = fd.release();
    return std::move(seg);
  };
  // Attaching to a complete table that somebody else made: refused under kCreate, else
  // its header checked against the request, then mapped.
  const auto adopt = [&](Segment &seg, const Fd &fd, const SegmentHeader &h,
                         std::uint64_t file_bytes) {
    if (opts.open_mode == OpenMode::kCreate) {
      throw Error(Errc::kAlreadyExists, loc.display + ": already exists (open_mode kCreate)");
    }
    seg.layout_ = validate(h, file_bytes, req, compared, layout_fn, loc);
    seg.base_ = attach_mapping(fd.get(), seg.layout_, loc).base;
  };

  Pause pause; // between rounds that wait for an exclusive holder
  bool first = true;
  for (Retry why = Retry::kNone;; first = false) {
    if (!first && Clock::now() >= deadline) {
      throw_timeout(why, loc, opts.ready_timeout_ms);
    }
    if (why == Retry::kExclusive) {
      pause();
    }
    Segment seg;
    seg.by_path_ = loc.by_path;
    seg.location_ = loc.where;
    seg.display_ = loc.display;
    seg.ready_timeout_ms_ = opts.ready_timeout_ms;
    const int raw = open_fd(loc, O_RDWR, 0);
    if (raw < 0) {
      if (errno != ENOENT || opts.open_mode == OpenMode::kOpen) {
        throw_os(loc.display + ": open", errno);
      }
      CreationLock creating;
      if (costly_creation) {
        const auto outcome = creating.take(loc, opts.mode, deadline);
        if (outcome == CreationLock::Outcome::kTimedOut) {
          why = Retry::kCreating;
          continue;
        }
        if (outcome == CreationLock::Outcome::kHeld &&
            ::access(file_path(loc).c_str(), F_OK) == 0) {
          why = Retry::kNone; // the creator we waited for is done: open its table
          continue;
        }
      }
      // L4: build the whole table where nobody can see it, then name it.
      std::string temp;
      Fd fd(open_unnamed(loc, opts.mode, temp, rng));
      struct RemoveTemp {
        const std::string &path;
        ~RemoveTemp() {
          if (!path.empty()) {
            ::unlink(path.c_str());
          }
        }
      } remove_temp{temp};
      std::uint64_t instance = 0;
      seg.base_ =
          initialise(fd.get(), loc, opts, req, layout_fn, init, seg.layout_, instance, false).base;
      if (const int err = byte_lock(fd.get(), kAttachByte, F_RDLCK); err != 0) { // L1
        throw_os(loc.display + ": fcntl(F_OFD_SETLK) on the attach byte", err);
      }
      if (!give_name(fd.get(), temp, loc)) {
        struct stat st {};
        if (::lstat(file_path(loc).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
          throw Error(Errc::kInvalidArgument,
                      loc.display + ": a symbolic link to a missing file (a table is "
                                    "created at the path itself, never through a link)");
        }
        why = Retry::kRace; // another creator named its table first: open that one
        backoff(rng);
        continue;
      }
      return keep(seg, fd, true);
    }
    Fd fd(raw);
    refuse_untrusted(fd.get(), loc);
    if (!take_gate(fd.get(), deadline, loc.display)) { // L2
      why = Retry::kGate;
      continue;
    }
    const Gate gate{fd.get()};
    if (!names_same_object(fd.get(), loc)) {
      why = Retry::kRace; // removed, perhaps re-created, while we waited for the gate
      continue;
    }
    SegmentHeader h{};
    std::uint64_t file_bytes = 0;
    const int err = byte_lock(fd.get(), kAttachByte, F_WRLCK);
    if (err == 0) {
      // L3: nobody is attached and nobody else is deciding.
      const State state = read_header(fd.get(), loc, h, file_bytes);
      if (state == State::kReady && (h.flags & kFlagPersist) != 0) {
        adopt(seg, fd, h, file_bytes);
        byte_lock(fd.get(), kAttachByte, F_RDLCK); // L1: a downgrade, atomic, cannot conflict
        return keep(seg, fd, false);
      }
      // Dead: not persistent and every process that had it is gone, or unfinished.
      // Logically it does not exist: remove it (L3).
      const bool removed = remove_location(loc) == 0 || errno == ENOENT;
      const int remove_err = errno;
      if (opts.open_mode == OpenMode::kOpen) {
        throw Error(Errc::kSegmentMissing,
                    loc.display + (state == State::kUnfinished
                                       ? ": its creator died before finishing it"
                                       : ": not persistent, and every process that had it "
                                         "is gone"));
      }
      if (removed) {
        why = Retry::kNone; // the next round creates it
        continue;
      }
      if (remove_err != EPERM && remove_err != EACCES) {
        throw_os(loc.display + ": remove the dead table", remove_err);
      }
      // Not ours to remove (another user's, in a sticky directory such as /dev/shm):
      // start it afresh under its name. We hold the gate and nobody is attached (L3).
      std::uint64_t instance = 0;
      seg.base_ =
          initialise(fd.get(), loc, opts, req, layout_fn, init, seg.layout_, instance, true).base;
      byte_lock(fd.get(), kAttachByte, F_RDLCK); // L1: a downgrade, atomic, cannot conflict
      return keep(seg, fd, true);
    }
    if (!conflicts(err)) {
      throw_os(loc.display + ": fcntl(F_OFD_SETLK) on the attach byte", err);
    }
    // Somebody is attached (L3: then the table is complete and live), or holds it
    // exclusively in recover()/run_exclusive() (then wait, without the gate).
    if (const int shared = byte_lock(fd.get(), kAttachByte, F_RDLCK); shared != 0) { // L1
      if (!conflicts(shared)) {
        throw_os(loc.display + ": fcntl(F_OFD_SETLK) on the attach byte", shared);
      }
      why = Retry::kExclusive;
      continue;
    }
    if (read_header(fd.get(), loc, h, file_bytes) == State::kUnfinished) {
      throw Error(Errc::kCorruptedHeader,
                  loc.display + ": its header is unfinished while a handle is attached (a "
                                "process of an earlier shmtable version creating it? every "
                                "process that shares a table must run this version or later)");
    }
    adopt(seg, fd, h, file_bytes);
    return keep(seg, fd, false);
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
    ready_timeout_ms_ = other.ready_timeout_ms_;
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
    // Last one out removes a non-persistent table: holding the gate (L2), the attach
    // byte's write lock means nobody else is attached (L3). A gate held past the open
    // timeout (a stopped opener) leaves the name: the next opener finds it dead.
    const Location loc{by_path_, location_, display_};
    try {
      const auto deadline = Clock::now() + std::chrono::milliseconds(ready_timeout_ms_);
      if (take_gate(fd_, deadline, display_) && byte_lock(fd_, kAttachByte, F_WRLCK) == 0 &&
          names_same_object(fd_, loc)) {
        remove_location(loc);
      }
    } catch (...) { // could not tell: leave it; the next opener finds it dead (L3)
    }
  }
  release_locks(fd_);
  ::close(fd_);
  fd_ = -1;
}

bool Segment::run_exclusive(const std::function<void()> &fn) {
  if (fd_ < 0) {
    throw Error(Errc::kInvalidArgument, "run_exclusive: the handle is closed");
  }
  const int err = byte_lock(fd_, kAttachByte, F_WRLCK); // L5: atomic upgrade or nothing
  if (conflicts(err)) {
    return false; // another handle is attached; our read lock is untouched
  }
  if (err != 0) {
    throw_os(display_ + ": fcntl(F_OFD_SETLK)", err);
  }
  struct Downgrade { // back to the read lock L5 requires, however fn exits
    int fd;
    ~Downgrade() { byte_lock(fd, kAttachByte, F_RDLCK); } // a downgrade cannot conflict
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
