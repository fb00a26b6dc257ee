// The tool's commands on one table's entries: get, set, del, keys, dump, load.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "encoding.hpp"
#include "report.hpp"
#include "table_access.hpp"

namespace shmtable::tool {

namespace {

void write_out(std::string_view bytes) { std::fwrite(bytes.data(), 1, bytes.size(), stdout); }

void print_json(const nlohmann::json &j) { write_out(json_line(j)); }

[[noreturn]] void absent(const std::string &key, const Opened &t) {
  throw Failure(kExitNo, "key " + printable(key) + " is not in " + t.before.display);
}

// The whole of stdin, or of the file `path` ("-": stdin).
std::string read_all(const std::string &path) {
  if (path.empty() || path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    usage_error("cannot read '" + path + "'");
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The table's keys that start with --prefix, sorted (best-effort under writers, as
// keys() is).
std::vector<std::string> sorted_keys(AnyTable &t, const Args &a) {
  std::vector<std::string> keys = with_table(t, [](auto &table) { return table.keys(); });
  const std::string prefix = a.option("prefix").value_or("");
  std::erase_if(keys, [&](const std::string &k) { return !k.starts_with(prefix); });
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end()); // keys() may list one twice
  return keys;
}

struct Entry {
  std::size_t line;
  std::string key, value;
};

// load's input, parsed whole before anything is written: one JSON object a line, as
// dump writes them; blank lines are skipped. A usage error names the first bad line.
std::vector<Entry> parse_dump(const std::string &text) {
  std::vector<Entry> out;
  std::istringstream in(text);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (std::all_of(line.begin(), line.end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
      continue;
    }
    const std::string where = "line " + std::to_string(n) + ": ";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception &e) {
      usage_error(where + "not JSON (" + e.what() + ")");
    }
    if (!j.is_object()) {
      usage_error(where + "not a JSON object; each line is {\"key\": ..., \"value\": ...}");
    }
    for (const auto &[field, v] : j.items()) {
      if (field != "key" && field != "key_b64" && field != "value" && field != "value_b64") {
        usage_error(where + "unknown field \"" + field +
                    "\" (a line has key or key_b64, and value or value_b64)");
      }
    }
    try {
      out.push_back({n, get_bytes(j, "key"), get_bytes(j, "value")});
    } catch (const std::invalid_argument &e) {
      usage_error(where + e.what());
    }
  }
  return out;
}

} // namespace

int run_get(const Args &a) {
  Opened t = open_table(a);
  const std::string key = a.arg(0);
  const auto value = with_table(t.table, [&](auto &table) { return table.get(key); });
  if (!value) {
    absent(key, t);
  }
  if (a.has("json")) {
    nlohmann::json j;
    put_bytes(j, "key", key);
    put_bytes(j, "value", *value);
    print_json(j);
  } else {
    write_out(*value + "\n");
  }
  return kExitOk;
}

int run_set(const Args &a) {
  // The library's bounds (table.hpp, "Expiry"): more than 0, at most 100 years; here in
  // seconds, to the millisecond.
  const std::optional<double> ttl =
      a.seconds("ttl", 0.001, 100.0 * 365 * 24 * 3600, "0.001..3153600000 (100 years)");
  const bool from_stdin = a.has("stdin");
  if (from_stdin == (a.positional.size() == 2)) {
    usage_error(from_stdin ? "give the VALUE or --stdin, not both"
                           : "missing VALUE (or --stdin to read it from standard input)");
  }
  const std::string value = from_stdin ? read_all("-") : a.arg(1);
  Opened t = open_table(a, /*may_create=*/true);
  with_table(t.table, [&](auto &table) {
    if (ttl) {
      table.set(a.arg(0), value,
                std::chrono::round<std::chrono::nanoseconds>(std::chrono::duration<double>(*ttl)));
    } else {
      table.set(a.arg(0), value);
    }
  });
  return kExitOk;
}

int run_del(const Args &a) {
  Opened t = open_table(a);
  const std::string key = a.arg(0);
  if (!with_table(t.table, [&](auto &table) { return table.erase(key); })) {
    absent(key, t);
  }
  return kExitOk;
}

int run_keys(const Args &a) {
  Opened t = open_table(a);
  const std::vector<std::string> keys = sorted_keys(t.table, a);
  if (a.has("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const std::string &k : keys) {
      nlohmann::json j;
      put_bytes(j, "key", k);
      list.push_back(j);
    }
    print_json(list);
  } else {
    for (const std::string &k : keys) {
      write_out(k + "\n");
    }
  }
  return kExitOk;
}

int run_dump(const Args &a) {
  Opened t = open_table(a);
  for (const std::string &k : sorted_keys(t.table, a)) {
    const auto value = with_table(t.table, [&](auto &table) { return table.get(k); });
    if (!value) {
      continue; // erased since keys() listed it
    }
    nlohmann::json j;
    put_bytes(j, "key", k);
    put_bytes(j, "value", *value);
    print_json(j);
  }
  return kExitOk;
}

int run_load(const Args &a) {
  const std::vector<Entry> entries = parse_dump(read_all(a.arg(0, "-")));
  Opened t = open_table(a, /*may_create=*/true);
  const auto [max_key, max_value] = with_table(t.table, [](auto &table) {
    return std::pair{table.max_key_bytes(), table.max_value_bytes()};
  });
  for (const Entry &e : entries) { // every line checked before any is written
    if (e.key.size() > max_key || e.value.size() > max_value) {
      usage_error("line " + std::to_string(e.line) + ": a key of " + std::to_string(e.key.size()) +
                  " bytes and a value of " + std::to_string(e.value.size()) + " bytes; " +
                  t.before.display + " takes keys up to " + std::to_string(max_key) +
                  " and values up to " + std::to_string(max_value) + " bytes (nothing loaded)");
    }
  }
  std::size_t loaded = 0;
  for (const Entry &e : entries) {
    try {
      with_table(t.table, [&](auto &table) { table.set(e.key, e.value); });
    } catch (const Error &err) {
      throw Error(err.code(), "line " + std::to_string(e.line) + ": " + bare_message(err) +
                                  " (loaded " + std::to_string(loaded) + " of " +
                                  std::to_string(entries.size()) + " entries)");
    }
    ++loaded;
  }
  if (a.has("json")) {
    print_json({{"table", t.before.display}, {"loaded", loaded}, {"created", t.created}});
  } else {
    write_out("loaded " + std::to_string(loaded) + " entries into " + t.before.display +
              (t.created ? " (created)" : "") + "\n");
  }
  return kExitOk;
}

} // namespace shmtable::tool
