// Fuzz target: the qcow2 driver on hostile bytes (format forced to "qcow2"): header, feature
// bits, extensions, L1 table, snapshot table, then map and read window by window through the L2
// tables and compressed clusters, an unaligned read, and describe(). Linked files cannot be
// opened (no path), so backing and data file names only reach their refusals. Then the
// structural check (check_qcow2_file) on the same bytes.
#include "formats/qcow2/qcow2_check.h"
#include "source_walk.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "qcow2";
  (void)vdisk::qcow2::check_qcow2_file(*vdisk::memory_view_file(bytes), "<fuzz>");
  auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
  if (!source.ok()) return 0;
  vdisk::fuzz::walk_source(**source);
  return 0;
}
