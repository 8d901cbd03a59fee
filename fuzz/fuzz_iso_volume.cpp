// Fuzz target: ISO 9660 volume open, a capped full tree walk, reading the first files (plain,
// multi-extent and zisofs), and the boot report. Hostile input must give errors, never crashes
// or hangs.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vdisk/iso9660.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vdisk;
  using namespace vdisk::iso9660;
  std::shared_ptr<const RandomAccessFile> file(
      memory_view_file({reinterpret_cast<const std::byte*>(data), size}));
  VolumeOptions o;
  o.limits.max_total_entries = 5000;
  o.limits.max_depth = 32;
  o.limits.max_directory_bytes = 1 << 20;
  auto v = Volume::open(file, o);
  (void)boot_report(*file, v.ok() ? v->get() : nullptr);
  if (!v.ok()) return 0;
  const Volume& vol = **v;
  int files = 0;
  (void)vol.walk(vol.root(), [&](const std::string& path, const Entry& e) -> Status {
    if (e.type != EntryType::file || files >= 8) return {};
    ++files;
    auto f = vol.open_file(e);
    if (!f.ok()) return {};
    std::vector<std::byte> buf(
        static_cast<std::size_t>(std::min<std::uint64_t>((*f)->size(), 1 << 18)));
    (void)(*f)->read_at(0, buf);
    (void)vol.lookup(path);
    return {};
  });
  return 0;
}
