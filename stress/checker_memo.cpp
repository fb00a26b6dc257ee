// stress/checker_memo.cpp: the pool of the optional operations linearized on the search's
// paths, which the dominance records of checker_memo.hpp name.
#include <cstdint>
#include <vector>

#include "checker_internal.hpp"
#include "checker_memo.hpp"

namespace shmtable::stress::checker_detail {

// Whether every optional operation on chain c (a set of optional operations linearized
// on some path) is linearized now, or is `extra`.
bool KeyChecker::covers(std::uint32_t c, std::uint32_t extra) const {
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
std::uint32_t KeyChecker::compact_chain(std::vector<Frame> &stack, NodeTable &failed) {
  failed.clear();
  chain_.clear();
  std::uint32_t parent = kNone;
  for (Frame &f : stack) {
    if (f.op != kEvict && ops_[f.op].optional) {
      chain_.push_back(ChainLink{f.op, parent, true});
      f.link = parent = static_cast<std::uint32_t>(chain_.size() - 1);
    }
  }
  return parent;
}

} // namespace shmtable::stress::checker_detail
