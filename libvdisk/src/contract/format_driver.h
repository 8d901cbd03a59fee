// The input-format contract: each format folder provides one FormatDriver; the registry in
// image/registry.cpp lists them. This header sits below the format folders and the facade
// (image/) above them: formats include it, never a header of image/.
#ifndef VDISK_CONTRACT_FORMAT_DRIVER_H_
#define VDISK_CONTRACT_FORMAT_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

namespace vdisk::detail {

// What a probe may look at: the first bytes of the image and, for files, the last bytes.
struct ProbeData {
  std::span<const std::byte> head;  // up to kProbeHeadBytes from offset 0
  std::span<const std::byte> tail;  // up to kProbeTailBytes ending at the end (empty for streams)
  std::uint64_t file_size = 0;      // 0 for streams
  bool stream = false;              // the first bytes of a stream: no tail, no size
};
inline constexpr std::size_t kProbeHeadBytes = 64 * 1024;
inline constexpr std::size_t kProbeTailBytes = 4096;
// Probe scores: a readable format whose structure checks out bids kCertain and beats any
// recognised foreign signature (which is then its disk's content); kFallback is the bid of a
// format that cannot be told from raw by what the probe sees (a fixed VHD on a stream, whose
// footer comes last).
inline constexpr int kCertain = 100;
inline constexpr int kFallback = 2;

struct FormatDriver {
  std::string_view name;
  // Confidence 0 (not this format) to 100 (certain), from real structure checks, not just a
  // magic number. Must not allocate in proportion to anything in the data.
  int (*probe)(const ProbeData& data);
  // Opens a file-backed image. `path` locates sibling files and may be empty.
  Result<std::unique_ptr<BlockSource>> (*open)(std::unique_ptr<RandomAccessFile> file,
                                               const std::filesystem::path& path,
                                               const OpenOptions& options);
  // Opens the image from a stream; nullptr when the format needs random access.
  Result<std::unique_ptr<StreamSource>> (*open_stream)(std::unique_ptr<InputStream> in,
                                                       const OpenOptions& options);
  // The format's own options (OpenOptions::settings), read by open() and open_stream().
  std::span<const OptionSpec> options = {};
};

// One accessor per format folder (listed by image/registry.cpp).
const FormatDriver& raw_driver();
const FormatDriver& vhd_driver();
const FormatDriver& iso9660_driver();
const FormatDriver& vmdk_driver();
const FormatDriver& qcow2_driver();
const FormatDriver& vhdx_driver();
const FormatDriver& vdi_driver();
const FormatDriver& ova_driver();
// An OVF package directory opens as its one .ovf descriptor: that file's path; any other path
// unchanged (formats/ova/ova_driver.cpp).
Result<std::filesystem::path> ovf_in_directory(const std::filesystem::path& path);

// All drivers, in probe order (raw last: it accepts anything). Defined by image/registry.cpp.
std::span<const FormatDriver* const> format_drivers();
const FormatDriver* find_driver(std::string_view name);

// Reports a diagnostic if the caller asked for them.
inline void diagnose(const OpenOptions& options, Diagnostic::Level level, std::string message) {
  if (options.on_diagnostic) options.on_diagnostic(Diagnostic{level, std::move(message)});
}

}  // namespace vdisk::detail

#endif  // VDISK_CONTRACT_FORMAT_DRIVER_H_
