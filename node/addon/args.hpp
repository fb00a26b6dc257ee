// node/addon/args.hpp: decoding JS arguments into bytes, with the errors the API
// promises (TypeError for a wrong type, RangeError naming the limit for a size).
//
// Keys are JS strings, stored as their UTF-8 bytes. Values are strings (stored as UTF-8)
// or any ArrayBufferView (Buffer, Uint8Array, other typed arrays, DataView: its bytes).
// Decoding never allocates on the hot path: strings are encoded into a scratch buffer the
// table owns, and views are read in place.
#pragma once

#include <emmintrin.h>
#include <napi.h>

#include "errors.hpp"

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shmtable::node {

// napi_get_value_string_utf8 truncates at a character boundary, silently. With room for
// limit + kSlack bytes, a truncated result is longer than `limit` (a UTF-8 character is
// at most 4 bytes), so a result of at most `limit` bytes is the whole string.
inline constexpr std::size_t kSlack = 4;

inline void check(Napi::Env env, napi_status status) {
  if (status != napi_ok) {
    throw Napi::Error::New(env); // the pending JS exception, or N-API's last error
  }
}

inline std::string type_name(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  check(env, napi_typeof(env, v, &t));
  switch (t) {
  case napi_undefined:
    return "undefined";
  case napi_null:
    return "null";
  case napi_boolean:
    return "boolean";
  case napi_number:
    return "number";
  case napi_string:
    return "string";
  case napi_symbol:
    return "symbol";
  case napi_function:
    return "function";
  case napi_bigint:
    return "bigint";
  case napi_external:
    return "external";
  case napi_object: {
    bool is = false;
    check(env, napi_is_array(env, v, &is));
    return is ? "an array" : "an object";
  }
  }
  return "unknown";
}

// Scratch space for one string argument of at most `limit` UTF-8 bytes.
class Scratch {
public:
  void reserve_for(std::uint32_t limit) { bytes_.resize(std::size_t{limit} + kSlack + 1); }
  char *data() noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }

private:
  std::vector<char> bytes_;
};

// A string's UTF-8 length, for error messages only (encodes nothing).
inline std::size_t utf8_length(napi_env env, napi_value v) {
  std::size_t n = 0;
  check(env, napi_get_value_string_utf8(env, v, nullptr, 0, &n));
  return n;
}

[[noreturn]] inline void throw_too_large(napi_env env, const char *arg, std::size_t bytes,
                                         const char *limit_name, std::uint32_t limit, Errc code) {
  throw_js(env, JsClass::kRangeError, js_code(to_string(code)),
           std::string(arg) + ": " + std::to_string(bytes) + " bytes exceeds " + limit_name + " (" +
               std::to_string(limit) + "; counted in UTF-8 bytes)");
}

inline void check_well_formed(napi_env env, napi_value v, std::string_view utf8, const char *arg);

// A key: a JS string of at most `limit` UTF-8 bytes (well-formed: no lone surrogates).
inline std::string_view key_arg(napi_env env, napi_value v, Scratch &s, std::uint32_t limit,
                                const char *arg = "key") {
  std::size_t n = 0;
  if (napi_get_value_string_utf8(env, v, s.data(), s.size(), &n) != napi_ok) {
    throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
             std::string(arg) + ": expected a string, got " + type_name(env, v));
  }
  if (n > limit) {
    throw_too_large(env, arg, utf8_length(env, v), "maxKeyBytes", limit, Errc::kKeyTooLarge);
  }
  check_well_formed(env, v, {s.data(), n}, arg);
  return {s.data(), n};
}

// Bytes per element of the typed array kinds this Node-API version names; 0 for any
// other (a kind added later, e.g. Float16Array, which Node 24 reports without setting the
// type and Node 26 as a new value): refused, never guessed.
inline std::size_t element_bytes(napi_typedarray_type t) {
  switch (t) {
  case napi_int8_array:
  case napi_uint8_array:
  case napi_uint8_clamped_array:
    return 1;
  case napi_int16_array:
  case napi_uint16_array:
    return 2;
  case napi_int32_array:
  case napi_uint32_array:
  case napi_float32_array:
    return 4;
  case napi_float64_array:
  case napi_bigint64_array:
  case napi_biguint64_array:
    return 8;
  }
  return 0;
}

[[noreturn]] inline void throw_bad_view(napi_env env, const char *arg, const char *why) {
  throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE", std::string(arg) + ": " + why);
}

// The bytes of an ArrayBufferView, in place; false if `v` is not one. TypeError for a
// view whose buffer is detached, or a typed array kind this build does not know.
inline bool view_bytes(napi_env env, napi_value v, std::string_view &out, const char *arg) {
  bool is = false;
  void *data = nullptr; // already advanced by the view's byteOffset
  napi_value buffer = nullptr;
  check(env, napi_is_typedarray(env, v, &is));
  if (is) {
    // Left unset by Node versions that have a kind Node-API does not name yet.
    auto type = static_cast<napi_typedarray_type>(-1);
    std::size_t length = 0;
    check(env, napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, nullptr));
    const std::size_t each = element_bytes(type);
    if (each == 0) {
      throw_bad_view(env, arg,
                     "a typed array of a kind this build of shmtable does not know; "
                     "pass a Buffer or Uint8Array over its bytes");
    }
    out = {static_cast<const char *>(data), length * each};
  } else {
    check(env, napi_is_dataview(env, v, &is));
    if (!is) {
      return false;
    }
    std::size_t length = 0;
    check(env, napi_get_dataview_info(env, v, &length, &data, &buffer, nullptr));
    out = {static_cast<const char *>(data), length};
  }
  bool detached = false;
  check(env, napi_is_detached_arraybuffer(env, buffer, &detached));
  if (detached || (data == nullptr && !out.empty())) {
    throw_bad_view(env, arg, "its ArrayBuffer is detached");
  }
  if (data == nullptr) {
    out = {"", 0}; // an empty view may have no storage at all
  }
  return true;
}

// napi_get_value_string_utf8 writes a lone surrogate as U+FFFD (EF BF BD), so two
// different JS strings would name one key. Only if the bytes hold EF is the string
// itself examined (UTF-16), so the common case costs one memchr.
inline void check_well_formed(napi_env env, napi_value v, std::string_view utf8, const char *arg) {
  if (std::memchr(utf8.data(), 0xEF, utf8.size()) == nullptr) {
    return;
  }
  std::size_t units = 0;
  check(env, napi_get_value_string_utf16(env, v, nullptr, 0, &units));
  std::vector<char16_t> s(units + 1);
  check(env, napi_get_value_string_utf16(env, v, s.data(), s.size(), &units));
  for (std::size_t i = 0; i < units; ++i) {
    const char16_t c = s[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      ++i; // a well-formed pair
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_VALUE",
               std::string(arg) + ": contains a lone surrogate at index " + std::to_string(i) +
                   " (not well-formed UTF-16, so it has no UTF-8 form; see "
                   "String.prototype.toWellFormed)");
    }
  }
}

// A value: a string (as UTF-8) or an ArrayBufferView, of at most `limit` bytes.
inline std::string_view value_arg(napi_env env, napi_value v, Scratch &s, std::uint32_t limit,
                                  const char *arg = "value") {
  std::size_t n = 0;
  if (napi_get_value_string_utf8(env, v, s.data(), s.size(), &n) == napi_ok) {
    if (n > limit) {
      throw_too_large(env, arg, utf8_length(env, v), "maxValueBytes", limit, Errc::kValueTooLarge);
    }
    check_well_formed(env, v, {s.data(), n}, arg);
    return {s.data(), n};
  }
  // napi_string_expected leaves no exception pending: try the byte views.
  std::string_view bytes;
  if (!view_bytes(env, v, bytes, arg)) {
    throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
             std::string(arg) + ": expected a string, Buffer or Uint8Array, got " +
                 type_name(env, v));
  }
  if (bytes.size() > limit) {
    throw_too_large(env, arg, bytes.size(), "maxValueBytes", limit, Errc::kValueTooLarge);
  }
  return bytes;
}

// Whether n bytes (private memory) are all ASCII: sixteen at a time, ORed, sign bits tested.
inline bool is_ascii(const char *data, std::size_t n) {
  __m128i acc = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc = _mm_or_si128(acc, _mm_loadu_si128(reinterpret_cast<const __m128i *>(data + i)));
  }
  unsigned high = static_cast<unsigned>(_mm_movemask_epi8(acc));
  for (; i < n; ++i) {
    high |= static_cast<unsigned char>(data[i]) & 0x80u;
  }
  return high == 0;
}

// A JS string from UTF-8 bytes. ASCII (the common case for cached text) is created as
// Latin-1, which V8 copies without decoding; anything else goes through the UTF-8
// decoder. Both give the same string for ASCII bytes. `ascii`: the caller knows.
inline napi_value make_string(napi_env env, const char *data, std::size_t n, bool ascii) {
  napi_value out = nullptr;
  check(env, ascii ? napi_create_string_latin1(env, data, n, &out)
                   : napi_create_string_utf8(env, data, n, &out));
  return out;
}
inline napi_value make_string(napi_env env, const char *data, std::size_t n) {
  return make_string(env, data, n, is_ascii(data, n));
}

// A writable byte view (getInto's target); TypeError if `v` is none.
inline std::span<char> target_arg(napi_env env, napi_value v, const char *arg = "target") {
  std::string_view bytes;
  if (!view_bytes(env, v, bytes, arg)) {
    throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
             std::string(arg) + ": expected a Buffer or Uint8Array, got " + type_name(env, v));
  }
  return {const_cast<char *>(bytes.data()), bytes.size()};
}

// An integer argument: a JS number that is a safe integer (|n| <= 2^53 - 1).
inline std::int64_t safe_integer_arg(napi_env env, napi_value v, const char *arg) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
             std::string(arg) + ": expected a number, got " + type_name(env, v));
  }
  constexpr double kMaxSafe = 9007199254740991.0; // Number.MAX_SAFE_INTEGER
  if (!(d >= -kMaxSafe && d <= kMaxSafe) ||
      d != static_cast<double>(static_cast<std::int64_t>(d))) {
    throw_js(env, JsClass::kRangeError, "ERR_OUT_OF_RANGE",
             std::string(arg) + ": expected a safe integer (|n| <= 2^53 - 1), got " +
                 Napi::Value(env, v).ToString().Utf8Value());
  }
  return static_cast<std::int64_t>(d);
}

// A time to live in milliseconds (a JS number, fractions allowed) as the library takes
// it: 0 means none (nanoseconds 0). TypeError for a non-number, RangeError past 0 ..
// 100 years, naming `arg` ("options.ttl").
inline std::chrono::nanoseconds ttl_ms_arg(napi_env env, napi_value v, const char *arg) {
  double ms = 0;
  if (napi_get_value_double(env, v, &ms) != napi_ok) {
    throw_js(env, JsClass::kTypeError, "ERR_INVALID_ARG_TYPE",
             std::string(arg) + ": expected a number of milliseconds, got " + type_name(env, v));
  }
  const double max_ms = std::chrono::duration<double, std::milli>(kMaxTtl).count();
  if (!(ms >= 0 && ms <= max_ms)) {
    throw_js(env, JsClass::kRangeError, "ERR_OUT_OF_RANGE",
             std::string(arg) + ": expected milliseconds from 0 (none) to " +
                 std::to_string(static_cast<std::uint64_t>(max_ms)) + " (100 years), got " +
                 Napi::Value(env, v).ToString().Utf8Value());
  }
  // Rounded up, so that a positive ttl never becomes none.
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(ms * 1e6)));
}

} // namespace shmtable::node
