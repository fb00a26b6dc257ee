// The tool's commands: each takes the parsed command line and returns the exit code
// (cli.hpp), or throws Failure or shmtable::Error.
#pragma once

#include "cli.hpp"

namespace shmtable::tool {

// data.cpp: one table's entries.
int run_get(const Args &a);
int run_set(const Args &a);
int run_del(const Args &a);
int run_keys(const Args &a);
int run_dump(const Args &a);
int run_load(const Args &a);

// admin.cpp: tables as a whole.
int run_ls(const Args &a);
int run_stat(const Args &a);
int run_fsck(const Args &a);
int run_recover(const Args &a);
int run_unlink(const Args &a);

// demo.cpp: two processes sharing a table.
int run_demo(const Args &a);
int run_demo_peer(const Args &a);

} // namespace shmtable::tool
