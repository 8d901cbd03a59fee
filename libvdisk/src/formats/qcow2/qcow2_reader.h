// Internal interfaces between the QCOW2 driver (qcow2_driver.cpp), the cluster reader
// (qcow2_source.cpp), compressed clusters (qcow2_cluster_codec.cpp), linked files
// (qcow2_links.cpp) and snapshots (qcow2_snapshots.cpp).
#ifndef VDISK_QCOW2_QCOW2_READER_H_
#define VDISK_QCOW2_QCOW2_READER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/qcow2/qcow2_format.h"
#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

namespace vdisk::qcow2 {

// Bytes of L2 tables a source keeps decoded (at least kMinCachedTables tables), in a
// base/table_cache.h LRU keyed by the table's file offset.
inline constexpr std::uint64_t kL2CacheBytes = 32u << 20;
inline constexpr std::size_t kMinCachedTables = 4;

// Reads and validates cluster 0 (decode_header); reads at most 2 MiB.
Result<Header> read_header(const RandomAccessFile& file);

// Reads the active L1 entries that map the virtual size; checks that each L2 table offset is
// cluster-aligned, inside the file, and used by one entry only.
Result<std::vector<std::uint64_t>> read_l1(const RandomAccessFile& file, const Header& h);

// One internal snapshot, as the snapshot table records it (info only; never read).
struct Snapshot {
  std::string id;
  std::string name;
  std::uint64_t l1_table_offset = 0;
  std::uint32_t l1_size = 0;
  std::uint32_t date_sec = 0;
  std::uint32_t date_nsec = 0;
  std::uint64_t vm_clock_ns = 0;
  std::uint32_t vm_state_size = 0;
  std::optional<std::uint64_t> virtual_size;  // v3 extra data, when recorded
};

// Reads and bounds-checks the snapshot table the header points at.
Result<std::vector<Snapshot>> read_snapshots(const RandomAccessFile& file, const Header& h);

// A decoded L2 table: the big-endian entries of one cluster as host integers.
using L2Table = std::vector<std::uint64_t>;

// Expands one compressed cluster: `in` is the sector-rounded window read at `host_offset` (it
// may hold the next cluster's bytes after the stream), `out` exactly one cluster. corrupt when
// the stream is malformed, ends early or inflates past the cluster.
Status decompress_cluster(Compression type, std::span<const std::byte> in, std::span<std::byte> out,
                          std::uint64_t host_offset);

// The files an image links to, opened under the path rules.
struct Links {
  std::unique_ptr<BlockSource> backing;         // nullptr without a backing file
  std::string backing_path;                     // as opened
  std::string backing_driver;                   // format the backing was opened as
  std::unique_ptr<RandomAccessFile> data_file;  // nullptr without an external data file
  std::string data_file_path;
};

// Opens the backing file and the external data file the header names, relative to the image at
// `path` (refused when `path` is empty), under the shared rules of base/linked_path.h (inside
// its directory unless options.allow_outside_paths; loops and depth on the one chain stack of
// every format); qemu protocol names (json:, nbd:, ...) are refused.
Result<Links> open_links(const Header& h, const std::filesystem::path& path,
                         const OpenOptions& options);

// The BlockSource over an opened image; `l1` holds the validated active L1 entries.
std::unique_ptr<BlockSource> make_source(std::unique_ptr<RandomAccessFile> file, Header header,
                                         std::vector<std::uint64_t> l1, Links links,
                                         std::vector<Snapshot> snapshots);

}  // namespace vdisk::qcow2

#endif  // VDISK_QCOW2_QCOW2_READER_H_
