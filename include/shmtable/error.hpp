// shmtable/error.hpp: the library's one error type.
//
// Every failure is an shmtable::Error carrying an Errc code and a message that names
// the field or argument and the limit involved, e.g.
//   "key: 70 bytes exceeds the table's max_key_bytes of 64".
// An operation that throws leaves the table as it was before the call.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace shmtable {

enum class Errc {
  kInvalidArgument = 1, // an option or argument out of its documented range
  kInvalidName,         // a segment name that is empty, too long or has bad characters
  kKeyTooLarge,         // key longer than the table's max_key_bytes
  kValueTooLarge,       // value longer than the table's max_value_bytes
  kBufferTooSmall,      // get_into(): the caller's buffer cannot hold the value
  kTableFull,           // no free slot on a new key's probe sequence (reserved ones count)
  kLayoutMismatch,      // existing segment has another engine, layout or format version
  kCorruptedHeader,     // segment header fails its magic/checksum/bounds checks
  kNotReady,            // another process kept creating the table, or held its gate
  kAlreadyExists,       // OpenMode::kCreate and the segment exists
  kSegmentMissing,      // OpenMode::kOpen and the segment does not exist
  kPermissionDenied,    // the OS refused access to the segment (mode/owner), or a server
                        // refused the credentials
  kSystem,              // any other OS error; the message carries errno's text
  kNotANumber,          // add(): the key's value is not a decimal integer, or would overflow
  kBusy,                // recover(): other handles are attached, so it cannot run safely;
                        // open: another handle's recover() outlasted ready_timeout_ms
  // A table on a server (RedisTable) only. A write that fails with one of these may or
  // may not have taken effect; the handle reconnects on its next call.
  kConnectionLost, // the server cannot be reached, or the connection broke mid-call
  kTimeout,        // the server did not answer within the handle's timeout
  kServerError,    // the server answered with an error (its text is in the message)
};

// Stable, lower-case name of a code, e.g. "table_full".
std::string_view to_string(Errc code) noexcept;

class Error : public std::runtime_error {
public:
  Error(Errc code, const std::string &message);

  Errc code() const noexcept { return code_; }

private:
  Errc code_;
};

} // namespace shmtable
