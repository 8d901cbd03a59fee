// The "gcp" output target: the GCP image tarball (gcp.h), disk.raw padded to a whole GiB with
// the GPT's backup moved to the new end.
#include <algorithm>

#include "contract/target_driver.h"
#include "formats/gcp/gcp.h"
#include "tar/tar.h"
#include "base/checked.h"
#include "base/ids.h"

namespace vdisk::detail {
namespace {

// The gcp target's own options (TargetOptions::settings; vdconvert --KEY or -o KEY=VALUE). The
// level table (engines per level) is in gzip_sink.h.
constexpr OptionSpec kOptions[] = {
    {"level",
     OptionKind::number,
     "N",
     "compression level 0..9 (0 stored, 9 smallest; gzip_sink.h has the engines)",
     "2",
     {},
     0,
     9},
};
static_assert(kDefaultGcpLevel == 2, "the level row's fallback states kDefaultGcpLevel");

Result<gcp::WriterOptions> writer_options(const TargetOptions& o) {
  gcp::WriterOptions w;
  VDISK_ASSIGN_OR_RETURN(const std::int64_t level, option_number(kOptions, o.settings, "level"));
  w.level = static_cast<int>(level);
  w.threads = o.compress_threads;
  w.mtime = std::max<std::int64_t>(0, unix_time_or_now(o.timestamp_unix));
  return w;
}

Result<std::unique_ptr<BlockSink>> create_gcp(std::unique_ptr<ByteSink> out,
                                              const TargetRequest& r) {
  if (!r.disk_size)
    return unsupported(
        "gcp: the tar header needs the disk size before the data, and a raw stream states "
        "none; convert from a file instead of stdin");
  VDISK_ASSIGN_OR_RETURN(const auto wo, writer_options(*r.options));
  return gcp::make_tar_sink(std::move(out), *r.disk_size, r.disk, wo, r.map_window_bytes);
}

// The tar bytes exactly; the .tar.gz at most that plus deflate's worst case (stored blocks and a
// sync flush per 1 MiB compression block) and the gzip header and trailer.
Result<OutputSize> measure_gcp(const BlockSource& disk, const TargetOptions& options,
                               std::uint64_t map_window) {
  VDISK_ASSIGN_OR_RETURN(const auto wo, writer_options(options));
  VDISK_ASSIGN_OR_RETURN(auto spec, gcp::plan_member(disk.size(), &disk, wo, map_window));
  VDISK_ASSIGN_OR_RETURN(auto header, gcp::encode_member_header(spec));
  std::uint64_t tar = header.size() + gcp::stored_bytes(spec);
  tar += (512 - tar % 512) % 512;
  tar += gcp::end_of_archive_bytes(tar);
  const std::uint64_t blocks = tar / kMiB + 1;
  const std::uint64_t bound =
      tar + tar / 4096 + tar / 16384 + 5 * (tar / 65535 + 1) + 16 * blocks + 64;
  return OutputSize{false, tar, bound};
}

}  // namespace

const TargetDriver& gcp_target() {
  static const TargetDriver d{
      .name = "gcp",
      .summary = "GCP image tarball: gzip'd GNU tar holding disk.raw of whole GiB",
      .check = "gcp",
      .virtual_size = gcp::disk_size,
      .relocates_gpt = true,
      .needs_size = true,
      .boots = true,
      .machine = "gcp",
      .reads_map = true,
      .name_suffix = ".tar.gz",
      .disk_trailer_bytes = std::nullopt,
      .options = kOptions,
      .create = create_gcp,
      .measure = measure_gcp,
  };
  return d;
}

}  // namespace vdisk::detail
