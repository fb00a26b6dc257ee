// How the tool opens a table (table_access.hpp).
#include "table_access.hpp"

namespace shmtable::tool {

namespace {

// The caller's Options for the table `a` names: where it is, and the layout it must have
// (zero: whatever the table has).
Options requested_options(const Args &a) {
  Options o;
  if (const auto path = a.option("path")) {
    o.path = *path;
  } else {
    o.name = a.name;
  }
  o.capacity = a.number("capacity", 1).value_or(0);
  o.max_key_bytes =
      static_cast<std::uint32_t>(a.number("max-key-bytes", 1, kMaxKeyBytesLimit).value_or(0));
  o.max_value_bytes =
      static_cast<std::uint32_t>(a.number("max-value-bytes", 1, kMaxValueBytesLimit).value_or(0));
  o.hash_seed = a.number("hash-seed").value_or(0);
  o.persist = std::nullopt; // the table's own
  o.eviction = std::nullopt;
  return o;
}

Opened open_as(EngineName engine, const Options &o) {
  return visit_engine(engine, [&](auto id) {
    using T = typename decltype(id)::type;
    return Opened{AnyTable(std::in_place_type<T>, options_for(engine, o)), engine, {}, false};
  });
}

} // namespace

SegmentInfo look(const Args &a) {
  if (const auto path = a.option("path")) {
    return inspect_segment_path(*path);
  }
  return inspect_segment(a.name);
}

EngineName engine_of(const SegmentInfo &info) {
  if (const auto e = engine_name_of(info.layout.params)) {
    return *e;
  }
  throw Error(Errc::kLayoutMismatch,
              info.display + ": engine: the header names engine kind " +
                  std::to_string(static_cast<std::uint32_t>(info.layout.params.engine)) +
                  ", which this build does not know");
}

std::optional<EngineName> requested_engine(const Args &a) {
  const auto name = a.option("engine");
  if (!name) {
    return std::nullopt;
  }
  const auto e = parse_engine_name(*name);
  if (!e) {
    usage_error("--engine: '" + *name + "' is no engine; use " + engine_name_list());
  }
  return e;
}

Opened open_table(const Args &a, bool may_create) {
  Options o = requested_options(a);
  const std::optional<EngineName> wanted = requested_engine(a);
  const bool create = may_create && a.has("create");
  std::optional<SegmentInfo> info;
  try {
    info = look(a);
  } catch (const Error &e) {
    if (e.code() != Errc::kSegmentMissing || !create) {
      throw;
    }
  }
  if (info) {
    // An unfinished table has no engine yet; the open removes it (kSegmentMissing).
    const EngineName engine =
        wanted.value_or(info->ready ? engine_of(*info) : EngineName::kLockFree);
    o.open_mode = OpenMode::kOpen;
    try {
      Opened opened = open_as(engine, o);
      opened.before = *info;
      return opened;
    } catch (const Error &e) {
      // A dead table (not persistent, every process gone) is removed by the open: it
      // does not exist, and --create makes a new one.
      if (e.code() != Errc::kSegmentMissing || !create) {
        throw;
      }
    }
  }
  const EngineName engine = wanted.value_or(EngineName::kLockFree);
  o.open_mode = OpenMode::kCreate;
  o.persist = true;
  try {
    Opened opened = open_as(engine, o);
    opened.created = true;
    opened.before.display = o.path.empty() ? "shm '" + o.name + "'" : "file '" + o.path + "'";
    opened.before.attached_handles = 0;
    return opened;
  } catch (const Error &e) {
    if (e.code() != Errc::kAlreadyExists) {
      throw;
    }
  }
  // Another process created it meanwhile: open that one, as any opener would.
  o.open_mode = OpenMode::kOpen;
  o.persist = std::nullopt;
  o.eviction = std::nullopt;
  Opened opened = open_as(engine, o);
  opened.before = look(a);
  return opened;
}

} // namespace shmtable::tool
