// Fuzz target: the vhdx driver on hostile bytes (format forced to "vhdx"): both headers, the
// log scan and its replay into the overlay, both region tables, the metadata table and items,
// the parent locator, the BAT; then map and read window by window through payload blocks and
// sector bitmaps, an unaligned read, and describe(). Parents cannot be opened (no path), so a
// differencing disk only reaches its locator checks.
//
// An input that starts with the file signature "vhdxfile" is the file itself; any other is the
// sparse encoding of fuzz/sparse_input.h (VHDX aligns its regions to 1 MiB, so real files are
// megabytes of zeros; the seeds are encoded by fuzz/tools/sparse_seed.py).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sparse_input.h"
#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "vhdx";
  std::unique_ptr<vdisk::RandomAccessFile> file;
  if (size >= 8 && std::memcmp(data, "vhdxfile", 8) == 0)
    file = vdisk::memory_view_file(bytes);
  else
    file = std::make_unique<vdisk::fuzz::SparseInputFile>(bytes);
  auto source = vdisk::open_image(std::move(file), {}, options);
  if (!source.ok()) return 0;
  const vdisk::BlockSource& s = **source;
  (void)vdisk::describe(s);
  const std::uint64_t n = std::min<std::uint64_t>(s.size(), 8 << 20);
  constexpr std::uint64_t kWindow = 256 * 1024;
  std::vector<std::byte> buf(kWindow);
  for (std::uint64_t off = 0; off < n; off += kWindow) {
    const std::uint64_t len = std::min(kWindow, n - off);
    std::vector<vdisk::Extent> map;
    (void)s.map(off, len, map);
    (void)s.read(off, std::span(buf).first(static_cast<std::size_t>(len)));
  }
  // A map of the whole disk, however large: the BAT bounds it, not the virtual size.
  std::vector<vdisk::Extent> whole;
  (void)s.map(0, s.size(), whole);
  // Unaligned reads cross sector, bitmap and block boundaries.
  if (n > 1000) (void)s.read(n / 3 + 1, std::span(buf).first(999));
  return 0;
}
