// bench/peer_boost_missing.cpp: the Boost.Interprocess peer when Boost is not installed.
#include "store.hpp"

namespace shmtable::bench {
std::unique_ptr<Store> make_boost_store(std::string &why) {
  why = "built without Boost (apt-get install libboost1.81-dev, then reconfigure the build)";
  return nullptr;
}
} // namespace shmtable::bench
