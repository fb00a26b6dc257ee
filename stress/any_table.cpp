// stress/any_table.cpp: AnyTable over LockFreeTable and MutexTable, and the choice of
// engine (the redis one is any_table_redis.cpp's).
#include "any_table.hpp"

#include "table_adapter.hpp"

#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace shmtable::stress {
namespace {

// The values a lock-free handle has read, by slot and version, for get_cached (as the
// Node package keeps its strings): every other get goes through it, so the stress runs
// check held answers as they check copies.
struct KeptValues {
  static constexpr std::size_t kMaxKept = 4096;
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::string>> by_slot;
  const std::string *last = nullptr; // the value of the last get_cached

  static const CachingReader kReader;
};
const CachingReader KeptValues::kReader{
    [](void *ctx, std::uint64_t slot, std::uint64_t version) {
      auto *k = static_cast<KeptValues *>(ctx);
      const auto it = k->by_slot.find(slot);
      if (it == k->by_slot.end() || it->second.first != version) {
        return false;
      }
      k->last = &it->second.second;
      return true;
    },
    [](void *ctx, const ValueView &v, std::uint64_t slot, std::uint64_t version) {
      auto *k = static_cast<KeptValues *>(ctx);
      if (k->by_slot.size() >= kMaxKept && !k->by_slot.contains(slot)) {
        k->by_slot.clear();
      }
      auto &kept = k->by_slot[slot];
      kept = {version, std::string(v.bytes, v.size)};
      k->last = &kept.second;
    }};

template <SharedMemoryTable T> class Adapter final : public TableAdapter<T> {
public:
  explicit Adapter(const Options &opts) : TableAdapter<T>(opts) {}
  std::optional<std::string> get(std::string_view k) const override {
    if constexpr (std::is_same_v<T, LockFreeTable>) {
      if ((++gets_ & 1) == 0) {
        if (t_.get_cached(k, KeptValues::kReader, &kept_) == CachedGet::kAbsent) {
          return std::nullopt;
        }
        return *kept_.last;
      }
    }
    return t_.get(k);
  }
  RecoveryReport recover() override { return t_.recover(); }
  std::uint64_t evictions() const override { return t_.stats().evictions; }
  std::uint64_t capacity() const override { return t_.capacity(); }
  std::uint64_t buffer_reserve() const override {
    if constexpr (std::is_same_v<T, LockFreeTable>) {
      return t_.buffer_count() - t_.capacity();
    } else {
      return 0;
    }
  }
  std::optional<std::uint64_t> home_slot(std::string_view k) const override {
    return t_.home_slot(k);
  }
  std::optional<std::uint64_t> fingerprint(std::string_view k) const override {
    if constexpr (std::is_same_v<T, LockFreeTable>) {
      return t_.fingerprint(k);
    } else {
      return std::nullopt;
    }
  }
  bool created() const override { return t_.created(); }

private:
  using TableAdapter<T>::t_;
  mutable std::uint64_t gets_ = 0;
  mutable KeptValues kept_;
};

} // namespace

std::optional<StressEngine> parse_stress_engine(std::string_view name) {
  if (name == "redis") {
    return StressEngine{};
  }
  if (const auto e = parse_engine_name(name)) {
    return StressEngine{*e, {}};
  }
  return std::nullopt;
}

std::unique_ptr<AnyTable> open_table(const StressEngine &e, const Options &opts) {
  return e.shm ? open_table(*e.shm, opts) : open_redis_table(e.redis_url, opts);
}

std::unique_ptr<AnyTable> open_table(EngineName e, Options opts) {
  return visit_engine(e, [&]<class T>(std::type_identity<T>) -> std::unique_ptr<AnyTable> {
    return std::make_unique<Adapter<T>>(options_for(e, opts));
  });
}

} // namespace shmtable::stress
