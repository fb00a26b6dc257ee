// RedisTable: the table's contract on a Redis server, over hiredis (redis_table.hpp says
// how each operation stays one atomic step on the server).
#include "shmtable/redis_table.hpp"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "counter_text.hpp"
#include "expiry.hpp"
#include "params.hpp"
#include "shmtable/error.hpp"
#include "shmtable/segment.hpp"

namespace shmtable {
namespace {

struct ReplyFree {
  void operator()(redisReply *r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

std::string_view text_of(const redisReply &r) { return {r.str, r.len}; }

timeval timeval_of(unsigned ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
}

// compare_and_set: KEYS[1] = the key, ARGV[1] = expected, ARGV[2] = desired. GET of an
// absent key is false in Lua, which equals no string.
// KEEPTTL: compare_and_set keeps the key's deadline (table.hpp, "Expiry").
constexpr std::string_view kCompareAndSetScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 end return 0";
// add(key, delta, ttl): the deadline (ARGV[2], ms) goes only to a key INCRBY creates. An
// INCRBY refusal comes back as its error, with the script's name appended.
constexpr std::string_view kAddWithTtlScript =
    "local created = redis.call('EXISTS', KEYS[1]) == 0 "
    "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return v";

// A ttl as the server takes it: whole milliseconds, rounded up (a positive ttl under
// 1 ms must not become 0, which the server refuses), checked as every table checks it.
std::string ttl_ms(std::chrono::nanoseconds ttl, const char *op) {
  detail::check_ttl(ttl, op);
  return std::to_string(std::chrono::ceil<std::chrono::milliseconds>(ttl).count());
}

unsigned url_number(std::string_view what, std::string_view text, unsigned max) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max) {
    throw Error(Errc::kInvalidArgument, "url: the " + std::string(what) + " \"" +
                                            std::string(text) + "\" is not a number in 0.." +
                                            std::to_string(max));
  }
  return v;
}

// While alive, SIGPIPE is blocked in this thread: hiredis writes with write(2), without
// MSG_NOSIGNAL, and a write to a connection the server has reset would otherwise kill
// the process instead of failing with EPIPE. On a failed call, a SIGPIPE the call raised
// is consumed before the mask is restored (unless the thread blocked SIGPIPE itself, and
// so owns what is pending). Two system calls per call to the server.
class SigpipeBlocked {
public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    if (failed_ && sigismember(&old_, SIGPIPE) == 0) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec now{};
        sigtimedwait(&pipe_, nullptr, &now);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked &) = delete;
  SigpipeBlocked &operator=(const SigpipeBlocked &) = delete;

  void failed() noexcept { failed_ = true; }

private:
  sigset_t pipe_;
  sigset_t old_;
  bool failed_ = false;
};

} // namespace

namespace {

// A URL's user or password with its %XX escapes decoded (as other Redis clients read
// them: a password with '@' or ':' is written %40, %3A).
std::string percent_decoded(std::string_view what, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned v = 0;
    const char *b = text.data() + i + 1;
    const auto [end, ec] =
        std::from_chars(b, b + std::min<std::size_t>(2, text.size() - i - 1), v, 16);
    if (ec != std::errc() || end != b + 2) {
      throw Error(Errc::kInvalidArgument,
                  "url: the " + std::string(what) + " has a '%' not followed by two hex digits");
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

} // namespace

RedisOptions &RedisOptions::connect_to(std::string_view url) {
  std::string_view rest;
  bool over_socket = false;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("unix://")) {
    rest = url.substr(7);
    over_socket = true;
  } else {
    throw Error(Errc::kInvalidArgument,
                "url: \"" + std::string(url) + "\" starts with neither redis:// nor unix://");
  }
  // The credentials end at the last '@' before the host (redis://) or the path (unix://).
  const std::string_view authority = rest.substr(0, rest.find_first_of(over_socket ? "/" : "/?"));
  std::string user;
  std::string pass;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = authority.substr(0, at);
    const auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      throw Error(Errc::kInvalidArgument,
                  "url: the credentials before '@' must be [USER]:PASSWORD");
    }
    user = percent_decoded("user", cred.substr(0, colon));
    pass = percent_decoded("password", cred.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  unsigned db = 0;
  if (over_socket) {
    std::string_view path = rest;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
      path = rest.substr(0, q);
      const std::string_view query = rest.substr(q + 1);
      if (!query.starts_with("db=")) {
        throw Error(Errc::kInvalidArgument,
                    "url: unix:// takes only ?db=DATABASE, not \"" + std::string(query) + "\"");
      }
      db = url_number("database", query.substr(3), 1u << 20);
    }
    if (!path.starts_with('/')) {
      throw Error(Errc::kInvalidArgument, "url: unix:// needs an absolute socket path");
    }
    unix_socket = path;
  } else {
    if (rest.find('?') != std::string_view::npos) {
      throw Error(Errc::kInvalidArgument,
                  "url: redis:// takes no query; the database is the path (redis://HOST/DB)");
    }
    std::string_view hostport = rest;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      hostport = rest.substr(0, slash);
      if (slash + 1 < rest.size()) {
        db = url_number("database", rest.substr(slash + 1), 1u << 20);
      }
    }
    std::optional<std::string_view> port_text;
    if (hostport.starts_with('[')) { // an IPv6 address: [::1] or [::1]:6379
      const auto close = hostport.find(']');
      const std::string_view after =
          close == std::string_view::npos ? "" : hostport.substr(close + 1);
      if (close == std::string_view::npos || (!after.empty() && !after.starts_with(':'))) {
        throw Error(Errc::kInvalidArgument,
                    "url: an IPv6 host is written [ADDRESS] or [ADDRESS]:PORT");
      }
      if (!after.empty()) {
        port_text = after.substr(1);
      }
      hostport = hostport.substr(1, close - 1);
    } else if (const auto colon = hostport.find(':'); colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      hostport = hostport.substr(0, colon);
      if (port_text->find(':') != std::string_view::npos) {
        throw Error(Errc::kInvalidArgument,
                    "url: an IPv6 host is written in brackets: redis://[ADDRESS]:PORT");
      }
    }
    if (hostport.empty()) {
      throw Error(Errc::kInvalidArgument, "url: \"" + std::string(url) + "\" names no host");
    }
    unsigned p = 6379;
    if (port_text) {
      p = url_number("port", *port_text, 65535);
      if (p == 0) {
        throw Error(Errc::kInvalidArgument, "url: the port must be 1..65535, not 0");
      }
    }
    host = hostport;
    port = p;
    unix_socket.clear();
  }
  database = db;
  username = user;
  password = pass;
  return *this;
}

// One connection to the server, and the one mutex that serializes the handle's calls
// on it (a hiredis context is not thread-safe).
//
// Every reply is read before a call returns or throws, or the connection is dropped:
// a reply left unread would be taken by the next call for its own (a silent wrong
// answer). So are the WATCH and MULTI state of a call that fails half-way: dropping the
// connection ends both on the server.
struct RedisTable::Connection {
  RedisOptions opts;
  std::string server;
  std::mutex mu;
  redisContext *ctx = nullptr; // null: not connected; the next call connects
  std::string cas_sha;         // compare_and_set's script, once loaded
  std::string add_sha;         // add(key, delta, ttl)'s script, once loaded

  ~Connection() { drop(); }

  void drop() noexcept {
    if (ctx != nullptr) {
      redisFree(ctx);
      ctx = nullptr;
    }
  }

  // The error for a context that failed (or a connect that did), after which the context
  // is dropped: the next call reconnects. A timeout is a read or write of the socket
  // that outlasted command_timeout_ms (EAGAIN under SO_RCVTIMEO/SO_SNDTIMEO), or a
  // connect that outlasted connect_timeout_ms; anything else is a lost connection.
  [[noreturn]] void fail(const char *doing, int saved_errno) {
    const bool connecting = std::string_view(doing) == "connect";
    const int err = ctx != nullptr ? ctx->err : 0;
    const std::string why = ctx != nullptr ? ctx->errstr : "out of memory";
    drop();
    const bool timed_out =
        (err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) ||
        (connecting && saved_errno == ETIMEDOUT);
    // What a caller may assume of a write that failed so: it was sent, and the server
    // may still run it, even after this handle's next calls on a new connection.
    const std::string effect =
        connecting ? "" : "; a write may or may not have taken effect, possibly later";
    if (timed_out) {
      throw Error(Errc::kTimeout, "redis at " + server + ": no answer to " + doing +
                                      " within the timeout (" + why + ")" + effect);
    }
    throw Error(Errc::kConnectionLost, "redis at " + server + ": " + doing + " failed: " + why +
                                           effect + "; the next call reconnects");
  }

  // The error an error reply stands for. A server that cannot take writes now (a replica
  // after a failover, one still loading its data, one cut off from its primary) is left:
  // the next call connects again, to whatever the address leads to then.
  [[noreturn]] void server_error(const redisReply &r, const char *doing) {
    const std::string t(text_of(r));
    const bool oom =
        t.starts_with("OOM") || (t.starts_with("EXECABORT") && t.find("OOM") != std::string::npos);
    if (oom) {
      throw Error(Errc::kTableFull, "table is full: redis at " + server +
                                        " refused the write for memory (maxmemory): " + t);
    }
    if (t.starts_with("NOAUTH") || t.starts_with("WRONGPASS") || t.starts_with("NOPERM")) {
      throw Error(Errc::kPermissionDenied, "redis at " + server + ": " + doing + " refused: " + t);
    }
    if (t.starts_with("READONLY") || t.starts_with("LOADING") || t.starts_with("MASTERDOWN")) {
      drop();
    }
    throw Error(Errc::kServerError, "redis at " + server + ": " + doing + " failed: " + t);
  }

  // A reply of a type the command never gives: the connection is not trusted further.
  [[noreturn]] void unexpected(const redisReply &r, const char *doing) {
    drop();
    throw Error(Errc::kServerError, "redis at " + server + ": " + doing +
                                        " gave a reply of unexpected type " +
                                        std::to_string(r.type) + "; the next call reconnects");
  }

  // r, which must be of type `type` (an error reply is thrown as what it stands for).
  const redisReply &expect(const redisReply &r, int type, const char *doing) {
    if (r.type == REDIS_REPLY_ERROR) {
      server_error(r, doing);
    }
    if (r.type != type) {
      unexpected(r, doing);
    }
    return r;
  }
  const redisReply &expect(const Reply &r, int type, const char *doing) {
    return expect(*r, type, doing);
  }

  void connect() {
    const timeval tv = timeval_of(opts.connect_timeout_ms);
    errno = 0;
    ctx = opts.unix_socket.empty()
              ? redisConnectWithTimeout(opts.host.c_str(), static_cast<int>(opts.port), tv)
              : redisConnectUnixWithTimeout(opts.unix_socket.c_str(), tv);
    const int saved = errno;
    if (ctx == nullptr || ctx->err != 0) {
      fail("connect", saved);
    }
    errno = 0;
    if (opts.command_timeout_ms != 0 &&
        redisSetTimeout(ctx, timeval_of(opts.command_timeout_ms)) != REDIS_OK) {
      fail("connect", errno);
    }
    cas_sha.clear();
    add_sha.clear();
    if (!opts.password.empty() || !opts.username.empty()) {
      const Reply r = opts.username.empty() ? send({"AUTH", opts.password})
                                            : send({"AUTH", opts.username, opts.password});
      if (r->type == REDIS_REPLY_ERROR) {
        drop();
        server_error(*r, "AUTH");
      }
    }
    if (opts.database != 0) {
      const Reply r = send({"SELECT", std::to_string(opts.database)});
      if (r->type == REDIS_REPLY_ERROR) {
        drop();
        server_error(*r, "SELECT");
      }
    }
  }

  // A command's arguments as hiredis takes them. The first is the command's name, a
  // literal (so NUL-terminated, for messages).
  struct Argv {
    std::vector<const char *> argv;
    std::vector<std::size_t> lens;
    explicit Argv(std::initializer_list<std::string_view> args) {
      for (const std::string_view a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
    }
    int count() const { return static_cast<int>(argv.size()); }
    // hiredis takes `const char **` and only reads it.
    const char **args() const { return const_cast<const char **>(argv.data()); }
    const char *name() const { return argv[0]; }
  };

  // Sends one command and returns its reply, an error reply included (expect() checks
  // it).
  Reply send(std::initializer_list<std::string_view> args) { return send(Argv(args)); }
  Reply send(const Argv &a) {
    if (ctx == nullptr) {
      connect();
    }
    SigpipeBlocked blocked;
    errno = 0;
    Reply r(static_cast<redisReply *>(redisCommandArgv(ctx, a.count(), a.args(), a.lens.data())));
    if (!r) {
      blocked.failed();
      fail(a.name(), errno);
    }
    return r;
  }

  // Queues one command; its reply is read by next_reply(), so that several commands
  // take one round trip.
  void queue(std::initializer_list<std::string_view> args) {
    if (ctx == nullptr) {
      connect();
    }
    const Argv a(args);
    errno = 0;
    if (redisAppendCommandArgv(ctx, a.count(), a.args(), a.lens.data()) != REDIS_OK) {
      fail(a.name(), errno);
    }
  }

  // Calls each(page) with every page of the table's full Redis keys, one SCAN at a time.
  // The table's name has no glob characters ([A-Za-z0-9._-]), so "NAME:*" matches
  // exactly its keys.
  template <class Each> void scan(const std::string &prefix, Each &&each) {
    const std::string pattern = prefix + "*";
    std::string cursor = "0";
    do {
      const Reply r = send({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      const redisReply &page = expect(r, REDIS_REPLY_ARRAY, "SCAN");
      if (page.elements != 2 || page.element[0]->type != REDIS_REPLY_STRING ||
          page.element[1]->type != REDIS_REPLY_ARRAY) {
        unexpected(page, "SCAN");
      }
      cursor = text_of(*page.element[0]);
      each(*page.element[1]);
    } while (cursor != "0");
  }

  // Runs `script` on one key and two arguments by its SHA (loaded into `sha` once per
  // connection: a reconnection clears it), and sends it whole when the server has lost
  // its script cache (a restart, SCRIPT FLUSH). The reply, an error reply included.
  Reply eval(std::string &sha, std::string_view script, std::string_view key, std::string_view a1,
             std::string_view a2) {
    if (ctx == nullptr) {
      connect(); // before the SHA is looked at: a new connection may be to a new server
    }
    if (sha.empty()) {
      sha = text_of(expect(send({"SCRIPT", "LOAD", script}), REDIS_REPLY_STRING, "SCRIPT LOAD"));
    }
    Reply r = send({"EVALSHA", sha, "1", key, a1, a2});
    if (r->type == REDIS_REPLY_ERROR && text_of(*r).starts_with("NOSCRIPT")) {
      r = send({"EVAL", script, "1", key, a1, a2});
    }
    return r;
  }

  // GET of a table's key, under the lock: a string, or nil if absent.
  Reply fetch(const std::string &k) {
    const std::lock_guard lock(mu);
    Reply r = send({"GET", k});
    if (r->type != REDIS_REPLY_NIL) {
      expect(r, REDIS_REPLY_STRING, "GET");
    }
    return r;
  }

  // The reply to the oldest queued command.
  Reply next_reply(const char *doing) {
    void *reply = nullptr;
    SigpipeBlocked blocked;
    errno = 0;
    if (redisGetReply(ctx, &reply) != REDIS_OK || reply == nullptr) {
      blocked.failed();
      fail(doing, errno);
    }
    return Reply(static_cast<redisReply *>(reply));
  }
};

namespace {

RedisOptions from_options(const Options &o, std::string_view url) {
  if (!o.path.empty()) {
    throw Error(Errc::kInvalidArgument,
                "path: a RedisTable lives on a server, not in a file; give it a name");
  }
  RedisOptions r;
  r.name = o.name;
  r.max_key_bytes = o.max_key_bytes; // 0: the table's, as for a shared-memory table
  r.max_value_bytes = o.max_value_bytes;
  r.connect_to(url);
  return r;
}

} // namespace

namespace {

// The table's limits as its record on the server keeps them (its key is the table's name
// with no ':', so no table's key: every key of a table has one).
std::string limits_text(std::uint32_t max_key, std::uint32_t max_value) {
  return "shmtable-redis-table 1 max_key_bytes=" + std::to_string(max_key) +
         " max_value_bytes=" + std::to_string(max_value);
}

// The limits in a record, or nullopt if it is not one.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_limits(std::string_view text) {
  unsigned k = 0;
  unsigned v = 0;
  char tail = 0;
  const std::string t(text);
  if (std::sscanf(t.c_str(), "shmtable-redis-table 1 max_key_bytes=%u max_value_bytes=%u%c", &k, &v,
                  &tail) != 2) {
    return std::nullopt;
  }
  return std::pair{static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(v)};
}

} // namespace

RedisTable::RedisTable(const RedisOptions &opts)
    : conn_(std::make_unique<Connection>()), prefix_(opts.name + ":"),
      server_(opts.unix_socket.empty() ? opts.host + ":" + std::to_string(opts.port)
                                       : opts.unix_socket) {
  validate_name(opts.name);
  TableParams p;
  p.capacity = 1; // no slots; the check covers the limits
  p.max_key_bytes = opts.max_key_bytes != 0 ? opts.max_key_bytes : kDefaultMaxKeyBytes;
  p.max_value_bytes = opts.max_value_bytes != 0 ? opts.max_value_bytes : kDefaultMaxValueBytes;
  detail::check_sizing(p);
  if (opts.unix_socket.empty() && (opts.port == 0 || opts.port > 65535)) {
    throw Error(Errc::kInvalidArgument,
                "port: " + std::to_string(opts.port) + " is outside 1..65535");
  }
  conn_->opts = opts;
  conn_->server = server_;
  Connection &c = *conn_;
  // The first handle records the table's limits (SET NX: racing creators agree on one);
  // every other one adopts them where its options say 0, and is refused where they
  // differ, as a shared-memory table's opener is.
  const std::string record = opts.name;
  const Reply set = c.send({"SET", record, limits_text(p.max_key_bytes, p.max_value_bytes), "NX"});
  if (set->type != REDIS_REPLY_NIL) {
    c.expect(set, REDIS_REPLY_STATUS, "SET NX");
    created_ = true;
    max_key_bytes_ = p.max_key_bytes;
    max_value_bytes_ = p.max_value_bytes;
    return;
  }
  const Reply got = c.send({"GET", record});
  const auto limits = got->type == REDIS_REPLY_STRING ? parse_limits(text_of(*got)) : std::nullopt;
  if (got->type == REDIS_REPLY_NIL) { // erased between the two: a new table after all
    throw Error(Errc::kNotReady, "redis at " + server_ + ": the record of table " + opts.name +
                                     " vanished while this handle opened it; open it again");
  }
  if (!limits) {
    c.expect(got, REDIS_REPLY_STRING, "GET");
    throw Error(Errc::kCorruptedHeader, "redis at " + server_ + ": the key " + opts.name +
                                            " holds something other than a table's record (\"" +
                                            std::string(text_of(*got)).substr(0, 60) +
                                            "\"); choose another name");
  }
  const auto check = [&](const char *field, std::uint32_t asked, std::uint32_t has) {
    if (asked != 0 && asked != has) {
      throw Error(Errc::kLayoutMismatch, "redis table " + opts.name + ": " + field +
                                             ": the table has " + std::to_string(has) +
                                             ", the options ask for " + std::to_string(asked));
    }
  };
  check("max_key_bytes", opts.max_key_bytes, limits->first);
  check("max_value_bytes", opts.max_value_bytes, limits->second);
  max_key_bytes_ = limits->first;
  max_value_bytes_ = limits->second;
}

RedisTable::RedisTable(const Options &opts, std::string_view url)
    : RedisTable(from_options(opts, url)) {}

RedisTable::~RedisTable() = default;
RedisTable::RedisTable(RedisTable &&) noexcept = default;
RedisTable &RedisTable::operator=(RedisTable &&) noexcept = default;

void RedisTable::close() noexcept { conn_.reset(); }

std::string RedisTable::key_of(std::string_view key) const {
  detail::check_key_size(key.size(), max_key_bytes_);
  return prefix_ + std::string(key);
}

RedisTable::Connection &RedisTable::live() const {
  if (!conn_) {
    throw Error(Errc::kInvalidArgument,
                "redis table " + prefix_.substr(0, prefix_.size() - 1) + ": the handle is closed");
  }
  return *conn_;
}

// Every call below: the key's size checked first (key_of), then the handle's lock, then
// one atomic step on the server.

void RedisTable::set(std::string_view key, std::string_view value) {
  const std::string k = key_of(key);
  detail::check_value_size(value.size(), max_value_bytes_);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  c.expect(c.send({"SET", k, value}), REDIS_REPLY_STATUS, "SET");
}

void RedisTable::set_with(std::string_view key, ValueSource source, void *ctx) {
  detail::check_key_size(key.size(), max_key_bytes_); // before source runs
  const std::string_view value = source(ctx);
  set(key, value);
}

std::optional<std::string> RedisTable::get(std::string_view key) const {
  const std::string k = key_of(key);
  const Reply r = live().fetch(k);
  if (r->type == REDIS_REPLY_NIL) {
    return std::nullopt;
  }
  return std::string(text_of(*r));
}

std::optional<std::size_t> RedisTable::get_into(std::string_view key, std::span<char> out) const {
  const std::string k = key_of(key);
  const Reply r = live().fetch(k);
  if (r->type == REDIS_REPLY_NIL) {
    return std::nullopt;
  }
  if (r->len > out.size()) {
    detail::throw_buffer_too_small(out.size(), r->len);
  }
  std::memcpy(out.data(), r->str, r->len);
  return r->len;
}

bool RedisTable::erase(std::string_view key) {
  const std::string k = key_of(key);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  return c.expect(c.send({"DEL", k}), REDIS_REPLY_INTEGER, "DEL").integer == 1;
}

bool RedisTable::contains(std::string_view key) const {
  const std::string k = key_of(key);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  return c.expect(c.send({"EXISTS", k}), REDIS_REPLY_INTEGER, "EXISTS").integer == 1;
}

std::int64_t RedisTable::add(std::string_view key, std::int64_t delta) {
  return add_expiring(key, delta, nullptr);
}

std::int64_t RedisTable::add(std::string_view key, std::int64_t delta,
                             std::chrono::nanoseconds ttl) {
  const std::string px = ttl_ms(ttl, "add");
  return add_expiring(key, delta, &px);
}

std::int64_t RedisTable::add_expiring(std::string_view key, std::int64_t delta,
                                      const std::string *px) {
  const std::string k = key_of(key);
  // INCRBY accepts a subset of what add() reads as a number (no leading zeros, no "-0")
  // and refuses overflow as add() does; where it refuses, or where its text might not
  // fit max_value_bytes, the read-modify-write below decides with add()'s own rules.
  constexpr std::uint32_t kLongestInt64Text = 20; // "-9223372036854775808"
  if (max_value_bytes_ >= kLongestInt64Text) {
    const std::string d = std::to_string(delta);
    Connection &c = live();
    const std::lock_guard lock(c.mu);
    const Reply r =
        px == nullptr ? c.send({"INCRBY", k, d}) : c.eval(c.add_sha, kAddWithTtlScript, k, d, *px);
    const std::string_view t = r->type == REDIS_REPLY_ERROR ? text_of(*r) : "";
    const bool refused_number = t.find("not an integer") != std::string_view::npos ||
                                t.find("overflow") != std::string_view::npos;
    if (!refused_number) {
      return c.expect(r, REDIS_REPLY_INTEGER, "INCRBY").integer;
    }
  }
  std::int64_t sum = 0;
  struct Add {
    std::int64_t delta;
    std::int64_t &sum;
  } add{delta, sum};
  read_modify_write(
      key,
      [](void *ctx, const std::optional<std::string_view> &current, std::string &scratch) {
        auto *a = static_cast<Add *>(ctx);
        scratch = detail::add_to_text(current, a->delta, a->sum);
        return std::optional<std::string_view>(scratch);
      },
      &add, px);
  return sum;
}

void RedisTable::set(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl) {
  const std::string k = key_of(key);
  detail::check_value_size(value.size(), max_value_bytes_);
  const std::string px = ttl_ms(ttl, "set");
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  c.expect(c.send({"SET", k, value, "PX", px}), REDIS_REPLY_STATUS, "SET PX");
}

bool RedisTable::compare_and_set(std::string_view key, std::string_view expected,
                                 std::string_view desired) {
  const std::string k = key_of(key);
  detail::check_value_size(desired.size(), max_value_bytes_);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  const Reply r = c.eval(c.cas_sha, kCompareAndSetScript, k, expected, desired);
  return c.expect(r, REDIS_REPLY_INTEGER, "EVALSHA").integer == 1;
}

bool RedisTable::set_if_absent(std::string_view key, std::string_view value) {
  return set_if_absent_expiring(key, value, nullptr);
}

bool RedisTable::set_if_absent(std::string_view key, std::string_view value,
                               std::chrono::nanoseconds ttl) {
  const std::string px = ttl_ms(ttl, "set_if_absent");
  return set_if_absent_expiring(key, value, &px);
}

bool RedisTable::set_if_absent_expiring(std::string_view key, std::string_view value,
                                        const std::string *px) {
  const std::string k = key_of(key);
  detail::check_value_size(value.size(), max_value_bytes_);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  const Reply r =
      px == nullptr ? c.send({"SET", k, value, "NX"}) : c.send({"SET", k, value, "NX", "PX", *px});
  if (r->type == REDIS_REPLY_NIL) {
    return false;
  }
  if (r->type == REDIS_REPLY_ERROR && text_of(*r).starts_with("OOM")) {
    // A server out of memory refuses SET NX whether or not the key is there. Present, the
    // answer is false (linearized at the EXISTS); absent, the table is full.
    if (c.expect(c.send({"EXISTS", k}), REDIS_REPLY_INTEGER, "EXISTS").integer == 1) {
      return false;
    }
  }
  c.expect(r, REDIS_REPLY_STATUS, "SET NX");
  return true;
}

bool RedisTable::update(std::string_view key, Updater fn, void *ctx) {
  return read_modify_write(key, fn, ctx, nullptr);
}

bool RedisTable::read_modify_write(std::string_view key, Updater fn, void *ctx,
                                   const std::string *px) {
  const std::string k = key_of(key);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  std::string scratch;
  // Drops the connection on any way out but the ones that leave it clean (every reply
  // read, no WATCH or MULTI open): an error, or fn's exception, half-way.
  struct DropUnlessClean {
    Connection &c;
    bool clean = false;
    ~DropUnlessClean() {
      if (!clean) {
        c.drop();
      }
    }
  };
  // WATCH makes EXEC drop the write if any client changed the key after the WATCH: then
  // the GET that fn saw is stale, and the loop runs fn again on the new value.
  for (;;) {
    DropUnlessClean guard{c};
    c.queue({"WATCH", k}); // WATCH and GET in one round trip
    c.queue({"GET", k});
    const Reply watched = c.next_reply("WATCH");
    const Reply got = c.next_reply("GET");
    c.expect(watched, REDIS_REPLY_STATUS, "WATCH");
    std::optional<std::string_view> current;
    if (got->type != REDIS_REPLY_NIL) {
      current = text_of(c.expect(got, REDIS_REPLY_STRING, "GET"));
    }
    const std::optional<std::string_view> next = fn(ctx, current, scratch);
    if (next) {
      detail::check_value_size(next->size(), max_value_bytes_);
    }
    if (!next) {
      c.expect(c.send({"UNWATCH"}), REDIS_REPLY_STATUS, "UNWATCH"); // a read: linearized at GET
      guard.clean = true;
      return false;
    }
    c.queue({"MULTI"});
    if (px != nullptr && !current) {
      c.queue({"SET", k, *next, "PX", *px}); // a key it creates gets the deadline
    } else {
      c.queue({"SET", k, *next, "KEEPTTL"}); // a present key keeps its own
    }
    c.queue({"EXEC"});
    const Reply multi = c.next_reply("MULTI");
    const Reply queued = c.next_reply("SET");
    const Reply exec = c.next_reply("EXEC");
    c.expect(multi, REDIS_REPLY_STATUS, "MULTI");
    if (text_of(c.expect(queued, REDIS_REPLY_STATUS, "SET")) != "QUEUED") {
      c.unexpected(*queued, "SET in MULTI");
    }
    if (exec->type == REDIS_REPLY_NIL) {
      guard.clean = true; // EXEC ended the WATCH: the key changed after it, read it again
      continue;
    }
    const redisReply &results = c.expect(exec, REDIS_REPLY_ARRAY, "EXEC");
    if (results.elements != 1) {
      c.unexpected(results, "EXEC");
    }
    c.expect(*results.element[0], REDIS_REPLY_STATUS, "SET"); // run, and refused (OOM)?
    guard.clean = true;
    return true;
  }
}

// SCAN may return a key more than once when the server rehashes meanwhile, which the
// contract allows only for a key erased and inserted again during the scan: keys() and
// size() count each key once.
std::vector<std::string> RedisTable::keys() const {
  std::unordered_set<std::string> seen;
  Connection &c = live();
  {
    const std::lock_guard lock(c.mu);
    c.scan(prefix_, [&](const redisReply &page) {
      for (std::size_t i = 0; i < page.elements; ++i) {
        seen.emplace(text_of(*page.element[i]).substr(prefix_.size()));
      }
    });
  }
  std::vector<std::string> out;
  out.reserve(seen.size());
  for (auto it = seen.begin(); it != seen.end();) {
    out.push_back(std::move(seen.extract(it++).value()));
  }
  return out;
}

std::size_t RedisTable::size() const { return keys().size(); }

void RedisTable::clear() {
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  std::vector<std::string> found;
  c.scan(prefix_, [&](const redisReply &page) {
    for (std::size_t i = 0; i < page.elements; ++i) {
      found.emplace_back(text_of(*page.element[i]));
    }
  });
  // UNLINK in pages of 512 keys: the server frees the values off its main thread.
  constexpr std::size_t kPage = 512;
  for (std::size_t at = 0; at < found.size(); at += kPage) {
    Connection::Argv a({"UNLINK"});
    for (std::size_t i = at; i < std::min(at + kPage, found.size()); ++i) {
      a.argv.push_back(found[i].data());
      a.lens.push_back(found[i].size());
    }
    c.expect(c.send(a), REDIS_REPLY_INTEGER, "UNLINK");
  }
}

} // namespace shmtable
