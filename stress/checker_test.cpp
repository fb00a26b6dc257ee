// Unit tests for the linearizability checker (stress/checker.hpp).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checker.hpp"

namespace shmtable::test {
namespace {

using stress::check_linearizable;
using stress::CheckOptions;
using stress::CheckReport;
using stress::Operation;
using stress::OpKind;
using stress::Result;

// ---- building histories -------------------------------------------------------------------

Operation op(std::uint32_t process, OpKind kind, std::string key, std::uint64_t invoke,
             std::uint64_t response) {
  Operation o;
  o.process = process;
  o.op = kind;
  o.key = std::move(key);
  o.invoke_ns = invoke;
  o.response_ns = response;
  o.completed = true;
  return o;
}

Operation get(std::uint32_t p, const std::string &key, std::uint64_t t0, std::uint64_t t1,
              std::optional<std::string> value) {
  Operation o = op(p, OpKind::kGet, key, t0, t1);
  if (value) {
    o.result.kind = Result::Kind::kValue;
    o.result.value = *value;
  } else {
    o.result.kind = Result::Kind::kAbsent;
  }
  return o;
}

Operation set(std::uint32_t p, const std::string &key, const std::string &value, std::uint64_t t0,
              std::uint64_t t1) {
  Operation o = op(p, OpKind::kSet, key, t0, t1);
  o.value = value;
  o.result.kind = Result::Kind::kOk;
  return o;
}

Operation with_flag(Operation o, bool flag) {
  o.result.kind = Result::Kind::kBool;
  o.result.flag = flag;
  return o;
}

Operation erase(std::uint32_t p, const std::string &key, std::uint64_t t0, std::uint64_t t1,
                bool was_present) {
  return with_flag(op(p, OpKind::kErase, key, t0, t1), was_present);
}

Operation contains(std::uint32_t p, const std::string &key, std::uint64_t t0, std::uint64_t t1,
                   bool present) {
  return with_flag(op(p, OpKind::kContains, key, t0, t1), present);
}

Operation add(std::uint32_t p, const std::string &key, std::int64_t delta, std::uint64_t t0,
              std::uint64_t t1, std::int64_t result) {
  Operation o = op(p, OpKind::kAdd, key, t0, t1);
  o.delta = delta;
  o.result.kind = Result::Kind::kNumber;
  o.result.number = result;
  return o;
}

Operation failed(Operation o, const std::string &error) {
  o.result = Result{};
  o.result.kind = Result::Kind::kError;
  o.result.error = error;
  return o;
}

Operation add_nan(std::uint32_t p, const std::string &key, std::int64_t delta, std::uint64_t t0,
                  std::uint64_t t1) {
  return failed(add(p, key, delta, t0, t1, 0), "not_a_number");
}

Operation cas(std::uint32_t p, const std::string &key, const std::string &expected,
              const std::string &desired, std::uint64_t t0, std::uint64_t t1, bool swapped) {
  Operation o = op(p, OpKind::kCompareAndSet, key, t0, t1);
  o.value = expected;
  o.desired = desired;
  return with_flag(std::move(o), swapped);
}

Operation set_if_absent(std::uint32_t p, const std::string &key, const std::string &value,
                        std::uint64_t t0, std::uint64_t t1, bool inserted) {
  Operation o = op(p, OpKind::kSetIfAbsent, key, t0, t1);
  o.value = value;
  return with_flag(std::move(o), inserted);
}

Operation clear(std::uint32_t p, std::uint64_t t0, std::uint64_t t1) {
  Operation o = op(p, OpKind::kClear, "", t0, t1);
  o.result.kind = Result::Kind::kOk;
  return o;
}

// The operation did not complete; it could take effect until `bound` (nullopt: any time).
Operation crashed(Operation o, std::optional<std::uint64_t> bound) {
  o.completed = false;
  o.result = Result{};
  o.response_ns = bound;
  return o;
}

// One process, one operation after another: operation i runs over [10i, 10i + 5].
std::vector<Operation> sequential(std::vector<Operation> ops) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ops[i].process = 1;
    ops[i].invoke_ns = 10 * i;
    if (ops[i].response_ns) {
      ops[i].response_ns = 10 * i + 5;
    }
  }
  return ops;
}

CheckReport check(const std::vector<Operation> &history, CheckOptions options = {}) {
  return check_linearizable(history, options);
}

::testing::AssertionResult accepted(const std::vector<Operation> &history,
                                    CheckOptions options = {}) {
  const CheckReport r = check(history, options);
  if (r.ok()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "rejected: " << (r.failures.empty() ? "" : r.failures[0].explanation);
}

::testing::AssertionResult rejected(const std::vector<Operation> &history) {
  const CheckReport r = check(history);
  if (r.violations > 0 && r.inconclusive == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "not rejected (violations " << r.violations
                                       << ", inconclusive " << r.inconclusive << ")";
}

// ---- sequential specification -------------------------------------------------------------

TEST(CheckerSequential, EveryKindAccepted) {
  EXPECT_TRUE(accepted(sequential({
      get(0, "k", 0, 0, std::nullopt),
      contains(0, "k", 0, 0, false),
      erase(0, "k", 0, 0, false),
      set_if_absent(0, "k", "a", 0, 0, true),
      set_if_absent(0, "k", "b", 0, 0, false),
      get(0, "k", 0, 0, "a"),
      contains(0, "k", 0, 0, true),
      cas(0, "k", "b", "c", 0, 0, false),
      cas(0, "k", "a", "c", 0, 0, true),
      get(0, "k", 0, 0, "c"),
      add_nan(0, "k", 1, 0, 0),
      set(0, "k", "40", 0, 0),
      add(0, "k", 2, 0, 0, 42),
      get(0, "k", 0, 0, "42"),
      erase(0, "k", 0, 0, true),
      add(0, "k", -5, 0, 0, -5),
      add(0, "k", 5, 0, 0, 0),
      get(0, "k", 0, 0, "0"),
      clear(0, 0, 0),
      get(0, "k", 0, 0, std::nullopt),
  })));
}

TEST(CheckerSequential, AddParsesWholeDecimalInt64) {
  EXPECT_TRUE(accepted(sequential({
      set(0, "k", "007", 0, 0),
      add(0, "k", 1, 0, 0, 8),
      get(0, "k", 0, 0, "8"),
      set(0, "k", "12abc", 0, 0),
      add_nan(0, "k", 1, 0, 0),
      set(0, "k", "", 0, 0),
      add_nan(0, "k", 1, 0, 0),
      set(0, "k", "+5", 0, 0),
      add_nan(0, "k", 1, 0, 0),
      set(0, "k", " 5", 0, 0),
      add_nan(0, "k", 1, 0, 0),
      set(0, "k", "9223372036854775807", 0, 0),
      add_nan(0, "k", 1, 0, 0),
      add(0, "k", -7, 0, 0, 9223372036854775800),
      set(0, "k", "-9223372036854775808", 0, 0),
      add_nan(0, "k", -1, 0, 0),
      get(0, "k", 0, 0, "-9223372036854775808"),
  })));
  // An overflowing add cannot succeed.
  EXPECT_TRUE(rejected(sequential({
      set(0, "k", "9223372036854775807", 0, 0),
      add(0, "k", 1, 0, 0, std::numeric_limits<std::int64_t>::min()),
  })));
}

TEST(CheckerSequential, GetWrongValueRejected) {
  EXPECT_TRUE(rejected(sequential({set(0, "k", "a", 0, 0), get(0, "k", 0, 0, "b")})));
}

TEST(CheckerSequential, GetAbsentWhenPresentRejected) {
  EXPECT_TRUE(rejected(sequential({set(0, "k", "a", 0, 0), get(0, "k", 0, 0, std::nullopt)})));
}

TEST(CheckerSequential, GetValueWhenAbsentRejected) {
  EXPECT_TRUE(rejected(sequential({get(0, "k", 0, 0, "")})));
}

TEST(CheckerSequential, EraseTrueOnAbsentRejected) {
  EXPECT_TRUE(rejected(sequential({erase(0, "k", 0, 0, true)})));
  EXPECT_TRUE(rejected(sequential({set(0, "k", "a", 0, 0), erase(0, "k", 0, 0, false)})));
}

TEST(CheckerSequential, ContainsWrongRejected) {
  EXPECT_TRUE(rejected(sequential({contains(0, "k", 0, 0, true)})));
  EXPECT_TRUE(rejected(sequential({set(0, "k", "a", 0, 0), contains(0, "k", 0, 0, false)})));
}

TEST(CheckerSequential, AddWrongSumRejected) {
  EXPECT_TRUE(rejected(sequential({set(0, "k", "3", 0, 0), add(0, "k", 2, 0, 0, 6)})));
  EXPECT_TRUE(rejected(sequential({add(0, "k", 2, 0, 0, 2), get(0, "k", 0, 0, "3")})));
}

TEST(CheckerSequential, AddNotANumberOnNumericRejected) {
  EXPECT_TRUE(rejected(sequential({set(0, "k", "3", 0, 0), add_nan(0, "k", 2, 0, 0)})));
  EXPECT_TRUE(rejected(sequential({add_nan(0, "k", 2, 0, 0)}))); // absent counts as 0
}

TEST(CheckerSequential, AddOkOnNonNumericRejected) {
  EXPECT_TRUE(rejected(sequential({set(0, "k", "x", 0, 0), add(0, "k", 2, 0, 0, 2)})));
}

TEST(CheckerSequential, CompareAndSetWrongRejected) {
  EXPECT_TRUE(rejected(sequential({set(0, "k", "a", 0, 0), cas(0, "k", "a", "b", 0, 0, false)})));
  EXPECT_TRUE(rejected(sequential({set(0, "k", "a", 0, 0), cas(0, "k", "x", "b", 0, 0, true)})));
  EXPECT_TRUE(rejected(sequential({cas(0, "k", "", "b", 0, 0, true)}))); // absent is not ""
  EXPECT_TRUE(rejected(sequential(
      {set(0, "k", "a", 0, 0), cas(0, "k", "a", "b", 0, 0, true), get(0, "k", 0, 0, "a")})));
}

TEST(CheckerSequential, SetIfAbsentWrongRejected) {
  EXPECT_TRUE(rejected(sequential({set_if_absent(0, "k", "a", 0, 0, false)})));
  EXPECT_TRUE(
      rejected(sequential({set(0, "k", "a", 0, 0), set_if_absent(0, "k", "b", 0, 0, true)})));
  EXPECT_TRUE(rejected(sequential(
      {set(0, "k", "a", 0, 0), set_if_absent(0, "k", "b", 0, 0, false), get(0, "k", 0, 0, "b")})));
}

TEST(CheckerSequential, KeysAreIndependent) {
  EXPECT_TRUE(accepted(sequential(
      {set(0, "a", "1", 0, 0), get(0, "b", 0, 0, std::nullopt), get(0, "a", 0, 0, "1")})));
  EXPECT_TRUE(rejected(sequential({set(0, "a", "1", 0, 0), get(0, "b", 0, 0, "1")})));
}

// ---- concurrency --------------------------------------------------------------------------

TEST(CheckerConcurrent, OverlappingSetsReadEitherValue) {
  for (const char *v : {"a", "b"}) {
    EXPECT_TRUE(accepted({set(1, "k", "a", 0, 100), set(2, "k", "b", 10, 90),
                          get(3, "k", 120, 130, v), get(3, "k", 140, 150, v)}))
        << v;
  }
  // A read overlapping both sets may see either, or neither.
  EXPECT_TRUE(accepted(
      {set(1, "k", "a", 0, 100), set(2, "k", "b", 10, 90), get(3, "k", 5, 95, std::nullopt)}));
  // Once a later read saw "a", an even later one cannot see "b" again.
  EXPECT_TRUE(rejected({set(1, "k", "a", 0, 100), set(2, "k", "b", 10, 90),
                        get(3, "k", 120, 130, "a"), get(3, "k", 140, 150, "b")}));
}

TEST(CheckerConcurrent, NeverWrittenValueRejected) {
  EXPECT_TRUE(
      rejected({set(1, "k", "a", 0, 100), set(2, "k", "b", 10, 90), get(3, "k", 50, 60, "c")}));
}

TEST(CheckerConcurrent, StaleReadRejected) {
  // B is overwritten by A, A completes, and then a read still returns B.
  EXPECT_TRUE(
      rejected({set(1, "k", "b", 0, 10), set(2, "k", "a", 20, 30), get(3, "k", 40, 50, "b")}));
  // The same read overlapping the write of A is fine.
  EXPECT_TRUE(
      accepted({set(1, "k", "b", 0, 10), set(2, "k", "a", 20, 30), get(3, "k", 25, 50, "b")}));
}

TEST(CheckerConcurrent, EqualTimestampsOverlap) {
  EXPECT_TRUE(accepted({set(1, "k", "a", 10, 20), get(2, "k", 0, 10, "a")}));
  EXPECT_TRUE(rejected({set(1, "k", "a", 11, 20), get(2, "k", 0, 10, "a")}));
}

TEST(CheckerConcurrent, RacingSetIfAbsentOneWins) {
  EXPECT_TRUE(accepted({set_if_absent(1, "k", "a", 0, 10, true),
                        set_if_absent(2, "k", "b", 0, 10, false), get(1, "k", 20, 30, "a")}));
  EXPECT_TRUE(rejected({set_if_absent(1, "k", "a", 0, 10, true),
                        set_if_absent(2, "k", "b", 0, 10, true), get(1, "k", 20, 30, "a")}));
}

TEST(CheckerConcurrent, ConcurrentAddsCountExactly) {
  EXPECT_TRUE(accepted({add(1, "k", 1, 0, 10, 2), add(2, "k", 1, 0, 10, 1),
                        add(3, "k", 1, 0, 10, 3), get(1, "k", 20, 30, "3")}));
  EXPECT_TRUE(rejected({add(1, "k", 1, 0, 10, 2), add(2, "k", 1, 0, 10, 1),
                        add(3, "k", 1, 0, 10, 1), get(1, "k", 20, 30, "2")}));
}

// ---- operations that did not complete -----------------------------------------------------

TEST(CheckerIncomplete, CrashedSetLaterReadAccepted) {
  EXPECT_TRUE(accepted({crashed(set(1, "k", "a", 10, 0), 20), get(2, "k", 30, 40, "a")}));
  // ... or it never took effect.
  EXPECT_TRUE(accepted({crashed(set(1, "k", "a", 10, 0), 20), get(2, "k", 30, 40, std::nullopt),
                        get(2, "k", 50, 60, std::nullopt)}));
}

TEST(CheckerIncomplete, ReadBeforeInvocationRejected) {
  EXPECT_TRUE(rejected({crashed(set(1, "k", "a", 50, 0), 100), get(2, "k", 10, 40, "a")}));
  EXPECT_TRUE(rejected({crashed(set(1, "k", "a", 50, 0), std::nullopt), get(2, "k", 10, 40, "a")}));
}

TEST(CheckerIncomplete, ResponseBoundRespected) {
  // Absent observed after the bound, "a" later: the set would have to act after its bound.
  EXPECT_TRUE(rejected({crashed(set(1, "k", "a", 10, 0), 20), get(2, "k", 30, 40, std::nullopt),
                        get(2, "k", 50, 60, "a")}));
  // Observed as "b" in between (b written before the crashed set began) - also too late.
  EXPECT_TRUE(rejected({set(3, "k", "b", 0, 5), crashed(set(1, "k", "a", 10, 0), 20),
                        get(2, "k", 30, 40, "b"), get(2, "k", 50, 60, "a")}));
  // Seen before the bound, then erased: fine.
  EXPECT_TRUE(accepted({crashed(set(1, "k", "a", 10, 0), 20), get(2, "k", 15, 25, "a"),
                        erase(3, "k", 26, 28, true), get(2, "k", 30, 40, std::nullopt)}));
  // Without a bound the same late appearance is fine.
  EXPECT_TRUE(accepted({crashed(set(1, "k", "a", 10, 0), std::nullopt),
                        get(2, "k", 30, 40, std::nullopt), get(2, "k", 50, 60, "a")}));
  // A bound equal to the read's invocation overlaps it.
  EXPECT_TRUE(accepted({crashed(set(1, "k", "a", 10, 0), 30), get(2, "k", 30, 40, "a")}));
}

TEST(CheckerIncomplete, UnboundedCrashAppliesAnyTimeLater) {
  EXPECT_TRUE(accepted({crashed(set(1, "k", "a", 10, 0), std::nullopt),
                        get(2, "k", 100, 110, std::nullopt), set(2, "k", "b", 200, 210),
                        get(2, "k", 1000, 1010, "b"), get(2, "k", 100000, 100010, "a")}));
  // But only once: after "b" is written over "a", "a" cannot come back.
  EXPECT_TRUE(rejected({crashed(set(1, "k", "a", 10, 0), std::nullopt), get(2, "k", 100, 110, "a"),
                        set(2, "k", "b", 200, 210), get(2, "k", 1000, 1010, "a")}));
}

TEST(CheckerIncomplete, CrashedWritesHaveTheirSuccessfulEffect) {
  EXPECT_TRUE(accepted(
      {set(1, "k", "5", 0, 5), crashed(add(2, "k", 3, 10, 0, 0), 20), get(1, "k", 30, 40, "8")}));
  EXPECT_TRUE(rejected(
      {set(1, "k", "5", 0, 5), crashed(add(2, "k", 3, 10, 0, 0), 20), get(1, "k", 30, 40, "3")}));
  EXPECT_TRUE(accepted({set(1, "k", "a", 0, 5), crashed(cas(2, "k", "a", "b", 10, 0, false), 20),
                        get(1, "k", 30, 40, "b")}));
  EXPECT_TRUE(rejected({set(1, "k", "x", 0, 5), crashed(cas(2, "k", "a", "b", 10, 0, false), 20),
                        get(1, "k", 30, 40, "b")}));
  EXPECT_TRUE(
      accepted({crashed(set_if_absent(2, "k", "a", 10, 0, false), 20), get(1, "k", 30, 40, "a")}));
  EXPECT_TRUE(
      rejected({set(1, "k", "x", 0, 5), crashed(set_if_absent(2, "k", "a", 10, 0, false), 20),
                get(1, "k", 30, 40, "a")}));
  EXPECT_TRUE(accepted({set(1, "k", "x", 0, 5), crashed(erase(2, "k", 10, 0, false), 20),
                        get(1, "k", 30, 40, std::nullopt)}));
  // A crashed get or contains constrains nothing.
  EXPECT_TRUE(
      accepted({crashed(get(2, "k", 10, 0, "zzz"), 20), crashed(contains(3, "k", 0, 0, true), 5),
                get(1, "k", 30, 40, std::nullopt)}));
}

TEST(CheckerIncomplete, CrashedOpTakesEffectAtMostOnce) {
  EXPECT_TRUE(
      accepted({crashed(add(2, "k", 1, 10, 0, 0), std::nullopt), get(1, "k", 30, 40, "1")}));
  EXPECT_TRUE(rejected({crashed(add(2, "k", 1, 10, 0, 0), std::nullopt), get(1, "k", 30, 40, "1"),
                        get(1, "k", 50, 60, "2")}));
}

// ---- clear --------------------------------------------------------------------------------

TEST(CheckerClear, OverlappingSetEitherOutcome) {
  for (const bool survived : {false, true}) {
    EXPECT_TRUE(
        accepted({set(1, "k", "a", 0, 10), clear(2, 20, 60), set(1, "k", "b", 30, 40),
                  get(1, "k", 70, 80, survived ? std::optional<std::string>("b") : std::nullopt)}))
        << survived;
  }
  // "a" was set before the clear began and cannot survive it.
  EXPECT_TRUE(rejected({set(1, "k", "a", 0, 10), clear(2, 20, 60), set(1, "k", "b", 30, 40),
                        get(1, "k", 70, 80, "a")}));
}

TEST(CheckerClear, KeyPresentThroughoutIsErased) {
  EXPECT_TRUE(rejected({set(1, "k", "a", 0, 10), clear(2, 20, 30), get(1, "k", 40, 50, "a")}));
  EXPECT_TRUE(
      accepted({set(1, "k", "a", 0, 10), clear(2, 20, 30), get(1, "k", 40, 50, std::nullopt)}));
  // Another key with writes is cleared too; a key only ever read is absent anyway.
  EXPECT_TRUE(rejected({set(1, "k", "a", 0, 10), set(1, "j", "b", 0, 10), clear(2, 20, 30),
                        get(1, "k", 40, 50, std::nullopt), get(1, "j", 40, 50, "b"),
                        get(1, "never", 40, 50, std::nullopt)}));
}

TEST(CheckerClear, ErasesAgainAfterReinsertion) {
  // The clear erased "a" (seen absent at 22..24), "b" was inserted while the clear ran, and
  // it is gone afterwards: only a second erase by the same clear explains that.
  EXPECT_TRUE(accepted({set(1, "k", "a", 0, 10), clear(2, 20, 100),
                        get(1, "k", 22, 24, std::nullopt), set(1, "k", "b", 30, 40),
                        get(1, "k", 50, 60, "b"), get(1, "k", 110, 120, std::nullopt)}));
  // Reinserted and erased twice during one clear: two overlapping writes allow two more.
  EXPECT_TRUE(accepted({set(1, "k", "a", 0, 10), clear(2, 20, 100),
                        get(1, "k", 22, 24, std::nullopt), set(1, "k", "b", 30, 40),
                        get(1, "k", 42, 44, std::nullopt), set_if_absent(1, "k", "c", 50, 60, true),
                        get(1, "k", 62, 64, "c"), get(1, "k", 110, 120, std::nullopt)}));
  // A user erase answering false while the clear runs: the clear got there first.
  EXPECT_TRUE(accepted({set(1, "k", "a", 0, 10), clear(2, 20, 100), erase(1, "k", 30, 40, false),
                        set(1, "k", "b", 50, 60), get(1, "k", 110, 120, std::nullopt)}));
  // Erases cannot bring a value back.
  EXPECT_TRUE(rejected({set(1, "k", "a", 0, 10), clear(2, 20, 100),
                        get(1, "k", 22, 24, std::nullopt), get(1, "k", 50, 60, "a")}));
}

TEST(CheckerClear, IncompleteClearIsOptional) {
  EXPECT_TRUE(
      accepted({set(1, "k", "a", 0, 10), crashed(clear(2, 20, 0), 30), get(1, "k", 40, 50, "a")}));
  EXPECT_TRUE(accepted(
      {set(1, "k", "a", 0, 10), crashed(clear(2, 20, 0), 30), get(1, "k", 40, 50, std::nullopt)}));
  EXPECT_TRUE(rejected({set(1, "k", "a", 0, 10), crashed(clear(2, 20, 0), 30),
                        get(1, "k", 40, 50, std::nullopt), get(1, "k", 60, 70, "a")}));
  EXPECT_TRUE(accepted({set(1, "k", "a", 0, 10), crashed(clear(2, 20, 0), std::nullopt),
                        get(1, "k", 40, 50, "a"), get(1, "k", 60, 70, std::nullopt)}));
}

TEST(CheckerClear, OperationsCountExpandedClears) {
  // Keys "a" and "b" have writes; "b" has one write overlapping the clear. "c" is only read.
  const CheckReport r = check({set(1, "a", "x", 0, 10), set(1, "b", "x", 0, 10), clear(2, 20, 30),
                               set(1, "b", "y", 25, 35), get(1, "c", 40, 50, std::nullopt)});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.keys, 3u);
  EXPECT_EQ(r.operations, 4u + 1 + 2); // own operations, "a": 1 erase, "b": 1 + 1
}

// ---- errors -------------------------------------------------------------------------------

// table_full only where an insert of the key could fail: set, add or set_if_absent of an
// absent key; no effect. Oversize input fails in any state, with no effect.
TEST(CheckerErrors, TableFullOnlyForAnInsertOfAnAbsentKey) {
  EXPECT_TRUE(accepted(sequential({
      set(0, "k", "a", 0, 0),
      failed(set_if_absent(0, "j", "b", 0, 0, false), "table_full"),
      failed(set(0, "j", "b", 0, 0), "table_full"),
      failed(add(0, "j", 1, 0, 0, 0), "table_full"),
      get(0, "j", 0, 0, std::nullopt),
      failed(get(0, "k", 0, 0, std::nullopt), "key_too_large"),
      failed(set(0, "k", "b", 0, 0), "value_too_large"),
      failed(cas(0, "k", "a", "b", 0, 0, false), "value_too_large"),
      get(0, "k", 0, 0, "a"),
  })));
  // The failed set had no effect.
  EXPECT_TRUE(
      rejected(sequential({failed(set(0, "k", "b", 0, 0), "table_full"), get(0, "k", 0, 0, "b")})));
  // A present key has a value to replace: no insert, so no table_full...
  const std::vector<Operation> present = sequential({
      set(0, "k", "a", 0, 0),
      failed(set(0, "k", "b", 0, 0), "table_full"),
      get(0, "k", 0, 0, "a"),
  });
  EXPECT_TRUE(rejected(present));
  // ...unless record buffers may have run out (crash leaks past the pool's reserve).
  CheckOptions leaky;
  leaky.buffers_may_run_out = true;
  EXPECT_TRUE(accepted(present, leaky));
  EXPECT_TRUE(rejected(sequential({
      set(0, "k", "a", 0, 0),
      failed(set_if_absent(0, "k", "b", 0, 0, false), "table_full"),
  })));
}

// Reads, erases and compare_and_set never insert: table_full from them is a violation, as
// is not_a_number from anything but add, or an error no operation returns.
TEST(CheckerErrors, AnErrorAnOperationCannotReturnIsAViolation) {
  EXPECT_TRUE(rejected({failed(get(0, "k", 0, 10, std::nullopt), "table_full")}));
  EXPECT_TRUE(rejected({failed(contains(0, "k", 0, 10, false), "table_full")}));
  EXPECT_TRUE(rejected({failed(erase(0, "k", 0, 10, false), "table_full")}));
  EXPECT_TRUE(rejected({failed(cas(0, "k", "a", "b", 0, 10, false), "table_full")}));
  EXPECT_TRUE(rejected({failed(get(0, "k", 0, 10, std::nullopt), "not_a_number")}));
  EXPECT_TRUE(rejected({failed(get(0, "k", 0, 10, std::nullopt), "value_too_large")}));
  EXPECT_TRUE(rejected({failed(set(0, "k", "a", 0, 10), "system")}));
}

TEST(CheckerErrors, MalformedHistoryThrows) {
  Operation no_response = get(0, "k", 0, 10, std::nullopt);
  no_response.response_ns.reset();
  EXPECT_THROW(check({no_response}), std::invalid_argument);
  EXPECT_THROW(check({get(0, "k", 10, 5, std::nullopt)}), std::invalid_argument);
  Operation incomplete_with_result = set(0, "k", "a", 0, 10);
  incomplete_with_result.completed = false;
  EXPECT_THROW(check({incomplete_with_result}), std::invalid_argument);
  EXPECT_THROW(check({with_flag(get(0, "k", 0, 10, std::nullopt), true)}), std::invalid_argument);
  Operation completed_unknown = set(0, "k", "a", 0, 10);
  completed_unknown.result = Result{};
  EXPECT_THROW(check({completed_unknown}), std::invalid_argument);
}

TEST(CheckerErrors, EmptyHistory) {
  const CheckReport r = check({});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.keys, 0u);
  EXPECT_EQ(r.operations, 0u);
}

// ---- expiry ---------------------------------------------------------------------------------

// The table clock read around `o` (here the same numbers as the history's own times).
Operation clocked(Operation o) {
  o.invoke_clock_ns = o.invoke_ns;
  o.response_clock_ns = o.response_ns;
  return o;
}

// `o` (set, set_if_absent, add) with a ttl; its deadline is in [invoke + ttl, response + ttl].
Operation timed(Operation o, std::uint64_t ttl) {
  o.ttl_ns = ttl;
  return clocked(std::move(o));
}

CheckReport check_clocked(std::vector<Operation> h, const CheckOptions &options = {}) {
  for (Operation &o : h) {
    o = clocked(std::move(o));
  }
  return check_linearizable(h, options);
}

TEST(CheckerExpiry, PresentBeforeTheEarliestDeadlineAbsentAfterTheLatest) {
  const Operation w = timed(set(1, "k", "a", 0, 5), 100); // deadline in [100, 105]
  EXPECT_TRUE(check_clocked({w, get(2, "k", 50, 55, "a"), get(2, "k", 200, 205, {})}).ok());
  EXPECT_FALSE(check_clocked({w, get(2, "k", 50, 55, {})}).ok());    // before 100: present
  EXPECT_FALSE(check_clocked({w, get(2, "k", 200, 205, "a")}).ok()); // from 105 on: absent
  EXPECT_FALSE(check_clocked({w, contains(2, "k", 110, 111, true)}).ok());
  EXPECT_TRUE(check_clocked({w, erase(2, "k", 110, 111, false)}).ok());
  EXPECT_FALSE(check_clocked({w, erase(2, "k", 110, 111, true)}).ok());
}

TEST(CheckerExpiry, BetweenTheBoundsEitherButGoneForGood) {
  const Operation w = timed(set(1, "k", "a", 0, 50), 100); // deadline in [100, 150]
  EXPECT_TRUE(check_clocked({w, get(2, "k", 120, 125, "a")}).ok());
  EXPECT_TRUE(check_clocked({w, get(2, "k", 120, 125, {})}).ok());
  EXPECT_TRUE(check_clocked({w, get(2, "k", 110, 115, "a"), get(2, "k", 130, 135, {})}).ok());
  EXPECT_FALSE(check_clocked({w, get(2, "k", 110, 115, {}), get(2, "k", 130, 135, "a")}).ok());
}

TEST(CheckerExpiry, TheDeadlineIsBoundedByTheTableClockNotTheHistorysTimes) {
  // The table clock runs 1000 ahead of the history's times and stands still during the
  // write (a coarse clock between two ticks): the deadline is exactly 1000 + 100.
  Operation w = timed(set(1, "k", "a", 0, 50), 100);
  w.invoke_clock_ns = w.response_clock_ns = 1000;
  Operation before = get(2, "k", 60, 70, "a");
  before.invoke_clock_ns = before.response_clock_ns = 1099;
  Operation after = get(2, "k", 80, 90, {});
  after.invoke_clock_ns = after.response_clock_ns = 1100;
  EXPECT_TRUE(check_linearizable({w, before, after}).ok());
  Operation early = before;
  early.result.kind = Result::Kind::kAbsent;
  EXPECT_FALSE(check_linearizable({w, early}).ok());
  Operation late = after;
  late.result = before.result;
  EXPECT_FALSE(check_linearizable({w, late}).ok());
}

TEST(CheckerExpiry, SetWithoutTtlClearsTheDeadline) {
  const Operation w = timed(set(1, "k", "a", 0, 5), 100);
  EXPECT_TRUE(check_clocked({w, set(1, "k", "b", 10, 15), get(2, "k", 200, 205, "b")}).ok());
  EXPECT_FALSE(check_clocked({w, set(1, "k", "b", 10, 15), get(2, "k", 200, 205, {})}).ok());
  // A set with a ttl of its own gives its own.
  EXPECT_TRUE(
      check_clocked({w, timed(set(1, "k", "b", 10, 15), 1000), get(2, "k", 200, 205, "b")}).ok());
}

TEST(CheckerExpiry, AddAndCompareAndSetKeepTheDeadline) {
  const Operation w = timed(set(1, "k", "1", 0, 5), 100);
  EXPECT_TRUE(check_clocked({w, add(1, "k", 1, 10, 15, 2), get(2, "k", 200, 205, {})}).ok());
  EXPECT_FALSE(check_clocked({w, add(1, "k", 1, 10, 15, 2), get(2, "k", 200, 205, "2")}).ok());
  EXPECT_TRUE(
      check_clocked({w, cas(1, "k", "1", "x", 10, 15, true), get(2, "k", 200, 205, {})}).ok());
  EXPECT_FALSE(
      check_clocked({w, cas(1, "k", "1", "x", 10, 15, true), get(2, "k", 200, 205, "x")}).ok());
  // add's own ttl does not replace a present entry's deadline (nor give one it lacks).
  EXPECT_FALSE(
      check_clocked({w, timed(add(1, "k", 1, 10, 15, 2), 1000), get(2, "k", 200, 205, "2")}).ok());
  EXPECT_TRUE(check_clocked({set(1, "k", "1", 0, 5), timed(add(1, "k", 1, 10, 15, 2), 100),
                             get(2, "k", 200, 205, "2")})
                  .ok());
}

TEST(CheckerExpiry, AddThatCreatesTheKeyGivesItsDeadline) {
  const Operation w = timed(add(1, "k", 1, 0, 5, 1), 100);
  EXPECT_TRUE(check_clocked({w, get(2, "k", 50, 55, "1"), get(2, "k", 200, 205, {})}).ok());
  EXPECT_FALSE(check_clocked({w, get(2, "k", 200, 205, "1")}).ok());
  // After it expired, add counts from 0 again.
  EXPECT_TRUE(check_clocked({w, add(2, "k", 1, 200, 205, 1)}).ok());
  EXPECT_FALSE(check_clocked({w, add(2, "k", 1, 200, 205, 2)}).ok());
  const Operation sia = timed(set_if_absent(1, "k", "v", 0, 5, true), 100);
  EXPECT_TRUE(check_clocked({sia, set_if_absent(2, "k", "w", 200, 205, true)}).ok());
  EXPECT_FALSE(check_clocked({sia, set_if_absent(2, "k", "w", 50, 55, true)}).ok());
}

TEST(CheckerExpiry, AWriteLostToAFreeOfTheExpiredEntryIsCaught) {
  // reclaim_stale_word's signature: the timed entry expired, a set without ttl replaced
  // it, and a free meant for the expired entry took the new one.
  EXPECT_FALSE(check_clocked({timed(set(1, "k", "a", 0, 5), 10), set(1, "k", "b", 100, 105),
                              erase(2, "k", 100, 106, false), get(1, "k", 110, 115, {})})
                   .ok());
}

TEST(CheckerExpiry, AnIncompleteTimedWriteMayExpireOrNeverHappen) {
  const Operation w = crashed(timed(set(1, "k", "a", 0, 5), 100), 20); // dead by 20
  EXPECT_TRUE(check_clocked({w, get(2, "k", 30, 35, "a"), get(2, "k", 200, 205, {})}).ok());
  EXPECT_TRUE(check_clocked({w, get(2, "k", 30, 35, {})}).ok());
  EXPECT_FALSE(check_clocked({w, get(2, "k", 200, 205, "a")}).ok());
}

TEST(CheckerExpiry, ExplanationShowsTheDeadline) {
  const CheckReport r =
      check_clocked({timed(set(1, "k", "a", 0, 5), 100), get(2, "k", 50, 55, {})});
  ASSERT_EQ(r.failures.size(), 1U);
  EXPECT_NE(r.failures[0].explanation.find("deadline, in [100, 105]"), std::string::npos)
      << r.failures[0].explanation;
}

TEST(CheckerExpiry, MalformedClockReadingsThrow) {
  Operation w = set(1, "k", "a", 0, 5);
  w.ttl_ns = 100; // a ttl, but no clock readings to bound its deadline
  EXPECT_THROW(check_linearizable({w}), std::invalid_argument);
  Operation back = timed(set(1, "k", "a", 0, 5), 100);
  back.response_clock_ns = 0;
  back.invoke_clock_ns = 3;
  EXPECT_THROW(check_linearizable({back}), std::invalid_argument);
}

// ---- evictions ------------------------------------------------------------------------------

CheckOptions evictions(std::uint64_t budget) {
  CheckOptions o;
  o.eviction_budget = budget;
  return o;
}

TEST(CheckerEvictions, AKeyThatVanishesNeedsOne) {
  const std::vector<Operation> h = {set(1, "k", "a", 0, 5), get(2, "k", 10, 15, {})};
  const CheckReport one = check_linearizable(h, evictions(1));
  EXPECT_TRUE(one.ok());
  EXPECT_EQ(one.evictions, 1U);
  EXPECT_FALSE(check_linearizable(h, evictions(0)).ok());
  EXPECT_FALSE(check_linearizable(h).ok()); // the default budget is 0
}

TEST(CheckerEvictions, TwoKeysThatVanishNeedTwo) {
  const std::vector<Operation> h = {set(1, "k", "a", 0, 5), get(2, "k", 10, 15, {}),
                                    set(1, "j", "b", 0, 5), contains(2, "j", 10, 15, false)};
  const CheckReport one = check_linearizable(h, evictions(1));
  EXPECT_FALSE(one.ok());
  EXPECT_EQ(one.violations, 1U);
  EXPECT_EQ(one.evictions, 2U);
  ASSERT_FALSE(one.failures.empty());
  EXPECT_NE(one.failures[0].explanation.find("2 spontaneous erases"), std::string::npos)
      << one.failures[0].explanation;
  const CheckReport two = check_linearizable(h, evictions(2));
  EXPECT_TRUE(two.ok());
  EXPECT_EQ(two.evictions, 2U);
}

TEST(CheckerEvictions, TheFewestAreUsedAndNoneWhereNoneAreNeeded) {
  // The value vanishes twice (set, vanish, set, vanish): 2 on one key.
  const std::vector<Operation> h = sequential({set(1, "k", "a", 0, 0), get(1, "k", 0, 0, {}),
                                               set(1, "k", "b", 0, 0), get(1, "k", 0, 0, {})});
  EXPECT_FALSE(check_linearizable(h, evictions(1)).ok());
  const CheckReport r = check_linearizable(h, evictions(5));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.evictions, 2U);
  const CheckReport none = check_linearizable(
      sequential({set(1, "k", "a", 0, 0), get(1, "k", 0, 0, "a")}), evictions(5));
  EXPECT_TRUE(none.ok());
  EXPECT_EQ(none.evictions, 0U);
  // An eviction erases; it does not invent a value.
  EXPECT_FALSE(
      check_linearizable(sequential({set(1, "k", "a", 0, 0), get(1, "k", 0, 0, "b")}), evictions(5))
          .ok());
}

// ---- budget, report and explanation -------------------------------------------------------

// n sets of distinct values all overlapping, then a read of a value none of them wrote: a
// violation whose proof visits every subset of the sets.
std::vector<Operation> hard_violation(int n) {
  std::vector<Operation> h;
  for (int i = 0; i < n; ++i) {
    h.push_back(set(static_cast<std::uint32_t>(i), "hard", "v" + std::to_string(i), 0, 100));
  }
  h.push_back(get(99, "hard", 200, 210, "nobody"));
  return h;
}

TEST(CheckerReport, TinyBudgetIsInconclusive) {
  CheckOptions o;
  o.max_steps_per_key = 50;
  const CheckReport r = check(hard_violation(14), o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.violations, 0u);
  EXPECT_EQ(r.inconclusive, 1u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_TRUE(r.failures[0].inconclusive);
  EXPECT_EQ(r.failures[0].key, "hard");
  EXPECT_LE(r.steps, 50u);
  // With no limit it is a proven violation.
  o.max_steps_per_key = 0;
  const CheckReport full = check(hard_violation(14), o);
  EXPECT_EQ(full.violations, 1u);
  EXPECT_EQ(full.inconclusive, 0u);
  EXPECT_GT(full.steps, 50u);
}

TEST(CheckerReport, ExplanationNamesKeyAndOperation) {
  const CheckReport r =
      check({set(1, "the-key", "old", 0, 10), set(2, "the-key", "new", 20, 30),
             get(3, "the-key", 40, 50, "old"), get(4, "other", 0, 5, std::nullopt),
             set(5, "the-key", "x", 45, 47)});
  ASSERT_EQ(r.failures.size(), 1u);
  const std::string &e = r.failures[0].explanation;
  std::cout << e;
  EXPECT_EQ(r.failures[0].key, "the-key");
  EXPECT_FALSE(r.failures[0].inconclusive);
  EXPECT_NE(e.find("\"the-key\""), std::string::npos);
  EXPECT_NE(e.find("#2 process 3: get(\"the-key\") -> \"old\" [40, 50]"), std::string::npos);
  EXPECT_NE(e.find("state after that prefix: \"x\""), std::string::npos);
  EXPECT_NE(e.find("#4 process 5: set(\"the-key\", \"x\")"), std::string::npos); // concurrent
  EXPECT_EQ(e.find("other"), std::string::npos);
}

TEST(CheckerReport, ExplanationTruncatesLongValues) {
  const std::string long_value(1000, 'z');
  const CheckReport r = check(sequential({set(0, "k", long_value, 0, 0), get(0, "k", 0, 0, "y")}));
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].explanation.find(long_value), std::string::npos);
  EXPECT_NE(r.failures[0].explanation.find("(1000 bytes)"), std::string::npos);
}

TEST(CheckerReport, FailuresSortedAndCapped) {
  std::vector<Operation> h;
  for (int i = 11; i >= 0; --i) {
    const std::string key = "key" + std::string(1, static_cast<char>('a' + i));
    h.push_back(get(1, key, 0, 10, "ghost"));
  }
  for (const auto &o : hard_violation(14)) {
    h.push_back(o);
  }
  CheckOptions o;
  o.max_steps_per_key = 50;
  const CheckReport r = check(h, o);
  EXPECT_EQ(r.violations, 12u);
  EXPECT_EQ(r.inconclusive, 1u);
  ASSERT_EQ(r.failures.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r.failures[i].key, "key" + std::string(1, static_cast<char>('a' + i)));
    EXPECT_FALSE(r.failures[i].inconclusive);
  }
}

// ---- randomized histories -----------------------------------------------------------------

struct Simulation {
  std::size_t operations = 2000;
  std::size_t keys = 4;
  unsigned processes = 4;
  double crash = 0.01;    // share of operations whose process dies before the response
  double unbounded = 0.0; // share of those with no response bound
  double clear = 0.0;     // share of operations that are clear
  double error = 0.005;   // share of writes failing with table_full
  std::uint64_t seed = 1;
};

std::optional<std::int64_t> number_of(const std::string &s) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// A linearizable history: processes run operations one at a time over random intervals; each
// takes effect on a reference map at a random point inside its interval (clear: one point per
// key), in time order, which also gives the results.
std::vector<Operation> simulate(const Simulation &sim) {
  std::mt19937_64 rng(sim.seed);
  const auto uniform = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  const auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  static const std::vector<std::string> kValues = {
      "a", "b", "0", "1", "7", "-3", "9223372036854775807"};
  const auto value = [&] { return kValues[uniform(0, kValues.size() - 1)]; };
  struct Event {
    std::uint64_t time;
    std::uint32_t op;
    std::uint32_t key; // clear: which key it erases
  };
  std::vector<Operation> h;
  std::vector<Event> events;
  std::vector<std::uint64_t> clock(sim.processes, 0);
  std::vector<std::uint32_t> process(sim.processes);
  for (unsigned p = 0; p < sim.processes; ++p) {
    process[p] = p;
  }
  std::uint32_t next_process = sim.processes;
  for (std::size_t i = 0; i < sim.operations; ++i) {
    const unsigned p = static_cast<unsigned>(uniform(0, sim.processes - 1));
    Operation o;
    o.process = process[p];
    o.invoke_ns = clock[p] + uniform(1, 50);
    const std::uint64_t response = o.invoke_ns + uniform(0, 200);
    o.response_ns = response;
    o.completed = true;
    const auto index = static_cast<std::uint32_t>(h.size());
    const std::uint32_t key = static_cast<std::uint32_t>(uniform(0, sim.keys - 1));
    if (chance(sim.clear)) {
      o.op = OpKind::kClear;
    } else {
      o.key = "k" + std::to_string(key);
      const auto r = uniform(0, 99);
      o.op = r < 30   ? OpKind::kGet
             : r < 45 ? OpKind::kSet
             : r < 53 ? OpKind::kErase
             : r < 63 ? OpKind::kContains
             : r < 75 ? OpKind::kAdd
             : r < 87 ? OpKind::kCompareAndSet
                      : OpKind::kSetIfAbsent;
      o.value = value();
      o.desired = value();
      o.delta = static_cast<std::int64_t>(uniform(0, 10)) - 5;
    }
    bool effect = true;
    std::optional<std::uint64_t> at; // the effect's time, where it is not drawn below
    if (chance(sim.crash)) {
      o.completed = false;
      effect = chance(0.5);
      if (chance(sim.unbounded)) {
        o.response_ns.reset();
      }
      process[p] = next_process++;
    } else if (o.op != OpKind::kGet && o.op != OpKind::kContains && o.op != OpKind::kClear &&
               chance(sim.error)) {
      // A write that may fail for lack of room takes effect at its invocation (no draw).
      // An insert (set, add, set_if_absent) fails there with table_full, no effect, if
      // the key is absent then (decided below, in time order); else it runs as usual.
      at = o.invoke_ns;
      if (o.op == OpKind::kSet || o.op == OpKind::kAdd || o.op == OpKind::kSetIfAbsent) {
        o.result.kind = Result::Kind::kError;
        o.result.error = "table_full";
      }
    }
    // Without a bound the effect may come much later.
    const std::uint64_t last = o.response_ns ? response : response + uniform(0, 100000);
    if (effect) {
      if (o.op == OpKind::kClear) {
        for (std::uint32_t k = 0; k < sim.keys; ++k) {
          if (o.completed || chance(0.5)) { // a crashed clear may have reached some keys
            events.push_back({uniform(o.invoke_ns, last), index, k});
          }
        }
      } else {
        events.push_back({at ? *at : uniform(o.invoke_ns, last), index, key});
      }
    }
    if (o.op == OpKind::kClear && o.completed) {
      o.result.kind = Result::Kind::kOk;
    }
    clock[p] = response;
    h.push_back(std::move(o));
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event &x, const Event &y) { return x.time < y.time; });
  std::map<std::string, std::string> state;
  for (const Event &ev : events) {
    Operation &o = h[ev.op];
    Result &r = o.result;
    const std::string key = o.op == OpKind::kClear ? "k" + std::to_string(ev.key) : o.key;
    const auto it = state.find(key);
    const bool present = it != state.end();
    if (r.kind == Result::Kind::kError && r.error == "table_full") {
      if (!present) {
        continue;
      }
      r = Result{};
    }
    switch (o.op) {
    case OpKind::kGet:
      r.kind = present ? Result::Kind::kValue : Result::Kind::kAbsent;
      r.value = present ? it->second : "";
      break;
    case OpKind::kSet:
      r.kind = Result::Kind::kOk;
      state[key] = o.value;
      break;
    case OpKind::kErase:
    case OpKind::kContains:
      r.kind = Result::Kind::kBool;
      r.flag = present;
      if (o.op == OpKind::kErase && present) {
        state.erase(it);
      }
      break;
    case OpKind::kAdd: {
      const std::optional<std::int64_t> base = present ? number_of(it->second) : 0;
      std::int64_t sum = 0;
      if (!base || __builtin_add_overflow(*base, o.delta, &sum)) {
        r.kind = Result::Kind::kError;
        r.error = "not_a_number";
      } else {
        r.kind = Result::Kind::kNumber;
        r.number = sum;
        state[key] = std::to_string(sum);
      }
      break;
    }
    case OpKind::kCompareAndSet:
      r.kind = Result::Kind::kBool;
      r.flag = present && it->second == o.value;
      if (r.flag) {
        it->second = o.desired;
      }
      break;
    case OpKind::kSetIfAbsent:
      r.kind = Result::Kind::kBool;
      r.flag = !present;
      if (!present) {
        state[key] = o.value;
      }
      break;
    case OpKind::kClear:
      if (present) {
        state.erase(it);
      }
      break;
    }
    if (!o.completed) {
      r = Result{};
    }
  }
  return h;
}

TEST(CheckerRandom, ValidHistoriesAcceptedAndMutationsCaught) {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    Simulation sim;
    sim.seed = seed;
    sim.keys = 1 + seed % 5;
    sim.processes = 2 + seed % 4;
    sim.crash = seed % 3 == 0 ? 0.05 : 0.01;
    sim.unbounded = seed % 2 == 0 ? 0.5 : 0.0;
    sim.clear = seed % 4 == 0 ? 0.01 : 0.0;
    std::vector<Operation> h = simulate(sim);
    const CheckReport r = check(h);
    ASSERT_TRUE(r.ok()) << "seed " << seed << ": "
                        << (r.failures.empty() ? "" : r.failures[0].explanation);

    std::vector<std::size_t> gets;
    for (std::size_t i = 0; i < h.size(); ++i) {
      if (h[i].op == OpKind::kGet && h[i].completed) {
        gets.push_back(i);
      }
    }
    ASSERT_FALSE(gets.empty());
    Operation &victim = h[gets[seed * 7919 % gets.size()]];
    victim.result.kind = Result::Kind::kValue;
    victim.result.value = "never-written";
    const CheckReport bad = check(h);
    EXPECT_EQ(bad.violations, 1u) << "seed " << seed;
    ASSERT_EQ(bad.failures.size(), 1u) << "seed " << seed;
    EXPECT_EQ(bad.failures[0].key, victim.key);
    EXPECT_NE(bad.failures[0].explanation.find("never-written"), std::string::npos)
        << bad.failures[0].explanation;
  }
}

TEST(CheckerRandom, SameReportForAnyThreadCount) {
  Simulation sim;
  sim.operations = 20000;
  sim.keys = 16;
  sim.clear = 0.001;
  sim.seed = 77;
  std::vector<Operation> h = simulate(sim);
  for (std::size_t i = 0; i < h.size(); i += 997) {
    if (h[i].op == OpKind::kGet && h[i].completed) {
      h[i].result.kind = Result::Kind::kValue;
      h[i].result.value = "ghost";
    }
  }
  CheckOptions one;
  one.threads = 1;
  CheckOptions four;
  four.threads = 4;
  const CheckReport a = check(h, one);
  const CheckReport b = check(h, four);
  EXPECT_GT(a.violations, 0u);
  EXPECT_EQ(a.violations, b.violations);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.operations, b.operations);
  ASSERT_EQ(a.failures.size(), b.failures.size());
  for (std::size_t i = 0; i < a.failures.size(); ++i) {
    EXPECT_EQ(a.failures[i].key, b.failures[i].key);
    EXPECT_EQ(a.failures[i].explanation, b.failures[i].explanation);
  }
}

// ---- cross-check against brute force ------------------------------------------------------

// The specification again, coded independently: a key's operations after expanding clear,
// each may go next unless another one still to be placed must come before it; optional ones
// may be skipped. Exhaustive, memoised on (remaining set, state); for small histories.
struct BruteOp {
  const Operation *op;
  bool clear_erase = false;
  bool optional = false;
  std::uint64_t call = 0;
  std::uint64_t ret = 0;
};

using State = std::optional<std::string>;

// Whether `o` may take effect in state s, and the state after it.
bool brute_step(const BruteOp &b, State &s) {
  const Operation &o = *b.op;
  if (b.clear_erase || (b.optional && o.op == OpKind::kErase)) {
    s.reset();
    return true;
  }
  const auto sum = [&]() -> std::optional<std::int64_t> {
    const std::optional<std::int64_t> base = s ? number_of(*s) : 0;
    std::int64_t out = 0;
    if (!base || __builtin_add_overflow(*base, o.delta, &out)) {
      return std::nullopt;
    }
    return out;
  };
  if (b.optional) { // the effect of a successful execution
    switch (o.op) {
    case OpKind::kSet:
      s = o.value;
      break;
    case OpKind::kAdd:
      if (const auto n = sum()) {
        s = std::to_string(*n);
      }
      break;
    case OpKind::kCompareAndSet:
      if (s == o.value) {
        s = o.desired;
      }
      break;
    case OpKind::kSetIfAbsent:
      if (!s) {
        s = o.value;
      }
      break;
    default:
      break;
    }
    return true;
  }
  const Result &r = o.result;
  if (r.kind == Result::Kind::kError) { // stress/checker.hpp, "Errors"
    if (r.error == "not_a_number") {
      return o.op == OpKind::kAdd && !sum();
    }
    if (r.error == "table_full") {
      return !s && (o.op == OpKind::kSet || o.op == OpKind::kAdd || o.op == OpKind::kSetIfAbsent);
    }
    if (r.error == "key_too_large") {
      return o.op != OpKind::kClear;
    }
    return r.error == "value_too_large" &&
           (o.op == OpKind::kSet || o.op == OpKind::kAdd || o.op == OpKind::kCompareAndSet ||
            o.op == OpKind::kSetIfAbsent);
  }
  switch (o.op) {
  case OpKind::kGet:
    return r.kind == Result::Kind::kAbsent ? !s : s == r.value;
  case OpKind::kContains:
    return r.flag == s.has_value();
  case OpKind::kSet:
    s = o.value;
    return true;
  case OpKind::kErase: {
    const bool was = s.has_value();
    s.reset();
    return r.flag == was;
  }
  case OpKind::kAdd: {
    const auto n = sum();
    if (!n || *n != r.number) {
      return false;
    }
    s = std::to_string(*n);
    return true;
  }
  case OpKind::kCompareAndSet: {
    const bool eq = s == o.value;
    if (eq) {
      s = o.desired;
    }
    return r.flag == eq;
  }
  case OpKind::kSetIfAbsent: {
    const bool absent = !s;
    if (absent) {
      s = o.value;
    }
    return r.flag == absent;
  }
  case OpKind::kClear:
    break;
  }
  return false;
}

bool brute_search(const std::vector<BruteOp> &ops, std::uint32_t remaining, const State &s,
                  std::set<std::pair<std::uint32_t, State>> &failed) {
  if (remaining == 0) {
    return true;
  }
  if (failed.count({remaining, s}) != 0) {
    return false;
  }
  for (std::size_t x = 0; x < ops.size(); ++x) {
    if ((remaining >> x & 1) == 0) {
      continue;
    }
    if (ops[x].optional && brute_search(ops, remaining & ~(1U << x), s, failed)) {
      return true; // skipped
    }
    bool first = true;
    for (std::size_t y = 0; y < ops.size(); ++y) {
      if ((remaining >> y & 1) != 0 && y != x && ops[y].ret < ops[x].call) {
        first = false;
      }
    }
    State next = s;
    if (first && brute_step(ops[x], next) &&
        brute_search(ops, remaining & ~(1U << x), next, failed)) {
      return true;
    }
  }
  failed.insert({remaining, s});
  return false;
}

bool brute_linearizable(const std::vector<Operation> &h) {
  const auto ret_of = [](const Operation &o) {
    return o.response_ns.value_or(std::numeric_limits<std::uint64_t>::max());
  };
  std::set<std::string> keys;
  for (const Operation &o : h) {
    if (o.op != OpKind::kClear) {
      keys.insert(o.key);
    }
  }
  for (const std::string &key : keys) {
    std::vector<BruteOp> ops;
    for (const Operation &o : h) {
      if (o.op != OpKind::kClear && o.key == key) {
        ops.push_back({&o, false, !o.completed, o.invoke_ns, ret_of(o)});
      }
    }
    for (const Operation &c : h) {
      if (c.op != OpKind::kClear || c.result.kind == Result::Kind::kError) {
        continue;
      }
      std::size_t k = 0;
      for (const Operation &w : h) {
        const bool write = w.op == OpKind::kSet || w.op == OpKind::kErase || w.op == OpKind::kAdd ||
                           w.op == OpKind::kCompareAndSet || w.op == OpKind::kSetIfAbsent;
        k += write && w.key == key && w.invoke_ns <= ret_of(c) && ret_of(w) >= c.invoke_ns;
      }
      for (std::size_t j = 0; j <= k; ++j) {
        ops.push_back({&c, true, j > 0 || !c.completed, c.invoke_ns, ret_of(c)});
      }
    }
    if (ops.size() > 31) {
      ADD_FAILURE() << "history too big for brute force";
      return false;
    }
    std::set<std::pair<std::uint32_t, State>> failed;
    if (!brute_search(ops, static_cast<std::uint32_t>((1ULL << ops.size()) - 1), std::nullopt,
                      failed)) {
      return false;
    }
  }
  return true;
}

// A result of the right kind for o, at random (often wrong).
Result random_result(const Operation &o, std::mt19937_64 &rng) {
  const auto uniform = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  Result r;
  switch (o.op) {
  case OpKind::kGet:
    r.kind = uniform(0, 2) == 0 ? Result::Kind::kAbsent : Result::Kind::kValue;
    r.value = r.kind == Result::Kind::kValue ? (uniform(0, 1) ? "a" : "1") : "";
    break;
  case OpKind::kSet:
  case OpKind::kClear:
    r.kind = Result::Kind::kOk;
    break;
  case OpKind::kAdd:
    r.kind = Result::Kind::kNumber;
    r.number = static_cast<std::int64_t>(uniform(0, 6)) - 3;
    if (uniform(0, 3) == 0) {
      r = Result{Result::Kind::kError, false, 0, "", "not_a_number"};
    }
    break;
  default:
    r.kind = Result::Kind::kBool;
    r.flag = uniform(0, 1) == 1;
    break;
  }
  if (o.op != OpKind::kClear && uniform(0, 15) == 0) {
    r = Result{Result::Kind::kError, false, 0, "", "table_full"};
  }
  return r;
}

// Small random histories with arbitrary (often wrong) results.
std::vector<Operation> random_small_history(std::mt19937_64 &rng) {
  const auto uniform = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  static const std::vector<std::string> kSmall = {"a", "b", "1", "9223372036854775807"};
  const auto value = [&] { return kSmall[uniform(0, kSmall.size() - 1)]; };
  std::vector<Operation> h;
  const std::size_t n = uniform(1, 7);
  bool cleared = false;
  for (std::size_t i = 0; i < n; ++i) {
    Operation o;
    o.process = static_cast<std::uint32_t>(i);
    o.invoke_ns = uniform(0, 30);
    o.response_ns = o.invoke_ns + uniform(0, 12);
    o.completed = true;
    o.key = uniform(0, 3) == 0 ? "y" : "x";
    o.op = static_cast<OpKind>(uniform(0, cleared ? 6 : 7));
    if (o.op == OpKind::kClear) {
      o.key.clear();
      cleared = true;
    }
    o.value = value();
    o.desired = value();
    o.delta = static_cast<std::int64_t>(uniform(0, 4)) - 2;
    o.result = random_result(o, rng);
    if (uniform(0, 4) == 0) {
      o.completed = false;
      o.result = Result{};
      if (uniform(0, 1) == 0) {
        o.response_ns.reset();
      }
    }
    h.push_back(std::move(o));
  }
  return h;
}

TEST(CheckerRandom, AgreesWithBruteForce) {
  std::mt19937_64 rng(12345);
  std::size_t linearizable = 0;
  constexpr std::size_t kHistories = 20000;
  for (std::size_t i = 0; i < kHistories; ++i) {
    const std::vector<Operation> h = random_small_history(rng);
    const bool expected = brute_linearizable(h);
    CheckOptions o;
    o.threads = 1;
    const CheckReport r = check(h, o);
    ASSERT_EQ(r.inconclusive, 0u);
    ASSERT_EQ(r.ok(), expected) << "history " << i << ": "
                                << (r.failures.empty() ? "" : r.failures[0].explanation);
    linearizable += expected;
  }
  // Both verdicts are well represented.
  EXPECT_GT(linearizable, kHistories / 5);
  EXPECT_LT(linearizable, kHistories * 4 / 5);
  std::cout << linearizable << " of " << kHistories << " linearizable\n";
}

TEST(CheckerRandom, AgreesWithBruteForceNearValid) {
  // Valid small histories, half of them with one result replaced at random: the cases that
  // are nearly linearizable.
  std::mt19937_64 rng(777);
  std::size_t linearizable = 0;
  constexpr std::size_t kHistories = 10000;
  for (std::size_t i = 0; i < kHistories; ++i) {
    Simulation sim;
    sim.operations = 2 + i % 7;
    sim.keys = 1 + i % 2;
    sim.processes = 2 + i % 3;
    sim.crash = 0.2;
    sim.unbounded = 0.5;
    sim.clear = 0.1;
    sim.error = 0.05;
    sim.seed = i;
    std::vector<Operation> h = simulate(sim);
    if (i % 2 == 1) {
      Operation &o = h[rng() % h.size()];
      if (o.completed) {
        o.result = random_result(o, rng);
      }
    }
    const bool expected = brute_linearizable(h);
    CheckOptions o;
    o.threads = 1;
    const CheckReport r = check(h, o);
    ASSERT_EQ(r.inconclusive, 0u);
    ASSERT_EQ(r.ok(), expected) << "history " << i << ": "
                                << (r.failures.empty() ? "" : r.failures[0].explanation);
    ASSERT_TRUE(expected || i % 2 == 1) << "history " << i;
    linearizable += expected;
  }
  EXPECT_LT(linearizable, kHistories * 9 / 10);
  std::cout << linearizable << " of " << kHistories << " linearizable\n";
}

// A quick benchmark: 100k operations over 32 keys from 4 processes, 1% of them crashed with a
// response bound. Prints the time; SHMTABLE_CHECKER_BENCH_OPS overrides the size.
TEST(CheckerRandom, Benchmark) {
  Simulation sim;
  sim.operations = 100000;
  if (const char *env = std::getenv("SHMTABLE_CHECKER_BENCH_OPS")) {
    sim.operations = std::stoul(env);
  }
  sim.keys = 32;
  sim.processes = 4;
  sim.crash = 0.01;
  sim.clear = 0.0002;
  sim.seed = 2024;
  const std::vector<Operation> h = simulate(sim);
  const auto start = std::chrono::steady_clock::now();
  const CheckReport r = check(h);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "checked " << h.size() << " operations (" << r.operations << " after clear, "
            << r.keys << " keys) in " << seconds << " s, " << r.steps << " steps\n";
  EXPECT_TRUE(r.ok()) << (r.failures.empty() ? "" : r.failures[0].explanation);
}

} // namespace
} // namespace shmtable::test
