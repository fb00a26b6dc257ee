// bench/instr_loop.cpp: shmtable-instr, a fixed number of operations on one engine, for
// counting instructions with callgrind (bench/instructions.sh). Timing means nothing
// here; the count is what is read, and it is repeatable for the same binary and input.
//
//   shmtable-instr ENGINE OP COUNT [SLOTS [KEY_BYTES [VALUE_BYTES]]]
//     ENGINE: lockfree | mutex | robust | floor     OP: get | miss | set | many (lockfree
//     and floor: get_many over 64 keys at a time; COUNT counts keys)
//
// The table is loaded to 75 % with keys of exactly KEY_BYTES bytes, then OP runs COUNT
// times, walking the keys in order. Running it twice with two counts and subtracting
// gives the marginal instructions per operation, free of the setup's.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "floor_table.hpp"
#include "keys.hpp"
#include "shmtable/shmtable.hpp"

namespace {

using shmtable::bench::make_keys;

// Whether Table has batched gets: the lock-free engine, and the floor's copy of its
// pipeline (the mutex engine has none).
template <class Table>
constexpr bool kBatched = std::is_same_v<Table, shmtable::bench::FloorTable> ||
                          requires(const Table &t) {
  t.get_many(std::span<const std::string_view>(), shmtable::ManyReader{}, nullptr);
};

template <class Table>
int run(Table &t, std::string_view op, std::uint64_t count, std::uint64_t slots,
        std::uint32_t key_bytes, std::uint32_t value_bytes) {
  const auto keys = make_keys(slots * 3 / 4, key_bytes, 'k');
  const auto absent = make_keys(4096, key_bytes, 'a');
  const std::string value(value_bytes, 'v');
  for (const auto &k : keys) {
    t.set(k, value);
  }
  std::vector<char> buf(value_bytes);
  std::uint64_t sink = 0;
  // One loop per operation, so that the loop itself costs the same few instructions
  // for every engine.
  std::size_t i = 0;
  const auto next = [&](std::size_t n) { i = i + 1 == n ? 0 : i + 1; };
  if (op == "get") {
    for (std::uint64_t n = 0; n < count; ++n, next(keys.size())) {
      sink += t.get_into(keys[i], buf).value_or(0);
    }
  } else if (op == "miss") {
    for (std::uint64_t n = 0; n < count; ++n, next(absent.size())) {
      sink += t.get_into(absent[i], buf).value_or(1);
    }
  } else if (op == "set") {
    for (std::uint64_t n = 0; n < count; ++n, next(keys.size())) {
      t.set(keys[i], value);
    }
  } else if constexpr (kBatched<Table>) {
    // Batches of 64 keys: the engine hands each value to a ManyReader, the floor calls a
    // visitor in place (the same pipeline, ManyPipeline).
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    const shmtable::ManyReader copy = [](void *ctx, std::size_t, const shmtable::ValueView &v) {
      *static_cast<std::uint64_t *>(ctx) += v.size;
    };
    for (std::uint64_t n = 0; n < count; n += 64) {
      if (i + 64 > views.size()) {
        i = 0;
      }
      const std::span<const std::string_view> batch(views.data() + i, 64);
      if constexpr (std::is_same_v<Table, shmtable::bench::FloorTable>) {
        t.get_many(batch, [&](std::size_t, const char *, std::size_t size) { sink += size; });
      } else {
        t.get_many(batch, copy, &sink);
      }
      i += 64;
    }
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sink));
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: shmtable-instr ENGINE get|miss|set|many COUNT [SLOTS [KEY_BYTES "
               "[VALUE_BYTES]]]\n  ENGINE: %s, or floor\n",
               shmtable::engine_name_list().c_str());
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    return usage();
  }
  const std::string_view engine = argv[1];
  const std::string_view op = argv[2];
  if (op != "get" && op != "miss" && op != "set" && op != "many") {
    return usage();
  }
  const std::uint64_t count = std::strtoull(argv[3], nullptr, 10);
  const std::uint64_t slots = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1024;
  const auto key_bytes = static_cast<std::uint32_t>(argc > 5 ? std::atoi(argv[5]) : 16);
  const auto value_bytes = static_cast<std::uint32_t>(argc > 6 ? std::atoi(argv[6]) : 64);
  shmtable::Options o;
  o.name = "shmtable-instr-" + std::to_string(::getpid());
  o.capacity = slots;
  o.max_key_bytes = key_bytes;
  o.max_value_bytes = value_bytes;
  if (const auto e = shmtable::parse_engine_name(engine)) {
    return shmtable::visit_engine(*e, [&]<class T>(std::type_identity<T>) {
      T t(shmtable::options_for(*e, o));
      return run(t, op, count, slots, key_bytes, value_bytes);
    });
  }
  if (engine == "floor") {
    shmtable::bench::FloorTable t(slots, key_bytes, value_bytes);
    return run(t, op, count, slots, key_bytes, value_bytes);
  }
  return usage();
}
