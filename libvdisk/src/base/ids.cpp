#include "base/ids.h"

#include <chrono>
#include <random>

namespace vdisk::detail {

std::array<std::uint8_t, 16> unique_id_or_random(
    const std::optional<std::array<std::uint8_t, 16>>& pinned) {
  if (pinned) return *pinned;
  std::array<std::uint8_t, 16> id{};
  std::random_device rd;
  for (auto& b : id) b = static_cast<std::uint8_t>(rd());
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0F) | 0x40);  // RFC 4122 version 4
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

std::int64_t unix_time_or_now(const std::optional<std::int64_t>& pinned) {
  if (pinned) return *pinned;
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vdisk::detail
