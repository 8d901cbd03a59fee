// The GCP image tarball: a single-member gzip holding a GNU tar with one member `disk.raw`
// whose size is a whole GiB (docs/cloud.md, "GCP image tarballs").
//
// One sink, make_tar_sink(), given the whole disk.raw (already padded to a whole GiB):
// - with the disk's map at hand (a file input), the map is walked first (window by window,
//   regions merged and bounded), so the member is GNU sparse ('S') with the map in its header and
//   holes are never compressed; a disk without holes gets a plain '0' member;
// - without it (a stream whose size is known up front): a '0' member; long zero runs are spliced
//   into the gzip stream as precomputed deflate output instead of being compressed.
#ifndef VDISK_GCP_GCP_H_
#define VDISK_GCP_GCP_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <vector>

#include "tar/tar.h"
#include "vdisk/block.h"
#include "vdisk/check.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/pipeline.h"

namespace vdisk::gcp {

struct WriterOptions {
  int level = kDefaultGcpLevel;        // gzip level 0..9 (vdisk/image.h)
  unsigned threads = 0;                // compression threads; 0 = hardware concurrency
  std::int64_t mtime = 0;              // tar mtime (Unix seconds)
  std::uint64_t region_align = 4096;   // sparse regions are widened to this (power of 2, >= 512)
  std::size_t max_regions = 1u << 20;  // beyond this the map is coarsened (alignment doubled)
};

// The disk.raw size for a source of `source_size` bytes: rounded up to a whole GiB, at least
// 1 GiB. invalid_argument on overflow.
Result<std::uint64_t> disk_size(std::uint64_t source_size);

// The data regions of `src` padded to `real_size`: data extents of the map widened to
// `region_align`, merged, sorted; coarsened until at most `max_regions` remain.
Result<std::vector<SparseRegion>> plan_regions(const BlockSource& src, std::uint64_t real_size,
                                               const WriterOptions& options,
                                               std::uint64_t map_window);

// The member make_tar_sink() writes for a disk.raw of `disk_size` bytes: sparse from `map`'s
// regions, or regular when `map` is null or has no holes.
Result<MemberSpec> plan_member(std::uint64_t disk_size, const BlockSource* map,
                               const WriterOptions& options, std::uint64_t map_window);

// A BlockSink writing the tarball for a disk.raw of `disk_size` bytes (a whole GiB, else
// invalid_argument: the target layer pads before the sink). With `map` (the disk itself, which
// must outlive the sink, whose map is walked here but whose data is not read) the member is
// planned from its map; the sink must then be given exactly that disk. finish() ends the archive
// and finishes the gzip stream and `out`; destroying it unfinished discards `out`.
Result<std::unique_ptr<BlockSink>> make_tar_sink(std::unique_ptr<ByteSink> out,
                                                 std::uint64_t disk_size, const BlockSource* map,
                                                 const WriterOptions& options,
                                                 std::uint64_t map_window);

// `vdconvert check --for gcp` (its rule set runs this): decompresses and walks the whole
// archive in `file`; `name` is the file name the ".tar.gz" rule looks at. Any bytes
// are accepted (hostile input is reported as failed rules, never a crash). disk.raw content is
// hashed only up to min(max_hash_bytes, 64 TiB) of virtual size (holes included; fuzzers pass
// a small bound so a forged size cannot make them hash zeros for hours).
Result<CheckReport> check_gcp_file(const RandomAccessFile& file, const std::string& name,
                                   std::uint64_t max_hash_bytes);

// Appends GCP's boot rules (boot/boot_check.h) for the disk.raw of the archive in `file`, whose
// gzip header is `header_bytes` long and whose disk.raw is `disk_size` bytes, walking the stream
// again in bounded passes (gcp_boot_check.cpp); when the facts cannot be read within the bounds,
// a warning item gcp.boot_read instead. An error only when the file cannot be read.
Status add_gcp_boot_rules(CheckReport& report, const RandomAccessFile& file,
                          std::uint64_t header_bytes, std::uint64_t disk_size);

// Length of the gzip member header (RFC 1952: magic, method 8, flags, optional FEXTRA, FNAME,
// FCOMMENT, FHCRC) at the start of `b`; 0 when it is malformed or does not fit in `b`.
std::size_t gzip_header_length(std::span<const std::byte> b);

}  // namespace vdisk::gcp

#endif  // VDISK_GCP_GCP_H_
