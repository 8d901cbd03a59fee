// Internal interfaces between the VHDX driver (vhdx_driver.cpp), the header section and
// metadata (vhdx_layout.cpp), the log replay (vhdx_log.cpp), the file overlay the replay fills
// (vhdx_overlay.cpp), the BAT (vhdx_bat.cpp), the parent (vhdx_parent.cpp) and the block reader
// (vhdx_source.cpp).
#ifndef VDISK_VHDX_VHDX_READER_H_
#define VDISK_VHDX_VHDX_READER_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "formats/vhdx/vhdx_format.h"

namespace vdisk::vhdx {

// A non-empty log longer than this is refused (unsupported); writers use 1 MiB.
inline constexpr std::uint64_t kMaxLogBytes = 256 * kMiB;

// What the replayed log writes over the file: 4 KiB sectors and zeroed 4 KiB-aligned runs,
// keyed by file offset, never overlapping (a later write replaces what it covers).
class Overlay {
 public:
  void write(std::uint64_t offset, std::vector<std::byte> sector);  // 4 KiB at `offset`
  void zero(std::uint64_t offset, std::uint64_t length);
  bool empty() const { return runs_.empty(); }
  // Copies the overlay's bytes of [offset, offset + dst.size()) into dst and returns the
  // sub-ranges (relative to `offset`) it does not cover, in order.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> apply(std::uint64_t offset,
                                                             std::span<std::byte> dst) const;

 private:
  struct Run {
    std::uint64_t end = 0;
    std::vector<std::byte> data;  // empty: zeros
  };
  void erase(std::uint64_t begin, std::uint64_t end);
  std::map<std::uint64_t, Run> runs_;
};

// The file as the replayed log leaves it: reads see the overlay, then the file, then zeros up to
// `size` (the log may extend the file). Owns `file`.
std::unique_ptr<RandomAccessFile> overlay_file(std::unique_ptr<RandomAccessFile> file,
                                               Overlay overlay, std::uint64_t size);

// What the log replay did.
struct LogReplay {
  std::uint64_t entries = 0;  // entries applied (0: the log was empty)
  std::uint64_t first_sequence = 0, last_sequence = 0;
  std::uint64_t file_size = 0;  // the file's size after replay (at least its real size)
};

// Finds the active sequence of the log the header names and applies it to `overlay`. The log
// must lie inside the file and be at most kMaxLogBytes; the scan checksums a bounded number of
// bytes, so a log of junk or a sequence that wraps forever ends with an error, not a hang.
Result<LogReplay> replay_log(const RandomAccessFile& file, const Header& h, Overlay& overlay);

// The two headers: which is current (0 or 1) and its fields.
struct Headers {
  Header current;
  int index = 0;
  bool both_valid = false;
};
Result<Headers> read_headers(const RandomAccessFile& file);

// Everything the open found in the header section and the metadata region.
struct Layout {
  Headers headers;
  LogReplay log;
  Region bat, metadata;
  int region_table = 0;  // the table used (0 or 1)
  Metadata md;
  std::uint64_t chunk_ratio = 0;     // payload blocks per sector bitmap block
  std::uint64_t payload_blocks = 0;  // blocks of the virtual disk
  std::uint64_t bat_entries = 0;
  std::uint64_t real_file_size = 0;  // before the replay; bounds what the open allocates
  std::string creator;
};

// Reads the region tables, the metadata region and its items (through `file`, the replayed
// view); the log and headers must already be in `layout`.
Status read_regions_and_metadata(const RandomAccessFile& file, Layout& layout);

// Reads and validates every BAT entry the disk uses.
Result<std::vector<std::uint64_t>> read_bat(const RandomAccessFile& file, const Layout& layout);

// The opened parent of a differencing disk.
struct Parent {
  std::unique_ptr<BlockSource> source;
  std::string path;
  std::string tried_key;  // the locator key whose path was opened
};

// Locates the parent the locator names (relative_path, volume_path, absolute_win32_path, then
// the bare file name, under the directory rule), opens it with vdisk::open_image and checks
// its DataWriteGuid against parent_linkage / parent_linkage2.
Result<Parent> open_parent(const Layout& layout, const std::filesystem::path& path,
                           const OpenOptions& options);

std::unique_ptr<BlockSource> make_source(std::unique_ptr<RandomAccessFile> file, Layout layout,
                                         std::vector<std::uint64_t> bat, Parent parent);

}  // namespace vdisk::vhdx

#endif  // VDISK_VHDX_VHDX_READER_H_
