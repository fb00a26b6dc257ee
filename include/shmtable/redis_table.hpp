// shmtable/redis_table.hpp: the table's contract on a Redis server, for processes on
// several machines. Link with -lshmtable-redis (pkg-config: shmtable-redis); built when
// hiredis is found.
//
// The contract of every table (shmtable/table.hpp), kept by one Redis server:
//  - The table is a key namespace: key K of table NAME is the Redis string "NAME:K". So
//    keys(), size() and clear() touch only keys that start with "NAME:" (any such key is
//    the table's, whoever wrote it). They walk the server's keys with SCAN (never KEYS,
//    which blocks the server), so they cost time in the size of the whole database, and
//    are best-effort under concurrent writes as the contract allows.
//  - Every per-key operation is one atomic step on the server: a native command where
//    one does it (GET, SET, SET NX, DEL, EXISTS, INCRBY), a server-side script for
//    compare_and_set, and WATCH/MULTI/EXEC for update() and for add() on a value that
//    INCRBY refuses but the contract accepts ("007"). Redis runs commands one at a time,
//    so on one server (no replicas read) every per-key operation is linearizable.
//  - update() takes two round trips (WATCH and GET, then MULTI, SET and EXEC, each
//    pipelined). Its fn may run more than once: when another client changes the key
//    between the read and the write, the server drops the write and fn runs again on
//    the new value. fn must not call the same handle (its calls hold the handle's lock).
//  - Expiry is the server's own (PX deadlines, its clock, to the millisecond: a ttl is
//    rounded up to a whole ms). set(key, value, ttl) is SET PX, set_if_absent SET NX PX,
//    and add(key, delta, ttl) a script that gives the deadline only to a key INCRBY
//    creates. compare_and_set and update keep a key's deadline (SET KEEPTTL), as the
//    contract says; a plain set clears it. The server frees expired keys itself, so
//    purge_expired() has nothing to do and returns 0. Needs Redis 6.0.9 or later:
//    KEEPTTL came in 6.0, and only from 6.0.9 does a watched key that expires abort
//    EXEC (update()'s check that nothing changed since its read).
//  - There are no slots. Room is the server's memory: with maxmemory set and the
//    noeviction policy, a write the server refuses for memory is Errc::kTableFull. At
//    maxmemory the server refuses overwrites too, so on a server kTableFull can also
//    come from a write to a present key (set_if_absent of a present key still returns
//    false). Other maxmemory policies evict keys instead, which the contract does not
//    allow: a key vanishes without an erase.
//  - max_key_bytes and max_value_bytes are enforced as by every engine, before anything
//    is sent. The first handle of a table records them on the server, in the key NAME
//    (the table's name, no ':'), and every later handle adopts or checks them, as a
//    shared-memory table's openers do; clear() leaves that record. There is no capacity,
//    and open_mode has no counterpart.
//  - Failures of the server are errors, never a silent miss: Errc::kConnectionLost,
//    kTimeout, kServerError, kPermissionDenied (credentials). A write that fails so may
//    or may not take effect, even later, after this handle's next calls. The handle
//    drops the connection and reconnects on its next call; it never retries a call by
//    itself. command_timeout_ms bounds each read and write of the socket, not a whole
//    call: keys() and a large value take several.
//  - SIGPIPE is blocked in the calling thread during each call (hiredis writes without
//    MSG_NOSIGNAL), and one raised by a failed call is consumed. A process-wide SIGPIPE
//    that arrives during a failed call is consumed with it; a thread that blocks SIGPIPE
//    itself keeps the one a failed call raised pending.
//  - A handle holds one connection; its calls are serialized by a mutex, so threads may
//    share it (one connection per thread scales better: open a handle per thread).
//  - Durability, latency and failover are the server's: the README's "When you outgrow
//    one machine" says what changes against a shared-memory table.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shmtable/config.hpp"
#include "shmtable/options.hpp"
#include "shmtable/table.hpp"
#include "shmtable/updater.hpp"

namespace shmtable {

// Which table, its limits, and where its server is.
struct RedisOptions {
  // The table's namespace, with Options::name's rules (1..kMaxNameBytes of
  // [A-Za-z0-9._-], not starting with '.').
  std::string name;
  // As Options' sizing fields: the first handle of a table records them on the server
  // (0: the default, kDefaultMaxKeyBytes / kDefaultMaxValueBytes); a later one adopts the
  // table's where 0, and any other value that differs fails with Errc::kLayoutMismatch.
  std::uint32_t max_key_bytes = 0;
  std::uint32_t max_value_bytes = 0;

  // The server: the unix socket if one is given, else host:port.
  std::string host = "127.0.0.1";
  unsigned port = 6379;
  std::string unix_socket;
  std::string username; // an ACL user (Redis 6+); empty: AUTH with the password alone
  std::string password; // empty: no AUTH
  unsigned database = 0;
  unsigned connect_timeout_ms = 1000;
  unsigned command_timeout_ms = 1000; // per read or write of the socket: Errc::kTimeout
                                      // past it; 0: wait forever

  // The connection fields from a URL, the rest as given:
  //   redis://[[USER]:PASSWORD@]HOST[:PORT][/DATABASE]    (an IPv6 HOST in brackets)
  //   unix://[[USER]:PASSWORD@]/PATH/TO/SOCKET[?db=DATABASE]
  // USER and PASSWORD may carry %XX escapes (%40 for '@', %3A for ':').
  // Errc::kInvalidArgument naming the part that is wrong.
  RedisOptions &connect_to(std::string_view url);
};

class RedisTable : public detail::CallableOverloads<RedisTable> {
public:
  // Connects (Errc::kConnectionLost, kTimeout, kPermissionDenied if the server cannot be
  // used; kServerError if it refuses the database), then records or checks the table's
  // limits (Errc::kLayoutMismatch naming the field that differs; kCorruptedHeader if the
  // key NAME holds something else). Errc::kInvalidName / kInvalidArgument for a bad
  // name, limit or port.
  explicit RedisTable(const RedisOptions &opts);
  // The one-line move from a shared-memory table: its Options (name, max_key_bytes,
  // max_value_bytes, 0 meaning the table's) on the server at `url` (as connect_to()).
  // Options::path is refused (a file is one machine's); the other fields have no
  // meaning on a server and are ignored.
  RedisTable(const Options &opts, std::string_view url);
  ~RedisTable();
  RedisTable(RedisTable &&) noexcept;
  RedisTable &operator=(RedisTable &&) noexcept;
  RedisTable(const RedisTable &) = delete;
  RedisTable &operator=(const RedisTable &) = delete;

  void set(std::string_view key, std::string_view value);
  void set_with(std::string_view key, ValueSource source, void *ctx);
  std::optional<std::string> get(std::string_view key) const;
  std::optional<std::size_t> get_into(std::string_view key, std::span<char> out) const;
  bool erase(std::string_view key);
  bool contains(std::string_view key) const;
  std::int64_t add(std::string_view key, std::int64_t delta);
  bool compare_and_set(std::string_view key, std::string_view expected, std::string_view desired);
  bool set_if_absent(std::string_view key, std::string_view value);
  bool update(std::string_view key, Updater fn, void *ctx);
  void set(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl);
  bool set_if_absent(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl);
  std::int64_t add(std::string_view key, std::int64_t delta, std::chrono::nanoseconds ttl);
  std::size_t purge_expired() { return 0; }
  using CallableOverloads<RedisTable>::set_with;
  using CallableOverloads<RedisTable>::update;

  std::vector<std::string> keys() const;
  std::size_t size() const;
  void clear();
  void close() noexcept;

  std::uint32_t max_key_bytes() const noexcept { return max_key_bytes_; }
  // This handle recorded the table's limits: it was the table's first.
  bool created() const noexcept { return created_; }
  std::uint32_t max_value_bytes() const noexcept { return max_value_bytes_; }
  // The server this handle talks to, for messages: "127.0.0.1:6379" or the socket's path.
  const std::string &server() const noexcept { return server_; }

  struct Connection; // the connection and its mutex (src/redis_table.cpp)

private:
  Connection &live() const; // Errc::kInvalidArgument after close()
  // The key's name on the server ("NAME:KEY"); Errc::kKeyTooLarge past max_key_bytes.
  std::string key_of(std::string_view key) const;
  // add(), set_if_absent() and update() with a deadline in ms for what they create
  // (nullptr: none).
  std::int64_t add_expiring(std::string_view key, std::int64_t delta, const std::string *px);
  bool set_if_absent_expiring(std::string_view key, std::string_view value, const std::string *px);
  bool read_modify_write(std::string_view key, Updater fn, void *ctx, const std::string *px);

  std::unique_ptr<Connection> conn_;
  std::string prefix_; // "NAME:"
  std::string server_;
  std::uint32_t max_key_bytes_ = 0;
  std::uint32_t max_value_bytes_ = 0;
  bool created_ = false;
};

static_assert(Table<RedisTable>);

} // namespace shmtable
