// What the tool prints about a table (report.hpp).
#include "report.hpp"

#include <algorithm>
#include <cstdio>

#include "shmtable/config.hpp"

namespace shmtable::tool {

namespace {

std::string engine_text(const SegmentInfo &info) {
  if (const auto e = engine_name_of(info.layout.params)) {
    return std::string(to_string(*e));
  }
  return "unknown (" + std::to_string(static_cast<std::uint32_t>(info.layout.params.engine)) + ")";
}

std::string handles_text(std::optional<std::uint64_t> n, bool in_use) {
  if (!n) {
    return in_use ? "some (/proc/locks cannot be read, so not how many)" : "none";
  }
  return std::to_string(*n) + (*n == 1 ? " handle" : " handles");
}

// The histogram's buckets: 0, 1, 2, 3, then powers of two (4-7, 8-15, ...).
struct Bucket {
  std::uint64_t first, last, keys;
};
std::vector<Bucket> buckets(const std::vector<std::uint64_t> &lengths) {
  std::vector<Bucket> out;
  for (std::uint64_t first = 0; first < lengths.size();) {
    const std::uint64_t last = first < 4 ? first : first * 2 - 1;
    std::uint64_t keys = 0;
    for (std::uint64_t d = first; d <= last && d < lengths.size(); ++d) {
      keys += lengths[d];
    }
    out.push_back({first, last, keys});
    first = last + 1;
  }
  return out;
}

} // namespace

std::string json_line(const nlohmann::json &j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%",
                whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

nlohmann::json info_json(const SegmentInfo &info, std::optional<std::uint64_t> others) {
  const TableParams &p = info.layout.params;
  nlohmann::json j;
  j["table"] = info.display;
  j["engine"] = engine_text(info);
  j["ready"] = info.ready;
  j["persist"] = (p.flags & kFlagPersist) != 0;
  j["eviction"] = (p.flags & kFlagEvict) != 0;
  j["layout"] = {{"capacity", p.capacity},
                 {"max_key_bytes", p.max_key_bytes},
                 {"max_value_bytes", p.max_value_bytes},
                 {"hash_seed", p.hash_seed},
                 {"slot_bytes", info.layout.slot_bytes},
                 {"control_offset", info.layout.control_offset},
                 {"slots_offset", info.layout.slots_offset},
                 {"total_bytes", info.layout.total_bytes}};
  j["attached_handles"] = others ? nlohmann::json(*others) : nlohmann::json(nullptr);
  j["counted_entries"] = info.entries ? nlohmann::json(*info.entries) : nlohmann::json(nullptr);
  return j;
}

std::string info_text(const SegmentInfo &info, std::optional<std::uint64_t> others) {
  const TableParams &p = info.layout.params;
  std::string s;
  s +=
      "table        " + info.display + (info.ready ? "" : " (unfinished: its creator died)") + "\n";
  s += "engine       " + engine_text(info) + "\n";
  s += std::string("persist      ") + ((p.flags & kFlagPersist) != 0 ? "yes" : "no") + "\n";
  s += std::string("eviction     ") +
       ((p.flags & kFlagEvict) != 0
            ? "yes (CLOCK, from " + std::to_string(kEvictLoadPercent) + " % of the slots on)"
            : std::string("no (a full table refuses new keys)")) +
       "\n";
  s += "layout       " + std::to_string(p.capacity) +
       " slots, keys <= " + std::to_string(p.max_key_bytes) +
       " bytes, values <= " + std::to_string(p.max_value_bytes) + " bytes, hash seed " +
       std::to_string(p.hash_seed) + "\n";
  s += "             slot " + std::to_string(info.layout.slot_bytes) + " bytes, control block at " +
       std::to_string(info.layout.control_offset) + ", slots at " +
       std::to_string(info.layout.slots_offset) + ", " + std::to_string(info.layout.total_bytes) +
       " bytes in all\n";
  s += "attached     " + handles_text(others, info.in_use) + " besides this one\n";
  return s;
}

nlohmann::json inspection_json(const TableInspection &r) {
  nlohmann::json j;
  j["alone"] = r.alone;
  j["capacity"] = r.capacity;
  j["entries"] = r.live;
  j["load"] = r.capacity == 0 ? 0.0 : static_cast<double>(r.live) / static_cast<double>(r.capacity);
  j["counted_entries"] = r.counted_entries;
  j["free_slots"] = r.free_slots;
  j["tombstones"] = r.tombstones;
  j["pending"] = r.pending;
  j["corrupt"] = r.corrupt;
  j["probe_lengths"] = r.probe_lengths;
  j["mean_probe_length"] = r.mean_probe_length();
  j["max_probe_length"] = r.max_probe_length();
  if (r.buffers) {
    j["max_bound"] = r.max_bound;
    j["slack_bounds"] = r.slack_bounds;
    const BufferAccounting &b = *r.buffers;
    j["buffers"] = {{"total", b.total},         {"handed_out", b.handed_out},
                    {"in_slots", b.in_slots},   {"free_listed", b.free_listed},
                    {"elsewhere", b.elsewhere}, {"spare_permits", b.spare_permits}};
  } else {
    j["locks_held"] = r.locks_held;
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const InspectionFinding &f : r.findings) {
    findings.push_back({{"kind", to_string(f.kind)},
                        {"slot", f.slot == InspectionFinding::kNoSlot ? nlohmann::json(nullptr)
                                                                      : nlohmann::json(f.slot)},
                        {"message", f.message},
                        {"left_by_crash", left_by_crash(f.kind)}});
  }
  j["findings"] = findings;
  nlohmann::json counts = nlohmann::json::object();
  for (std::size_t k = 0; k < r.counts.size(); ++k) {
    if (r.counts[k] != 0) {
      counts[std::string(to_string(static_cast<InspectionFinding::Kind>(k)))] = r.counts[k];
    }
  }
  j["finding_counts"] = counts;
  j["consistent"] = r.consistent();
  j["needs_recovery"] = r.needs_recovery();
  return j;
}

std::string inspection_text(const TableInspection &r) {
  std::string s;
  s += "entries      " + std::to_string(r.live) + " (load " + percent(r.live, r.capacity) +
       "); the entry counter says " + std::to_string(r.counted_entries) + "\n";
  s += "slots        " + std::to_string(r.free_slots) + " free";
  if (!r.buffers) {
    s += " (" + std::to_string(r.tombstones) + " of them tombstones)";
  } else {
    s += ", " + std::to_string(r.pending) + " reserved by inserters";
  }
  s += ", " + std::to_string(r.corrupt) + " corrupt\n";
  s += "probe length (slots past the home slot: keys)\n";
  if (r.probe_lengths.empty()) {
    s += "             no keys\n";
  }
  const auto bs = buckets(r.probe_lengths);
  std::uint64_t most = 1;
  for (const Bucket &b : bs) {
    most = std::max(most, b.keys);
  }
  for (const Bucket &b : bs) {
    char line[96];
    const std::string range = b.first == b.last
                                  ? std::to_string(b.first)
                                  : std::to_string(b.first) + "-" + std::to_string(b.last);
    const auto bar = static_cast<int>((b.keys * 40 + most - 1) / most);
    std::snprintf(line, sizeof line, "  %-10s %10llu  %s\n", range.c_str(),
                  static_cast<unsigned long long>(b.keys),
                  std::string(static_cast<std::size_t>(bar), '#').c_str());
    s += line;
  }
  char mean[64];
  std::snprintf(mean, sizeof mean, "%.2f", r.mean_probe_length());
  s += "             mean " + std::string(mean) + ", max " + std::to_string(r.max_probe_length()) +
       "\n";
  if (r.buffers) {
    const BufferAccounting &b = *r.buffers;
    s += "probe bounds largest " + std::to_string(r.max_bound) + "; " +
         std::to_string(r.slack_bounds) +
         " home slots bound farther than their keys lie (recover lowers them)\n";
    s += "buffers      " + std::to_string(b.total) + " record buffers, " +
         std::to_string(b.handed_out) + " ever used: " + std::to_string(b.in_slots) +
         " in slots, " + std::to_string(b.free_listed) + " free, " + std::to_string(b.elsewhere) +
         " elsewhere (handles' spares, writes in flight, or leaked); " +
         std::to_string(b.spare_permits) + " spare permits\n";
  } else {
    s += "locks held   " + std::to_string(r.locks_held) + "\n";
  }
  s += std::string("snapshot     ") +
       (r.alone ? "exact (no other handle was attached)"
                : "best effort (other handles were attached and may have written meanwhile)") +
       "\n";
  if (!r.findings.empty()) {
    s += "findings (shmtable fsck)\n" + findings_text(r);
  }
  return s;
}

nlohmann::json stats_json(const TableStats &s) {
  return {{"hits", s.hits},
          {"misses", s.misses},
          {"sets", s.sets},
          {"inserts", s.inserts},
          {"erases", s.erases},
          {"evictions", s.evictions},
          {"expirations", s.expirations},
          {"table_full", s.table_full},
          {"entries", s.entries},
          {"leaked_buffers", s.leaked_buffers},
          {"stripes_in_use", s.stripes_in_use},
          {"stripes", s.stripes}};
}

std::string stats_text(const TableStats &s, bool lock_free) {
  const auto n = [](std::uint64_t v) { return std::to_string(v); };
  std::string t = "counters     since creation, every process: " + n(s.hits) + " hits, " +
                  n(s.misses) + " misses (hit rate " + percent(s.hits, s.hits + s.misses) + ")\n";
  t += "             " + n(s.sets) + " sets (" + n(s.inserts) + " inserts), " + n(s.erases) +
       " erases, " + n(s.evictions) + " evictions, " + n(s.expirations) + " expirations, " +
       n(s.table_full) + " table_full\n";
  if (lock_free) {
    t += "             " + n(s.leaked_buffers) +
         " record buffers leaked by crashed processes since the last recover\n";
  }
  t += "             " + std::to_string(s.stripes_in_use) + " of " + std::to_string(s.stripes) +
       " counter stripes held by open handles\n";
  return t;
}

std::string findings_text(const TableInspection &r) {
  std::string s;
  for (const InspectionFinding &f : r.findings) {
    s += "  " + std::string(to_string(f.kind)) +
         (f.slot == InspectionFinding::kNoSlot ? "" : " at slot " + std::to_string(f.slot)) + ": " +
         f.message + "\n";
  }
  for (std::size_t k = 0; k < r.counts.size(); ++k) {
    if (r.counts[k] > TableInspection::kMaxFindingsPerKind) {
      s += "  ... and " + std::to_string(r.counts[k] - TableInspection::kMaxFindingsPerKind) +
           " more " + std::string(to_string(static_cast<InspectionFinding::Kind>(k))) + "\n";
    }
  }
  return s;
}

std::string verdict(const TableInspection &r) {
  if (!r.consistent()) {
    return "corrupt";
  }
  return r.needs_recovery() ? "needs_recovery" : "consistent";
}

nlohmann::json recovery_json(const RecoveryReport &r) {
  return {{"entries", r.entries},
          {"pending_cleared", r.pending_cleared},
          {"buffers_reclaimed", r.buffers_reclaimed},
          {"spares_cleared", r.spares_cleared},
          {"bounds_lowered", r.bounds_lowered},
          {"bounds_raised", r.bounds_raised},
          {"duplicate_keys", r.duplicate_keys},
          {"corrupt_slots", r.corrupt_slots},
          {"keys_repaired", r.keys_repaired},
          {"locks_reset", r.locks_reset}};
}

std::string recovery_text(const RecoveryReport &r) {
  std::string s;
  const auto line = [&](const char *what, std::uint64_t n) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "  %-40s %llu\n", what, static_cast<unsigned long long>(n));
    s += buf;
  };
  line("entries after recovery", r.entries);
  line("reservations of dead inserters freed", r.pending_cleared);
  line("record buffers reclaimed", r.buffers_reclaimed);
  line("spare permits of dead handles reset", r.spares_cleared);
  line("probe bounds lowered", r.bounds_lowered);
  line("probe bounds raised (corruption)", r.bounds_raised);
  line("duplicate keys (corruption, left)", r.duplicate_keys);
  line("corrupt slots freed", r.corrupt_slots);
  line("keys with dirty padding repaired", r.keys_repaired);
  line("locks of dead holders reset", r.locks_reset);
  return s;
}

} // namespace shmtable::tool
