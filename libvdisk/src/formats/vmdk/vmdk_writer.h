// VMDK writers (internal): a BlockSink that turns the disk it receives into a streamOptimized or
// a monolithicSparse VMDK. The CLI's `--to vmdk` target wraps make_writer().
//
// Facts: VMware "Virtual Disk Format 5.0" technote (header, grain tables, markers, the stream
// layout, descriptor grammar); vmdk_format.h (field offsets, encoders); what qemu-img 7.2 and
// libvmdk's vmdkinfo accept is checked by tests/vmdk/vmdk_writer_interop.sh.
//
// streamOptimized ("layout B" of the technote, written strictly front to back, so it works to
// a pipe): header (version 3, flags 0x30001, compressAlgorithm 1, gdOffset GD_AT_END), the
// descriptor NUL-padded at sectors 1-20, then from sector 21 (overHead: the technote's "sectors
// occupied by the metadata", which in this layout is only the header and descriptor; grains of
// a compressed extent are not grain aligned anyway) the grains in ascending LBA: each a grain
// marker (u64 LBA, u32 size) directly followed by the zlib (RFC 1950) stream of the grain,
// padded to a sector.
// All-zero grains are not stored. After the grains of each 512-grain table's range: a GT marker
// and the 4-sector GT (entry = sector of the grain's marker; tables without grains are left out,
// GD entry 0). At the end: GD marker + GD, footer marker + footer (the header with the real
// gdOffset), EOS marker - the last three sectors are footer marker, footer, EOS as qemu checks.
// Grains are compressed in parallel (vmdk_write_stream.cpp has the engine table and the last
// grain's rule); the output depends only on the disk and `level`, never on `threads`.
//
// monolithicSparse (uncompressed, qemu's layout): header (version 1, flags 0x3), descriptor at
// sectors 1-20, redundant GD at 21, redundant GTs, GD, GTs (all tables pre-allocated, every GD
// entry set), padding to overHead (a grain multiple), then the non-zero grains in LBA order,
// each a whole grain. The tables are filled in by finish() with ByteSink::write_at(), so it needs
// an output that can write at offsets (a regular file, memory): make_writer() refuses others.
#ifndef VDISK_VMDK_VMDK_WRITER_H_
#define VDISK_VMDK_VMDK_WRITER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec/codec.h"
#include "vdisk/block.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::vmdk {

enum class Subformat : std::uint8_t { stream_optimized, monolithic_sparse };

struct WriterOptions {
  Subformat subformat = Subformat::stream_optimized;
  // Deflate level 0..9 on our scale (like the gcp target's --level; engine table in
  // vmdk_write_stream.cpp); streamOptimized only. 0 = stored deflate blocks, still valid zlib.
  int level = 6;
  // Compression threads, 0 = hardware concurrency (at most 256); output identical for any count.
  unsigned threads = 0;
  // ddb.adapterType: "ide", "buslogic", "lsilogic" or "legacyESX" (invalid_argument otherwise).
  std::string adapter = "lsilogic";
  // ddb.virtualHWVersion, 4..21.
  int hw_version = 14;
  // The extent file name in the descriptor's extent line: the basename of the output; empty =
  // "disk.vmdk". Must not contain '"', '/', a control character or a NUL.
  std::string file_name;
  // ddb.uuid; the caller makes it (random or pinned). CID and ddb.longContentID derive from it
  // deterministically (the CID is never ffffffff or fffffffe).
  std::array<std::uint8_t, 16> uuid{};
  // Write ddb.uuid and ddb.longContentID. MVMC's whitelist of disk database keys does not list
  // them (the descriptor lint's MVMC rule, lint_mvmc.cpp, flags both); false leaves them out, and
  // the descriptor then lints clean for every consumer.
  bool identity_keys = true;
  // Benchmarks and tests only: force this engine at this engine level instead of the table
  // (`level` is then ignored). invalid_argument when the engine is not compiled in.
  std::optional<codec::Engine> engine_override;
  int engine_level_override = 0;
};

// "streamOptimized" / "monolithicSparse" (exact names); invalid_argument otherwise.
Result<Subformat> parse_subformat(std::string_view name);
std::string_view subformat_name(Subformat subformat) noexcept;

// The largest disk each subformat takes, in bytes. streamOptimized: 2^40 sectors (512 TiB, the
// bound the reader accepts, vmdk_format.h); its *file* must stay below 2^32 sectors (grain table
// entries are u32 sectors), which finish-time writes check. monolithicSparse: 2^32 sectors
// (2 TiB) minus its metadata, so that every grain of a full disk is addressable.
std::uint64_t max_disk_size(Subformat subformat) noexcept;

// A BlockSink writing a VMDK of exactly `disk_size` bytes (a multiple of 512, > 0, at most
// max_disk_size()) into `out`. It receives the disk under the BlockSink contract (vdisk/block.h):
// write()/write_zeroes() covering [0, disk_size) once, in order, then finish(), which writes the
// tables and trailers and finishes `out`. Positional mode is not offered. After an error the
// sink stays failed (every later call returns that error); destroying it unfinished discards
// `out`. Errors: invalid_argument (size, options), unsupported (monolithicSparse on an output
// without write_at: "vmdk: monolithicSparse needs a seekable output file; use the default
// streamOptimized for a pipe"), and whatever `out` returns.
Result<std::unique_ptr<BlockSink>> make_writer(std::unique_ptr<ByteSink> out,
                                               std::uint64_t disk_size,
                                               const WriterOptions& options);

// Output size for `vdconvert measure`, given the number of grains (64 KiB each, the last one
// possibly partial) that hold non-zero data.
//   monolithicSparse: metadata_bytes = overHead in bytes; upper_bound = the exact file size
//     (metadata + data_grains whole grains).
//   streamOptimized: metadata_bytes = header and descriptor (21 sectors), the GTs (as if each of
//     min(data_grains, tables) held a grain), GD and trailers - an upper bound on the metadata;
//     upper_bound = that + every grain stored at the compressor's worst case (incompressible).
// invalid_argument as make_writer for the size, or when data_grains exceeds the disk's grains.
struct SizeEstimate {
  std::uint64_t metadata_bytes = 0;
  std::uint64_t upper_bound = 0;
};
Result<SizeEstimate> estimate_size(std::uint64_t disk_size, std::uint64_t data_grains,
                                   const WriterOptions& options);

// ---- shared by the writer files (vmdk_write_*.cpp) ------------------------------------------
namespace writer {

inline constexpr std::uint64_t kGrainSectors = 128;
inline constexpr std::uint64_t kGrainBytes = kGrainSectors * 512;
inline constexpr std::uint32_t kGtes = 512;
inline constexpr std::uint64_t kGtSectors = kGtes * 4 / 512;         // 4
inline constexpr std::uint64_t kGtCoverage = kGrainSectors * kGtes;  // sectors per table
inline constexpr std::uint64_t kDescriptorSectors = 20;
inline constexpr std::uint64_t kStreamOverhead = 1 + kDescriptorSectors;  // first grain sector

// Grains, tables (= GD entries) and GD sectors of a disk of `sectors`.
struct Tables {
  std::uint64_t grains = 0;
  std::uint64_t gts = 0;
  std::uint64_t gd_sectors = 0;
};
Tables tables_for(std::uint64_t sectors) noexcept;

// The checks make_writer and estimate_size share: size and every option.
Status validate(std::uint64_t disk_size, const WriterOptions& options);

// The descriptor text (LF line ends, not padded) for a disk of `sectors`.
std::string descriptor_text(std::uint64_t sectors, const WriterOptions& options);
// CID derived from the uuid (never ffffffff / fffffffe).
std::uint32_t derive_cid(const std::array<std::uint8_t, 16>& uuid) noexcept;

struct Geometry {
  std::uint64_t cylinders = 0;
  unsigned heads = 0;
  unsigned sectors = 0;
};
// ddb.geometry for the adapter: SCSI 255 heads / 63 sectors (cylinders capped at 65535), IDE 16
// heads / 63 sectors (cylinders capped at 16383); cylinders = ceil(sectors / (heads * 63)).
Geometry geometry_for(std::uint64_t sectors, std::string_view adapter) noexcept;

// What both writers share: the BlockSink in-order contract over a disk of disk_size_ bytes,
// and a sink that stays failed after its first error (every later call returns it).
class OrderedWriter : public BlockSink {
 protected:
  explicit OrderedWriter(std::uint64_t disk_size) : disk_size_(disk_size) {}
  Status usable() const;
  // Records the first error.
  Status fail_on(Status s);
  // A write()/write_zeroes() of `length` bytes at `offset`: usable, in order, inside the disk.
  Status check_call(std::uint64_t offset, std::uint64_t length);
  // At finish(): usable and the whole disk received.
  Status check_complete();

  const std::uint64_t disk_size_;
  std::uint64_t pos_ = 0;  // disk bytes received
  bool finished_ = false;
  Status failed_;
};

Result<std::unique_ptr<BlockSink>> make_stream_writer(std::unique_ptr<ByteSink> out,
                                                      std::uint64_t disk_size,
                                                      const WriterOptions& options);
Result<std::unique_ptr<BlockSink>> make_sparse_writer(std::unique_ptr<ByteSink> out,
                                                      std::uint64_t disk_size,
                                                      const WriterOptions& options);
// Sectors of monolithicSparse metadata (= its overHead) for a disk of `sectors`.
std::uint64_t sparse_overhead(std::uint64_t sectors) noexcept;
// The engine and engine level that stream `level` maps to in this build.
struct GrainEngine {
  codec::Engine engine;
  int level;
};
GrainEngine grain_engine(int level) noexcept;

}  // namespace writer
}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_WRITER_H_
