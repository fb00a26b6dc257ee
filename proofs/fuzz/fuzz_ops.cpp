// libFuzzer target: operation sequences on one engine, checked against a model.
//
// Built once per engine (fuzz_engine.hpp: "lockfree" or "mutex", whose robust mode the
// input's geometry byte picks). Each input creates a fresh, tiny table
// (<= 16 slots, non-persistent shm named after this process, gone when closed) and runs
// its operations through ModelCheck (model_check.hpp says what is checked).
//
// Input: [geometry: 2 bytes (fuzz_input.hpp)] then operations, each
// [opcode][key byte][operands...]; opcode & 0x0f picks the operation, bit 4 the handle
// (a second handle on the same table, opened and closed by opcode 12).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_engine.hpp"
#include "fuzz_input.hpp"
#include "model_check.hpp"
#include "shmtable/shmtable.hpp"

namespace {

constexpr unsigned kMaxOps = 400;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  using namespace shmtable;
  fuzz::Input in(data, size);
  const fuzz::Geometry g = fuzz::decode_geometry(in);
  Options o;
  o.name = "shmtable-fuzz-ops-" + std::to_string(::getpid());
  o.capacity = g.capacity;
  o.max_key_bytes = g.max_key_bytes;
  o.max_value_bytes = g.max_value_bytes;
  o.hash_seed = g.hash_seed;
  o.robust = FuzzTable::kEngine == EngineKind::kMutex && g.robust;
  o.open_mode = OpenMode::kCreate;
  std::optional<FuzzTable> table;
  try {
    table.emplace(o);
  } catch (const Error &e) {
    fuzz::fail(std::string("cannot create the table: ") + e.what());
  }
  Options reopen = o; // a second handle adopts the segment's sizes
  reopen.capacity = 0;
  reopen.max_key_bytes = 0;
  reopen.max_value_bytes = 0;
  reopen.hash_seed = 0;
  reopen.open_mode = OpenMode::kOpen;
  fuzz::ModelCheck<FuzzTable> check(*table, reopen);
  check.run(in, kMaxOps);
  check.verify_all("end of input");
  return 0;
}
