// bench/stores_engines.cpp: shmtable's engines (lock-free, faithful mutex, robust mutex)
// and the floor as YCSB stores, plus the store registry.
#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

#include "engine_client.hpp"
#include "floor_table.hpp"
#include "shmtable/shmtable.hpp"
#include "store.hpp"

namespace shmtable::bench {

std::string Dataset::value(std::uint64_t i) const {
  std::string v(value_bytes, 'a');
  for (std::size_t j = 0; j < v.size(); ++j) {
    v[j] = static_cast<char>('a' + (i + j) % 26);
  }
  return v;
}

namespace {

// Slots for a dataset: fast-shm-cache's sizing rule (maxKeys + a third), load factor 0.75.
std::uint64_t slots_for(const Dataset &d) { return d.slots; }

class EngineStore final : public Store {
public:
  explicit EngineStore(EngineName engine) : engine_(engine) {}

  std::string name() const override { return std::string(to_string(engine_)); }
  std::string rmw_note() const override {
    return faithful() ? "get + set (fast-shm-cache's API; not atomic)"
                      : "update(): read and write in one atomic step";
  }

  void prepare(const Dataset &data) override {
    Options o;
    o.name = "shmtable-ycsb-" + std::to_string(::getpid()) + "-" + std::to_string(++runs_);
    o.capacity = slots_for(data);
    o.max_key_bytes = std::max<std::uint32_t>(data.key_bytes, 1);
    o.max_value_bytes = std::max<std::uint32_t>(data.value_bytes, 1);
    o.open_mode = OpenMode::kCreate;
    opts_ = options_for(engine_, o);
    visit_engine(engine_, [&]<class T>(std::type_identity<T>) {
      T &t = held_.emplace<T>(opts_);
      for (std::size_t i = 0; i < data.keys.size(); ++i) {
        t.set(data.keys[i], data.value(i));
      }
    });
    opts_.open_mode = OpenMode::kOpen;
  }

  std::unique_ptr<Client> attach(const Dataset &) override {
    return visit_engine(engine_, [&]<class T>(std::type_identity<T>) -> std::unique_ptr<Client> {
      Options o = opts_;
      // A client is one process's one thread, so a lock-free handle is opened for one
      // thread (Options::one_thread), as the Node package opens every handle.
      o.one_thread = std::is_same_v<T, LockFreeTable>;
      return std::make_unique<EngineClient<T>>(T(o), !faithful());
    });
  }

  // persist = false: the last close removes the segment.
  void finish() override { held_ = std::monostate{}; }

private:
  bool faithful() const noexcept { return engine_ == EngineName::kMutex; }

  EngineName engine_;
  Options opts_;
  unsigned runs_ = 0;
  std::variant<std::monostate, LockFreeTable, MutexTable> held_; // the parent's handle
};

// One process's handle to the floor that FloorStore::prepare built and loaded in the
// parent: its memory is shared with the forked workers (FloorTable::Sharing::kShared),
// and a YCSB run only reads and updates the loaded keys, the workload the floor can
// serve unsynchronized.
class FloorClient final : public Client {
public:
  FloorClient(FloorTable &t, FloorTable::Publish publish) : t_(t), publish_(publish) {}
  bool read(std::string_view key, std::span<char> buf) override {
    return t_.get_into(key, buf).has_value();
  }
  void update(std::string_view key, std::string_view value) override {
    if (!t_.update(key, value, publish_)) {
      throw std::runtime_error("floor: update of a key that was not loaded");
    }
  }
  bool read_modify_write(std::string_view key, std::span<char> buf) override {
    return t_.read_modify_write(
        key, buf, [](char *bytes, std::size_t) { bytes[0] = bumped(bytes[0]); }, publish_);
  }

private:
  FloorTable &t_;
  FloorTable::Publish publish_;
};

// The floor, built in the parent in memory the workers share: with several processes
// it measures what the workload's memory traffic alone costs (no synchronization;
// concurrent updates of one key may tear its value, which no run reads back).
// "floor-rmw" adds one atomic read-modify-write per update (FloorTable::Publish).
class FloorStore final : public Store {
public:
  explicit FloorStore(FloorTable::Publish publish) : publish_(publish) {}
  std::string name() const override {
    return publish_ == FloorTable::Publish::kPlain ? "floor" : "floor-rmw";
  }
  std::string rmw_note() const override {
    return publish_ == FloorTable::Publish::kPlain
               ? "read and update in place in one lookup (unsynchronized)"
               : "read and update in place in one lookup + one atomic read-modify-write "
                 "(unsynchronized)";
  }
  void prepare(const Dataset &data) override {
    t_.emplace(slots_for(data), std::max<std::uint32_t>(data.key_bytes, 1),
               std::max<std::uint32_t>(data.value_bytes, 1), 0x5eed, FloorTable::Sharing::kShared);
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      t_->set(data.keys[i], data.value(i));
    }
  }
  std::unique_ptr<Client> attach(const Dataset &) override {
    return std::make_unique<FloorClient>(*t_, publish_);
  }
  void finish() override { t_.reset(); }

private:
  FloorTable::Publish publish_;
  std::optional<FloorTable> t_;
};

} // namespace

std::unique_ptr<Store> make_engine_store(std::string_view name) {
  if (const auto engine = parse_engine_name(name)) {
    return std::make_unique<EngineStore>(*engine);
  }
  if (name == "floor") {
    return std::make_unique<FloorStore>(FloorTable::Publish::kPlain);
  }
  if (name == "floor-rmw") {
    return std::make_unique<FloorStore>(FloorTable::Publish::kAtomicRmw);
  }
  return nullptr;
}

std::vector<std::string> all_store_names() {
  std::vector<std::string> names;
  for (EngineName e : kEngineNames) {
    names.emplace_back(to_string(e));
  }
  for (const char *peer : {"floor", "floor-rmw", "boost", "redis", "redis-table", "memcached"}) {
    names.emplace_back(peer);
  }
  return names;
}

std::unique_ptr<Store> make_store(std::string_view name, std::string &why) {
  if (auto s = make_engine_store(name)) {
    return s;
  }
  if (name == "boost") {
    return make_boost_store(why);
  }
  if (name == "redis") {
    return make_redis_store(why);
  }
  if (name == "redis-table") {
    return make_redis_table_store(why);
  }
  if (name == "memcached") {
    return make_memcached_store(why);
  }
  std::string known;
  for (const std::string &n : all_store_names()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  why = "unknown store '" + std::string(name) + "' (known: " + known + ")";
  return nullptr;
}

} // namespace shmtable::bench
