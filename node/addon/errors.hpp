// node/addon/errors.hpp: how failures reach JavaScript.
//
// Every JS error the addon throws carries `code` = "ERR_SHMTABLE_" + the library's
// Errc name in upper case (ERR_SHMTABLE_KEY_TOO_LARGE, ...), plus ERR_SHMTABLE_CLOSED
// for use after close(). The class follows Node's own convention: TypeError for an
// argument of the wrong type, RangeError for a value outside its documented limits,
// Error for everything about the table itself (layout mismatch, corruption, full, OS).
#pragma once

#include <napi.h>

#include <shmtable/error.hpp>

#include <string>
#include <string_view>

namespace shmtable::node {

enum class JsClass { kError, kTypeError, kRangeError };

inline std::string js_code(std::string_view errc_name) {
  std::string code = "ERR_SHMTABLE_";
  for (const char c : errc_name) {
    code += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return code;
}

[[noreturn]] inline void throw_js(Napi::Env env, JsClass cls, const std::string &code,
                                  const std::string &message) {
  Napi::Error err = cls == JsClass::kTypeError    ? Napi::TypeError::New(env, message)
                    : cls == JsClass::kRangeError ? Napi::RangeError::New(env, message)
                                                  : Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

inline JsClass class_of(Errc code) {
  switch (code) {
  case Errc::kInvalidArgument:
  case Errc::kInvalidName:
  case Errc::kKeyTooLarge:
  case Errc::kValueTooLarge:
  case Errc::kBufferTooSmall:
    return JsClass::kRangeError;
  default:
    return JsClass::kError;
  }
}

[[noreturn]] inline void throw_js(Napi::Env env, const Error &e) {
  throw_js(env, class_of(e.code()), js_code(to_string(e.code())), e.what());
}

} // namespace shmtable::node
