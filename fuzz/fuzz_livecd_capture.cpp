// Fuzz target: keeping an ISO's tree while it streams past (formats/iso9660/livecd/iso_capture.h), then opening
// the kept view as a volume and reading the boot configuration through it, as the GRUB repack
// from a stream does. The input is the ISO (padded to whole 2048-byte blocks), fed in chunks
// whose sizes come from its first byte. Whatever the bytes, feeding, opening and reading give
// errors, never crashes, hangs or unbounded memory (the capture's limits are lowered here).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/iso_capture.h"
#include "vdisk/iso9660.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vdisk;
  std::vector<std::byte> iso(reinterpret_cast<const std::byte*>(data),
                             reinterpret_cast<const std::byte*>(data) + size);
  iso.resize((iso.size() + 2047) / 2048 * 2048);
  livecd::CaptureLimits limits;
  limits.max_tree_bytes = 4u << 20;
  limits.max_file_bytes = 4u << 20;
  limits.max_extents = 20000;
  livecd::IsoCapture capture(iso.size(), limits);
  const std::size_t chunk = size == 0 ? 1 : 1 + std::size_t{data[0]} * 97;
  for (std::size_t at = 0; at < iso.size(); at += chunk) {
    const std::size_t n = std::min(chunk, iso.size() - at);
    if (!capture.feed(std::span<const std::byte>(iso).subspan(at, n)).ok()) return 0;
  }
  iso9660::VolumeOptions o;
  o.limits.max_total_entries = 5000;
  o.limits.max_depth = 32;
  o.limits.max_directory_bytes = 1 << 20;
  auto volume = iso9660::Volume::open(capture.view(), o);
  if (!volume.ok()) return 0;
  (void)livecd::read_boot_configs(**volume, {});
  return 0;
}
