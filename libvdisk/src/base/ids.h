// Identities and times a writer records: the caller's pinned value, else a fresh one.
#ifndef VDISK_UTIL_IDS_H_
#define VDISK_UTIL_IDS_H_

#include <array>
#include <cstdint>
#include <optional>

namespace vdisk::detail {

// `pinned`, else a random RFC 4122 version 4 UUID.
std::array<std::uint8_t, 16> unique_id_or_random(
    const std::optional<std::array<std::uint8_t, 16>>& pinned);

// `pinned`, else the current Unix time in seconds.
std::int64_t unix_time_or_now(const std::optional<std::int64_t>& pinned);

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_IDS_H_
