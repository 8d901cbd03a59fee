// The VHD format module: fixed-VHD writing (plain and Azure), reading (fixed, dynamic,
// differencing) and the Azure rule check.
#ifndef VDISK_VHD_VHD_H_
#define VDISK_VHD_VHD_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "vdisk/block.h"
#include "vdisk/check.h"
#include "vdisk/io.h"

namespace vdisk::vhd {

// How a fixed VHD's virtual size follows from the source size.
struct SizeRule {
  std::string_view name;       // "vhd" or "azure", for messages
  std::uint64_t align = 512;   // round the size up to a multiple of this
  std::uint64_t min_size = 0;  // then raise it to at least this
  std::uint64_t max_size = 0;  // and refuse anything above this (0 = no limit)
};
// Plain fixed VHD: the exact size rounded up to a whole sector.
SizeRule plain_rule();
// Azure: a whole MiB, at least 20 MiB, at most 32 TiB ("DiskCreationData.UploadSizeBytes":
// upload size between 20 MiB + 512 and 32 TiB + 512 bytes, and (size - 512) a whole MiB).
SizeRule azure_rule();

// The fixed VHD virtual size for a source of `source_size` bytes, or invalid_argument.
Result<std::uint64_t> fixed_size(const SizeRule& rule, std::uint64_t source_size);

struct FixedSinkOptions {
  SizeRule rule = plain_rule();
  std::uint32_t timestamp = 0;  // seconds since 2000-01-01 UTC
  std::array<std::uint8_t, 16> unique_id{};
};

// A BlockSink writing a fixed VHD: the disk (whose size must already be one the rule gives: the
// target layer pads), then the footer. Writes past the rule's maximum fail with invalid_argument
// before anything is written for them.
std::unique_ptr<BlockSink> make_fixed_sink(std::unique_ptr<ByteSink> out,
                                           const FixedSinkOptions& options);

// Checks a file against Azure's rules for uploaded VHDs. Fails only when the file cannot be
// read; broken rules are items of the report.
Result<CheckReport> check_azure(const RandomAccessFile& file, const std::string& display);

}  // namespace vdisk::vhd

#endif  // VDISK_VHD_VHD_H_
