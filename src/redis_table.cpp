// RedisTable: the table's contract on a Redis server, over hiredis (redis_table.hpp says
// how each operation stays one atomic step on the server).
#include "shmtable/redis_table.hpp"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "counter_text.hpp"
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
constexpr std::string_view kCompareAndSetScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

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
  std::string user;
  std::string pass;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = rest.substr(0, at);
    const auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      throw Error(Errc::kInvalidArgument,
                  "url: the credentials before '@' must be [USER]:PASSWORD");
    }
    user = cred.substr(0, colon);
    pass = cred.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  if (over_socket) {
    std::string_view path = rest;
    unsigned db = 0;
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
    database = db;
  } else {
    std::string_view hostport = rest;
    unsigned db = 0;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      hostport = rest.substr(0, slash);
      if (slash + 1 < rest.size()) {
        db = url_number("database", rest.substr(slash + 1), 1u << 20);
      }
    }
    unsigned p = 6379;
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
    } else if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      hostport = hostport.substr(0, colon);
    }
    if (port_text) {
      p = url_number("port", *port_text, 65535);
    }
    if (hostport.empty()) {
      throw Error(Errc::kInvalidArgument, "url: \"" + std::string(url) + "\" names no host");
    }
    host = hostport;
    port = p;
    unix_socket.clear();
    database = db;
  }
  username = user;
  password = pass;
  return *this;
}

// One connection to the server, and the one mutex that serializes the handle's calls
// on it (a hiredis context is not thread-safe).
struct RedisTable::Connection {
  RedisOptions opts;
  std::string server;
  std::mutex mu;
  redisContext *ctx = nullptr; // null: not connected; the next call connects
  std::string cas_sha;         // compare_and_set's script, once loaded

  ~Connection() { drop(); }

  void drop() noexcept {
    if (ctx != nullptr) {
      redisFree(ctx);
      ctx = nullptr;
    }
  }

  // The error for a context that failed (or for a connect that did), after which the
  // context is dropped: the next call reconnects.
  [[noreturn]] void fail(const char *doing, int saved_errno) {
    const std::string why = ctx != nullptr ? ctx->errstr : "out of memory";
    drop();
    const bool timed_out =
        saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT;
    if (timed_out) {
      throw Error(Errc::kTimeout, "redis at " + server + ": no answer to " + doing +
                                      " within the timeout (" + why +
                                      "); a write may or may not have taken effect");
    }
    throw Error(Errc::kConnectionLost, "redis at " + server + ": " + doing + " failed: " + why +
                                           "; a write may or may not have taken effect, and "
                                           "the next call reconnects");
  }

  // The error an error reply stands for.
  [[noreturn]] void server_error(const redisReply &r, const char *doing) const {
    const std::string_view t = text_of(r);
    if (t.starts_with("OOM")) {
      throw Error(Errc::kTableFull,
                  "table is full: redis at " + server +
                      " refused the write for memory (maxmemory): " + std::string(t));
    }
    if (t.starts_with("NOAUTH") || t.starts_with("WRONGPASS") || t.starts_with("NOPERM")) {
      throw Error(Errc::kPermissionDenied,
                  "redis at " + server + ": " + doing + " refused: " + std::string(t));
    }
    throw Error(Errc::kServerError,
                "redis at " + server + ": " + doing + " failed: " + std::string(t));
  }

  void connect() {
    const timeval tv = timeval_of(opts.connect_timeout_ms);
    ctx = opts.unix_socket.empty()
              ? redisConnectWithTimeout(opts.host.c_str(), static_cast<int>(opts.port), tv)
              : redisConnectUnixWithTimeout(opts.unix_socket.c_str(), tv);
    const int saved = errno;
    if (ctx == nullptr || ctx->err != 0) {
      fail("connect", saved);
    }
    if (opts.command_timeout_ms != 0 &&
        redisSetTimeout(ctx, timeval_of(opts.command_timeout_ms)) != REDIS_OK) {
      fail("setting the timeout", errno);
    }
    cas_sha.clear();
    if (!opts.password.empty()) {
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

  // Sends one command and returns its reply, an error reply included.
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

  // send(), with an error reply thrown as the error it stands for.
  Reply call(std::initializer_list<std::string_view> args) { return call(Argv(args)); }
  Reply call(const Argv &a) {
    Reply r = send(a);
    if (r->type == REDIS_REPLY_ERROR) {
      server_error(*r, a.name());
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
      const Reply r = call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        throw Error(Errc::kServerError, "redis at " + server + ": SCAN gave an unexpected reply");
      }
      cursor = text_of(*r->element[0]);
      each(*r->element[1]);
    } while (cursor != "0");
  }

  // GET of a table's key, under the lock: its value, or nil if absent.
  Reply fetch(const std::string &k) {
    const std::lock_guard lock(mu);
    return call({"GET", k});
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
  r.max_key_bytes = o.max_key_bytes != 0 ? o.max_key_bytes : kDefaultMaxKeyBytes;
  r.max_value_bytes = o.max_value_bytes != 0 ? o.max_value_bytes : kDefaultMaxValueBytes;
  r.connect_to(url);
  return r;
}

} // namespace

RedisTable::RedisTable(const RedisOptions &opts)
    : conn_(std::make_unique<Connection>()), prefix_(opts.name + ":"),
      server_(opts.unix_socket.empty() ? opts.host + ":" + std::to_string(opts.port)
                                       : opts.unix_socket),
      max_key_bytes_(opts.max_key_bytes), max_value_bytes_(opts.max_value_bytes) {
  validate_name(opts.name);
  TableParams p;
  p.capacity = 1; // no slots; the check covers the limits
  p.max_key_bytes = opts.max_key_bytes;
  p.max_value_bytes = opts.max_value_bytes;
  detail::check_sizing(p);
  if (opts.port == 0 || opts.port > 65535) {
    throw Error(Errc::kInvalidArgument,
                "port: " + std::to_string(opts.port) + " is outside 1..65535");
  }
  conn_->opts = opts;
  conn_->server = server_;
  conn_->connect();
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
  c.call({"SET", k, value});
}

void RedisTable::set_with(std::string_view key, ValueSource source, void *ctx) {
  detail::check_key_size(key.size(), max_key_bytes_); // before source runs
  const std::string_view value = source(ctx);
  set(key, value);
}

std::optional<std::string> RedisTable::get(std::string_view key) const {
  const Reply r = live().fetch(key_of(key));
  if (r->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  return std::string(text_of(*r));
}

std::optional<std::size_t> RedisTable::get_into(std::string_view key, std::span<char> out) const {
  const Reply r = live().fetch(key_of(key));
  if (r->type != REDIS_REPLY_STRING) {
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
  return c.call({"DEL", k})->integer == 1;
}

bool RedisTable::contains(std::string_view key) const {
  const std::string k = key_of(key);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  return c.call({"EXISTS", k})->integer == 1;
}

std::int64_t RedisTable::add(std::string_view key, std::int64_t delta) {
  const std::string k = key_of(key);
  // INCRBY accepts a subset of what add() reads as a number (no leading zeros, no "-0")
  // and refuses overflow as add() does; where it refuses, or where its text might not
  // fit max_value_bytes, the read-modify-write below decides with add()'s own rules.
  constexpr std::uint32_t kLongestInt64Text = 20; // "-9223372036854775808"
  if (max_value_bytes_ >= kLongestInt64Text) {
    const std::string d = std::to_string(delta);
    Connection &c = live();
    const std::lock_guard lock(c.mu);
    const Reply r = c.send({"INCRBY", k, d});
    if (r->type == REDIS_REPLY_INTEGER) {
      return r->integer;
    }
    const std::string_view t = text_of(*r);
    if (r->type != REDIS_REPLY_ERROR || (t.find("not an integer") == std::string_view::npos &&
                                         t.find("overflow") == std::string_view::npos)) {
      c.server_error(*r, "INCRBY");
    }
  }
  std::int64_t sum = 0;
  update(key, [&](const std::optional<std::string_view> &current, std::string &scratch) {
    scratch = detail::add_to_text(current, delta, sum);
    return std::optional<std::string_view>(scratch);
  });
  return sum;
}

bool RedisTable::compare_and_set(std::string_view key, std::string_view expected,
                                 std::string_view desired) {
  const std::string k = key_of(key);
  detail::check_value_size(desired.size(), max_value_bytes_);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  if (c.ctx == nullptr) {
    c.connect(); // a new connection may be to a restarted server without the script
  }
  if (c.cas_sha.empty()) {
    c.cas_sha = std::string(text_of(*c.call({"SCRIPT", "LOAD", kCompareAndSetScript})));
  }
  Reply r = c.send({"EVALSHA", c.cas_sha, "1", k, expected, desired});
  if (r->type == REDIS_REPLY_ERROR && text_of(*r).starts_with("NOSCRIPT")) {
    r = c.call({"EVAL", kCompareAndSetScript, "1", k, expected, desired});
  } else if (r->type == REDIS_REPLY_ERROR) {
    c.server_error(*r, "EVALSHA");
  }
  return r->integer == 1;
}

bool RedisTable::set_if_absent(std::string_view key, std::string_view value) {
  const std::string k = key_of(key);
  detail::check_value_size(value.size(), max_value_bytes_);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  return c.call({"SET", k, value, "NX"})->type == REDIS_REPLY_STATUS;
}

bool RedisTable::update(std::string_view key, Updater fn, void *ctx) {
  const std::string k = key_of(key);
  Connection &c = live();
  const std::lock_guard lock(c.mu);
  std::string scratch;
  // WATCH makes EXEC drop the write if any client changed the key after the WATCH: then
  // the GET that fn saw is stale, and the loop runs fn again on the new value.
  for (;;) {
    c.queue({"WATCH", k}); // WATCH and GET in one round trip
    c.queue({"GET", k});
    const Reply watched = c.next_reply("WATCH");
    const Reply r = c.next_reply("GET");
    for (const redisReply *reply : {watched.get(), r.get()}) {
      if (reply->type == REDIS_REPLY_ERROR) {
        c.server_error(*reply, reply == watched.get() ? "WATCH" : "GET");
      }
    }
    std::optional<std::string_view> current;
    if (r->type == REDIS_REPLY_STRING) {
      current = text_of(*r);
    }
    std::optional<std::string_view> next;
    try {
      next = fn(ctx, current, scratch);
      if (next) {
        detail::check_value_size(next->size(), max_value_bytes_);
      }
    } catch (...) {
      c.call({"UNWATCH"});
      throw;
    }
    if (!next) {
      c.call({"UNWATCH"}); // a read: linearized at the GET
      return false;
    }
    c.queue({"MULTI"});
    c.queue({"SET", k, *next});
    c.queue({"EXEC"});
    const Reply multi = c.next_reply("MULTI");
    const Reply queued = c.next_reply("SET");
    const Reply exec = c.next_reply("EXEC");
    if (queued->type == REDIS_REPLY_ERROR) {
      c.server_error(*queued, "SET");
    }
    if (exec->type == REDIS_REPLY_ERROR) {
      c.server_error(*exec, "EXEC");
    }
    if (exec->type == REDIS_REPLY_ARRAY) {
      if (exec->elements == 1 && exec->element[0]->type == REDIS_REPLY_ERROR) {
        c.server_error(*exec->element[0], "SET");
      }
      return true;
    }
    // A nil EXEC: the key changed after the WATCH; read it again.
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
    c.call(a);
  }
}

} // namespace shmtable
