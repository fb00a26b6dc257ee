// shmtable: the command-line tool. Looks at and changes tables by name (or --path):
// ls, stat, get, set, del, keys, dump, load, fsck, recover, unlink, demo.
//
//   main.cpp         this: the command's lookup, its run, how it fails (exit codes)
//   cli.*            the command line: parsing, help, exit codes
//   commands.*       the command list and each command's --help
//   table_access.*   finding and opening the table a command names
//   data.cpp         get, set, del, keys, dump, load
//   admin.cpp        ls, stat, fsck, recover, unlink
//   report.*         headers, inspections and recoveries as text or JSON
//   encoding.*       bytes in JSON (UTF-8 or base64)
//   demo.cpp         demo, demo-peer
#include <cstdio>
#include <exception>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "shmtable/error.hpp"

int main(int argc, char **argv) {
  using namespace shmtable::tool;
  if (argc < 2) {
    std::fputs(overview().c_str(), stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    const Command *cmd = argc > 2 ? find_command(argv[2]) : nullptr;
    std::fputs(cmd != nullptr ? command_help(*cmd).c_str() : overview().c_str(), stdout);
    return kExitOk;
  }
  const Command *cmd = find_command(name);
  if (cmd == nullptr) {
    std::fprintf(stderr, "shmtable: unknown command '%s' (shmtable help lists them)\n",
                 name.c_str());
    return kExitUsage;
  }
  std::string self = argv[0];
  if (self.find('/') == std::string::npos) {
    self = "/proc/self/exe"; // started through PATH: the demo's peer is this binary
  }
  const auto fail = [&](int code, std::string message) {
    if (message.starts_with(name + ": ")) { // the library's messages may name it too
      message.erase(0, name.size() + 2);
    }
    std::fprintf(stderr, "shmtable: %s: %s\n", name.c_str(), message.c_str());
    return code;
  };
  try {
    const Args args = parse(*cmd, argc, argv, self);
    if (args.has("help")) {
      std::fputs(command_help(*cmd).c_str(), stdout);
      return kExitOk;
    }
    const int rc = cmd->run(args);
    if (std::fflush(stdout) != 0) {
      return fail(kExitTable, "cannot write the output");
    }
    return rc;
  } catch (const Failure &f) {
    return fail(f.code(), f.what());
  } catch (const shmtable::Error &e) {
    std::string hint;
    if (e.code() == shmtable::Errc::kSegmentMissing) {
      hint = cmd->name == "set" || cmd->name == "load" ? " (no such table; --create makes one)"
                                                       : " (no such table; shmtable ls lists them)";
    }
    // A bad name is a bad command line; every other error is the table's.
    return fail(e.code() == shmtable::Errc::kInvalidName ? kExitUsage : kExitTable,
                bare_message(e) + hint + " [" + std::string(to_string(e.code())) + "]");
  } catch (const std::exception &e) {
    return fail(kExitTable, e.what());
  }
}
