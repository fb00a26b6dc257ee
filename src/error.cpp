#include "shmtable/error.hpp"

namespace shmtable {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
  case Errc::kInvalidArgument:
    return "invalid_argument";
  case Errc::kInvalidName:
    return "invalid_name";
  case Errc::kKeyTooLarge:
    return "key_too_large";
  case Errc::kValueTooLarge:
    return "value_too_large";
  case Errc::kBufferTooSmall:
    return "buffer_too_small";
  case Errc::kTableFull:
    return "table_full";
  case Errc::kLayoutMismatch:
    return "layout_mismatch";
  case Errc::kCorruptedHeader:
    return "corrupted_header";
  case Errc::kNotReady:
    return "not_ready";
  case Errc::kAlreadyExists:
    return "already_exists";
  case Errc::kSegmentMissing:
    return "segment_missing";
  case Errc::kPermissionDenied:
    return "permission_denied";
  case Errc::kSystem:
    return "system";
  case Errc::kNotANumber:
    return "not_a_number";
  case Errc::kBusy:
    return "busy";
  case Errc::kConnectionLost:
    return "connection_lost";
  case Errc::kTimeout:
    return "timeout";
  case Errc::kServerError:
    return "server_error";
  }
  return "unknown";
}

Error::Error(Errc code, const std::string &message)
    : std::runtime_error("shmtable: " + message + " [" + std::string(to_string(code)) + "]"),
      code_(code) {}

} // namespace shmtable
