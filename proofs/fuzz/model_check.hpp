// Runs a fuzz-decoded sequence of operations against one table engine and a
// std::unordered_map model, and aborts (fuzz::fail) on the first difference.
//
// What each operation must do, as include/shmtable/*_table.hpp documents it:
//  - Oversize keys and values fail with kKeyTooLarge / kValueTooLarge (either one when
//    both apply: the order is not part of the contract) and change nothing.
//  - kTableFull exactly when a new key meets a table whose every slot holds a key. That
//    is exact here, single-threaded: the fuzzed tables have at most 16 slots, so the
//    lock-free engine's probe limit (min(capacity - 1, 16383) steps) spans the whole
//    table and its pool (capacity + 64 buffers) cannot run dry (papers/protocol.md,
//    "Capacity"); the mutex engine reuses tombstones and scans the whole table.
//  - add() reads the value as a decimal int64 (std::from_chars, the whole string);
//    kNotANumber otherwise or on overflow; the sum's text must fit max_value_bytes.
//  - get_into() writes into a buffer of exactly the given size (ASan sees an overrun);
//    kBufferTooSmall when the value is longer.
//  - recover() with one handle reports exactly the live entries and nothing to repair;
//    with a second handle attached it fails with kBusy.
// After every failed operation, and at the end, the whole table is compared with the
// model (size(), keys() as a multiset, get() and contains() of every key).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "fuzz_input.hpp"
#include "shmtable/shmtable.hpp"

namespace shmtable::fuzz {

template <SharedMemoryTable T> class ModelCheck {
public:
  using Model = std::unordered_map<std::string, std::string>;

  // `reopen` opens a second handle on the same table (sizes 0: adopt the segment's).
  ModelCheck(T &primary, Options reopen, Model model = {})
      : primary_(primary), reopen_(std::move(reopen)), model_(std::move(model)),
        capacity_(primary.capacity()), max_key_(primary.max_key_bytes()),
        max_value_(primary.max_value_bytes()) {}

  // Decodes and checks up to `max_ops` operations.
  void run(Input &in, unsigned max_ops) {
    for (op_ = 0; op_ < max_ops && !in.empty(); ++op_) {
      step(in);
    }
  }

  void verify_all(const char *when) {
    what_ = when;
    key_.clear();
    if (primary_.size() != model_.size()) {
      mismatch("size() is " + std::to_string(primary_.size()) + ", the model has " +
               std::to_string(model_.size()));
    }
    std::vector<std::string> got = primary_.keys();
    std::vector<std::string> want;
    for (const auto &[k, v] : model_) {
      want.push_back(k);
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    if (got != want) {
      std::string list;
      for (const auto &k : got) {
        list += " " + shown(k);
      }
      mismatch("keys() returned " + std::to_string(got.size()) + " keys:" + list + ", model has " +
               std::to_string(want.size()));
    }
    for (const auto &[k, v] : model_) {
      key_ = k;
      const std::optional<std::string> value = primary_.get(k);
      if (!value || *value != v) {
        mismatch("get() returned " + (value ? shown(*value) : std::string("nothing")) +
                 ", model has " + shown(v));
      }
      if (!primary_.contains(k)) {
        mismatch("contains() is false for a key the model has");
      }
    }
  }

private:
  static constexpr bool kLockFree = std::is_same_v<T, LockFreeTable>;

  [[noreturn]] void mismatch(const std::string &detail) const {
    fail(std::string(to_string(T::kEngine)) + " engine, op #" + std::to_string(op_) + " " + what_ +
         ", key " + shown(key_) + ": " + detail);
  }

  // Runs `f`; the Errc it threw, or nullopt. Anything but an shmtable::Error is a bug.
  template <class F> std::optional<Errc> attempt(F &&f) {
    try {
      f();
      return std::nullopt;
    } catch (const Error &e) {
      if (e.what()[0] == '\0') {
        mismatch("an Error with an empty message");
      }
      return e.code();
    } catch (const std::exception &e) {
      mismatch(std::string("unexpected exception: ") + e.what());
    }
  }

  // If `allowed` is not empty the operation had to fail with one of those codes (then
  // the table must be unchanged: verified in full); otherwise it had to succeed.
  // Returns true when the caller should go on to check the result.
  bool expect(std::optional<Errc> got, std::initializer_list<std::optional<Errc>> must) {
    std::vector<Errc> allowed;
    for (const auto &e : must) {
      if (e) {
        allowed.push_back(*e);
      }
    }
    if (allowed.empty()) {
      if (got) {
        mismatch("failed with " + std::string(to_string(*got)) + ", the model expects success");
      }
      return true;
    }
    if (!got) {
      std::string names;
      for (const Errc e : allowed) {
        names += " " + std::string(to_string(e));
      }
      mismatch("succeeded, the model expects one of:" + names);
    }
    if (std::find(allowed.begin(), allowed.end(), *got) == allowed.end()) {
      mismatch("failed with " + std::string(to_string(*got)) + ", not an error the model expects");
    }
    verify_all((what_ + ", after its error").c_str());
    return false;
  }

  std::optional<Errc> key_error() const {
    return key_.size() > max_key_ ? std::optional(Errc::kKeyTooLarge) : std::nullopt;
  }
  std::optional<Errc> value_error(const std::string &v) const {
    return v.size() > max_value_ ? std::optional(Errc::kValueTooLarge) : std::nullopt;
  }
  // A new key in a table whose every slot is taken.
  std::optional<Errc> full_error() const {
    return !model_.contains(key_) && model_.size() >= capacity_ ? std::optional(Errc::kTableFull)
                                                                : std::nullopt;
  }
  const std::string *current() const {
    const auto it = model_.find(key_);
    return it == model_.end() ? nullptr : &it->second;
  }

  void check_bool(bool got, bool want) const {
    if (got != want) {
      mismatch(std::string("returned ") + (got ? "true" : "false") + ", the model says " +
               (want ? "true" : "false"));
    }
  }

  void step(Input &in) {
    const std::uint8_t opcode = in.byte();
    T &t = (opcode & 0x10) != 0 && second_ ? *second_ : primary_;
    key_ = decode_key(in.byte(), max_key_);
    switch (opcode & 0x0f) {
    case 0:
      return do_set(t, decode_value(in, max_value_, op_));
    case 14: // the same write, its value made by set_with's source
      return do_set(t, decode_value(in, max_value_, op_), /*with_source=*/true);
    case 1: {
      what_ = "get()";
      std::optional<std::string> got;
      if (expect(attempt([&] { got = t.get(key_); }), {key_error()})) {
        const std::string *want = current();
        if (got.has_value() != (want != nullptr) || (got && *got != *want)) {
          mismatch("returned " + (got ? shown(*got) : std::string("nothing")) + ", model has " +
                   (want ? shown(*want) : std::string("nothing")));
        }
      }
      return;
    }
    case 2:
      return do_get_into(t, in.byte());
    case 3:
    case 15: {
      what_ = "erase()";
      bool got = false;
      if (expect(attempt([&] { got = t.erase(key_); }), {key_error()})) {
        check_bool(got, model_.erase(key_) == 1);
      }
      return;
    }
    case 4: {
      what_ = "contains()";
      bool got = false;
      if (expect(attempt([&] { got = t.contains(key_); }), {key_error()})) {
        check_bool(got, current() != nullptr);
      }
      return;
    }
    case 5:
      return do_add(t, decode_delta(in));
    case 6: {
      // expected: the key's current value half of the time, so that successes happen.
      const std::uint8_t how = in.byte();
      const std::string *now = current();
      std::string expected =
          (how & 1) != 0 && now != nullptr ? *now : decode_value(in, max_value_, op_ + 7);
      return do_cas(t, expected, decode_value(in, max_value_, op_));
    }
    case 7:
      return do_set_if_absent(t, decode_value(in, max_value_, op_));
    case 8:
      what_ = "clear()";
      expect(attempt([&] { t.clear(); }), {});
      model_.clear();
      return;
    case 9:
      return verify_all("keys()/get() of every key");
    case 10:
      what_ = "size()";
      if (t.size() != model_.size()) {
        mismatch("returned " + std::to_string(t.size()) + ", model has " +
                 std::to_string(model_.size()));
      }
      return;
    case 11:
      return do_recover();
    case 12:
      what_ = second_ ? "close of the second handle" : "open of a second handle";
      if (second_) {
        second_.reset();
      } else {
        expect(attempt([&] { second_.emplace(reopen_); }), {});
      }
      return;
    default:                                               // 13
      return do_set(t, decode_value(in, max_value_, op_)); // set is the common case
    }
  }

  void do_set(T &t, const std::string &v, bool with_source = false) {
    what_ = (with_source ? "set_with(value " : "set(value ") + shown(v) + ")";
    if (expect(attempt([&] {
                 if (with_source) {
                   t.set_with(key_, [&] { return std::string_view(v); });
                 } else {
                   t.set(key_, v);
                 }
               }),
               {key_error(), value_error(v),
                key_error() || value_error(v) ? std::nullopt : full_error()})) {
      model_[key_] = v;
    }
  }

  void do_set_if_absent(T &t, const std::string &v) {
    what_ = "set_if_absent(value " + shown(v) + ")";
    bool got = false;
    const bool absent = current() == nullptr;
    if (expect(attempt([&] { got = t.set_if_absent(key_, v); }),
               {key_error(), value_error(v),
                key_error() || value_error(v) || !absent ? std::nullopt : full_error()})) {
      check_bool(got, absent);
      if (absent) {
        model_[key_] = v;
      }
    }
  }

  void do_cas(T &t, const std::string &expected, const std::string &desired) {
    what_ = "compare_and_set(expected " + shown(expected) + ", desired " + shown(desired) + ")";
    bool got = false;
    if (expect(attempt([&] { got = t.compare_and_set(key_, expected, desired); }),
               {key_error(), value_error(desired)})) {
      const std::string *now = current();
      const bool want = now != nullptr && *now == expected;
      check_bool(got, want);
      if (want) {
        model_[key_] = desired;
      }
    }
  }

  void do_add(T &t, std::int64_t delta) {
    what_ = "add(" + std::to_string(delta) + ")";
    std::int64_t got = 0;
    const auto call = attempt([&] { got = t.add(key_, delta); });
    if (key_error()) {
      expect(call, {key_error()});
      return;
    }
    std::int64_t base = 0;
    if (const std::string *now = current()) {
      const char *b = now->data();
      const char *e = b + now->size();
      const auto [end, ec] = std::from_chars(b, e, base);
      if (now->empty() || ec != std::errc() || end != e) {
        expect(call, {Errc::kNotANumber});
        return;
      }
    }
    std::int64_t sum = 0;
    if (__builtin_add_overflow(base, delta, &sum)) {
      expect(call, {Errc::kNotANumber});
      return;
    }
    const std::string text = std::to_string(sum);
    if (expect(call, {value_error(text), full_error()})) { // either one when both apply
      if (got != sum) {
        mismatch("returned " + std::to_string(got) + ", the model computes " + std::to_string(sum));
      }
      model_[key_] = text;
    }
  }

  void do_get_into(T &t, std::uint8_t size_byte) {
    const std::string *now = current();
    std::size_t size = size_byte % (max_value_ + 3u);
    if (now != nullptr && size_byte >= 0xfe) { // exactly the value's length, or one less
      size = now->size() - (size_byte == 0xfe && !now->empty() ? 1 : 0);
    }
    what_ = "get_into(buffer of " + std::to_string(size) + " bytes)";
    // Exactly `size` bytes on the heap: ASan reports a write past them.
    const std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
    std::optional<std::size_t> got;
    const auto call = attempt([&] { got = t.get_into(key_, std::span<char>(buf.get(), size)); });
    const bool too_small = now != nullptr && now->size() > size;
    if (expect(call,
               {key_error(),
                key_error() || !too_small ? std::nullopt : std::optional(Errc::kBufferTooSmall)})) {
      if (got.has_value() != (now != nullptr)) {
        mismatch(got ? "found a value the model does not have" : "missed the model's value");
      }
      if (got && (*got != now->size() || std::memcmp(buf.get(), now->data(), *got) != 0)) {
        mismatch("copied " + shown(std::string_view(buf.get(), std::min(*got, size))) +
                 ", model has " + shown(*now));
      }
    }
  }

  void do_recover() {
    what_ = "recover()";
    RecoveryReport r;
    const auto call = attempt([&] { r = primary_.recover(); });
    if (!expect(call, {second_ ? std::optional(Errc::kBusy) : std::nullopt})) {
      return;
    }
    const bool clean = r.pending_cleared == 0 && r.buffers_reclaimed == 0 && r.bounds_raised == 0 &&
                       r.duplicate_keys == 0 && r.corrupt_slots == 0 && r.locks_reset == 0 &&
                       (kLockFree || r.bounds_lowered == 0);
    if (r.entries != model_.size() || !clean) {
      mismatch("on a healthy table reported entries " + std::to_string(r.entries) + " (model " +
               std::to_string(model_.size()) + "), pending_cleared " +
               std::to_string(r.pending_cleared) + ", buffers_reclaimed " +
               std::to_string(r.buffers_reclaimed) + ", bounds_raised " +
               std::to_string(r.bounds_raised) + ", duplicate_keys " +
               std::to_string(r.duplicate_keys) + ", corrupt_slots " +
               std::to_string(r.corrupt_slots) + ", locks_reset " + std::to_string(r.locks_reset));
    }
  }

  T &primary_;
  std::optional<T> second_;
  Options reopen_;
  Model model_;
  std::uint64_t capacity_;
  std::uint32_t max_key_;
  std::uint32_t max_value_;
  unsigned op_ = 0;
  std::string what_;
  std::string key_;
};

} // namespace shmtable::fuzz
