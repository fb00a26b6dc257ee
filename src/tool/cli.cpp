// The shmtable tool's command line (cli.hpp): parsing and help text. The commands' own
// texts are in commands.cpp.
#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace shmtable::tool {

namespace {

bool listed(const std::vector<std::string_view> &list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// How many positional arguments a command requires after NAME ("[X]" is optional).
std::size_t required_count(const Command &cmd) {
  return static_cast<std::size_t>(
      std::count_if(cmd.positional.begin(), cmd.positional.end(),
                    [](std::string_view p) { return !p.starts_with('['); }));
}

std::string synopsis(const Command &cmd) {
  std::string s = "shmtable " + std::string(cmd.name);
  if (cmd.takes_table) {
    s += " (NAME | --path FILE)";
  }
  for (const auto p : cmd.positional) {
    s += " " + std::string(p);
  }
  if (!cmd.flags.empty() || !cmd.options.empty()) {
    s += " [options]";
  }
  return s;
}

} // namespace

std::optional<std::string> Args::option(std::string_view name) const {
  const auto it = options.find(name);
  if (it == options.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::uint64_t> Args::number(std::string_view name, std::uint64_t min,
                                          std::uint64_t max) const {
  const auto text = option(name);
  if (!text) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || v < min ||
      v > max) {
    usage_error("--" + std::string(name) + ": '" + *text + "' is not a whole number in " +
                std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

std::optional<double> Args::seconds(std::string_view name, double min, double max,
                                    std::string_view range) const {
  const auto text = option(name);
  if (!text) {
    return std::nullopt;
  }
  char *end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(v) || v < min ||
      v > max) {
    usage_error("--" + std::string(name) + ": '" + *text + "' is not a number of seconds in " +
                std::string(range));
  }
  return v;
}

std::string bare_message(const Error &e) {
  std::string m = e.what();
  if (m.starts_with("shmtable: ")) {
    m.erase(0, 10);
  }
  const std::string code = " [" + std::string(to_string(e.code())) + "]";
  if (m.ends_with(code)) {
    m.resize(m.size() - code.size());
  }
  return m;
}

const Command *find_command(std::string_view name) {
  for (const Command &c : commands()) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

Args parse(const Command &cmd, int argc, char **argv, std::string self) {
  Args a;
  a.command = &cmd;
  a.self = std::move(self);
  std::vector<std::string> words;
  bool options_done = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg == "-" || !arg.starts_with("-")) {
      words.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      a.flags.insert("help");
      continue;
    }
    if (!arg.starts_with("--")) {
      usage_error("unknown option '" + arg + "' (options are spelled --name; see --help)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const bool is_path = cmd.takes_table && name == "path";
    if (listed(cmd.flags, name)) {
      if (value) {
        usage_error("--" + name + " takes no value");
      }
      a.flags.insert(name);
    } else if (listed(cmd.options, name) || is_path) {
      if (!value) {
        if (i + 1 >= argc) {
          usage_error("--" + name + " needs a value");
        }
        value = argv[++i];
      }
      a.options[name] = *value;
    } else {
      usage_error("unknown option '--" + name + "' (see shmtable " + std::string(cmd.name) +
                  " --help)");
    }
  }
  if (a.has("help")) {
    return a; // main() prints the help, whatever else is there
  }
  std::size_t first = 0;
  if (cmd.takes_table && !a.option("path")) {
    if (words.empty()) {
      usage_error("no table named: give its NAME, or --path FILE for a file-backed table");
    }
    a.name = words[0];
    first = 1;
  } else if (cmd.takes_table && a.option("path")->empty()) {
    usage_error("--path needs a file name");
  }
  a.positional.assign(words.begin() + static_cast<std::ptrdiff_t>(first), words.end());
  const std::size_t need = required_count(cmd);
  if (a.positional.size() < need) {
    usage_error("missing " + std::string(cmd.positional[a.positional.size()]) +
                " (usage: " + synopsis(cmd) + ")");
  }
  if (a.positional.size() > cmd.positional.size()) {
    usage_error("unexpected argument '" + a.positional[cmd.positional.size()] +
                "' (usage: " + synopsis(cmd) + ")");
  }
  return a;
}

std::string overview() {
  std::string s =
      "usage: shmtable COMMAND [ARGS] [options]     (shmtable COMMAND --help for more)\n"
      "\n"
      "Looks at and changes shmtable tables: NAME is a table in /dev/shm (as\n"
      "Options::name), or --path FILE names a file-backed one. A table is opened\n"
      "with the engine and layout its header records; --engine and the sizing\n"
      "options, where given, must match them.\n"
      "\n"
      "commands:\n";
  for (const Command &c : commands()) {
    if (c.summary.empty()) {
      continue; // internal (demo-peer)
    }
    std::string line = "  " + std::string(c.name);
    line.resize(std::max<std::size_t>(line.size() + 1, 12), ' ');
    s += line + std::string(c.summary) + "\n";
  }
  s += "\n"
       "exit codes:\n"
       "  0  done\n"
       "  1  the answer is no: get or del of a key that is absent; fsck found corruption\n"
       "  2  bad command line (an unknown option, a bad name), or bad input to load\n"
       "  3  the table could not be opened (missing, not a table, another engine or\n"
       "     layout, busy) or the operation failed (full, too large)\n"
       "  4  fsck: no corruption, but what crashed processes left (shmtable recover)\n"
       "Errors go to stderr as 'shmtable: COMMAND: message'.\n";
  return s;
}

std::string command_help(const Command &cmd) {
  std::string s = "usage: " + synopsis(cmd) + "\n\n" + std::string(cmd.summary) + "\n";
  if (!cmd.help.empty()) {
    s += "\n" + std::string(cmd.help);
    if (!cmd.help.ends_with('\n')) {
      s += "\n";
    }
  }
  if (cmd.takes_table) {
    s += "\n  --path FILE        the table backed by FILE, instead of NAME in /dev/shm\n";
  }
  s += "\nExit codes: see shmtable help.\n";
  return s;
}

} // namespace shmtable::tool
