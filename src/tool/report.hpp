// What the tool prints about a table: its header (SegmentInfo), an inspection
// (TableInspection), a recovery (RecoveryReport), as text for a person or JSON.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "shmtable/shmtable.hpp"

namespace shmtable::tool {

// The header and layout; `others`: handles attached besides the tool's own, if known.
nlohmann::json info_json(const SegmentInfo &info, std::optional<std::uint64_t> others);
std::string info_text(const SegmentInfo &info, std::optional<std::uint64_t> others);

nlohmann::json inspection_json(const TableInspection &r);
// Counts, the probe-length histogram, bounds, buffers, locks (stat).
std::string inspection_text(const TableInspection &r);
// The findings, one a line, with how many of each kind were left out (fsck).
std::string findings_text(const TableInspection &r);

// The shared statistics (stat): every counter; leaked buffers for the lock-free engine.
nlohmann::json stats_json(const TableStats &s);
std::string stats_text(const TableStats &s, bool lock_free);

// fsck's verdict: "consistent", "corrupt" or "needs_recovery".
std::string verdict(const TableInspection &r);

nlohmann::json recovery_json(const RecoveryReport &r);
std::string recovery_text(const RecoveryReport &r);

// One line of JSON. Keys and values are put as UTF-8 or base64 (encoding.hpp); any other
// text that is not UTF-8 (a --path FILE's name) is written with U+FFFD for its bad bytes.
std::string json_line(const nlohmann::json &j);

// "12.5%"
std::string percent(std::uint64_t part, std::uint64_t whole);

} // namespace shmtable::tool
