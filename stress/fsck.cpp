// stress/fsck.cpp: see fsck.hpp.
#include "fsck.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "shmtable/config.hpp"
#include "values.hpp"

namespace shmtable::stress {
namespace {

void add(FsckReport &f, const std::string &message) {
  ++f.violations;
  f.messages.push_back(message);
}

} // namespace

FsckReport fsck(AnyTable &table, const RunConfig &cfg, std::uint64_t killed, bool damage_expected,
                std::uint32_t process, const std::vector<std::string> &written,
                std::vector<Operation> &final_reads) {
  FsckReport f;
  f.segment = !cfg.engine.redis();
  // With nobody killed, every operation ran to its end, so the entry counter that size()
  // reads (or its walk of the slots) agrees with the slots before recover() recounts: a
  // count that drifted means an entry was added or removed behind the protocol's back
  // (the planted evict_pending: an eviction of an insert's reservation, counted as an
  // entry removed, whose insert then lands again).
  if (f.segment && killed == 0) {
    const std::size_t counted = table.size();
    if (const std::size_t listed = table.keys().size(); counted != listed) {
      add(f, "before recover(), with no process killed: size() " + std::to_string(counted) +
                 ", keys() listed " + std::to_string(listed));
    }
  }
  if (f.segment) {
    f.first = table.recover();
  }
  const RecoveryReport &r = f.first;
  if (r.duplicate_keys) {
    add(f, "recover(): " + std::to_string(r.duplicate_keys) + " keys found in more than one slot");
  }
  if (r.corrupt_slots) {
    add(f, "recover(): " + std::to_string(r.corrupt_slots) + " slots named impossible buffers");
  }
  if (r.keys_repaired) {
    add(f, "recover(): " + std::to_string(r.keys_repaired) + " keys had garbage in their padding");
  }
  if (r.bounds_raised) {
    add(f, "recover(): " + std::to_string(r.bounds_raised) + " probe bounds were too small (I1)");
  }
  // The lock-free engine's crash bound: a dead process leaves at most one reservation,
  // two record buffers (the one its operation held and its handle's spare) and one spare
  // permit (papers/protocol.md, "Crashes").
  if (r.pending_cleared > killed || r.buffers_reclaimed > 2 * killed || r.spares_cleared > killed) {
    add(f, "recover(): " + std::to_string(r.pending_cleared) + " reservations, " +
               std::to_string(r.buffers_reclaimed) + " buffers and " +
               std::to_string(r.spares_cleared) + " spare permits leaked by " +
               std::to_string(killed) +
               " dead processes: more than one reservation, two buffers or one permit per crash");
  }

  const std::vector<std::string> keys = table.keys();
  f.entries = keys.size();
  std::unordered_set<std::string> distinct(keys.begin(), keys.end());
  if (distinct.size() != keys.size()) {
    add(f, "keys(): " + std::to_string(keys.size() - distinct.size()) + " duplicate keys");
  }
  if (table.size() != keys.size() || (f.segment && r.entries != keys.size())) {
    add(f, "size() " + std::to_string(table.size()) +
               (f.segment ? ", recover() counted " + std::to_string(r.entries) : "") +
               ", keys() listed " + std::to_string(keys.size()));
  }

  // Read back every key the run could have written, and any other key listed (which
  // none wrote: the checker fails it too, having no write to match its value).
  std::set<std::string> to_read(cfg.keys.begin(), cfg.keys.end());
  to_read.insert(written.begin(), written.end());
  for (const std::string &k : distinct) {
    if (!to_read.contains(k)) {
      add(f, "keys() lists " + k + ", which no process wrote");
    }
  }
  to_read.insert(keys.begin(), keys.end());
  for (const std::string &k : to_read) {
    Operation op;
    op.process = process;
    op.op = OpKind::kGet;
    op.key = k;
    op.invoke_clock_ns = table_clock_ns(); // the order of the workers' (workload.cpp)
    op.invoke_ns = now_ns();
    const auto got = table.get(k);
    op.response_ns = now_ns();
    op.response_clock_ns = table_clock_ns();
    op.completed = true;
    if (!got) {
      op.result.kind = Result::Kind::kAbsent;
    } else {
      op.result.kind = Result::Kind::kValue;
      op.result.value = *got;
      if (judge_value(*got, cfg.value_bytes).kind == ReadValue::Kind::kGarbage) {
        if (damage_expected) {
          ++f.expected_damage; // and keep it out of the history
          continue;
        }
        add(f, "key " + k + " holds a value no process wrote (" + std::to_string(got->size()) +
                   " bytes)");
      }
    }
    final_reads.push_back(std::move(op));
  }

  if (f.segment) {
    f.second = table.recover();
    const RecoveryReport &s = f.second;
    if (s.pending_cleared || s.buffers_reclaimed || s.duplicate_keys || s.corrupt_slots ||
        s.keys_repaired || s.bounds_raised || s.locks_reset || s.entries != keys.size()) {
      add(f, "a second recover() still found work: not idempotent");
    }
  }

  // Nothing leaked: after clear() every slot takes a key again. The clear joins the
  // history (the next epoch of a long run starts from it); the refill's keys are not
  // the run's and stay out of it.
  Operation cleared;
  cleared.process = process;
  cleared.op = OpKind::kClear;
  cleared.invoke_clock_ns = table_clock_ns();
  cleared.invoke_ns = now_ns();
  table.clear();
  cleared.response_ns = now_ns();
  cleared.response_clock_ns = table_clock_ns();
  cleared.completed = true;
  cleared.result.kind = Result::Kind::kOk;
  final_reads.push_back(std::move(cleared));
  if (!f.segment) { // no slots to refill; nobody else writes, so nothing is left
    if (const std::size_t left = table.size()) {
      add(f, "after clear(), " + std::to_string(left) + " keys are left");
    }
    return f;
  }
  try {
    for (; f.refilled < table.capacity(); ++f.refilled) {
      table.set("refill-" + std::to_string(f.refilled), "x");
    }
  } catch (const Error &e) {
    add(f, "after clear(), only " + std::to_string(f.refilled) + " of " +
               std::to_string(table.capacity()) + " slots took a key (" + e.what() + ")");
  }
  // A table that evicts takes every key, evicting from its fill level on
  // (kEvictLoadPercent of its capacity): it holds that many then, or fewer by the inserts
  // whose own window was full too (they evict there as well), never more, and never so
  // few that entries went missing wholesale.
  if (cfg.table.eviction.value_or(false)) {
    const std::uint64_t fill =
        std::max<std::uint64_t>(1, table.capacity() * kEvictLoadPercent / 100);
    if (const std::size_t held = table.size(); held > fill || held < fill / 2) {
      add(f, "after clear(), " + std::to_string(table.capacity()) + " keys into a table that " +
                 "evicts left " + std::to_string(held) + " entries, not its fill level of " +
                 std::to_string(fill));
    }
  }
  table.clear();
  return f;
}

} // namespace shmtable::stress
