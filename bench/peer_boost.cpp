// bench/peer_boost.cpp: the Boost.Interprocess peer, what a C++ user would write by hand:
// a map of strings in managed shared memory behind one interprocess mutex.
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/map.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include "store.hpp"

namespace shmtable::bench {
namespace {

namespace bip = boost::interprocess;
using Segment = bip::managed_shared_memory;
using CharAlloc = bip::allocator<char, Segment::segment_manager>;
using String = bip::basic_string<char, std::char_traits<char>, CharAlloc>;
using Entry = std::pair<const String, String>;
using EntryAlloc = bip::allocator<Entry, Segment::segment_manager>;

// Lookups by std::string_view without building a shared-memory string (is_transparent).
struct Less {
  using is_transparent = void;
  static std::string_view view(const String &s) { return {s.data(), s.size()}; }
  static std::string_view view(std::string_view s) { return s; }
  template <class A, class B> bool operator()(const A &a, const B &b) const {
    return view(a) < view(b);
  }
};
using Map = bip::map<String, String, Less, EntryAlloc>;

struct Shared {
  bip::interprocess_mutex mutex; // not robust: a holder that dies blocks everyone
};

class BoostClient final : public Client {
public:
  explicit BoostClient(const std::string &name) : seg_(bip::open_only, name.c_str()) {
    shared_ = seg_.find<Shared>("shared").first;
    map_ = seg_.find<Map>("map").first;
    if (shared_ == nullptr || map_ == nullptr) {
      throw std::runtime_error("boost: segment " + name + " has no map");
    }
  }

  bool read(std::string_view key, std::span<char> buf) override {
    bip::scoped_lock<bip::interprocess_mutex> lock(shared_->mutex);
    const auto it = map_->find(key);
    if (it == map_->end()) {
      return false;
    }
    std::memcpy(buf.data(), it->second.data(), std::min(buf.size(), it->second.size()));
    return true;
  }

  void update(std::string_view key, std::string_view value) override {
    bip::scoped_lock<bip::interprocess_mutex> lock(shared_->mutex);
    const auto it = map_->find(key);
    if (it != map_->end()) {
      it->second.assign(value.data(), value.size());
      return;
    }
    CharAlloc alloc(seg_.get_segment_manager());
    map_->emplace(String(key.data(), key.size(), alloc), String(value.data(), value.size(), alloc));
  }

  bool read_modify_write(std::string_view key, std::span<char> buf) override {
    bip::scoped_lock<bip::interprocess_mutex> lock(shared_->mutex); // atomic: one lock
    const auto it = map_->find(key);
    if (it == map_->end() || it->second.empty()) {
      return false;
    }
    std::memcpy(buf.data(), it->second.data(), std::min(buf.size(), it->second.size()));
    char &c = it->second[0];
    c = c == 'z' ? 'a' : static_cast<char>(c + 1);
    return true;
  }

private:
  Segment seg_;
  Shared *shared_ = nullptr;
  Map *map_ = nullptr;
};

class BoostStore final : public Store {
public:
  std::string name() const override { return "boost"; }
  std::string rmw_note() const override { return "read and write under the map's mutex (atomic)"; }

  void prepare(const Dataset &data) override {
    name_ = "shmtable-ycsb-boost-" + std::to_string(::getpid()) + "-" + std::to_string(++runs_);
    bip::shared_memory_object::remove(name_.c_str());
    // Node, two strings and allocator overhead per record, with room to spare.
    const std::size_t bytes =
        (16u << 20) + data.keys.size() * (256 + 2 * (data.key_bytes + data.value_bytes));
    seg_.emplace(bip::create_only, name_.c_str(), bytes);
    auto *map = seg_->construct<Map>("map")(Less{}, EntryAlloc(seg_->get_segment_manager()));
    seg_->construct<Shared>("shared")();
    CharAlloc alloc(seg_->get_segment_manager());
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      const std::string v = data.value(i);
      map->emplace(String(data.keys[i].data(), data.keys[i].size(), alloc),
                   String(v.data(), v.size(), alloc));
    }
  }

  std::unique_ptr<Client> attach(const Dataset &) override {
    return std::make_unique<BoostClient>(name_);
  }

  void finish() override {
    seg_.reset();
    bip::shared_memory_object::remove(name_.c_str());
  }

private:
  std::string name_;
  unsigned runs_ = 0;
  std::optional<Segment> seg_;
};

} // namespace

std::unique_ptr<Store> make_boost_store(std::string &) { return std::make_unique<BoostStore>(); }

} // namespace shmtable::bench
