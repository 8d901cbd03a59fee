// The output-target contract: each target (`vdconvert convert --to NAME`) is one TargetDriver,
// defined in its format's folder and listed once by image/targets.cpp. This header sits below
// the format folders and the facade (image/) above them.
//
// A conversion is one straight line, the same for every target:
//
//   open the input -> padded view (size rule, GPT relocation; image/padding.cpp)
//                  -> [zero scan, when the target reads the map and the caller asks]
//                  -> create(): the target looks at the whole map if it wants, makes its sink
//                  -> copy(view, sink) -> finish
//
// Padding happens only in the view: a target's sink receives exactly the padded disk, [0, N),
// under the BlockSink contract, and never pads.
#ifndef VDISK_CONTRACT_TARGET_DRIVER_H_
#define VDISK_CONTRACT_TARGET_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::detail {

// What a target's create() is given.
struct TargetRequest {
  // Bytes of the padded disk the sink will receive: always set for a file input and for a
  // stream that states its size; nullopt for a raw stream (known only at its end), which only
  // targets without `needs_size` accept.
  std::optional<std::uint64_t> disk_size;
  // The padded disk itself when the input is a file (nullptr for streams). A target may walk
  // its map() before the first byte is written (the GCP sparse tar header); it must not read
  // data from it. It outlives the sink.
  const BlockSource* disk = nullptr;
  const TargetOptions* options = nullptr;       // never null
  std::uint64_t map_window_bytes = 1ull << 30;  // how much of the map to ask for at once
};

struct TargetDriver {
  std::string_view name;     // as convert --to, check --for and measure --to spell it
  std::string_view summary;  // one line for help texts
  // The check rule set that verifies this target's output (check --for), or empty.
  std::string_view check;
  // The output's virtual size for a source of `source_size` bytes, or invalid_argument naming
  // the rule when the target cannot hold it. Pure.
  Result<std::uint64_t> (*virtual_size)(std::uint64_t source_size);
  // Whether padding this target's disk moves a GPT's backup to the new end (the cloud targets;
  // TargetOptions::keep_gpt turns it off).
  bool relocates_gpt = false;
  // Whether the sink needs the disk size before its first byte (a header states it).
  bool needs_size = false;
  // Whether the output is a disk a machine boots from (a cloud image, a VM disk): convert() then
  // opens the input with OpenOptions::boot_disk.
  bool boots = false;
  // The machine it is for (a name in machines.h), whose boot needs an input may check (a live
  // ISO's initrd drivers and serial console, docs/livecd.md §8), or empty.
  std::string_view machine = {};
  // The cloud (a name in machines.h) whose boot setting convert reports for the output, when it
  // is not `machine` (aws-snapshot: AWS, whose initrd needs are not established); empty with an
  // empty `machine`: every cloud's (docs/boot.md).
  std::string_view boot_cloud = {};
  // Whether create() walks the map of request.disk (then a zero scan, when asked, refines the
  // map first: TargetOptions::detect_zeroes).
  bool reads_map = false;
  // A suffix the output file's name must have for the consumer to take it ("" = any name).
  std::string_view name_suffix;
  // When the output is the disk itself followed by a trailer of this many bytes (raw 0, fixed
  // VHD 512): checksums take the disk's digest from the output's prefix. nullopt when the
  // output is encoded (compressed): the disk is hashed as the pipeline hands it over.
  std::optional<std::uint32_t> disk_trailer_bytes;
  // Non-empty when the output can only be a cloud object of this destination kind
  // (DestinationCaps::kind; "ebs-snapshot" for aws-snapshot), never a file or a stream.
  std::string_view destination = {};
  // The target's own options (TargetOptions::settings), and its rules across them (may be null):
  // invalid_argument naming the options that do not go together.
  std::span<const OptionSpec> options = {};
  Status (*check_options)(const OptionValues& values) = nullptr;
  // Makes the sink writing the target into `out`. Errors before any byte is written.
  Result<std::unique_ptr<BlockSink>> (*create)(std::unique_ptr<ByteSink> out,
                                               const TargetRequest& request);
  // The output size for `disk` (the padded view; its map is walked, no data read), for
  // `vdconvert measure`.
  Result<OutputSize> (*measure)(const BlockSource& disk, const TargetOptions& options,
                                std::uint64_t map_window_bytes);
};

// One accessor per target, defined in the target's folder.
const TargetDriver& raw_target();
const TargetDriver& vhd_target();
const TargetDriver& azure_target();
const TargetDriver& gcp_target();
const TargetDriver& vmdk_target();
const TargetDriver& aws_snapshot_target();

// All targets in help order, and lookup by name (nullptr when unknown). image/targets.cpp.
std::span<const TargetDriver* const> target_drivers();
const TargetDriver* find_target_driver(std::string_view name);
// The same, or invalid_argument naming the known targets.
Result<const TargetDriver*> require_target_driver(std::string_view name);

// Calls `fn(offset, length)` for each data extent of `disk`'s map, in order, asking for at most
// `map_window_bytes` of the map at a time (0 = 1 GiB); internal_error when the map is not
// contiguous. contract/map_walk.cpp.
Status walk_data(const BlockSource& disk, std::uint64_t map_window_bytes,
                 const std::function<void(std::uint64_t offset, std::uint64_t length)>& fn);
// Data bytes of `disk`'s map.
Result<std::uint64_t> mapped_data_bytes(const BlockSource& disk, std::uint64_t map_window_bytes);

}  // namespace vdisk::detail

#endif  // VDISK_CONTRACT_TARGET_DRIVER_H_
