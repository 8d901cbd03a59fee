// Readers for the extents a VMDK is made of: flat files, zero extents and hosted sparse
// extents (monolithicSparse, twoGbMaxExtentSparse pieces, streamOptimized in all layouts).
//
// Offsets are relative to the extent's start. An extent reports ranges it does not store as
// ExtentKind::unallocated; the VMDK source reads those from the parent (or as zeros), while
// ExtentKind::zero ranges (zeroed grains, ZERO extents, flat-file holes) never reach the parent.
// All methods are thread-safe.
#ifndef VDISK_VMDK_VMDK_EXTENT_H_
#define VDISK_VMDK_VMDK_EXTENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/extent.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk {

// Fills [offset, offset + dst.size()) of an extent's unallocated range (offset relative to the
// extent).
using FillFn = std::function<Status(std::uint64_t offset, std::span<std::byte> dst)>;

class ExtentReader {
 public:
  virtual ~ExtentReader() = default;
  virtual std::uint64_t size() const = 0;  // bytes
  virtual Status map(std::uint64_t offset, std::uint64_t length,
                     std::vector<Extent>& out) const = 0;
  virtual Status read(std::uint64_t offset, std::span<std::byte> dst, const FillFn& fill) const = 0;
  // Bytes of the extent stored in its file (allocated grains; whole size for flat extents).
  virtual Result<std::uint64_t> allocated_bytes() const = 0;
  // Facts of the extent's own format for `vdconvert info`, added to the extent's entry: sparse
  // kinds (hosted, COWD, SESparse) add "grain_size" (bytes) and "gtes_per_gt".
  virtual void describe(Properties& /*out*/) const {}
};

// A flat extent: `size` bytes of `file` from `base`. The file must hold them (checked here).
Result<std::unique_ptr<ExtentReader>> make_flat_extent(std::shared_ptr<const RandomAccessFile> file,
                                                       std::uint64_t base, std::uint64_t size);
// A ZERO extent, or a NOACCESS one (whose reads fail with unsupported).
std::unique_ptr<ExtentReader> make_zero_extent(std::uint64_t size);
std::unique_ptr<ExtentReader> make_noaccess_extent(std::uint64_t size, std::string what);

// A hosted sparse extent. Opening validates the header (and the footer when gdOffset is
// GD_AT_END) and loads the grain directory; grain tables are read on demand through a bounded
// cache.
struct SparseExtentInfo {
  SparseHeader header;              // effective header (the footer's for VMware stream files)
  bool used_footer = false;         // header came from the footer
  std::string embedded_descriptor;  // text at descriptorOffset (NULs trimmed), may be empty
};

class SparseExtent;
struct OpenedSparse {
  std::unique_ptr<ExtentReader> reader;
  SparseExtentInfo info;
};
// `size_bytes`: the extent size the descriptor states, or nullopt to use the header capacity.
// A descriptor size larger than the capacity is corrupt. `on_diagnostic` (may be empty) gets
// last_grain_warning() once, from the reading thread.
Result<OpenedSparse> open_sparse_extent(std::shared_ptr<const RandomAccessFile> file,
                                        std::optional<std::uint64_t> size_bytes,
                                        DiagnosticFn on_diagnostic = {});

// The warning given when a compressed last grain holds non-zero bytes past the disk's end
// (inflate_last_grain), for the file and the stream readers alike.
std::string last_grain_warning(std::string_view name, std::uint64_t grain, std::uint64_t at,
                               std::uint64_t capacity_sectors);

// The grain-table reader over an already loaded grain directory (`gd`, one entry per table).
// Used for COWD extents too, described by an equivalent header (numGTEsPerGT 4096, no flags).
std::unique_ptr<ExtentReader> make_sparse_reader(std::shared_ptr<const RandomAccessFile> file,
                                                 const SparseHeader& header,
                                                 std::vector<std::uint32_t> gd, std::uint64_t size);

// A COWD (VMFSSPARSE, ESX redo log) extent: 2048-byte header, grain directory, 4096-entry grain
// tables of sector numbers (0 = unallocated, read from the parent), uncompressed grains.
// `size_bytes` as for open_sparse_extent.
Result<std::unique_ptr<ExtentReader>> open_cowd_extent(std::shared_ptr<const RandomAccessFile> file,
                                                       std::optional<std::uint64_t> size_bytes);

// A SESPARSE extent (ESXi space-efficient sparse): GT entries typed unallocated (read from the
// parent), unmapped / zero (zeros) or allocated (a 4 KiB grain). A dirty journal is refused.
Result<std::unique_ptr<ExtentReader>> open_sesparse_extent(
    std::shared_ptr<const RandomAccessFile> file, std::optional<std::uint64_t> size_bytes);

// Reads only the header and embedded descriptor (for probing and for descriptor carriers).
Result<SparseExtentInfo> read_sparse_info(const RandomAccessFile& file);

// Limits on what the sparse reader allocates from image metadata.
inline constexpr std::uint64_t kMaxGdBytes = 64ull << 20;
inline constexpr std::uint64_t kGtCacheBytes = 8ull << 20;
// A compressed grain may be larger than the grain (incompressible data plus deflate framing);
// anything beyond twice the grain plus 4 KiB is refused as corrupt.
inline constexpr std::uint64_t kCompressedSlackBytes = 4096;

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_EXTENT_H_
