// node/addon/addon.cpp: the module's exports.
//
//   LockFreeTable, MutexTable   the engines' classes (table_wrap.hpp); index.js extends them
//   engines                     the engines' names, as options.engine takes them
//   Floor                       the binding's floor, for benchmarks (below)
//   unlink(name, byPath)        removes a table's name or file; false if there was none
//   validateName(name)          throws the library's RangeError for a bad name
#include <napi.h>

#include <shmtable/engines.hpp>
#include <shmtable/segment.hpp>

#include "args.hpp"
#include "errors.hpp"
#include "table_wrap.hpp"

#include <array>
#include <cstring>
#include <string>

namespace shmtable::node {
namespace {

// The cheapest call a get can be: decode the key exactly as the tables do, then return
// a 256-byte string made from bytes (its one copy, after the same ASCII test), through
// the same dispatch as the tables' get (a method bound to the instance). No table is
// touched, so get's time over Floor.get's is what the table itself costs from JS.
// Floor.set likewise: the key and the value decoded as the tables' set decodes them, the
// value's bytes copied once into private memory, true returned.
class Floor : public Napi::ObjectWrap<Floor> {
  friend class MethodBinder<Floor>;

public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Floor",
                       {InstanceMethod("get", &Floor::get), InstanceMethod("set", &Floor::set)});
  }

  explicit Floor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Floor>(info) {
    key_.reserve_for(kDefaultMaxKeyBytes);
    decoded_.reserve_for(kDefaultMaxValueBytes);
    value_.fill('v');
    MethodBinder<Floor> m(info.Env(), info.This().As<Napi::Object>(), this);
    m.template bind<&Floor::get>("get");
    m.template bind<&Floor::set>("set");
  }

private:
  Napi::Value get(const Napi::CallbackInfo &info) {
    const std::string_view k = key_arg(info.Env(), info[0], key_, kDefaultMaxKeyBytes);
    value_[0] = k.empty() ? 'v' : k[0]; // depend on the key, as a lookup would
    return {info.Env(), make_string(info.Env(), value_.data(), value_.size())};
  }

  Napi::Value set(const Napi::CallbackInfo &info) {
    const std::string_view k = key_arg(info.Env(), info[0], key_, kDefaultMaxKeyBytes);
    const std::string_view v = value_arg(info.Env(), info[1], decoded_, kDefaultMaxValueBytes);
    std::memcpy(value_.data(), v.data(), v.size()); // the one copy a table's set makes
    value_[0] = k.empty() ? 'v' : k[0];
    return Napi::Boolean::New(info.Env(), true);
  }

  Scratch key_;
  Scratch decoded_;
  std::array<char, kDefaultMaxValueBytes> value_{};
};

std::string name_arg(const Napi::CallbackInfo &info) {
  if (!info[0].IsString()) {
    throw_js(info.Env(), JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
             "name: expected a string, got " + type_name(info.Env(), info[0]));
  }
  return info[0].As<Napi::String>().Utf8Value();
}

// unlink(name, byPath): removes a table's name (or its backing file); false if absent.
Napi::Value unlink_name(const Napi::CallbackInfo &info) {
  const std::string name = name_arg(info);
  try {
    if (info[1].ToBoolean()) {
      shmtable::unlink_path(name);
    } else {
      shmtable::unlink(name);
    }
  } catch (const Error &e) {
    if (e.code() == Errc::kSegmentMissing) {
      return Napi::Boolean::New(info.Env(), false);
    }
    throw_js(info.Env(), e);
  }
  return Napi::Boolean::New(info.Env(), true);
}

void validate_name_js(const Napi::CallbackInfo &info) {
  const std::string name = name_arg(info);
  try {
    shmtable::validate_name(name);
  } catch (const Error &e) {
    throw_js(info.Env(), e);
  }
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("LockFreeTable", TableWrap<LockFreeTable>::define(env, "LockFreeTable"));
  exports.Set("MutexTable", TableWrap<MutexTable>::define(env, "MutexTable"));
  exports.Set("Floor", Floor::define(env));
  Napi::Array engines = Napi::Array::New(env, kEngineNames.size());
  for (std::uint32_t i = 0; i < kEngineNames.size(); ++i) {
    engines.Set(i, Napi::String::New(env, std::string(to_string(kEngineNames[i]))));
  }
  exports.Set("engines", engines);
  exports.Set("unlink", Napi::Function::New(env, unlink_name, "unlink"));
  exports.Set("validateName", Napi::Function::New(env, validate_name_js, "validateName"));
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("maxKeyBytes", Napi::Number::New(env, kMaxKeyBytesLimit));
  limits.Set("maxValueBytes", Napi::Number::New(env, kMaxValueBytesLimit));
  limits.Set("maxNameBytes", Napi::Number::New(env, static_cast<double>(kMaxNameBytes)));
  exports.Set("limits", limits);
  return exports;
}

} // namespace
} // namespace shmtable::node

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return shmtable::node::init(env, exports);
}

NODE_API_MODULE(shmtable, Init)
