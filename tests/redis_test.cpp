// RedisTable beyond the conformance suite: what only a table on a server does (its
// connection options, the server's failures, namespaces, several clients).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include "engines.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

// A table on the binary's server, under a name of its own (pid and counter: a rerun or
// --gtest_repeat starts from an empty table).
RedisOptions on_test_server(const std::string &tag) {
  const ScopedName unique(tag);
  RedisOptions o;
  o.name = unique.str();
  o.connect_to(Redis::server().url());
  return o;
}

// A raw connection to a server, for what the tests do behind a table's back.
struct RawRedis {
  redisContext *c;
  explicit RawRedis(int port) : c(redisConnect("127.0.0.1", port)) {}
  ~RawRedis() { redisFree(c); }
  std::string command(const char *text) {
    auto *r = static_cast<redisReply *>(redisCommand(c, text));
    std::string out = r == nullptr ? "(no reply)" : r->str != nullptr ? r->str : "";
    freeReplyObject(r);
    return out;
  }
};

std::string redis_server_path() {
  std::string path;
  std::string why;
  if (!support::Server::find("redis-server", path, why)) {
    throw std::runtime_error(why);
  }
  return path;
}

TEST(RedisOptions, UrlsFillTheConnectionFields) {
  RedisOptions o;
  o.name = "kept";
  o.connect_to("redis://alice:s3cret@cache.example:7000/3");
  EXPECT_EQ(o.host, "cache.example");
  EXPECT_EQ(o.port, 7000u);
  EXPECT_EQ(o.username, "alice");
  EXPECT_EQ(o.password, "s3cret");
  EXPECT_EQ(o.database, 3u);
  EXPECT_EQ(o.name, "kept");
  o.connect_to("redis://:only-password@10.0.0.1");
  EXPECT_EQ(o.host, "10.0.0.1");
  EXPECT_EQ(o.port, 6379u);
  EXPECT_EQ(o.username, "");
  EXPECT_EQ(o.password, "only-password");
  EXPECT_EQ(o.database, 0u);
  o.connect_to("redis://[::1]:6380");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6380u);
  o.connect_to("unix:///run/redis/redis.sock?db=2");
  EXPECT_EQ(o.unix_socket, "/run/redis/redis.sock");
  EXPECT_EQ(o.database, 2u);
  EXPECT_EQ(o.password, "");
  o.connect_to("unix:///tmp/a@b.sock"); // an '@' in the path is no credential
  EXPECT_EQ(o.unix_socket, "/tmp/a@b.sock");
  o.connect_to("redis://bob:p%40ss%3Aword@h"); // percent-escaped, as other clients read it
  EXPECT_EQ(o.username, "bob");
  EXPECT_EQ(o.password, "p@ss:word");
  EXPECT_EQ(o.unix_socket, "");
}

TEST(RedisOptions, BadUrlsNameWhatIsWrong) {
  RedisOptions o;
  expect_error(Errc::kInvalidArgument, "neither redis:// nor unix://",
               [&] { o.connect_to("http://localhost"); });
  expect_error(Errc::kInvalidArgument, "port \"http\"",
               [&] { o.connect_to("redis://localhost:http"); });
  expect_error(Errc::kInvalidArgument, "port \"70000\"",
               [&] { o.connect_to("redis://localhost:70000"); });
  expect_error(Errc::kInvalidArgument, "database \"x\"", [&] { o.connect_to("redis://h/x"); });
  expect_error(Errc::kInvalidArgument, "names no host", [&] { o.connect_to("redis://:6379"); });
  expect_error(Errc::kInvalidArgument, "absolute socket path",
               [&] { o.connect_to("unix://relative.sock"); });
  expect_error(Errc::kInvalidArgument, "[USER]:PASSWORD", [&] { o.connect_to("redis://x@h"); });
  expect_error(Errc::kInvalidArgument, "[ADDRESS]:PORT", [&] { o.connect_to("redis://[::1"); });
  expect_error(Errc::kInvalidArgument, "in brackets", [&] { o.connect_to("redis://::1"); });
  expect_error(Errc::kInvalidArgument, "takes no query", [&] { o.connect_to("redis://h?db=1"); });
  expect_error(Errc::kInvalidArgument, "not 0", [&] { o.connect_to("redis://h:0"); });
  expect_error(Errc::kInvalidArgument, "two hex digits", [&] { o.connect_to("redis://:%4@h"); });
}

TEST(RedisTable, RefusesAFileBackedTableAndBadNames) {
  Options o;
  o.path = "/tmp/table";
  expect_error(Errc::kInvalidArgument, "path: a RedisTable lives on a server",
               [&] { RedisTable t(o, Redis::server().url()); });
  expect_error(Errc::kInvalidName, "", [&] { RedisTable t(on_test_server("bad name")); });
  RedisOptions r = on_test_server("limits");
  r.max_value_bytes = kMaxValueBytesLimit + 1;
  expect_error(Errc::kInvalidArgument, "max_value_bytes", [&] { RedisTable t(r); });
}

// The first handle records the table's limits on the server; later ones adopt them
// (0) or must match them, as the openers of a shared-memory table do.
TEST(RedisTable, LimitsAreTheTablesAndCheckedAsASegmentsAre) {
  RedisOptions o = on_test_server("limits");
  o.max_value_bytes = 1000;
  RedisTable first(o);
  EXPECT_TRUE(first.created());
  o.max_key_bytes = 0;
  o.max_value_bytes = 0;
  RedisTable adopting(o);
  EXPECT_FALSE(adopting.created());
  EXPECT_EQ(adopting.max_key_bytes(), kDefaultMaxKeyBytes);
  EXPECT_EQ(adopting.max_value_bytes(), 1000u);
  adopting.set("k", std::string(1000, 'v'));
  o.max_value_bytes = 500;
  expect_error(Errc::kLayoutMismatch,
               "max_value_bytes: the table has 1000, the options ask for 500",
               [&] { RedisTable t(o); });
  first.clear(); // the limits stay the table's
  o.max_value_bytes = 0;
  EXPECT_EQ(RedisTable(o).max_value_bytes(), 1000u);
  // One-line move: Options with 0 adopt too.
  Options shm;
  shm.name = o.name;
  shm.max_key_bytes = 0;
  shm.max_value_bytes = 0;
  EXPECT_EQ(RedisTable(shm, Redis::server().url()).max_value_bytes(), 1000u);
  // A key NAME that some other program wrote is no table's record.
  RawRedis raw(Redis::server().process().port());
  RedisOptions other = on_test_server("taken");
  raw.command(("SET " + other.name + " something-else").c_str());
  expect_error(Errc::kCorruptedHeader, "holds something other than a table's record",
               [&] { RedisTable t(other); });
}

TEST(RedisTable, NoServerIsAConnectionErrorNotAMiss) {
  int port = 0;
  {
    support::Server gone(redis_server_path(),
                         {"--port", "{port}", "--bind", "127.0.0.1", "--save", ""});
    port = gone.port();
  } // stopped: nothing listens on the port now
  RedisOptions o;
  o.name = "nobody";
  o.connect_to("redis://127.0.0.1:" + std::to_string(port));
  expect_error(Errc::kConnectionLost, "connect failed", [&] { RedisTable t(o); });
}

// The server dies mid-run: the calls fail with kConnectionLost, never a silent miss, and
// once it is back the same handle reconnects and works on.
TEST(RedisTable, ASurvivingHandleReconnectsAfterTheServerRestarts) {
  support::Server server(redis_server_path(),
                         {"--port", "{port}", "--bind", "127.0.0.1", "--save", ""});
  RedisOptions o;
  o.name = "restart";
  o.connect_to("redis://127.0.0.1:" + std::to_string(server.port()));
  RedisTable t(o);
  t.set("before", "1");
  EXPECT_EQ(t.get("before"), "1");

  server.kill(SIGKILL);
  expect_error(Errc::kConnectionLost, "may or may not have taken effect",
               [&] { (void)t.get("before"); });
  expect_error(Errc::kConnectionLost, "", [&] { t.set("during", "x"); }); // reconnect fails

  server.restart(); // same port; the new server has none of the old one's data
  EXPECT_EQ(t.get("before"), std::nullopt);
  t.set("after", "2");
  EXPECT_EQ(t.get("after"), "2");
  EXPECT_TRUE(t.compare_and_set("after", "2", "3")); // the script is loaded again
  EXPECT_EQ(t.get("after"), "3");
}

// The server closes an idle connection (its `timeout`); a large write then meets a reset
// socket. hiredis writes with write(2), which raises SIGPIPE there: the call must fail
// with kConnectionLost, not kill the process.
TEST(RedisTable, AWriteToAClosedConnectionIsAnErrorNotSigpipe) {
  support::Server server(redis_server_path(), {"--port", "{port}", "--bind", "127.0.0.1", "--save",
                                               "", "--timeout", "1"});
  RedisOptions o;
  o.name = "idle";
  o.max_value_bytes = kMaxValueBytesLimit;
  o.connect_to("redis://127.0.0.1:" + std::to_string(server.port()));
  RedisTable t(o);
  t.set("k", "v");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500)); // the server closes it
  const std::string big(kMaxValueBytesLimit, 'x');
  bool failed = false;
  for (int i = 0; i < 3 && !failed; ++i) {
    try {
      t.set("big", big);
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Errc::kConnectionLost) << e.what();
      failed = true;
    }
  }
  EXPECT_TRUE(failed);
  t.set("after", "reconnected");
  EXPECT_EQ(t.get("after"), "reconnected");
}

TEST(RedisTable, AServerThatDoesNotAnswerIsATimeout) {
  support::Server server(redis_server_path(),
                         {"--port", "{port}", "--bind", "127.0.0.1", "--save", ""});
  RedisOptions o;
  o.name = "stopped";
  o.command_timeout_ms = 200;
  o.connect_to("redis://127.0.0.1:" + std::to_string(server.port()));
  RedisTable t(o);
  t.set("k", "v");
  t.set("other", "w");
  ::kill(server.pid(), SIGSTOP);
  expect_error(Errc::kTimeout, "no answer to GET", [&] { (void)t.get("k"); });
  ::kill(server.pid(), SIGCONT);
  // A new connection: the late reply to the first GET ("v") is not taken for this one.
  EXPECT_EQ(t.get("other"), "w");
  EXPECT_EQ(t.get("k"), "v");
}

TEST(RedisTable, CredentialsAreCheckedByTheServer) {
  support::Server server(redis_server_path(), {"--port", "{port}", "--bind", "127.0.0.1", "--save",
                                               "", "--requirepass", "s3cret"});
  const std::string at = "127.0.0.1:" + std::to_string(server.port());
  RedisOptions o;
  o.name = "auth";
  o.connect_to("redis://:wrong@" + at);
  expect_error(Errc::kPermissionDenied, "AUTH refused", [&] { RedisTable t(o); });
  o.connect_to("redis://" + at);
  expect_error(Errc::kPermissionDenied, "NOAUTH", [&] { RedisTable anonymous(o); });
  o.connect_to("redis://:s3cret@" + at);
  RedisTable t(o);
  t.set("k", "v");
  EXPECT_EQ(t.get("k"), "v");
  o.connect_to("redis://default:s3cret@" + at); // an ACL user and its password
  RedisTable user(o);
  EXPECT_EQ(user.get("k"), "v");
}

TEST(RedisTable, AUnixSocketAndADatabaseFromTheUrl) {
  const std::string sock = "/tmp/shmtable-redis-test-" + std::to_string(::getpid()) + ".sock";
  support::Server server(
      redis_server_path(),
      {"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--save", ""}, sock);
  RedisOptions o;
  o.name = "socket";
  o.connect_to("unix://" + sock + "?db=3");
  RedisTable t(o);
  t.set("k", "on db 3");
  o.connect_to("unix://" + sock);
  RedisTable db0(o);
  EXPECT_EQ(db0.get("k"), std::nullopt);
  o.connect_to("unix://" + sock + "?db=3");
  EXPECT_EQ(RedisTable(o).get("k"), "on db 3");
}

// With maxmemory and the noeviction policy, a write the server refuses for memory is the
// table being full: reported, and the table intact.
TEST(RedisTable, AServerOutOfMemoryIsAFullTable) {
  support::Server server(redis_server_path(),
                         {"--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--maxmemory",
                          "2mb", "--maxmemory-policy", "noeviction"});
  RedisOptions o;
  o.name = "oom";
  o.max_value_bytes = 16384;
  o.connect_to("redis://127.0.0.1:" + std::to_string(server.port()));
  RedisTable t(o);
  const std::string value(16384, 'v');
  int stored = 0;
  try {
    for (; stored < 1000; ++stored) {
      t.set("k" + std::to_string(stored), value);
    }
    FAIL() << "1000 values of 16 KiB fit in 2 MiB";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), Errc::kTableFull) << e.what();
    EXPECT_NE(std::string(e.what()).find("table is full"), std::string::npos) << e.what();
  }
  ASSERT_GT(stored, 10);
  EXPECT_EQ(t.get("k0"), value);
  EXPECT_EQ(t.size(), static_cast<std::size_t>(stored));
  // At maxmemory the server refuses every write, of present keys too; set_if_absent of a
  // present key is still false, as the contract says.
  EXPECT_FALSE(t.set_if_absent("k0", "x"));
  expect_error(Errc::kTableFull, "table is full", [&] { t.set_if_absent("new", "x"); });
  expect_error(Errc::kTableFull, "table is full", [&] { t.set("k0", "overwrite"); });
  expect_error(Errc::kTableFull, "table is full", [&] { t.add("counter", 1); });
  expect_error(Errc::kTableFull, "table is full", [&] { t.compare_and_set("k0", value, "x"); });
  expect_error(Errc::kTableFull, "table is full", [&] {
    t.update("k0", [](const std::optional<std::string_view> &, std::string &) {
      return std::optional<std::string_view>("x");
    });
  });
  EXPECT_EQ(t.get("k0"), value);
  for (int i = 0; i < stored; ++i) { // deletes are allowed; the server's used memory falls
    EXPECT_TRUE(t.erase("k" + std::to_string(i)));
  }
  t.set("fits-again", "x");
  EXPECT_EQ(t.get("fits-again"), "x");
}

TEST(RedisTable, TablesAreNamespacesOfOneServer) {
  RedisOptions o = on_test_server("ns");
  RedisTable a_prefix(o); // "NAME:" is no prefix of "NAME-a:"
  const std::string base = o.name;
  o.name = base + "-a";
  RedisTable a(o);
  o.name = base + "-b";
  RedisTable b(o);
  for (int i = 0; i < 50; ++i) {
    a.set("k" + std::to_string(i), "a");
    b.set("k" + std::to_string(i), "b");
  }
  a_prefix.set("k0", "ns");
  EXPECT_EQ(a.get("k7"), "a");
  EXPECT_EQ(b.get("k7"), "b");
  EXPECT_EQ(a.size(), 50u);
  EXPECT_EQ(a_prefix.keys(), std::vector<std::string>{"k0"});
  a.clear();
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 50u);
  EXPECT_EQ(a_prefix.get("k0"), "ns");
  RedisOptions other_db = o; // b's table, on another database
  other_db.database = 1;
  RedisTable b1(other_db);
  EXPECT_EQ(b1.get("k7"), std::nullopt);
  EXPECT_EQ(b1.size(), 0u);
}

// update() reads, runs fn, and writes only if nobody wrote the key meanwhile: a write
// from another client between the read and the write makes fn run again on the new value.
TEST(RedisTable, UpdateRunsAgainWhenAnotherClientWroteBetween) {
  const RedisOptions o = on_test_server("update-race");
  RedisTable t(o);
  RedisTable other(o);
  t.set("k", "1");
  std::vector<std::string> seen;
  const bool stored =
      t.update("k", [&](const std::optional<std::string_view> &cur, std::string &scratch) {
        seen.emplace_back(cur.value_or("absent"));
        if (seen.size() == 1) {
          other.set("k", "10"); // between this call's read and its write
        }
        scratch = std::string(*cur) + "+1";
        return std::optional<std::string_view>(scratch);
      });
  EXPECT_TRUE(stored);
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "10"}));
  EXPECT_EQ(t.get("k"), "10+1");
}

// add() as add() reads numbers, where INCRBY is stricter ("007", "-0").
TEST(RedisTable, AddReadsNumbersAsEveryEngineDoes) {
  RedisTable t(on_test_server("add-forms"));
  t.set("zeros", "007");
  EXPECT_EQ(t.add("zeros", 1), 8);
  t.set("minus-zero", "-0");
  EXPECT_EQ(t.add("minus-zero", 5), 5);
  t.set("min", std::to_string(INT64_MIN));
  expect_error(Errc::kNotANumber, "overflows", [&] { t.add("min", -1); });
  EXPECT_EQ(t.get("min"), std::to_string(INT64_MIN));
  for (const std::uint32_t limit : {19u, 20u}) { // below 20, INCRBY could outgrow the limit
    RedisOptions o = on_test_server("add-limit");
    o.max_value_bytes = limit;
    RedisTable l(o);
    l.set("n", "-999999999999999999"); // 19 bytes
    if (limit == 19) {
      expect_error(Errc::kValueTooLarge, "max_value_bytes of 19", [&] { l.add("n", -1); });
      EXPECT_EQ(l.get("n"), "-999999999999999999");
    } else {
      EXPECT_EQ(l.add("n", -1), -1000000000000000000);
    }
  }
  RedisOptions small = on_test_server("add-small");
  small.max_value_bytes = 3;
  RedisTable s(small);
  EXPECT_EQ(s.add("n", 999), 999);
  expect_error(Errc::kValueTooLarge, "max_value_bytes of 3", [&] { s.add("n", 1); });
  EXPECT_EQ(s.get("n"), "999");
}

// Several processes, each with its own connection, count on one key: no increment lost.
TEST(RedisTable, ProcessesShareATableThroughTheServer) {
  constexpr int kProcs = 4;
  constexpr int kAdds = 300;
  RedisOptions shared = on_test_server("procs");
  shared.max_value_bytes = kProcs * kAdds; // the log's length at the end
  RedisTable t(shared);
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int code = 0;
      try {
        RedisTable mine(shared);
        for (int i = 0; i < kAdds; ++i) {
          mine.add("count", 1);
          mine.update("log", [](const std::optional<std::string_view> &cur, std::string &s) {
            s = std::string(cur.value_or("")) + "x";
            return std::optional<std::string_view>(s);
          });
        }
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    kids.push_back(pid);
  }
  for (const pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(t.get("count"), std::to_string(kProcs * kAdds));
  EXPECT_EQ(t.get("log")->size(), static_cast<std::size_t>(kProcs * kAdds));
}

// An exception from update()'s fn propagates, and leaves the handle working: no WATCH
// of that call stays behind to make a later update run again.
TEST(RedisTable, AnExceptionFromUpdatesFnLeavesTheHandleWorking) {
  const RedisOptions o = on_test_server("update-throws");
  RedisTable t(o);
  RedisTable other(o);
  t.set("k", "1");
  EXPECT_THROW(t.update("k",
                        [](const std::optional<std::string_view> &,
                           std::string &) -> std::optional<std::string_view> {
                          throw std::runtime_error("caller's own failure");
                        }),
               std::runtime_error);
  other.set("k", "2"); // would abort a WATCH left open by the failed call
  int runs = 0;
  EXPECT_TRUE(t.update("k", [&](const std::optional<std::string_view> &cur, std::string &s) {
    ++runs;
    s = std::string(*cur) + "+";
    return std::optional<std::string_view>(s);
  }));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(t.get("k"), "2+");
}

// compare_and_set runs a script the server keeps by its hash; a server that lost its
// script cache (SCRIPT FLUSH) gets the script sent again.
TEST(RedisTable, CompareAndSetSurvivesAFlushedScriptCache) {
  RedisTable t(on_test_server("cas-flush"));
  t.set("k", "a");
  EXPECT_TRUE(t.compare_and_set("k", "a", "b"));
  RawRedis raw(Redis::server().process().port());
  EXPECT_EQ(raw.command("SCRIPT FLUSH"), "OK");
  EXPECT_TRUE(t.compare_and_set("k", "b", "c"));
  EXPECT_FALSE(t.compare_and_set("k", "b", "d"));
  EXPECT_EQ(t.get("k"), "c");
}

// A handle's calls are serialized on its one connection: threads may share it.
TEST(RedisTable, ThreadsShareAHandle) {
  RedisTable t(on_test_server("threads"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&t, i] {
      for (int n = 0; n < 200; ++n) {
        t.add("count", 1);
        t.set("t" + std::to_string(i), std::to_string(n));
      }
    });
  }
  for (auto &th : threads) {
    th.join();
  }
  EXPECT_EQ(t.get("count"), "800");
  EXPECT_EQ(t.size(), 5u);
}

TEST(RedisTable, AClosedOrMovedFromHandleSaysSo) {
  RedisTable t(on_test_server("closed"));
  t.set("k", "v");
  RedisTable moved = std::move(t);
  EXPECT_EQ(moved.get("k"), "v");
  moved.close();
  expect_error(Errc::kInvalidArgument, "the handle is closed", [&] { (void)moved.get("k"); });
}

} // namespace
} // namespace shmtable::test
