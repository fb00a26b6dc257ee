// stress/checker.cpp: the linearizability checker declared in checker.hpp.
//
// Locality. A map's operations on distinct keys commute, so the history is split by key and
// each key is searched on its own, on a small thread pool, the largest keys first. A `clear`
// becomes, for every key with writes, one erase with its result ignored inside the clear's
// interval (optional if the clear did not complete) and k optional erases, k the number of
// writes to that key overlapping the clear. (A key is skipped if absent throughout: no
// writes, or none begun before the clear ended.)
//
// Search: Wing & Gong with Lowe's memoisation, laid out as in Porcupine. Every operation of a
// key puts a call and a return entry into a doubly linked list sorted by time, calls before
// returns at equal times (equal timestamps overlap). An operation may be linearized next when
// its call entry precedes the first return entry. Linearizing one unlinks its entries
// ("lift"); backtracking relinks them ("unlift"). The depth-first search keeps an explicit
// stack of frames. A node's moves, tried in this order: apply a completed operation that may
// go next (list order); apply a bounded optional one; apply an unbounded one; drop the
// optional operation whose return entry is first. A frame records the move and which of these
// alternatives it was, so backtracking resumes the node with the next move.
//
// Optional operations: those that did not complete (their return entry is at the response_ns
// bound; "unbounded" ones, without a bound, have no entries, see below) and a clear's erases
// described above. Applied, one has the effect of a successful execution; dropped, none;
// either way it then counts as linearized. A drop commutes with everything, so dropping only
// when the return entry reaches the front loses no linearization; for the same reason an
// optional operation that would not change the state is never applied. Incomplete get and
// contains have no effect and are left out. An unbounded operation never has to be passed,
// so it has no entries: it may be applied once invoked (its invocation is not after the first
// return entry), and the key is linearizable once every other operation is.
//
// Symmetry. Interchangeable operations are linearized only in a fixed order, so that their
// permutations are not tried: a clear's erases of one key (same interval, same effect; the
// list scan skips the run of them at once), and unbounded operations with the same effect,
// grouped, the earliest invoked first (it may stand in for any later one).
//
// Memo. A node is (linearized set, state). The set is the XOR of a random 128-bit key per
// operation (Zobrist hashing), updated by every lift and unlift; a table holds (hash, state
// id) pairs, never bitsets. A pair is recorded when its node is first entered; a node met
// again is not on the current path (sets only grow along a path), so it was fully explored
// and failed, and is skipped. Dominance: a node fully explored without success is also
// recorded under (hash of its completed operations, state) with its set of linearized
// optional operations (a linked list in a shared pool: a path's optional moves, newest
// first). A node with the same completed operations and state and a superset of those
// optional ones is skipped too: anything it can do, the recorded node could have done by
// dropping the extra ones (or, within a symmetric run, by using the earlier ones).
//
// Memory is bounded per worker: the tables and the pool have size limits (about 150 MiB in
// all); a full table overwrites and a full pool starts over from the current path, forgetting
// the dominance records. Forgetting costs time, never soundness.
//
// States: the values of a key are interned to integer ids (0 is absent); add interns the
// decimal text of the sums it creates.
//
// Soundness. A violation is reported only when every move of every node reachable from the
// start failed or was pruned, and the moves are complete: any linearization maps to a path of
// moves (an operation it applies next is always a candidate; the optional operations it
// leaves out, or applies without effect, are dropped as their return entries come first; a
// symmetric run is used in its fixed order), and a pruned node is one equal to, or dominated
// by, a node already fully explored. So a linearizable history is never reported as a
// violation, with one theoretical exception: two different sets whose 128-bit hashes collide
// could prune a branch wrongly (probability about n^2 / 2^129 for n nodes). A search that runs
// out of steps reports "inconclusive", never a violation.
#include "checker.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <deque>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace shmtable::stress {
namespace {

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint32_t kAbsent = 0; // state id of "no value"
constexpr std::string_view kNotANumber = "not_a_number";
constexpr std::string_view kTableFull = "table_full";
constexpr std::string_view kKeyTooLarge = "key_too_large";
constexpr std::string_view kValueTooLarge = "value_too_large";
constexpr std::size_t kMaxFailures = 10;
constexpr std::size_t kMaxConcurrentShown = 8;
constexpr std::size_t kMaxStatesShown = 4;
constexpr std::size_t kShownChars = 40;

// splitmix64's output function: a bijective 64-bit mixer.
std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return h;
}

// The whole string as a decimal signed 64-bit integer, or nullopt.
std::optional<std::int64_t> parse_number(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  const char *end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

// A byte string for a human: quoted, escaped, cut after kShownChars bytes.
std::string quote(std::string_view s) {
  std::string out = "\"";
  const std::size_t shown = std::min(s.size(), kShownChars);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > shown) {
    out += "... (" + std::to_string(s.size()) + " bytes)";
  }
  return out;
}

std::string describe(const Operation &op, std::size_t index) {
  std::string s = "#" + std::to_string(index) + " process " + std::to_string(op.process) + ": " +
                  std::string(to_string(op.op)) + "(";
  switch (op.op) {
  case OpKind::kGet:
  case OpKind::kErase:
  case OpKind::kContains:
    s += quote(op.key);
    break;
  case OpKind::kSet:
  case OpKind::kSetIfAbsent:
    s += quote(op.key) + ", " + quote(op.value);
    break;
  case OpKind::kAdd:
    s += quote(op.key) + ", " + std::to_string(op.delta);
    break;
  case OpKind::kCompareAndSet:
    s += quote(op.key) + ", " + quote(op.value) + ", " + quote(op.desired);
    break;
  case OpKind::kClear:
    break;
  }
  s += ") -> ";
  const Result &r = op.result;
  switch (r.kind) {
  case Result::Kind::kUnknown:
    s += "did not complete";
    break;
  case Result::Kind::kAbsent:
    s += "absent";
    break;
  case Result::Kind::kValue:
    s += quote(r.value);
    break;
  case Result::Kind::kBool:
    s += r.flag ? "true" : "false";
    break;
  case Result::Kind::kNumber:
    s += std::to_string(r.number);
    break;
  case Result::Kind::kOk:
    s += "ok";
    break;
  case Result::Kind::kError:
    s += "error " + r.error;
    break;
  }
  s += " [" + std::to_string(op.invoke_ns) + ", ";
  if (!op.response_ns) {
    s += op.completed ? "no response" : "no bound";
  } else {
    s += (op.completed ? "" : "dead by ") + std::to_string(*op.response_ns);
  }
  return s + "]";
}

// Whether the result is one the operation can return at all.
bool result_fits(const Operation &op) {
  using Kind = Result::Kind;
  const Kind k = op.result.kind;
  if (!op.completed) {
    return k == Kind::kUnknown;
  }
  if (k == Kind::kError) {
    return true; // which errors an operation may return, and when, is the rules' to judge
  }
  switch (op.op) {
  case OpKind::kGet:
    return k == Kind::kAbsent || k == Kind::kValue;
  case OpKind::kSet:
  case OpKind::kClear:
    return k == Kind::kOk;
  case OpKind::kErase:
  case OpKind::kContains:
  case OpKind::kCompareAndSet:
  case OpKind::kSetIfAbsent:
    return k == Kind::kBool;
  case OpKind::kAdd:
    return k == Kind::kNumber;
  }
  return false;
}

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
    } else if (!result_fits(op)) {
      problem = op.completed ? "has a result this operation cannot return"
                             : "did not complete but has a result";
    }
    if (problem != nullptr) {
      throw std::invalid_argument("check_linearizable: " + describe(op, i) + ": " + problem);
    }
  }
}

// Whether op could make its key present where it was absent: set, add and set_if_absent that
// did not complete or succeeded. (erase cannot; compare_and_set needs a present value.)
bool may_insert(const Operation &op) {
  const Result &r = op.result;
  switch (op.op) {
  case OpKind::kSet:
  case OpKind::kAdd:
    return !op.completed || r.kind != Result::Kind::kError;
  case OpKind::kSetIfAbsent:
    return !op.completed || (r.kind == Result::Kind::kBool && r.flag);
  default:
    return false;
  }
}

// A key's values, interned to dense ids; id kAbsent stands for "no value".
class StateTable {
public:
  StateTable() {
    values_.emplace_back();
    numbers_.emplace_back();
  }
  std::uint32_t intern(std::string_view s) {
    if (const auto it = ids_.find(s); it != ids_.end()) {
      return it->second;
    }
    const auto id = static_cast<std::uint32_t>(values_.size());
    const std::string &stored = values_.emplace_back(s);
    numbers_.push_back(parse_number(stored));
    ids_.emplace(stored, id);
    return id;
  }
  const std::string &value(std::uint32_t id) const { return values_[id]; }
  const std::optional<std::int64_t> &number(std::uint32_t id) const { return numbers_[id]; }

private:
  std::deque<std::string> values_; // stable addresses: ids_ holds views of them
  std::vector<std::optional<std::int64_t>> numbers_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

// Nodes of the search keyed by (128-bit hash, state id), each with a 32-bit payload: open
// addressing with short linear probes. Bounded: at its size limit it overwrites, forgetting an
// older entry, which costs the search time but never soundness (entries only ever prune).
class NodeTable {
public:
  explicit NodeTable(std::size_t max_slots) : slots_(kInitialSlots), max_slots_(max_slots) {}

  // Records the key and returns true, or returns false if it is already there.
  bool insert_new(std::uint64_t lo, std::uint64_t hi, std::uint32_t state) {
    return insert(lo, hi, state, 0, true);
  }
  // Records the key with `payload`, beside any entries the key already has.
  void add(std::uint64_t lo, std::uint64_t hi, std::uint32_t state, std::uint32_t payload) {
    insert(lo, hi, state, payload, false);
  }
  // Whether pred(payload) holds for an entry with this key.
  template <class Pred>
  bool any_of(std::uint64_t lo, std::uint64_t hi, std::uint32_t state, Pred &&pred) const {
    const std::size_t mask = slots_.size() - 1;
    const std::size_t home = slot_of(lo, state) & mask;
    for (std::size_t i = 0; i < kMaxProbes; ++i) {
      const Slot &s = slots_[(home + i) & mask];
      if (s.state == kEmpty) {
        return false;
      }
      if (s.lo == lo && s.hi == hi && s.state == state && pred(s.payload)) {
        return true;
      }
    }
    return false;
  }
  bool empty() const { return size_ == 0; }
  void clear() {
    slots_.assign(kInitialSlots, Slot{});
    size_ = 0;
  }

private:
  static constexpr std::uint32_t kEmpty = kNone; // no state has this id
  struct Slot {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    std::uint32_t state = kEmpty;
    std::uint32_t payload = 0;
  };
  static constexpr std::size_t kInitialSlots = std::size_t{1} << 10;
  static constexpr std::size_t kMaxProbes = 32;

  static std::size_t slot_of(std::uint64_t lo, std::uint32_t state) {
    return static_cast<std::size_t>(mix64(lo ^ (state * 0x9e3779b97f4a7c15ULL)));
  }

  bool insert(std::uint64_t lo, std::uint64_t hi, std::uint32_t state, std::uint32_t payload,
              bool unique) {
    for (;;) {
      const std::size_t mask = slots_.size() - 1;
      const std::size_t home = slot_of(lo, state) & mask;
      for (std::size_t i = 0; i < kMaxProbes; ++i) {
        Slot &s = slots_[(home + i) & mask];
        if (s.state == kEmpty) {
          s = Slot{lo, hi, state, payload};
          if (++size_ * 2 > slots_.size() && slots_.size() < max_slots_) {
            grow();
          }
          return true;
        }
        if (unique && s.lo == lo && s.hi == hi && s.state == state) {
          return false;
        }
      }
      if (slots_.size() < max_slots_) {
        grow();
        continue;
      }
      slots_[home] = Slot{lo, hi, state, payload};
      return true;
    }
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    size_ = 0;
    for (const Slot &s : old) {
      if (s.state == kEmpty) {
        continue;
      }
      const std::size_t home = slot_of(s.lo, s.state) & mask;
      for (std::size_t i = 0; i < kMaxProbes; ++i) {
        Slot &t = slots_[(home + i) & mask];
        if (t.state == kEmpty) {
          t = s;
          ++size_;
          break;
        }
      } // no room within the probe limit (vanishingly rare): forgotten
    }
  }

  std::vector<Slot> slots_;
  std::size_t max_slots_;
  std::size_t size_ = 0;
};

enum class Verdict : std::uint8_t { kLinearizable, kViolation, kInconclusive };

struct KeyResult {
  Verdict verdict = Verdict::kLinearizable;
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
};

// The rule of a completed operation that failed with `error` (checker.hpp, "errors").
Rule error_rule(const Operation &op, const std::string &error, const CheckOptions &options) {
  const bool writes_value = op.op == OpKind::kSet || op.op == OpKind::kAdd ||
                            op.op == OpKind::kCompareAndSet || op.op == OpKind::kSetIfAbsent;
  if (error == kNotANumber) {
    return op.op == OpKind::kAdd ? Rule::kAddNotANumber : Rule::kNever;
  }
  if (error == kKeyTooLarge) {
    return op.op != OpKind::kClear ? Rule::kNoop : Rule::kNever;
  }
  if (error == kValueTooLarge) {
    return writes_value ? Rule::kNoop : Rule::kNever;
  }
  if (error == kTableFull) {
    switch (op.op) {
    case OpKind::kSetIfAbsent: // a present key is answered false before any buffer is taken
      return Rule::kFullIfAbsent;
    case OpKind::kSet:
    case OpKind::kAdd:
      return options.buffers_may_run_out ? Rule::kNoop : Rule::kFullIfAbsent;
    case OpKind::kCompareAndSet: // never inserts; needs a buffer only to replace a value
      return options.buffers_may_run_out ? Rule::kNoop : Rule::kNever;
    default:
      return Rule::kNever;
    }
  }
  return Rule::kNever;
}

enum class ClearPart : std::uint8_t { kNone, kMandatory, kExtra };

class KeyChecker {
public:
  KeyChecker(const std::vector<Operation> &history, std::string_view key,
             const std::vector<std::uint32_t> &own, const std::vector<std::uint32_t> &clears,
             const CheckOptions &options)
      : history_(history), key_(key), options_(options), max_steps_(options.max_steps_per_key) {
    for (const std::uint32_t index : own) {
      add_own(index);
    }
    add_clears(clears);
    link_entries();
  }

  KeyResult run() {
    KeyResult r;
    r.verdict = search();
    r.operations = operations_;
    r.steps = steps_;
    if (r.verdict != Verdict::kLinearizable) {
      r.explanation = explain(r.verdict);
    }
    return r;
  }

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
    Rule rule = Rule::kNoop;
    bool flag = false;
    bool optional = false;
    ClearPart clear = ClearPart::kNone;
  };
  struct Frame {
    std::uint32_t op;
    std::uint32_t state_before;
    std::uint32_t link;       // optional operations: its link in chain_
    std::uint8_t alternative; // as the search's cursor; 4 when dropped
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

  void add_own(std::uint32_t index) {
    const Operation &op = history_[index];
    ++operations_;
    if (may_insert(op)) {
      insert_calls_.push_back(op.invoke_ns);
      insert_rets_.push_back(op.response_ns.value_or(kInfinity));
    }
    KeyOp k;
    k.source = index;
    k.call = op.invoke_ns;
    k.ret = op.response_ns.value_or(kInfinity);
    k.optional = !op.completed;
    const Result &r = op.result;
    if (!op.completed) {
      switch (op.op) {
      case OpKind::kGet:
      case OpKind::kContains:
      case OpKind::kClear:
        return; // no effect either way
      case OpKind::kSet:
        k.rule = Rule::kSet;
        k.a = states_.intern(op.value);
        break;
      case OpKind::kErase:
        k.rule = Rule::kEraseAny;
        break;
      case OpKind::kAdd:
        k.rule = Rule::kAddAny;
        k.delta = op.delta;
        break;
      case OpKind::kCompareAndSet:
        k.rule = Rule::kCompareAndSetAny;
        k.a = states_.intern(op.value);
        k.b = states_.intern(op.desired);
        break;
      case OpKind::kSetIfAbsent:
        k.rule = Rule::kSetIfAbsentAny;
        k.a = states_.intern(op.value);
        break;
      }
    } else if (r.kind == Result::Kind::kError) {
      k.rule = error_rule(op, r.error, options_);
      k.delta = op.delta;
    } else {
      k.flag = r.flag;
      switch (op.op) {
      case OpKind::kGet:
        k.rule = Rule::kGet;
        k.a = r.kind == Result::Kind::kValue ? states_.intern(r.value) : kAbsent;
        break;
      case OpKind::kContains:
        k.rule = Rule::kContains;
        break;
      case OpKind::kSet:
        k.rule = Rule::kSet;
        k.a = states_.intern(op.value);
        break;
      case OpKind::kErase:
        k.rule = Rule::kErase;
        break;
      case OpKind::kAdd:
        k.rule = Rule::kAdd;
        k.delta = op.delta;
        k.number = r.number;
        k.a = states_.intern(std::to_string(r.number));
        break;
      case OpKind::kCompareAndSet:
        k.rule = Rule::kCompareAndSet;
        k.a = states_.intern(op.value);
        k.b = states_.intern(op.desired);
        break;
      case OpKind::kSetIfAbsent:
        k.rule = Rule::kSetIfAbsent;
        k.a = states_.intern(op.value);
        break;
      case OpKind::kClear:
        return; // never filed under a key
      }
    }
    ops_.push_back(k);
  }

  // A clear's erases of this key: one (optional if the clear did not complete) and k optional
  // further ones. checker.hpp bounds k by the writes overlapping the clear; only writes that
  // could insert the key can make a further erase do anything (each gap between two erases
  // that remove something holds an insertion inside the clear's interval), so k counts just
  // those, which accepts exactly the same histories.
  void add_clears(const std::vector<std::uint32_t> &clears) {
    if (insert_calls_.empty()) {
      return; // absent throughout: every erase of a clear is a no-op
    }
    std::sort(insert_calls_.begin(), insert_calls_.end());
    std::sort(insert_rets_.begin(), insert_rets_.end());
    const std::size_t inserts = insert_calls_.size();
    for (const std::uint32_t index : clears) {
      const Operation &op = history_[index];
      const std::uint64_t call = op.invoke_ns;
      const std::uint64_t ret = op.response_ns.value_or(kInfinity);
      if (ret < insert_calls_.front()) {
        continue; // over before anything could insert the key: absent throughout
      }
      const auto ended_before = static_cast<std::size_t>(
          std::lower_bound(insert_rets_.begin(), insert_rets_.end(), call) - insert_rets_.begin());
      const auto began_after = static_cast<std::size_t>(
          insert_calls_.end() - std::upper_bound(insert_calls_.begin(), insert_calls_.end(), ret));
      const std::size_t k = inserts - ended_before - began_after;
      KeyOp erase;
      erase.source = index;
      erase.call = call;
      erase.ret = ret;
      erase.rule = Rule::kEraseAny;
      if (ops_.size() + k >= kNone / 4) {
        throw std::length_error("check_linearizable: key " + quote(key_) +
                                " has too many operations after expanding clear");
      }
      for (std::size_t j = 0; j <= k; ++j) {
        erase.optional = j > 0 || !op.completed;
        erase.clear = j == 0 ? ClearPart::kMandatory : ClearPart::kExtra;
        ops_.push_back(erase);
        ++operations_;
      }
    }
  }

  // Unbounded: optional with no response bound. Such an operation never has to be passed, so
  // it has no entries in the list; it may be applied once it is invoked, that is, once its
  // invocation is not after the first return entry.
  static bool unbounded(const KeyOp &op) { return op.optional && op.ret == kInfinity; }

  void link_entries() {
    // By invocation, so that index order is invocation order within each chain below.
    std::stable_sort(ops_.begin(), ops_.end(),
                     [](const KeyOp &x, const KeyOp &y) { return x.call < y.call; });
    const auto n = static_cast<std::uint32_t>(ops_.size());
    // Interchangeable operations are linearized only in index order, so that the search does
    // not try their permutations: a clear's erases of this key (consecutive, one interval),
    // and unbounded operations with the same effect (an earlier-invoked one can stand in for
    // a later one), which form a group.
    std::map<std::tuple<Rule, std::uint32_t, std::uint32_t, std::int64_t>, std::uint32_t> groups;
    for (std::uint32_t i = 0; i < n; ++i) {
      KeyOp &k = ops_[i];
      if (unbounded(k)) {
        const auto [it, fresh] = groups.try_emplace({k.rule, k.a, k.b, k.delta},
                                                    static_cast<std::uint32_t>(groups_.size()));
        if (fresh) {
          groups_.emplace_back();
        }
        k.group = it->second;
        groups_[k.group].members.push_back(i);
      } else if (k.clear == ClearPart::kExtra) {
        k.after = i - 1;
      }
    }
    for (std::uint32_t i = n; i-- > 0;) {
      if (ops_[i].clear == ClearPart::kExtra && ops_[i].after != kNone) {
        ops_[i].last = i + 1 < n && ops_[i + 1].after == i ? ops_[i + 1].last : i;
      }
    }
    std::uint64_t seed = fnv1a(key_);
    for (KeyOp &k : ops_) {
      k.zlo = mix64(seed += 0x9e3779b97f4a7c15ULL);
      k.zhi = mix64(seed += 0x9e3779b97f4a7c15ULL);
    }
    std::vector<std::uint32_t> entries;
    entries.reserve(2 * std::size_t{n});
    for (std::uint32_t i = 0; i < n; ++i) {
      if (!unbounded(ops_[i])) {
        entries.push_back(2 * i);
        entries.push_back(2 * i + 1);
      }
    }
    const auto time = [this](std::uint32_t e) {
      return is_call(e) ? ops_[e >> 1].call : ops_[e >> 1].ret;
    };
    // By time, calls before returns, then by operation (keeps chains in order).
    std::sort(entries.begin(), entries.end(), [&](std::uint32_t x, std::uint32_t y) {
      const std::uint64_t tx = time(x);
      const std::uint64_t ty = time(y);
      if (tx != ty) {
        return tx < ty;
      }
      if ((x & 1) != (y & 1)) {
        return (x & 1) < (y & 1);
      }
      return x < y;
    });
    head_ = 2 * n;
    next_.assign(2 * std::size_t{n} + 1, head_);
    prev_.assign(2 * std::size_t{n} + 1, head_);
    std::uint32_t tail = head_;
    for (const std::uint32_t e : entries) {
      next_[tail] = e;
      prev_[e] = tail;
      tail = e;
    }
    next_[tail] = head_;
    prev_[head_] = tail;
  }

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

  // The sum an add would produce from state s, or nullopt (not a number, or overflow).
  std::optional<std::int64_t> sum(std::uint32_t s, std::int64_t delta) const {
    std::int64_t base = 0;
    if (s != kAbsent) {
      const auto &n = states_.number(s);
      if (!n) {
        return std::nullopt;
      }
      base = *n;
    }
    std::int64_t out = 0;
    if (__builtin_add_overflow(base, delta, &out)) {
      return std::nullopt;
    }
    return out;
  }

  // Whether op may take effect in state s; if so, the state after it in `out`.
  bool apply(const KeyOp &op, std::uint32_t s, std::uint32_t &out) {
    out = s;
    switch (op.rule) {
    case Rule::kNoop:
      return true;
    case Rule::kGet:
      return s == op.a;
    case Rule::kContains:
      return (s != kAbsent) == op.flag;
    case Rule::kSet:
      out = op.a;
      return true;
    case Rule::kErase:
      out = kAbsent;
      return (s != kAbsent) == op.flag;
    case Rule::kEraseAny:
      out = kAbsent;
      return true;
    case Rule::kAdd: {
      const auto n = sum(s, op.delta);
      out = op.a;
      return n && *n == op.number;
    }
    case Rule::kAddNotANumber:
      return !sum(s, op.delta);
    case Rule::kAddAny:
      if (const auto n = sum(s, op.delta)) {
        out = states_.intern(std::to_string(*n));
      }
      return true;
    case Rule::kCompareAndSet:
      if (s == op.a) {
        out = op.b;
      }
      return (s == op.a) == op.flag;
    case Rule::kCompareAndSetAny:
      if (s == op.a) {
        out = op.b;
      }
      return true;
    case Rule::kSetIfAbsent:
      if (s == kAbsent) {
        out = op.a;
      }
      return (s == kAbsent) == op.flag;
    case Rule::kSetIfAbsentAny:
      if (s == kAbsent) {
        out = op.a;
      }
      return true;
    case Rule::kFullIfAbsent:
      return s == kAbsent;
    case Rule::kNever:
      return false;
    }
    return false;
  }

  bool budget_spent() const { return max_steps_ != 0 && steps_ >= max_steps_; }

  // A node with no alternative left; remembered when it is as deep as the search has been.
  void note_dead_end(std::size_t depth, std::uint32_t state) {
    if (depth != deepest_) {
      return;
    }
    if (blocker_ == kNone) {
      blocker_ = first_return() >> 1;
    }
    if (deepest_states_.size() < kMaxStatesShown &&
        std::find(deepest_states_.begin(), deepest_states_.end(), state) == deepest_states_.end()) {
      deepest_states_.push_back(state);
    }
  }

  // Whether every optional operation on chain c (a set of optional operations linearized
  // on some path) is linearized now, or is `extra`.
  bool covers(std::uint32_t c, std::uint32_t extra) const {
    for (; c != kNone; c = chain_[c].parent) {
      if (chain_[c].on_path) {
        return true; // the rest of it is the current path's own
      }
      if (chain_[c].op != extra && !done_[chain_[c].op]) {
        return false;
      }
    }
    return true;
  }

  // Starts the pool over with just the current path's links (when it has grown too big), and
  // forgets the failed nodes, which name links of the old pool. Returns the path's last link.
  std::uint32_t compact_chain(std::vector<Frame> &stack, NodeTable &failed) {
    failed.clear();
    chain_.clear();
    std::uint32_t parent = kNone;
    for (Frame &f : stack) {
      if (ops_[f.op].optional) {
        chain_.push_back(ChainLink{f.op, parent, true});
        f.link = parent = static_cast<std::uint32_t>(chain_.size() - 1);
      }
    }
    return parent;
  }

  Verdict search() {
    const auto n = static_cast<std::uint32_t>(ops_.size());
    std::vector<Frame> stack;
    stack.reserve(n);
    done_.assign(n, 0);
    chain_.clear();
    // Operations still to be linearized, but for unbounded ones, which can always be dropped.
    std::size_t left = 0;
    for (const KeyOp &op : ops_) {
      left += unbounded(op) ? 0 : 1;
    }
    // Every node entered: (hash of its linearized set, state).
    NodeTable visited(kMaxVisited);
    // Nodes fully explored without success: (hash of the completed operations among its
    // linearized set, state) -> the chain link of its optional ones. A node with the same
    // completed operations and state and a superset of those optional ones can do nothing
    // that node could not (it could drop the extra ones instead), so it is skipped.
    NodeTable failed(kMaxFailed);
    std::uint64_t all_lo = 0;
    std::uint64_t all_hi = 0;
    std::uint64_t done_lo = 0; // completed operations only
    std::uint64_t done_hi = 0;
    std::uint32_t state = kAbsent;
    std::uint32_t link = kNone; // the current path's optional operations
    visited.insert_new(all_lo, all_hi, state);
    // Whether the node reached by linearizing op i, in state s, is new and not dominated.
    const auto admit = [&](std::uint32_t i, std::uint32_t s) {
      const KeyOp &op = ops_[i];
      if (!visited.insert_new(all_lo ^ op.zlo, all_hi ^ op.zhi, s)) {
        return false;
      }
      if (failed.empty()) {
        return true;
      }
      const std::uint64_t lo = op.optional ? done_lo : done_lo ^ op.zlo;
      const std::uint64_t hi = op.optional ? done_hi : done_hi ^ op.zhi;
      return !failed.any_of(lo, hi, s, [&](std::uint32_t c) { return covers(c, i); });
    };
    // Whether applying op i in the current state is a move: it is allowed, and, for an
    // optional operation, changes something (one that changes nothing is as good as dropped,
    // which is tried when its return entry comes to the front, or never needed if unbounded).
    std::uint32_t next_state = state;
    const auto try_apply = [&](std::uint32_t i) {
      const KeyOp &op = ops_[i];
      ++steps_;
      return apply(op, state, next_state) && (!op.optional || next_state != state) &&
             admit(i, next_state);
    };
    // The cursor: which alternative is being tried (0: apply a completed operation, 1: apply
    // a bounded optional one, 2: apply an unbounded one, 3: drop, 4: none left) and where in
    // it: for 0 and 1 the entry to try next, for 2 the group.
    std::uint8_t alternative = 0;
    std::uint32_t e = next_[head_];
    std::size_t g = 0;
    for (;;) {
      if (left == 0) {
        return Verdict::kLinearizable;
      }
      std::uint32_t chosen = kNone;
      std::uint32_t chosen_state = state;
      while (alternative < 3 && chosen == kNone) {
        if (alternative < 2) {
          for (; e != head_ && is_call(e); e = next_[e]) {
            const std::uint32_t i = e >> 1;
            const KeyOp &op = ops_[i];
            if (op.after != kNone && !done_[op.after]) {
              e = skip(e);
              continue;
            }
            if (op.optional != (alternative == 1)) {
              continue;
            }
            if (budget_spent()) {
              return Verdict::kInconclusive;
            }
            if (try_apply(i)) {
              chosen = i;
              chosen_state = next_state;
              break;
            }
          }
        } else {
          const std::uint64_t now = ops_[first_return() >> 1].ret;
          for (; g < groups_.size(); ++g) {
            const Group &group = groups_[g];
            if (group.next == group.members.size() || ops_[group.members[group.next]].call > now) {
              continue;
            }
            if (budget_spent()) {
              return Verdict::kInconclusive;
            }
            if (try_apply(group.members[group.next])) {
              chosen = group.members[group.next];
              chosen_state = next_state;
              break;
            }
          }
        }
        if (chosen == kNone) {
          ++alternative;
          e = next_[head_];
          g = 0;
        }
      }
      if (chosen == kNone && alternative == 3) {
        alternative = 4;
        const std::uint32_t i = first_return() >> 1;
        const KeyOp &op = ops_[i];
        if (op.optional && (op.after == kNone || done_[op.after])) {
          if (budget_spent()) {
            return Verdict::kInconclusive;
          }
          ++steps_;
          if (admit(i, state)) {
            chosen = i;
          }
        }
      }
      if (chosen != kNone) {
        const KeyOp &op = ops_[chosen];
        Frame f{chosen, state, kNone, alternative};
        if (op.optional) {
          if (chain_.size() >= kMaxChainLinks) {
            link = compact_chain(stack, failed);
          }
          chain_.push_back(ChainLink{chosen, link, true});
          f.link = link = static_cast<std::uint32_t>(chain_.size() - 1);
        } else {
          done_lo ^= op.zlo;
          done_hi ^= op.zhi;
        }
        stack.push_back(f);
        lift(chosen);
        done_[chosen] = 1;
        all_lo ^= op.zlo;
        all_hi ^= op.zhi;
        left -= unbounded(op) ? 0 : 1;
        state = chosen_state;
        if (stack.size() > deepest_) {
          deepest_ = stack.size();
          blocker_ = kNone;
          deepest_states_.clear();
        }
        alternative = 0;
        e = next_[head_];
        continue;
      }
      note_dead_end(stack.size(), state);
      if (stack.empty()) {
        return Verdict::kViolation;
      }
      failed.add(done_lo, done_hi, state, link);
      const Frame f = stack.back();
      stack.pop_back();
      const KeyOp &op = ops_[f.op];
      unlift(f.op);
      done_[f.op] = 0;
      all_lo ^= op.zlo;
      all_hi ^= op.zhi;
      if (op.optional) {
        chain_[f.link].on_path = false;
        link = chain_[f.link].parent;
      } else {
        done_lo ^= op.zlo;
        done_hi ^= op.zhi;
      }
      left += unbounded(op) ? 0 : 1;
      state = f.state_before;
      alternative = f.alternative;
      if (alternative == 2) {
        g = op.group + 1;
      } else {
        e = next_[2 * f.op];
      }
    }
  }

  std::string describe_key_op(std::uint32_t i) const {
    const KeyOp &k = ops_[i];
    std::string s = describe(history_[k.source], k.source);
    if (k.clear == ClearPart::kMandatory) {
      s += " (its erase of this key)";
    } else if (k.clear == ClearPart::kExtra) {
      s += " (a further optional erase of this key)";
    }
    return s;
  }

  std::string describe_state(std::uint32_t s) const {
    return s == kAbsent ? std::string("absent") : quote(states_.value(s));
  }

  std::string explain(Verdict verdict) const {
    std::string s = "key " + quote(key_) + ": ";
    if (verdict == Verdict::kViolation) {
      s += "not linearizable: no order of its " + std::to_string(ops_.size()) +
           " operations agrees with both real time and the map's specification; at most " +
           std::to_string(deepest_) + " could be linearized.\n";
    } else {
      s += "inconclusive: the search ran out of its " + std::to_string(max_steps_) +
           " steps, having linearized at most " + std::to_string(deepest_) + " of " +
           std::to_string(ops_.size()) + " operations.\n";
    }
    if (blocker_ == kNone) {
      return s;
    }
    const KeyOp &b = ops_[blocker_];
    s += std::string("  the longest linearized prefixes") +
         (verdict == Verdict::kViolation ? " all" : " so far") +
         " got stuck before the response of\n    " + describe_key_op(blocker_) + "\n";
    s += deepest_states_.size() == 1 ? "  state after that prefix: "
                                     : "  states after those prefixes: ";
    for (std::size_t i = 0; i < deepest_states_.size(); ++i) {
      s += (i == 0 ? "" : ", ") + describe_state(deepest_states_[i]);
    }
    s += "\n";
    std::vector<std::uint32_t> concurrent;
    for (std::uint32_t i = 0; i < ops_.size(); ++i) {
      const KeyOp &k = ops_[i];
      if (k.source != b.source && k.clear != ClearPart::kExtra && k.call <= b.ret &&
          k.ret >= b.call) {
        concurrent.push_back(i);
      }
    }
    const std::size_t total = concurrent.size();
    // The ones invoked nearest to it, listed by invocation.
    const auto distance = [&](std::uint32_t i) {
      return ops_[i].call > b.call ? ops_[i].call - b.call : b.call - ops_[i].call;
    };
    std::stable_sort(concurrent.begin(), concurrent.end(),
                     [&](std::uint32_t x, std::uint32_t y) { return distance(x) < distance(y); });
    concurrent.resize(std::min(total, kMaxConcurrentShown));
    std::sort(concurrent.begin(), concurrent.end()); // index order is invocation order
    if (concurrent.empty()) {
      s += "  no operation on this key overlaps it\n";
    } else {
      s += "  operations on this key that overlap it (" +
           (total > concurrent.size() ? std::to_string(concurrent.size()) + " nearest of " : "") +
           std::to_string(total) + "):\n";
      for (const std::uint32_t i : concurrent) {
        s += "    " + describe_key_op(i) + "\n";
      }
    }
    return s;
  }

  const std::vector<Operation> &history_;
  std::string_view key_;
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
  std::vector<std::uint8_t> done_; // linearized (applied or dropped)
  std::vector<ChainLink> chain_;
  std::vector<Group> groups_;
  // The deepest point reached: how many operations were linearized, the operation whose
  // return entry stopped the first dead end there, and the states of such dead ends.
  std::size_t deepest_ = 0;
  std::uint32_t blocker_ = kNone;
  std::vector<std::uint32_t> deepest_states_;
};

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
        KeyChecker checker(history, task.key, task.ops, clears, options);
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
  std::vector<KeyFailure> failures;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    KeyResult &r = results[i];
    report.operations += r.operations;
    report.steps += r.steps;
    if (r.verdict == Verdict::kLinearizable) {
      continue;
    }
    const bool inconclusive = r.verdict == Verdict::kInconclusive;
    ++(inconclusive ? report.inconclusive : report.violations);
    failures.push_back(
        KeyFailure{std::string(tasks[i].key), inconclusive, std::move(r.explanation)});
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
