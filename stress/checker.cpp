// stress/checker.cpp: the linearizability checker declared in checker.hpp.
//
// Locality. A map's operations on distinct keys commute, so the history is split by key and
// each key is searched on its own, on a small thread pool, the largest keys first. A `clear`
// becomes, for every key with writes, one erase with its result ignored inside the clear's
// interval (optional if the clear did not complete) and k optional erases, k the number of
// writes to that key overlapping the clear. (A key is skipped if absent throughout: no
// writes, or none begun before the clear ended.)
//
// The parts of the checker, and which file has which: checker_internal.hpp.
#include "checker.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checker_expiry.hpp"
#include "checker_internal.hpp"

namespace shmtable::stress {
namespace {

using namespace checker_detail;

constexpr std::size_t kMaxFailures = 10;

void validate(const std::vector<Operation> &history) {
  if (history.size() >= kNone / 4) {
    throw std::invalid_argument("check_linearizable: history too long");
  }
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Operation &op = history[i];
    const char *problem = nullptr;
    if (static_cast<std::size_t>(op.op) >= std::size(kOpNames)) {
      throw std::invalid_argument("check_linearizable: operation #" + std::to_string(i) +
                                  " has an unknown kind");
    }
    if (op.completed && !op.response_ns) {
      problem = "completed but has no response_ns";
    } else if (op.response_ns && *op.response_ns < op.invoke_ns) {
      problem = "response_ns is before invoke_ns";
    } else if (op.invoke_clock_ns && op.response_clock_ns &&
               *op.response_clock_ns < *op.invoke_clock_ns) {
      problem = "response_clock is before invoke_clock (was the clock stepped back?)";
    } else if (op.ttl_ns != 0 && !op.invoke_clock_ns) {
      problem = "has a ttl but no invoke_clock, which its deadline is bounded by";
    } else if (!result_fits(op)) {
      problem = op.completed ? "has a result this operation cannot return"
                             : "did not complete but has a result";
    }
    if (problem != nullptr) {
      throw std::invalid_argument("check_linearizable: " + describe(op, i) + ": " + problem);
    }
  }
}

struct KeyTask {
  std::string_view key;
  std::vector<std::uint32_t> ops;
};

} // namespace

CheckReport check_linearizable(const std::vector<Operation> &history, const CheckOptions &options) {
  validate(history);

  std::vector<KeyTask> tasks;
  std::vector<std::uint32_t> clears;
  {
    std::unordered_map<std::string_view, std::size_t> task_of;
    for (std::size_t i = 0; i < history.size(); ++i) {
      const Operation &op = history[i];
      if (op.op == OpKind::kClear) {
        if (op.result.kind != Result::Kind::kError) {
          clears.push_back(static_cast<std::uint32_t>(i));
        }
        continue;
      }
      const auto [it, fresh] = task_of.try_emplace(op.key, tasks.size());
      if (fresh) {
        tasks.push_back(KeyTask{op.key, {}});
      }
      tasks[it->second].ops.push_back(static_cast<std::uint32_t>(i));
    }
  }

  // Largest keys first, so one big key does not start last.
  std::vector<std::size_t> order(tasks.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return tasks[x].ops.size() != tasks[y].ops.size() ? tasks[x].ops.size() > tasks[y].ops.size()
                                                      : x < y;
  });

  const ClockMap clock(history);
  std::vector<KeyResult> results(tasks.size());
  std::atomic<std::size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  const auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= order.size()) {
        return;
      }
      const KeyTask &task = tasks[order[i]];
      try {
        KeyChecker checker(history, task.key, task.ops, clears, clock, options);
        results[order[i]] = checker.run();
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (!error) {
          error = std::current_exception();
        }
        next.store(order.size());
      }
    }
  };
  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  threads = static_cast<unsigned>(std::min<std::size_t>(std::max(threads, 1U), tasks.size()));
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back(work);
    }
    for (std::thread &t : pool) {
      t.join();
    }
  }
  if (error) {
    std::rethrow_exception(error);
  }

  CheckReport report;
  report.keys = tasks.size();
  report.eviction_budget = options.eviction_budget;
  std::vector<KeyFailure> failures;
  std::string evicted; // the keys whose linearization uses evictions, and how many
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    KeyResult &r = results[i];
    report.operations += r.operations;
    report.steps += r.steps;
    if (r.verdict == Verdict::kLinearizable) {
      if (r.evictions != 0) {
        report.evictions += r.evictions;
        evicted += "\n  key " + quote(tasks[i].key) + ": " + std::to_string(r.evictions);
      }
      continue;
    }
    const bool inconclusive = r.verdict == Verdict::kInconclusive;
    ++(inconclusive ? report.inconclusive : report.violations);
    failures.push_back(
        KeyFailure{std::string(tasks[i].key), inconclusive, std::move(r.explanation)});
  }
  // Each key's fewest, summed, is the history's fewest: its keys are independent.
  if (report.evictions > options.eviction_budget) {
    ++report.violations;
    failures.push_back(
        KeyFailure{"", false,
                   "the keys' linearizations need " + std::to_string(report.evictions) +
                       " spontaneous erases in all (each key's fewest), but the table counted " +
                       std::to_string(options.eviction_budget) + " evictions:" + evicted});
  }
  std::sort(failures.begin(), failures.end(), [](const KeyFailure &x, const KeyFailure &y) {
    return x.inconclusive != y.inconclusive ? y.inconclusive : x.key < y.key;
  });
  if (failures.size() > kMaxFailures) {
    failures.resize(kMaxFailures);
  }
  report.failures = std::move(failures);
  return report;
}

} // namespace shmtable::stress
