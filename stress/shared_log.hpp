// stress/shared_log.hpp: where workers record their operations, so that a SIGKILLed
// worker's history survives it.
//
// The parent maps one anonymous MAP_SHARED region before forking; every worker, and
// every replacement for a killed one, writes into it. A lane is one worker position:
// its records are written in order by whichever process currently runs the lane.
//
// The record protocol (each record is written by one process, read by the parent only
// after that process has exited or been reaped, so the kernel's exit/wait orders all of
// it; the atomics only make the parent's progress polling well defined):
//   1. fill the record's invocation fields, invoke_clock and invoke_ns (in that order);
//   2. lane.next = i + 1 (release): from here on the operation may have taken effect;
//   3. call the table;
//   4. fill the result fields, read the response time, then response_clock, then publish
//      the response time in response_ns (release) and lane.done = i + 1.
// A record with i < next and response_ns == 0 is an operation that did not complete.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace shmtable::stress {

enum class Out : std::uint8_t {
  kNone,    // not completed
  kAbsent,  // get: absent
  kValueId, // get: a stress value, `out` is its id
  kNumber,  // get/add: a decimal number, `out` is its bits
  kBool,    // `out` is 0 or 1
  kOk,      // set/clear
  kError,   // `out` is the shmtable::Errc
  kGarbage, // get: neither a stress value nor a number; `out` indexes the lane's garbage
};

enum class ArgKind : std::uint8_t { kValueId, kNumber };

// A set one byte over a size limit (scenario limits): its key is max_key_bytes + 1
// bytes of 'K' (kKey), or its value max_value_bytes + 1 bytes of 'V' (kValue).
enum class Oversize : std::uint8_t { kNone, kKey, kValue };

struct Record {
  std::uint64_t invoke_ns;
  std::atomic<std::uint64_t> response_ns; // 0 until completed
  // The table clock (table_clock_ns) read just before invoke_ns.
  std::uint64_t invoke_clock;
  std::uint64_t key;  // key id (the workload names it)
  std::uint64_t arg;  // value id (set, set_if_absent, compare_and_set's desired), add's delta
  std::uint64_t arg2; // compare_and_set's expected: a value id or a number (arg2_kind)
  std::uint64_t out;
  // The table clock read just after the response time, as its excess over invoke_clock;
  // kUnknownClock if it did not complete, or if that is over 4 s (then not recorded).
  std::uint32_t response_clock;
  std::uint32_t ttl_ns; // set, set_if_absent, add: the ttl it passed (0: none)
  std::uint32_t process;
  std::uint8_t op; // OpKind
  Out out_kind;
  ArgKind arg2_kind;
  Oversize oversize;
};
static_assert(sizeof(Record) == 72, "records are packed: millions of them live in RAM");

inline constexpr std::uint32_t kUnknownClock = 0xffffffffU;

inline constexpr std::size_t kGarbageSlots = 8;
inline constexpr std::size_t kGarbageBytes = 512;

struct alignas(64) Lane {
  std::atomic<std::uint64_t> next{0}; // records claimed (step 2)
  std::atomic<std::uint64_t> done{0}; // records completed (step 4)
  std::atomic<std::uint32_t> garbage_used{0};
  std::uint32_t garbage_len[kGarbageSlots];
  char garbage[kGarbageSlots][kGarbageBytes]; // texts of reads that were garbage
};

struct alignas(64) LogHeader {
  std::atomic<bool> go{false};          // parent -> first workers: every one is attached, start
  std::atomic<bool> stop{false};        // parent -> workers: finish the current op and exit
  std::atomic<std::uint32_t> ready{0};  // first workers attached so far
  std::atomic<std::uint64_t> online{0}; // violations workers saw directly (torn reads, ...)
};

class SharedLog {
public:
  SharedLog(std::size_t lanes, std::size_t records_per_lane);
  ~SharedLog();
  SharedLog(const SharedLog &) = delete;
  SharedLog &operator=(const SharedLog &) = delete;

  LogHeader &header() const noexcept { return *header_; }
  Lane &lane(std::size_t i) const noexcept { return lanes_[i]; }
  std::span<Record> records(std::size_t lane) const noexcept {
    return {records_ + lane * per_lane_, per_lane_};
  }
  std::size_t lanes() const noexcept { return nlanes_; }
  std::size_t per_lane() const noexcept { return per_lane_; }

  // Keeps a garbage read's text; returns its index, or kGarbageSlots when all are used.
  std::uint64_t keep_garbage(std::size_t lane, std::string_view text) const noexcept;

private:
  void *base_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t nlanes_ = 0;
  std::size_t per_lane_ = 0;
  LogHeader *header_ = nullptr;
  Lane *lanes_ = nullptr;
  Record *records_ = nullptr;
};

} // namespace shmtable::stress
