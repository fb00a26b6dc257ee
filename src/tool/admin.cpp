// The tool's commands on tables as a whole: ls, stat, fsck, recover, unlink.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "report.hpp"
#include "table_access.hpp"

namespace shmtable::tool {

namespace {

void write_out(const std::string &text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Handles attached besides the tool's own one, from a look taken while it is attached.
std::optional<std::uint64_t> others_of(const SegmentInfo &info) {
  const auto n = info.attached_handles;
  return n ? std::optional<std::uint64_t>(*n > 0 ? *n - 1 : 0) : std::nullopt;
}

// One row of ls: the header and entry counter as inspect_segment() reads them. No table
// is opened: an open would remove a dead one, and would count as attached meanwhile (a
// recover() elsewhere would find it busy).
struct Row {
  std::string name;
  std::optional<SegmentInfo> info;
  std::string note; // why it is not a table, or what is odd about it
};

Row list_one(const std::string &name) {
  Row row{name, std::nullopt, ""};
  try {
    row.info = inspect_segment(name);
  } catch (const Error &e) {
    row.note = bare_message(e);
    return row;
  }
  const SegmentInfo &info = *row.info;
  if (!info.ready) {
    row.note = "unfinished: its creator died; the next open removes it";
  } else if ((info.layout.params.flags & kFlagPersist) == 0 && !info.in_use) {
    row.note = "dead: not persistent and no process has it; the next open removes it";
  }
  return row;
}

std::string cell(std::optional<std::uint64_t> v) { return v ? std::to_string(*v) : "-"; }

} // namespace

int run_ls(const Args &a) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with('.') && entry.is_regular_file(ec)) { // hidden: creation locks
      names.push_back(name);
    }
  }
  if (ec) {
    throw Failure(kExitTable, "cannot list /dev/shm: " + ec.message());
  }
  std::sort(names.begin(), names.end());
  std::vector<Row> rows;
  for (const std::string &name : names) {
    Row row = list_one(name);
    if (row.info || a.has("all")) {
      rows.push_back(std::move(row));
    }
  }
  if (a.has("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const Row &r : rows) {
      nlohmann::json j{{"name", r.name}, {"table", r.info.has_value()}};
      if (r.info) {
        const TableParams &p = r.info->layout.params;
        const auto e = engine_name_of(p);
        j["engine"] = e ? std::string(to_string(*e)) : "unknown";
        j["capacity"] = p.capacity;
        j["entries"] = r.info->entries ? nlohmann::json(*r.info->entries) : nlohmann::json(nullptr);
        j["attached_handles"] = r.info->attached_handles ? nlohmann::json(*r.info->attached_handles)
                                                         : nlohmann::json(nullptr);
        j["in_use"] = r.info->in_use;
        j["persist"] = (p.flags & kFlagPersist) != 0;
        j["ready"] = r.info->ready;
      }
      if (!r.note.empty()) {
        j["note"] = r.note;
      }
      list.push_back(j);
    }
    write_out(json_line(list));
    return kExitOk;
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-32s %-9s %10s %10s %8s %-7s %s\n", "NAME", "ENGINE",
                "CAPACITY", "ENTRIES", "ATTACHED", "PERSIST", "NOTE");
  std::string out = line;
  for (const Row &r : rows) {
    if (!r.info) {
      std::snprintf(line, sizeof line, "%-32s %-9s %10s %10s %8s %-7s not a table: %s\n",
                    r.name.c_str(), "-", "-", "-", "-", "-", r.note.c_str());
    } else {
      const TableParams &p = r.info->layout.params;
      const auto e = engine_name_of(p);
      const std::string attached = r.info->attached_handles ? cell(r.info->attached_handles)
                                   : r.info->in_use         ? "yes"
                                                            : "0";
      std::snprintf(line, sizeof line, "%-32s %-9s %10llu %10s %8s %-7s %s\n", r.name.c_str(),
                    e ? std::string(to_string(*e)).c_str() : "unknown",
                    static_cast<unsigned long long>(p.capacity), cell(r.info->entries).c_str(),
                    attached.c_str(), (p.flags & kFlagPersist) != 0 ? "yes" : "no", r.note.c_str());
    }
    out += line;
  }
  write_out(out);
  return kExitOk;
}

int run_stat(const Args &a) {
  const double interval = a.seconds("interval", 0.01, 86400, "0.01..86400").value_or(1.0);
  const std::uint64_t count = a.number("count", 1).value_or(a.has("watch") ? UINT64_MAX : 1);
  Opened t = open_table(a);
  const bool clear = a.has("watch") && !a.has("json") && ::isatty(STDOUT_FILENO) != 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    }
    const SegmentInfo info = look(a);
    const std::optional<std::uint64_t> others = others_of(info);
    const TableInspection r = with_table(t.table, [](auto &table) { return table.inspect(); });
    const TableStats s = with_table(t.table, [](auto &table) { return table.stats(); });
    if (a.has("json")) {
      nlohmann::json j = info_json(info, others);
      j["inspection"] = inspection_json(r);
      j["stats"] = stats_json(s);
      write_out(json_line(j));
    } else {
      write_out(std::string(clear   ? "\x1b[H\x1b[2J"
                            : i > 0 ? "\n"
                                    : "") +
                info_text(info, others) + inspection_text(r) +
                stats_text(s, t.engine == EngineName::kLockFree));
    }
  }
  return kExitOk;
}

int run_fsck(const Args &a) {
  Opened t = open_table(a);
  const SegmentInfo info = look(a);
  const std::optional<std::uint64_t> others = others_of(info);
  const TableInspection r = with_table(t.table, [](auto &table) { return table.inspect(); });
  const std::string v = verdict(r);
  if (a.has("json")) {
    nlohmann::json j = info_json(info, others);
    j["verdict"] = v;
    j["inspection"] = inspection_json(r);
    write_out(json_line(j));
  } else {
    std::string s = "fsck " + info.display + ": " + std::string(to_string(t.engine)) + ", " +
                    std::to_string(r.capacity) + " slots, " + std::to_string(r.live) + " entries\n";
    if (!r.alone) {
      s += "other handles were attached: a best-effort check, and what their operations in "
           "flight hold (reservations, buffers, locks) is not counted as a finding\n";
    }
    s += findings_text(r);
    if (v == "consistent") {
      s += "verdict: consistent\n";
    } else if (v == "needs_recovery") {
      s += "verdict: no corruption, but crashed processes left work for recover: run "
           "shmtable recover " +
           (a.option("path") ? "--path " + *a.option("path") : a.name) + "\n";
    } else {
      s += "verdict: corrupt (recover frees corrupt slots; their entries are lost)\n";
    }
    write_out(s);
  }
  return v == "consistent" ? kExitOk : v == "corrupt" ? kExitNo : kExitNeedsRecovery;
}

int run_recover(const Args &a) {
  Opened t = open_table(a);
  RecoveryReport r;
  try {
    r = with_table(t.table, [](auto &table) { return table.recover(); });
  } catch (const Error &e) {
    if (e.code() != Errc::kBusy) {
      throw;
    }
    const std::optional<std::uint64_t> others = others_of(look(a));
    throw Error(
        Errc::kBusy,
        t.before.display + ": " +
            (others ? std::to_string(*others) + " other handles are" : "other handles are") +
            " attached (processes that have the table open); recover runs only when no "
            "other process has it open: stop them, or wait until they exit");
  }
  if (a.has("json")) {
    nlohmann::json j = recovery_json(r);
    j["table"] = t.before.display;
    write_out(json_line(j));
  } else {
    write_out("recovered " + t.before.display + "\n" + recovery_text(r));
  }
  return kExitOk;
}

int run_unlink(const Args &a) {
  const std::optional<std::string> path = a.option("path");
  if (!a.has("force")) {
    try {
      const SegmentInfo info = look(a);
      if (info.in_use) {
        std::fprintf(stderr,
                     "shmtable: unlink: note: %s is still open (%s); those handles keep it "
                     "until they close, later opens make a new table\n",
                     info.display.c_str(),
                     info.attached_handles
                         ? (std::to_string(*info.attached_handles) + " handles").c_str()
                         : "some handles");
      }
    } catch (const Error &e) {
      if (e.code() != Errc::kCorruptedHeader && e.code() != Errc::kLayoutMismatch) {
        throw;
      }
      throw Error(e.code(), bare_message(e) +
                                "; not removed, as it may be somebody else's file (--force "
                                "removes it all the same)");
    }
  }
  if (path) {
    unlink_path(*path);
  } else {
    shmtable::unlink(a.name);
  }
  return kExitOk;
}

} // namespace shmtable::tool
