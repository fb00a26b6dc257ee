// node/addon/errors.hpp: how failures reach JavaScript.
//
// Every JS error the addon throws carries `code` = "ERR_SHMTABLE_" + the library's
// Errc name in upper case (ERR_SHMTABLE_KEY_TOO_LARGE, ...), plus ERR_SHMTABLE_CLOSED
// for use after close(). The class follows Node's own convention: TypeError for an
// argument of the wrong type, RangeError for a value outside its documented limits,
// Error for everything about the table itself (layout mismatch, corruption, full, OS).
// Every message reads "<subject>: <what>", the subject being the argument, the option
// or the table ("shm 'name'", "file 'path'") it is about: the JS layer's messages and
// the library's (js_message below) alike.
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

// The library's message in the package's one style, "<subject>: <what>": without the
// library's "shmtable: " prefix and its " [errc]" suffix, which `code` carries in JS.
inline std::string js_message(const Error &e) {
  std::string_view m = e.what();
  constexpr std::string_view kPrefix = "shmtable: ";
  if (m.starts_with(kPrefix)) {
    m.remove_prefix(kPrefix.size());
  }
  const std::string suffix = " [" + std::string(to_string(e.code())) + "]";
  if (m.ends_with(suffix)) {
    m.remove_suffix(suffix.size());
  }
  return std::string(m);
}

[[noreturn]] inline void throw_js(Napi::Env env, const Error &e) {
  throw_js(env, class_of(e.code()), js_code(to_string(e.code())), js_message(e));
}

} // namespace shmtable::node
