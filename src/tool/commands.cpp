// The tool's command list: what each command takes, and its --help.
#include "commands.hpp"

#include <string>

#include "table_access.hpp"

namespace shmtable::tool {

namespace {

// Help texts that name the open options: built once, kept for the program's life.
const std::string kGetHelp =
    std::string("Prints the value of KEY and a newline; exit code 1 if the key is absent.\n"
                "\n"
                "  --json             {\"key\": ..., \"value\": ...} instead (a field whose bytes\n"
                "                     are not UTF-8 is key_b64 / value_b64, base64)\n") +
    std::string(kOpenOptionsHelp);
const std::string kSetHelp =
    std::string("Sets KEY to VALUE (inserted, or overwritten).\n"
                "\n"
                "  --stdin            the value is standard input, all of it (any bytes)\n"
                "  --ttl SECONDS      the entry expires SECONDS from now (0.001 up to 100\n"
                "                     years; fractions allowed): from then on it is absent\n") +
    std::string(kCreateOptionsHelp) + std::string(kOpenOptionsHelp);
const std::string kDelHelp =
    std::string("Erases KEY; exit code 1 if it was absent.\n\n") + std::string(kOpenOptionsHelp);
const std::string kKeysHelp =
    std::string("Prints every key, one a line, sorted. Best effort while others write: a key\n"
                "changed meanwhile may be missed or listed.\n"
                "\n"
                "  --prefix P         only keys that start with P\n"
                "  --json             a JSON array of {\"key\": ...} (key_b64 where not UTF-8)\n") +
    std::string(kOpenOptionsHelp);
const std::string kDumpHelp =
    std::string("Writes every entry to standard output as JSON lines, sorted by key:\n"
                "  {\"key\": \"user:1\", \"value\": \"alice\"}\n"
                "A key or value that is not valid UTF-8 is written base64 under key_b64 or\n"
                "value_b64 instead. shmtable load reads it back. Best effort while others write.\n"
                "\n"
                "  --prefix P         only keys that start with P\n") +
    std::string(kOpenOptionsHelp);
const std::string kLoadHelp =
    std::string("Sets every entry of FILE (standard input if absent or -), in the format dump\n"
                "writes: one JSON object a line with key or key_b64, and value or value_b64;\n"
                "blank lines are skipped. The whole input is checked first (JSON, fields,\n"
                "base64, the table's key and value limits): a bad line is refused with its\n"
                "number (exit code 2) and no entry is written (with --create the table is made\n"
                "first, and stays). A full table stops the load at its line, the entries before\n"
                "it written. Existing keys are overwritten,\n"
                "others kept.\n"
                "\n"
                "  --json             print {\"loaded\": N, ...} instead of a sentence\n") +
    std::string(kCreateOptionsHelp) + std::string(kOpenOptionsHelp);
const std::string kStatHelp =
    std::string("Prints the table's header (engine, persistence, layout), the handles attached\n"
                "besides this one, and a read-only walk of its slots: entries and load, free\n"
                "slots and tombstones, the probe-length histogram (how far each key lies from\n"
                "its home slot), probe bounds and record buffers (lock-free), locks held\n"
                "(mutex). The walk writes nothing; alone, it keeps other handles from attaching\n"
                "until it ends, as recover does. Then the counters every process shares, since\n"
                "the table was created: hits, misses, sets, inserts, erases, evictions,\n"
                "expirations, table_full, and (lock-free) the record buffers crashed processes\n"
                "leaked since the last recover.\n"
                "\n"
                "  --json             one JSON object (one a line with --watch)\n"
                "  --watch            print again every --interval seconds (default 1) until\n"
                "                     interrupted, or --count N times\n"
                "  --interval S, --count N\n") +
    std::string(kOpenOptionsHelp);
const std::string kFsckHelp =
    std::string("Checks the table without changing it (the walk of stat): every slot in a valid\n"
                "state, no key twice, every key reachable by its own lookup, the buffer pool's\n"
                "free list and accounting (lock-free), and, when no other process has the\n"
                "table open, what crashed processes left: reservations, leaked buffers, held\n"
                "locks, a wrong entry count. With others attached the check is best effort.\n"
                "\n"
                "Exit code: 0 consistent; 1 corrupt; 4 no corruption, but crash leftovers that\n"
                "shmtable recover repairs; 3 if the table cannot be opened.\n"
                "\n"
                "  --json             one JSON object with \"verdict\" and every finding\n") +
    std::string(kOpenOptionsHelp);
const std::string kRecoverHelp =
    std::string("Repairs what crashed processes left (recover()): reservations and buffers of\n"
                "dead writers, locks of dead holders, the entry count; frees corrupt slots.\n"
                "Runs only when no other process has the table open (else exit code 3, busy),\n"
                "so only on a persistent table: one that does not persist is gone once the\n"
                "last process that had it open has left.\n"
                "\n"
                "  --json             the report as one JSON object\n") +
    std::string(kOpenOptionsHelp);

const std::vector<Command> kCommands = {
    {"ls",
     false,
     {},
     {"json", "all"},
     {},
     "list the tables in /dev/shm: engine, capacity, entries, attached handles",
     "Lists every table in /dev/shm (files whose header is a shmtable header) with its\n"
     "engine, capacity, entries and the handles attached to it (from /proc/locks; a process\n"
     "has one per open of the table). A table that nobody has open and that does not\n"
     "persist is listed as dead, not opened (an open would remove it).\n"
     "\n"
     "  --all              list the other files too, saying why each is not a table\n"
     "  --json             a JSON array of objects\n",
     run_ls},
    {"stat",
     true,
     {},
     {"json", "watch"},
     {"interval", "count", "engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "layout, entries, load, probe-length histogram, buffers and locks",
     kStatHelp,
     run_stat},
    {"get",
     true,
     {"KEY"},
     {"json"},
     {"engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "print a key's value",
     kGetHelp,
     run_get},
    {"set",
     true,
     {"KEY", "[VALUE]"},
     {"stdin", "create"},
     {"ttl", "engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "set a key's value",
     kSetHelp,
     run_set},
    {"del",
     true,
     {"KEY"},
     {},
     {"engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "erase a key",
     kDelHelp,
     run_del},
    {"keys",
     true,
     {},
     {"json"},
     {"prefix", "engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "list the keys",
     kKeysHelp,
     run_keys},
    {"dump",
     true,
     {},
     {},
     {"prefix", "engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "write every entry as JSON lines",
     kDumpHelp,
     run_dump},
    {"load",
     true,
     {"[FILE]"},
     {"json", "create"},
     {"engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "set the entries of a dump",
     kLoadHelp,
     run_load},
    {"fsck",
     true,
     {},
     {"json"},
     {"engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "check the table's consistency, read-only; the exit code is the verdict",
     kFsckHelp,
     run_fsck},
    {"recover",
     true,
     {},
     {"json"},
     {"engine", "capacity", "max-key-bytes", "max-value-bytes", "hash-seed"},
     "repair what crashed processes left (only when no other has it open)",
     kRecoverHelp,
     run_recover},
    {"unlink",
     true,
     {},
     {"force"},
     {},
     "remove a table's name (or file)",
     "Removes the table's name from /dev/shm (or its file): processes that have it open\n"
     "keep it until they close it; the next open makes a new table. A file whose header\n"
     "is not a shmtable header is refused.\n"
     "\n"
     "  --force            remove it even if it is not a table\n",
     run_unlink},
    {"demo",
     false,
     {"[NAME]"},
     {},
     {},
     "two processes share one table (a first look)",
     "Creates a mutex-engine table (NAME, or shmtable-demo-PID), starts this program\n"
     "again as a second process that attaches by name, and shows each one's writes\n"
     "reaching the other. The table is gone when both have closed it.\n",
     run_demo},
    {"demo-peer", false, {"NAME"}, {}, {}, "", "", run_demo_peer},
};

} // namespace

const std::vector<Command> &commands() { return kCommands; }

} // namespace shmtable::tool
