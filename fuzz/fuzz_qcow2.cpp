// Fuzz target: the qcow2 driver on hostile bytes (format forced to "qcow2"): header, feature
// bits, extensions, L1 table, snapshot table, then map and read window by window through the L2
// tables and compressed clusters, an unaligned read, and describe(). Linked files cannot be
// opened (no path), so backing and data file names only reach their refusals. Then the
// structural check (check_qcow2_file) on the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qcow2/qcow2_check.h"
#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "qcow2";
  (void)vdisk::qcow2::check_qcow2_file(*vdisk::memory_view_file(bytes), "<fuzz>");
  auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
  if (!source.ok()) return 0;
  const vdisk::BlockSource& s = **source;
  (void)vdisk::describe(s);
  const std::uint64_t n = std::min<std::uint64_t>(s.size(), 4 << 20);
  constexpr std::uint64_t kWindow = 64 * 1024;
  std::vector<std::byte> buf(kWindow);
  for (std::uint64_t off = 0; off < n; off += kWindow) {
    const std::uint64_t len = std::min(kWindow, n - off);
    std::vector<vdisk::Extent> map;
    (void)s.map(off, len, map);
    (void)s.read(off, std::span(buf).first(static_cast<std::size_t>(len)));
  }
  // Unaligned reads cross sector, subcluster and cluster boundaries.
  if (n > 1000) (void)s.read(n / 3 + 1, std::span(buf).first(999));
  return 0;
}
