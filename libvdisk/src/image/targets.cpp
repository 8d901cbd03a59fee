// Output targets: names, size rules, and sink construction.
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "gcp/gcp.h"
#include "raw/raw.h"
#include "vdisk/image.h"
#include "vhd/vhd.h"
#include "vhd/vhd_footer.h"

namespace vdisk {
namespace {

struct TargetEntry {
  Target target;
  std::string_view name;
};
constexpr TargetEntry kTargets[] = {
    {Target::raw, "raw"}, {Target::vhd, "vhd"}, {Target::azure, "azure"}, {Target::gcp, "gcp"}};

std::uint32_t vhd_timestamp(const TargetOptions& o) {
  const std::int64_t unix_now =
      o.timestamp_unix ? *o.timestamp_unix
                       : std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const std::int64_t t = unix_now - vhd::kVhdEpochUnix;
  return t < 0 ? 0u : static_cast<std::uint32_t>(std::min<std::int64_t>(t, 0xFFFFFFFF));
}

std::array<std::uint8_t, 16> unique_id(const TargetOptions& o) {
  if (o.unique_id) return *o.unique_id;
  std::array<std::uint8_t, 16> id{};
  std::random_device rd;
  for (auto& b : id) b = static_cast<std::uint8_t>(rd());
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0F) | 0x40);  // RFC 4122 version 4
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

}  // namespace

Result<Target> parse_target(std::string_view name) {
  for (const auto& t : kTargets)
    if (t.name == name) return t.target;
  return invalid_argument(fmt::format("unknown output target '{}' (known: {})", name,
                                      fmt::join(target_names(), ", ")));
}

std::string_view target_name(Target target) {
  for (const auto& t : kTargets)
    if (t.target == target) return t.name;
  return "unknown";
}

std::vector<std::string_view> target_names() {
  std::vector<std::string_view> out;
  for (const auto& t : kTargets) out.push_back(t.name);
  return out;
}

Result<std::uint64_t> target_virtual_size(Target target, std::uint64_t source_size) {
  switch (target) {
    case Target::raw: return source_size;
    case Target::vhd: return vhd::fixed_size(vhd::plain_rule(), source_size);
    case Target::azure: return vhd::fixed_size(vhd::azure_rule(), source_size);
    case Target::gcp: return gcp::disk_size(source_size);
  }
  return internal_error("unknown target");
}

Result<std::unique_ptr<BlockSink>> create_target(Target target, std::unique_ptr<ByteSink> out,
                                                 std::optional<std::uint64_t> source_size,
                                                 const TargetOptions& options) {
  if (source_size) VDISK_RETURN_IF_ERROR(target_virtual_size(target, *source_size).status());
  switch (target) {
    case Target::raw: return raw::make_sink(std::move(out));
    case Target::vhd:
    case Target::azure: {
      vhd::FixedSinkOptions o;
      o.rule = target == Target::azure ? vhd::azure_rule() : vhd::plain_rule();
      o.timestamp = vhd_timestamp(options);
      o.unique_id = unique_id(options);
      return vhd::make_fixed_sink(std::move(out), o);
    }
    case Target::gcp:
      // Sources with a map take the sparse path in convert(); this is the dense stream path.
      if (!source_size)
        return unsupported("gcp: the tar header needs the disk size before the data, and a raw "
                           "stream states none; convert from a file instead of stdin");
      return gcp::make_dense_sink(std::move(out), *source_size, gcp::writer_options(options));
  }
  return internal_error("unknown target");
}

}  // namespace vdisk
