// stress/checker_internal.hpp: what the files of the linearizability checker share; no part
// of its interface (that is checker.hpp).
//
// The checker in parts:
//   checker.cpp          check_linearizable: the history split by key, the keys checked on a
//                        thread pool, the report.
//   checker_rules.cpp    a key's operations as rules (what each requires and does), a
//                        clear's erases; checker_rules.hpp: a rule applied to a state.
//   checker_search.cpp   KeyChecker's search for a linearization of one key.
//   checker_memo.hpp     the memo tables of the search's nodes; checker_memo.cpp: the pool
//                        of their optional operations.
//   checker_expiry.cpp   the table clock's readings and what they bound: when a deadline
//                        passes (checker_expiry.hpp); a deadline's expiry as an operation.
//   checker_explain.cpp  the explanation of a key that has no linearization (or ran out of
//                        steps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checker.hpp"

namespace shmtable::stress::checker_detail {

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint32_t kAbsent = 0; // state id of "no value"

// splitmix64's output function: a bijective 64-bit mixer.
inline std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return h;
}

// checker_rules.cpp
std::optional<std::int64_t> parse_number(std::string_view s);
bool result_fits(const Operation &op);
// checker_explain.cpp
std::string quote(std::string_view s);
std::string describe(const Operation &op, std::size_t index);
std::string describe_deadline(const Operation &w);

// A key's states, interned to dense ids; id kAbsent stands for "no value". A state is a
// value and a life: kNone (no deadline), or the history index of the write whose ttl gave
// the entry its deadline (checker_expiry.hpp), which add and compare_and_set carry over.
class StateTable {
public:
  StateTable() {
    strings_.emplace_back();
    numbers_.emplace_back();
    states_.push_back(State{0, 0, kNone});
  }
  // The state of value s without a deadline.
  std::uint32_t intern(std::string_view s) {
    if (const auto it = ids_.find(s); it != ids_.end()) {
      return it->second;
    }
    const auto str = static_cast<std::uint32_t>(strings_.size());
    const std::string &stored = strings_.emplace_back(s);
    numbers_.push_back(parse_number(stored));
    const auto id = static_cast<std::uint32_t>(states_.size());
    states_.push_back(State{str, id, kNone});
    ids_.emplace(stored, id);
    return id;
  }
  // State s's value with life `life` (kNone: no deadline). Not for kAbsent.
  std::uint32_t with_life(std::uint32_t s, std::uint32_t life) {
    const std::uint32_t base = states_[s].untimed;
    if (life == kNone) {
      return base;
    }
    const std::uint64_t k = (std::uint64_t{base} << 32) | life;
    if (const auto it = timed_.find(k); it != timed_.end()) {
      return it->second;
    }
    const auto id = static_cast<std::uint32_t>(states_.size());
    states_.push_back(State{states_[base].str, base, life});
    timed_.emplace(k, id);
    return id;
  }
  // The same value without a deadline: what a get or a compare compares.
  std::uint32_t untimed(std::uint32_t s) const { return states_[s].untimed; }
  std::uint32_t life(std::uint32_t s) const { return states_[s].life; }
  const std::string &value(std::uint32_t s) const { return strings_[states_[s].str]; }
  const std::optional<std::int64_t> &number(std::uint32_t s) const {
    return numbers_[states_[s].str];
  }

private:
  struct State {
    std::uint32_t str;     // its value, in strings_
    std::uint32_t untimed; // the state of the same value without a deadline
    std::uint32_t life;
  };
  std::deque<std::string> strings_; // stable addresses: ids_ holds views of them
  std::vector<std::optional<std::int64_t>> numbers_;
  std::vector<State> states_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
  std::unordered_map<std::uint64_t, std::uint32_t> timed_;
};

enum class Verdict : std::uint8_t { kLinearizable, kViolation, kInconclusive };

struct KeyResult {
  Verdict verdict = Verdict::kLinearizable;
  std::uint64_t evictions = 0; // spontaneous erases the linearization found uses
  std::size_t operations = 0;
  std::uint64_t steps = 0;
  std::string explanation;
};

// What an operation of one key requires and does, as a function of the state.
enum class Rule : std::uint8_t {
  kNoop,             // an error allowed in any state (oversize input, ...): no effect
  kGet,              // the state is a
  kContains,         // presence is flag
  kSet,              // state becomes a
  kErase,            // presence is flag; state becomes absent
  kEraseAny,         // state becomes absent (clear's erases, an erase that did not complete)
  kAdd,              // state + delta is number; state becomes a (its text)
  kAddNotANumber,    // state present and not a number, or the sum overflows
  kAddAny,           // if state + delta is defined, the state becomes it
  kCompareAndSet,    // (state == a) is flag; if so, state becomes b
  kCompareAndSetAny, // if state == a, state becomes b
  kSetIfAbsent,      // absence is flag; if absent, state becomes a
  kSetIfAbsentAny,   // if absent, state becomes a
  kFullIfAbsent,     // table_full of an insert: the state is absent; no effect
  kNever,            // an error this operation cannot return: no state admits it
  kExpire,           // the deadline of write `life` passes: if the state has that life,
                     // it becomes absent (checker_expiry.hpp)
};

enum class ClearPart : std::uint8_t { kNone, kMandatory, kExtra };

class NodeTable;
class ClockMap;

// One key's sub-history and the search for its linearization.
class KeyChecker {
public:
  // The key's own operations (`own`) and the clears (`clears`), by index in `history`.
  // `clock`: the table clock's readings of the whole history (checker_expiry.hpp).
  KeyChecker(const std::vector<Operation> &history, std::string_view key,
             const std::vector<std::uint32_t> &own, const std::vector<std::uint32_t> &clears,
             const ClockMap &clock, const CheckOptions &options);

  // The search, with 0 spontaneous erases allowed, then 1, ... up to the eviction budget:
  // the first linearization found uses the fewest.
  KeyResult run();

private:
  struct KeyOp {
    std::uint64_t call = 0;
    std::uint64_t ret = 0;
    std::uint64_t zlo = 0; // Zobrist key
    std::uint64_t zhi = 0;
    std::int64_t delta = 0;
    std::int64_t number = 0;
    std::uint32_t source = 0; // index in the history
    std::uint32_t a = kAbsent;
    std::uint32_t b = kAbsent;
    std::uint32_t after = kNone; // must be linearized before this one (a clear's erases)
    std::uint32_t group = kNone; // unbounded: its group in groups_
    std::uint32_t last = kNone;  // a clear's further erases: the last of them
    // The life its insert gives the key (kSet and kSetIfAbsent have it in `a` already;
    // kAdd, kAddAny: a key it creates); kExpire: the life that expires.
    std::uint32_t life = kNone;
    Rule rule = Rule::kNoop;
    bool flag = false;
    bool optional = false;
    ClearPart clear = ClearPart::kNone;
  };
  // Frame::op of a spontaneous erase (an eviction), which linearizes no operation.
  static constexpr std::uint32_t kEvict = kNone - 1;
  struct Frame {
    std::uint32_t op;
    std::uint32_t state_before;
    std::uint32_t link;       // optional operations: its link in chain_
    std::uint8_t alternative; // as the search's cursor, for the next move to try
  };
  // The optional operations linearized on a path, as a linked list into a shared pool: a node
  // names its set by its last link.
  struct ChainLink {
    std::uint32_t op;
    std::uint32_t parent;
    bool on_path; // a link of the current path
  };
  // Memory bounds per key being checked (per worker thread): 24 bytes a table slot, 12 a
  // link, about 150 MiB in all.
  static constexpr std::size_t kMaxVisited = std::size_t{1} << 22;
  static constexpr std::size_t kMaxFailed = std::size_t{1} << 20;
  static constexpr std::size_t kMaxChainLinks = std::size_t{1} << 21;
  // Unbounded operations with one effect, in invocation order; the first `next` are
  // linearized.
  struct Group {
    std::vector<std::uint32_t> members;
    std::size_t next = 0;
  };

  static bool is_call(std::uint32_t entry) { return (entry & 1) == 0; }

  // Unbounded: optional with no response bound. Such an operation never has to be passed, so
  // it has no entries in the list; it may be applied once it is invoked, that is, once its
  // invocation is not after the first return entry.
  static bool unbounded(const KeyOp &op) { return op.optional && op.ret == kInfinity; }

  // The rules (checker_rules.cpp, checker_rules.hpp).
  void add_own(std::uint32_t index);
  void add_clears(const std::vector<std::uint32_t> &clears);
  // checker_expiry.cpp: the expiry of what the write at history index `index` gives a
  // deadline, as an operation of the key.
  void add_expiry(std::uint32_t index);
  std::optional<std::int64_t> sum(std::uint32_t s, std::int64_t delta) const;
  bool apply(const KeyOp &op, std::uint32_t s, std::uint32_t &out);

  // The search (checker_search.cpp), on the list of call and return entries; the list
  // operations inline, as the search takes one at every step.
  void link_entries();
  void unlink(std::uint32_t e) {
    next_[prev_[e]] = next_[e];
    prev_[next_[e]] = prev_[e];
  }
  void relink(std::uint32_t e) {
    next_[prev_[e]] = e;
    prev_[next_[e]] = e;
  }
  void lift(std::uint32_t op) {
    if (unbounded(ops_[op])) {
      ++groups_[ops_[op].group].next;
    } else {
      unlink(2 * op);
      unlink(2 * op + 1);
    }
  }
  void unlift(std::uint32_t op) {
    if (unbounded(ops_[op])) {
      --groups_[ops_[op].group].next;
    } else {
      relink(2 * op + 1);
      relink(2 * op);
    }
  }
  // The call entry to go on from when entry e's operation may not be linearized yet: a clear's
  // further erases of the key are consecutive in the list, and if one may not, neither may
  // those after it, so the scan skips to the last of them.
  std::uint32_t skip(std::uint32_t e) const {
    const KeyOp &op = ops_[e >> 1];
    return op.last == kNone ? e : 2 * op.last;
  }
  std::uint32_t first_return() const {
    std::uint32_t e = next_[head_];
    while (e != head_ && is_call(e)) {
      e = next_[skip(e)];
    }
    return e;
  }
  bool budget_spent() const { return max_steps_ != 0 && steps_ >= max_steps_; }
  // One search, with at most `evictions` spontaneous erases of a present key.
  Verdict search(std::uint64_t evictions);

  // The pool of the optional operations linearized (checker_memo.cpp).
  bool covers(std::uint32_t c, std::uint32_t extra) const;
  std::uint32_t compact_chain(std::vector<Frame> &stack, NodeTable &failed);

  // The explanation (checker_explain.cpp).
  void note_dead_end(std::size_t depth, std::uint32_t state);
  std::string describe_key_op(std::uint32_t i) const;
  std::string describe_state(std::uint32_t s) const;
  std::string explain(Verdict verdict) const;

  const std::vector<Operation> &history_;
  std::string_view key_;
  const ClockMap &clock_;
  const CheckOptions &options_;
  std::uint64_t max_steps_;
  StateTable states_;
  std::vector<KeyOp> ops_;
  // Intervals of the operations that could insert the key (see add_clears).
  std::vector<std::uint64_t> insert_calls_;
  std::vector<std::uint64_t> insert_rets_;
  std::size_t operations_ = 0;
  // The entry list: entry 2i is operation i's call, 2i + 1 its return; head_ the sentinel.
  std::vector<std::uint32_t> next_;
  std::vector<std::uint32_t> prev_;
  std::uint32_t head_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t evictions_ = 0;    // allowed in the current search
  std::vector<std::uint8_t> done_; // linearized (applied or dropped)
  std::vector<ChainLink> chain_;
  std::vector<Group> groups_;
  // The deepest point reached: how many operations were linearized, the operation whose
  // return entry stopped the first dead end there, and the states of such dead ends.
  std::size_t deepest_ = 0;
  std::uint32_t blocker_ = kNone;
  std::vector<std::uint32_t> deepest_states_;
};

} // namespace shmtable::stress::checker_detail
