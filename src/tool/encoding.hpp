// Bytes in JSON: keys and values are byte strings, JSON strings are Unicode. A field
// holds the bytes as a string when they are valid UTF-8, else as base64 under the
// field's name + "_b64" (RFC 4648, with padding). What dump writes and load reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shmtable::tool {

std::string base64_encode(std::string_view bytes);
// nullopt unless `text` is canonical base64 (length a multiple of 4, '=' only as padding).
std::optional<std::string> base64_decode(std::string_view text);

// Whether `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code points
// past U+10FFFF), which is what a JSON string can carry.
bool valid_utf8(std::string_view bytes) noexcept;

// Sets obj[field] to the bytes, or obj[field + "_b64"] to their base64.
void put_bytes(nlohmann::json &obj, const std::string &field, std::string_view bytes);

// The bytes of obj's `field` (a string) or `field`_b64 (base64): exactly one of the two
// must be there. Throws std::invalid_argument saying what is wrong.
std::string get_bytes(const nlohmann::json &obj, const std::string &field);

// `bytes` quoted for a message: 'text' if printable ASCII, else "..." with \xNN escapes.
std::string printable(std::string_view bytes);

} // namespace shmtable::tool
