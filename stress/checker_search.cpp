// stress/checker_search.cpp: the search for a linearization of one key's sub-history.
//
// Search: Wing & Gong with Lowe's memoisation, laid out as in Porcupine. Every operation of a
// key puts a call and a return entry into a doubly linked list sorted by time, calls before
// returns at equal times (equal timestamps overlap). An operation may be linearized next when
// its call entry precedes the first return entry. Linearizing one unlinks its entries
// ("lift"); backtracking relinks them ("unlift"). The depth-first search keeps an explicit
// stack of frames. A node's moves, tried in this order: apply a completed operation that may
// go next (list order); apply a bounded optional one; apply an unbounded one; drop the
// optional operation whose return entry is first. A frame records the move and which of these
// alternatives it was, so backtracking resumes the node with the next move. With an eviction
// budget (CheckOptions::eviction_budget), one more move before the drop: a spontaneous erase
// of a present key, as many times on a path as the search allows (run(): 0, then 1, ...).
//
// Optional operations: those that did not complete (their return entry is at the response_ns
// bound; "unbounded" ones, without a bound, have no entries, see below) and a clear's erases
// (checker.cpp), and the deadlines of entries (checker_expiry.hpp: dropped only where they
// would change nothing). Applied, one has the effect of a successful execution; dropped, none;
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
// Soundness. A violation is reported only when every move of every node reachable from the
// start failed or was pruned, and the moves are complete: any linearization maps to a path of
// moves (an operation it applies next is always a candidate; the optional operations it
// leaves out, or applies without effect, are dropped as their return entries come first; a
// symmetric run is used in its fixed order), and a pruned node is one equal to, or dominated
// by, a node already fully explored. So a linearizable history is never reported as a
// violation, with one theoretical exception: two different sets whose 128-bit hashes collide
// could prune a branch wrongly (probability about n^2 / 2^129 for n nodes). A search that runs
// out of steps reports "inconclusive", never a violation.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string_view>
#include <tuple>
#include <vector>

#include "checker_internal.hpp"
#include "checker_memo.hpp"
#include "checker_rules.hpp"

namespace shmtable::stress::checker_detail {

KeyChecker::KeyChecker(const std::vector<Operation> &history, std::string_view key,
                       const std::vector<std::uint32_t> &own,
                       const std::vector<std::uint32_t> &clears, const ClockMap &clock,
                       const CheckOptions &options)
    : history_(history), key_(key), clock_(clock), options_(options),
      max_steps_(options.max_steps_per_key) {
  for (const std::uint32_t index : own) {
    add_own(index);
  }
  add_clears(clears);
  link_entries();
}

KeyResult KeyChecker::run() {
  KeyResult r;
  // Iterative deepening: the fewest spontaneous erases first, so a key that needs none
  // uses none, and one that needs some uses as few as can explain it. Each erases a
  // present key, which an operation that may insert it made present: no more of them
  // than such operations.
  const std::uint64_t most =
      std::min<std::uint64_t>(options_.eviction_budget, insert_calls_.size());
  for (std::uint64_t evictions = 0;; ++evictions) {
    r.verdict = search(evictions);
    r.evictions = evictions;
    if (r.verdict != Verdict::kViolation || evictions >= most) {
      break;
    }
  }
  r.operations = operations_;
  r.steps = steps_;
  if (r.verdict != Verdict::kLinearizable) {
    r.explanation = explain(r.verdict);
  }
  return r;
}

void KeyChecker::link_entries() {
  // By invocation, so that index order is invocation order within each chain below.
  std::stable_sort(ops_.begin(), ops_.end(),
                   [](const KeyOp &x, const KeyOp &y) { return x.call < y.call; });
  const auto n = static_cast<std::uint32_t>(ops_.size());
  // Interchangeable operations are linearized only in index order, so that the search does
  // not try their permutations: a clear's erases of this key (consecutive, one interval),
  // and unbounded operations with the same effect (an earlier-invoked one can stand in for
  // a later one), which form a group.
  std::map<std::tuple<Rule, std::uint32_t, std::uint32_t, std::int64_t, std::uint32_t>,
           std::uint32_t>
      groups;
  for (std::uint32_t i = 0; i < n; ++i) {
    KeyOp &k = ops_[i];
    if (unbounded(k)) {
      const auto [it, fresh] = groups.try_emplace({k.rule, k.a, k.b, k.delta, k.life},
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

Verdict KeyChecker::search(std::uint64_t evictions) {
  evictions_ = evictions;
  deepest_ = 0;
  blocker_ = kNone;
  deepest_states_.clear();
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
  // Spontaneous erases on the current path. A node is also told apart by how many it used
  // (nodes alike but for that are not compared): their hash is XORed into both sets'.
  std::uint64_t used = 0;
  const auto used_lo = [](std::uint64_t u) {
    return u == 0 ? 0 : mix64(0x5851f42d4c957f2dULL * u + 0x2545f4914f6cdd1dULL);
  };
  const auto used_hi = [](std::uint64_t u) {
    return u == 0 ? 0 : mix64(0x14057b7ef767814fULL * u + 0x9e3779b97f4a7c15ULL);
  };
  const auto count_eviction = [&](std::uint64_t from, std::uint64_t to) {
    const std::uint64_t lo = used_lo(from) ^ used_lo(to);
    const std::uint64_t hi = used_hi(from) ^ used_hi(to);
    all_lo ^= lo;
    all_hi ^= hi;
    done_lo ^= lo;
    done_hi ^= hi;
    used = to;
  };
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
  // a bounded optional one, 2: apply an unbounded one, 3: a spontaneous erase, 4: drop,
  // 5: none left) and where in it: for 0 and 1 the entry to try next, for 2 the group.
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
      // An eviction: a present key erased by nobody, while the budget lasts.
      if (used < evictions && state != kAbsent) {
        if (budget_spent()) {
          return Verdict::kInconclusive;
        }
        ++steps_;
        count_eviction(used, used + 1);
        const bool fresh =
            visited.insert_new(all_lo, all_hi, kAbsent) &&
            (failed.empty() || !failed.any_of(done_lo, done_hi, kAbsent,
                                              [&](std::uint32_t c) { return covers(c, kNone); }));
        if (fresh) {
          stack.push_back(Frame{kEvict, state, kNone, alternative});
          state = kAbsent;
          alternative = 0;
          e = next_[head_];
          continue;
        }
        count_eviction(used, used - 1);
      }
    }
    if (chosen == kNone && alternative == 4) {
      alternative = 5;
      const std::uint32_t i = first_return() >> 1;
      const KeyOp &op = ops_[i];
      // A deadline passes whatever happens: dropped only where it would change nothing.
      const bool must_apply = op.rule == Rule::kExpire && states_.life(state) == op.life;
      if (op.optional && (op.after == kNone || done_[op.after]) && !must_apply) {
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
      if (stack.size() - used > deepest_) {
        deepest_ = stack.size() - used;
        blocker_ = kNone;
        deepest_states_.clear();
      }
      alternative = 0;
      e = next_[head_];
      continue;
    }
    note_dead_end(stack.size() - used, state);
    if (stack.empty()) {
      return Verdict::kViolation;
    }
    failed.add(done_lo, done_hi, state, link);
    const Frame f = stack.back();
    stack.pop_back();
    if (f.op == kEvict) {
      count_eviction(used, used - 1);
      state = f.state_before;
      alternative = f.alternative;
      continue;
    }
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

} // namespace shmtable::stress::checker_detail
