// node/addon/table_wrap.hpp: one JS class per engine, over the C++ table.
//
// TableWrap<LockFreeTable> and TableWrap<MutexTable> are the native classes that
// index.js extends. Each instance owns one handle to one shared table. Node runs a
// handle's methods on one thread (its isolate's), so the scratch buffers and the
// per-handle counters need no synchronisation; the table itself is shared with every
// other process and worker thread that has it open.
#pragma once

#include <napi.h>

#include <shmtable/engines.hpp>

#include "args.hpp"
#include "errors.hpp"

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace shmtable::node {

// What this handle did, for stats(): process-local, never shared between processes.
struct Counters {
  std::uint64_t gets = 0; // get, getBuffer, getInto, has
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t sets = 0;       // set calls that stored their value
  std::uint64_t table_full = 0; // writes refused because the table was full
  std::uint64_t deletes = 0;    // delete calls that removed a key
  std::uint64_t rmw = 0;        // incr/add, compareAndSet, setIfAbsent calls
};

inline OpenMode open_mode_of(Napi::Env env, const std::string &s) {
  if (s == "openOrCreate") {
    return OpenMode::kOpenOrCreate;
  }
  if (s == "create") {
    return OpenMode::kCreate;
  }
  if (s == "open") {
    return OpenMode::kOpen;
  }
  throw_js(env, JsClass::kRangeError, "ERR_INVALID_ARG_VALUE",
           "options.openMode: expected 'openOrCreate', 'create' or 'open', got '" + s + "'");
}

// Binds the hot methods to one instance, as own properties of `self` whose native data
// is the instance itself: a call then finds its C++ object in the function's data, where
// a prototype method unwraps `this` (napi_unwrap: ~870 of the ~2000 instructions of the
// cheapest get, callgrind). Each function keeps `self` alive through a symbol-keyed
// property, so a method taken off the object (`const get = cache.get`) never outlives
// the instance its data points to. Non-enumerable, writable and configurable, like class
// methods. The prototype keeps its methods too (same names, same behaviour).
template <class Wrap> class MethodBinder {
public:
  MethodBinder(Napi::Env env, Napi::Object self, Wrap *wrap)
      : env_(env), self_(self), wrap_(wrap), owner_(Napi::Symbol::New(env, "shmtable.owner")) {}

  template <Napi::Value (Wrap::*M)(const Napi::CallbackInfo &)> void bind(const char *name) {
    Napi::Function fn = Napi::Function::New<&call<M>>(env_, name, wrap_);
    fn.DefineProperty(Napi::PropertyDescriptor::Value(owner_, self_, napi_default));
    self_.DefineProperty(Napi::PropertyDescriptor::Value(
        name, fn, static_cast<napi_property_attributes>(napi_writable | napi_configurable)));
  }

private:
  template <Napi::Value (Wrap::*M)(const Napi::CallbackInfo &)>
  static Napi::Value call(const Napi::CallbackInfo &info) {
    return (static_cast<Wrap *>(info.Data())->*M)(info);
  }

  Napi::Env env_;
  Napi::Object self_;
  Wrap *wrap_;
  Napi::Symbol owner_;
};

template <SharedMemoryTable Engine> class TableWrap : public Napi::ObjectWrap<TableWrap<Engine>> {
  using Base = Napi::ObjectWrap<TableWrap<Engine>>;
  friend class MethodBinder<TableWrap>;

public:
  static Napi::Function define(Napi::Env env, const char *class_name) {
    return Base::DefineClass(
        env, class_name,
        {
            Base::InstanceMethod("set", &TableWrap::set),
            Base::InstanceMethod("get", &TableWrap::get),
            Base::InstanceMethod("getBuffer", &TableWrap::get_buffer),
            Base::InstanceMethod("getMany", &TableWrap::get_many),
            Base::InstanceMethod("getInto", &TableWrap::get_into),
            Base::InstanceMethod("delete", &TableWrap::erase),
            Base::InstanceMethod("has", &TableWrap::has),
            Base::InstanceMethod("incr", &TableWrap::incr),
            Base::InstanceMethod("add", &TableWrap::incr),
            Base::InstanceMethod("compareAndSet", &TableWrap::compare_and_set),
            Base::InstanceMethod("setIfAbsent", &TableWrap::set_if_absent),
            Base::InstanceMethod("keys", &TableWrap::keys),
            Base::InstanceMethod("clear", &TableWrap::clear),
            Base::InstanceMethod("recover", &TableWrap::recover),
            Base::InstanceMethod("purgeExpired", &TableWrap::purge_expired),
            Base::InstanceMethod("close", &TableWrap::close),
            Base::InstanceMethod("_counters", &TableWrap::counters),
            Base::InstanceMethod("_shared", &TableWrap::shared),
            Base::InstanceMethod("_keptIndex", &TableWrap::kept_index),
            Base::InstanceAccessor("size", &TableWrap::size, nullptr),
            Base::InstanceAccessor("closed", &TableWrap::closed, nullptr),
            Base::InstanceAccessor("created", &TableWrap::created, nullptr),
            Base::InstanceAccessor("capacity", &TableWrap::capacity, nullptr),
            Base::InstanceAccessor("maxKeyBytes", &TableWrap::max_key_bytes, nullptr),
            Base::InstanceAccessor("maxValueBytes", &TableWrap::max_value_bytes, nullptr),
            Base::InstanceAccessor("engine", &TableWrap::engine, nullptr),
            Base::InstanceAccessor("persist", &TableWrap::persist, nullptr),
            Base::InstanceAccessor("eviction", &TableWrap::eviction, nullptr),
        });
  }

  // new Native({ name | path, capacity, maxKeyBytes, maxValueBytes, persist, eviction,
  //              robust, openMode, mode, readyTimeoutMs, ttl }): index.js validates every
  // field. persist or eviction undefined: the existing table's (false when creating;
  // MutexTable refuses eviction true, naming it); readyTimeoutMs
  // undefined: the library's default; ttl (ms; undefined or 0: none): this handle's
  // writes' time to live where a call gives none.
  explicit TableWrap(const Napi::CallbackInfo &info) : Base(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
               "options: expected an object, got " + type_name(env, info[0]));
    }
    const Napi::Object o = info[0].As<Napi::Object>();
    Options opts;
    const auto str = [&](const char *field) {
      const Napi::Value v = o.Get(field);
      return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
    };
    const auto num = [&](const char *field) {
      const Napi::Value v = o.Get(field);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0;
    };
    opts.name = str("name");
    opts.path = str("path");
    opts.capacity = static_cast<std::uint64_t>(num("capacity"));
    opts.max_key_bytes = static_cast<std::uint32_t>(num("maxKeyBytes"));
    opts.max_value_bytes = static_cast<std::uint32_t>(num("maxValueBytes"));
    // A decimal string (64 bits do not fit a JS number); "" or "0": the segment's, or
    // the default when creating. index.js draws a random one for every table it creates.
    const std::string seed = str("hashSeed");
    opts.hash_seed = seed.empty() ? 0 : std::stoull(seed);
    const Napi::Value persist = o.Get("persist");
    opts.persist = persist.IsUndefined() ? std::nullopt : std::optional<bool>(persist.ToBoolean());
    const Napi::Value eviction = o.Get("eviction");
    opts.eviction =
        eviction.IsUndefined() ? std::nullopt : std::optional<bool>(eviction.ToBoolean());
    opts.robust = o.Get("robust").ToBoolean();
    if (o.Get("mode").IsNumber()) {
      opts.mode = static_cast<unsigned>(num("mode"));
    }
    if (o.Get("readyTimeoutMs").IsNumber()) {
      opts.ready_timeout_ms = static_cast<unsigned>(num("readyTimeoutMs"));
    }
    opts.open_mode = open_mode_of(env, str("openMode"));
    if (!o.Get("ttl").IsUndefined()) {
      default_ttl_ = ttl_ms_arg(env, o.Get("ttl"), "options.ttl");
    }
    // options.stats: false makes this handle count nothing in the shared statistics.
    opts.stats = !o.Get("stats").IsBoolean() || o.Get("stats").ToBoolean();
    // A JS object lives on one thread (each worker thread opens its own), so a lock-free
    // handle's calls never overlap: its spare is kept with plain loads and stores.
    if constexpr (std::is_same_v<Engine, LockFreeTable>) {
      opts.one_thread = true;
    }
    label_ = opts.name.empty() ? opts.path : opts.name;
    try {
      table_.emplace(opts);
    } catch (const Error &e) {
      throw_js(env, e);
    }
    persist_ = (table_->layout().params.flags & kFlagPersist) != 0; // readable after close()
    eviction_ = (table_->layout().params.flags & kFlagEvict) != 0;  // likewise
    engine_ = Engine::kEngine == EngineKind::kLockFree             ? EngineName::kLockFree
              : (table_->layout().params.flags & kFlagRobust) != 0 ? EngineName::kRobust
                                                                   : EngineName::kMutex;
    key_.reserve_for(table_->max_key_bytes());
    value_.reserve_for(table_->max_value_bytes());
    expected_.reserve_for(table_->max_value_bytes());
    MethodBinder<TableWrap> m(env, info.This().As<Napi::Object>(), this);
    m.template bind<&TableWrap::get>("get");
    if constexpr (kCaching) {
      // index.js's get: strings kept by slot and version (get_kept, below).
      m.template bind<&TableWrap::get_kept>("_getKept");
      // [0]: get_kept's last index; [1]: the length of index.js's array of strings.
      Napi::ArrayBuffer where = Napi::ArrayBuffer::New(env, 2 * sizeof(std::int32_t));
      where_ = static_cast<std::int32_t *>(where.Data());
      where_[0] = -1;
      where_[1] = static_cast<std::int32_t>(kKept + 1);
      where_ref_ = Napi::Persistent(Napi::Int32Array::New(env, 2, where, 0));
      kept_.resize(kKept);
    }
    m.template bind<&TableWrap::set>("set");
    m.template bind<&TableWrap::get_buffer>("getBuffer");
    m.template bind<&TableWrap::get_many>("getMany");
    m.template bind<&TableWrap::get_into>("getInto");
    m.template bind<&TableWrap::has>("has");
    m.template bind<&TableWrap::erase>("delete");
    m.template bind<&TableWrap::incr>("incr");
    m.template bind<&TableWrap::incr>("add");
    m.template bind<&TableWrap::compare_and_set>("compareAndSet");
    m.template bind<&TableWrap::set_if_absent>("setIfAbsent");
  }

private:
  Engine &table(Napi::Env env) {
    if (!table_) {
      throw_js(env, JsClass::kError, "ERR_SHMTABLE_CLOSED",
               "closed: the table '" + label_ + "' was closed by close(); open it again");
    }
    return *table_;
  }
  std::string_view key(const Napi::CallbackInfo &info, std::size_t i = 0) {
    return key_arg(info.Env(), info[i], key_, table_->max_key_bytes());
  }
  std::string_view value(const Napi::CallbackInfo &info, std::size_t i, Scratch &s,
                         const char *arg = "value") {
    return value_arg(info.Env(), info[i], s, table_->max_value_bytes(), arg);
  }

  // A plain object of numeric fields, for recover() and _counters().
  static Napi::Object
  numbers(Napi::Env env, std::initializer_list<std::pair<const char *, std::uint64_t>> fields) {
    Napi::Object o = Napi::Object::New(env);
    for (const auto &[field, v] : fields) {
      o.Set(field, Napi::Number::New(env, static_cast<double>(v)));
    }
    return o;
  }

  // Rethrows a library error from an insert-capable call as JS, counting a full table.
  [[noreturn]] void throw_counting_full(Napi::Env env, const Error &e) {
    counters_.table_full += e.code() == Errc::kTableFull ? 1 : 0;
    throw_js(env, e);
  }

  // Runs `body`, turning a library Error into its JS error.
  template <class Body> static auto guard(Napi::Env env, Body &&body) {
    try {
      return body();
    } catch (const Error &e) {
      throw_js(env, e);
    }
  }

  // A write's time to live: its options' ttl ({ ttl: ms } at info[i]; 0: none), or this
  // handle's default where the call gives none. 0 ns: no deadline.
  std::chrono::nanoseconds ttl_of(const Napi::CallbackInfo &info, std::size_t i) {
    if (info.Length() <= i || info[i].IsUndefined()) {
      return default_ttl_;
    }
    Napi::Env env = info.Env();
    if (!info[i].IsObject() || info[i].IsArray()) {
      throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
               "options: expected an object such as { ttl: 1000 }, got " + type_name(env, info[i]));
    }
    const Napi::Value ttl = info[i].As<Napi::Object>().Get("ttl");
    return ttl.IsUndefined() ? default_ttl_ : ttl_ms_arg(env, ttl, "options.ttl");
  }

  Napi::Value set(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const std::chrono::nanoseconds ttl = ttl_of(info, 2);
    try {
      if (ttl.count() != 0) {
        t.set(k, value(info, 1, value_), ttl);
      } else {
        // The value is decoded inside set_with, while the key's home line is on its way.
        t.set_with(k, [&] { return value(info, 1, value_); });
      }
    } catch (const Error &e) {
      if (e.code() != Errc::kTableFull) {
        throw_js(env, e);
      }
      ++counters_.table_full; // fast-shm-cache's contract: a full table makes set return false
      return Napi::Boolean::New(env, false);
    }
    ++counters_.sets;
    return Napi::Boolean::New(env, true);
  }

  // The value of the key, copied into value_ (no allocation); nullopt on a miss.
  std::optional<std::string_view> lookup(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const auto n = guard(
        env, [&] { return t.get_into(k, std::span<char>(value_.data(), t.max_value_bytes())); });
    ++counters_.gets;
    if (!n) {
      ++counters_.misses;
      return std::nullopt;
    }
    ++counters_.hits;
    return std::string_view(value_.data(), *n);
  }

  // The lock-free engine hands a get its value in place (LockFreeTable::get_with): the
  // JS string or Buffer is made straight from shared memory, the value's one copy, and
  // made again if a writer replaced the value meanwhile (the engine validates the read
  // after the copy). The other engine copies it into value_ first.
  static constexpr bool kInPlace = requires(const Engine &t, ValueReader r) {
    t.get_with(std::string_view(), r, nullptr);
  };

  // get and getBuffer: the value as a JS value made by Make(env, bytes, size, ascii).
  template <napi_value (*Make)(napi_env, const char *, std::size_t, bool)>
  Napi::Value read_value(const Napi::CallbackInfo &info) {
    if constexpr (kInPlace) {
      Napi::Env env = info.Env();
      Engine &t = table(env);
      const std::string_view k = key(info);
      struct Made {
        napi_env env;
        napi_value value = nullptr;
      } made{env};
      const ValueReader reader = [](void *ctx, const ValueView &v) {
        auto *m = static_cast<Made *>(ctx);
        m->value = Make(m->env, v.bytes, v.size, v.ascii);
      };
      const bool hit = guard(env, [&] { return t.get_with(k, reader, &made); });
      ++counters_.gets;
      ++(hit ? counters_.hits : counters_.misses);
      return hit ? Napi::Value(env, made.value) : env.Undefined();
    } else {
      const auto v = lookup(info);
      if (!v) {
        return info.Env().Undefined();
      }
      return {info.Env(), Make(info.Env(), v->data(), v->size(), is_ascii(v->data(), v->size()))};
    }
  }
  static napi_value make_buffer(napi_env env, const char *bytes, std::size_t n, bool) {
    return Napi::Buffer<char>::Copy(env, bytes, n);
  }

  Napi::Value get(const Napi::CallbackInfo &info) {
    return read_value<static_cast<napi_value (*)(napi_env, const char *, std::size_t, bool)>(
        &make_string)>(info);
  }

  Napi::Value get_buffer(const Napi::CallbackInfo &info) { return read_value<&make_buffer>(info); }

  // The lock-free engine's get, for index.js, which keeps the strings it returns in an
  // array of kKept by slot (slot % kKept), while this side keeps which slot and version
  // each one is the value of (kept_). Values over kKeptMaxBytes are not kept: their
  // strings go to the array's extra last element, kKept, which no hit ever names, so a
  // handle holds at most kKept strings of at most kKeptMaxBytes (4 MiB), and one more.
  // A hit on an entry unchanged since (same slot, same version:
  // LockFreeTable::get_cached) reads nothing from the table and makes no string: it
  // returns null, and index.js returns its kept string. Otherwise the string made from
  // shared memory, kept here by slot and version. Either way where_[0] (of the
  // Int32Array of _keptIndex) is the array index; undefined on a miss. Strings are
  // immutable, so handing the same one out twice is invisible to JS; Buffers are
  // mutable and never kept. Only index.js may call this: a caller that does not keep
  // what it returns leaves the two sides disagreeing.
  static constexpr bool kCaching = requires(const Engine &t, const CachingReader &r) {
    t.get_cached(std::string_view(), r, nullptr);
  };
  // 4096: 1000 keys spread over a table's slots share an entry for 11 % of them (each
  // such get makes its string again), where 1024 entries left 36 % sharing.
  static constexpr std::size_t kKept = 4096; // index.js's array has kKept + 1 (where_[1])
  static constexpr std::size_t kKeptMaxBytes = 1024;
  struct Kept {
    std::uint64_t slot = ~std::uint64_t{0};
    std::uint64_t version = 0;
  };
  // Instantiated only where the constructor binds it (kCaching).
  Napi::Value get_kept(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    struct Ctx {
      const std::vector<Kept> &kept;
      napi_env env;
      napi_value made = nullptr;
      std::uint64_t slot = 0;
      std::uint64_t version = 0;
      bool keep = true;
    } ctx{kept_, env};
    static constexpr CachingReader kReader{
        [](void *c, std::uint64_t slot, std::uint64_t version) {
          auto *x = static_cast<Ctx *>(c);
          x->slot = slot;
          const Kept &e = x->kept[slot % kKept];
          return e.slot == slot && e.version == version;
        },
        [](void *c, const ValueView &v, std::uint64_t slot, std::uint64_t version) {
          auto *x = static_cast<Ctx *>(c);
          x->made = make_string(x->env, v.bytes, v.size, v.ascii);
          x->slot = slot;
          x->version = version;
          x->keep = v.size <= kKeptMaxBytes;
        }};
    const CachedGet r = guard(env, [&] { return t.get_cached(k, kReader, &ctx); });
    ++counters_.gets;
    if (r == CachedGet::kAbsent) {
      ++counters_.misses;
      return env.Undefined();
    }
    ++counters_.hits;
    const std::size_t i = ctx.slot % kKept;
    if (r == CachedGet::kHeld) {
      where_[0] = static_cast<std::int32_t>(i);
      return env.Null();
    }
    if (ctx.keep) {
      kept_[i] = {ctx.slot, ctx.version};
      where_[0] = static_cast<std::int32_t>(i);
    } else {
      where_[0] = static_cast<std::int32_t>(kKept); // held by index.js, never a hit
    }
    return {env, ctx.made};
  }
  Napi::Value kept_index(const Napi::CallbackInfo &info) {
    return where_ref_.IsEmpty() ? info.Env().Undefined() : where_ref_.Value();
  }

  // getMany(keys): an array with each key's value as a string, or undefined where absent.
  // The lock-free engine reads the batch with LockFreeTable::get_many (misses overlapped,
  // each value made straight from shared memory); the other engine gets key by key.
  Napi::Value get_many(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    if (!info[0].IsArray()) {
      throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
               "keys: expected an array of strings, got " + type_name(env, info[0]));
    }
    const Napi::Array arr = info[0].As<Napi::Array>();
    const std::uint32_t n = arr.Length();
    if (many_.size() < n) {
      many_.resize(n);
      for (Scratch &s : many_) {
        if (s.size() == 0) {
          s.reserve_for(t.max_key_bytes());
        }
      }
    }
    std::vector<std::string_view> keys(n);
    char arg[32];
    for (std::uint32_t i = 0; i < n; ++i) {
      std::snprintf(arg, sizeof arg, "keys[%u]", i);
      keys[i] = key_arg(env, arr.Get(i), many_[i], t.max_key_bytes(), arg);
    }
    std::vector<napi_value> values(n, env.Undefined());
    std::size_t hits = 0;
    if constexpr (kInPlace) {
      struct Made {
        napi_env env;
        std::vector<napi_value> *values;
      } made{env, &values};
      const ManyReader reader = [](void *ctx, std::size_t i, const ValueView &v) {
        auto *m = static_cast<Made *>(ctx);
        napi_value undefined = nullptr;
        if (v.bytes == nullptr) {
          check(m->env, napi_get_undefined(m->env, &undefined));
        }
        (*m->values)[i] =
            v.bytes == nullptr ? undefined : make_string(m->env, v.bytes, v.size, v.ascii);
      };
      hits = guard(env, [&] { return t.get_many(keys, reader, &made); });
    } else {
      for (std::uint32_t i = 0; i < n; ++i) {
        const auto got = guard(env, [&] {
          return t.get_into(keys[i], std::span<char>(value_.data(), t.max_value_bytes()));
        });
        if (got) {
          values[i] = make_string(env, value_.data(), *got);
          ++hits;
        }
      }
    }
    counters_.gets += n;
    counters_.hits += hits;
    counters_.misses += n - hits;
    Napi::Array out = Napi::Array::New(env, n);
    for (std::uint32_t i = 0; i < n; ++i) {
      out.Set(i, Napi::Value(env, values[i]));
    }
    return out;
  }

  // getInto(key, target): copies the value into target (a Buffer or Uint8Array) and
  // returns its length in bytes, or undefined on a miss. Allocates nothing.
  Napi::Value get_into(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const std::span<char> out = target_arg(env, info[1]);
    ++counters_.gets;
    std::optional<std::size_t> n;
    try {
      n = t.get_into(k, out);
    } catch (const Error &e) {
      if (e.code() != Errc::kBufferTooSmall) {
        throw_js(env, e);
      }
      ++counters_.hits; // the key is there; its value does not fit
      const auto now = guard(env, [&] { return t.get(k); }); // for the message only
      throw_js(env, JsClass::kRangeError, "ERR_SHMTABLE_BUFFER_TOO_SMALL",
               "target: " + std::to_string(out.size()) + " bytes cannot hold the value's " +
                   (now ? std::to_string(now->size()) : std::string("current")) +
                   " bytes (maxValueBytes " + std::to_string(t.max_value_bytes()) + ")");
    }
    if (!n) {
      ++counters_.misses;
      return env.Undefined();
    }
    ++counters_.hits;
    return Napi::Number::New(env, static_cast<double>(*n));
  }

  Napi::Value erase(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const bool removed = guard(env, [&] { return t.erase(k); });
    counters_.deletes += removed ? 1 : 0;
    return Napi::Boolean::New(env, removed);
  }

  Napi::Value has(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const bool present = guard(env, [&] { return t.contains(k); });
    ++counters_.gets;
    ++(present ? counters_.hits : counters_.misses);
    return Napi::Boolean::New(env, present);
  }

  // incr(key, by = 1, { ttl }) and its alias add(key, delta, { ttl }): the new value, as
  // a number. The table keeps a signed 64-bit decimal; beyond 2^53 the returned number is
  // rounded. A ttl goes to a key that this call creates; a present key keeps its own.
  Napi::Value incr(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const std::int64_t by =
        info.Length() < 2 || info[1].IsUndefined() ? 1 : safe_integer_arg(env, info[1], "by");
    const std::chrono::nanoseconds ttl = ttl_of(info, 2);
    ++counters_.rmw;
    try {
      return Napi::Number::New(
          env, static_cast<double>(ttl.count() != 0 ? t.add(k, by, ttl) : t.add(k, by)));
    } catch (const Error &e) {
      throw_counting_full(env, e);
    }
  }

  Napi::Value compare_and_set(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const std::string_view expected = value(info, 1, expected_, "expected");
    const std::string_view desired = value(info, 2, value_, "desired");
    ++counters_.rmw;
    return Napi::Boolean::New(env,
                              guard(env, [&] { return t.compare_and_set(k, expected, desired); }));
  }

  Napi::Value set_if_absent(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::string_view k = key(info);
    const std::string_view v = value(info, 1, value_);
    const std::chrono::nanoseconds ttl = ttl_of(info, 2);
    ++counters_.rmw;
    try {
      return Napi::Boolean::New(env, ttl.count() != 0 ? t.set_if_absent(k, v, ttl)
                                                      : t.set_if_absent(k, v));
    } catch (const Error &e) {
      throw_counting_full(env, e);
    }
  }

  Napi::Value keys(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const std::vector<std::string> all = guard(env, [&] { return t.keys(); });
    Napi::Array out = Napi::Array::New(env, all.size());
    for (std::uint32_t i = 0; i < all.size(); ++i) {
      out.Set(i, Napi::String::New(env, all[i]));
    }
    return out;
  }

  void clear(const Napi::CallbackInfo &info) {
    Engine &t = table(info.Env());
    guard(info.Env(), [&] { t.clear(); });
  }

  Napi::Value recover(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    const RecoveryReport r = guard(env, [&] { return t.recover(); });
    return numbers(env, {{"entries", r.entries},
                         {"pendingCleared", r.pending_cleared},
                         {"buffersReclaimed", r.buffers_reclaimed},
                         {"sparesCleared", r.spares_cleared},
                         {"boundsLowered", r.bounds_lowered},
                         {"boundsRaised", r.bounds_raised},
                         {"duplicateKeys", r.duplicate_keys},
                         {"corruptSlots", r.corrupt_slots},
                         {"keysRepaired", r.keys_repaired},
                         {"locksReset", r.locks_reset}});
  }

  // Frees every expired entry now (writers also free those they meet): how many.
  Napi::Value purge_expired(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &t = table(env);
    return Napi::Number::New(env,
                             static_cast<double>(guard(env, [&] { return t.purge_expired(); })));
  }

  // Detaches this handle (idempotent). With persist false, the last close of a table
  // anywhere discards its contents.
  void close(const Napi::CallbackInfo &) {
    table_.reset();
    kept_.assign(kept_.size(), Kept{}); // a table opened later is another table
  }

  Napi::Value counters(const Napi::CallbackInfo &info) {
    return numbers(info.Env(), {{"gets", counters_.gets},
                                {"hits", counters_.hits},
                                {"misses", counters_.misses},
                                {"sets", counters_.sets},
                                {"tableFull", counters_.table_full},
                                {"deletes", counters_.deletes},
                                {"rmw", counters_.rmw}});
  }

  // The table's statistics, shared by every process (shmtable/stats.hpp), as numbers:
  // exact up to 2^53 (Number.MAX_SAFE_INTEGER).
  Napi::Value shared(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const TableStats s = guard(env, [&] { return table(env).stats(); });
    return numbers(env, {{"hits", s.hits},
                         {"misses", s.misses},
                         {"sets", s.sets},
                         {"inserts", s.inserts},
                         {"erases", s.erases},
                         {"evictions", s.evictions},
                         {"expirations", s.expirations},
                         {"tableFull", s.table_full},
                         {"entries", s.entries},
                         {"leakedBuffers", s.leaked_buffers},
                         {"stripesInUse", s.stripes_in_use},
                         {"stripes", s.stripes}});
  }

  Napi::Value size(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), static_cast<double>(table(info.Env()).size()));
  }
  Napi::Value closed(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), !table_);
  }
  Napi::Value created(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), table(info.Env()).created());
  }
  Napi::Value capacity(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), static_cast<double>(table(info.Env()).capacity()));
  }
  Napi::Value max_key_bytes(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), table(info.Env()).max_key_bytes());
  }
  Napi::Value max_value_bytes(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), table(info.Env()).max_value_bytes());
  }
  Napi::Value engine(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), std::string(to_string(engine_)));
  }
  Napi::Value persist(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), persist_);
  }
  Napi::Value eviction(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), eviction_);
  }

  std::optional<Engine> table_;
  std::string label_;
  bool persist_ = false;                      // the table's, adopted or asked for
  bool eviction_ = false;                     // the table's (Options::eviction), likewise
  EngineName engine_ = EngineName::kLockFree; // the table's, by the name options.engine takes
  Scratch key_;                               // the key argument, UTF-8
  Scratch value_;                             // a value argument, or the value read
  Scratch expected_;                          // compareAndSet's expected value
  std::vector<Scratch> many_;                 // getMany's keys, one scratch each
  Counters counters_;
  std::chrono::nanoseconds default_ttl_{0};     // options.ttl: a write's where it gives none
  std::vector<Kept> kept_;                      // get_kept's: by slot % kKept
  std::int32_t *where_ = nullptr;               // get_kept's last index, read by index.js
  Napi::Reference<Napi::Int32Array> where_ref_; // keeps where_'s memory alive
};

} // namespace shmtable::node
