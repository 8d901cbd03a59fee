// Fuzz target: ISO 9660 extract() of the whole volume into a scratch directory. Invariant (abort
// on violation): nothing appears outside DEST: the sandbox directory that holds DEST holds only
// DEST afterwards, whatever names, symlinks, duplicates or loops the image carries. Extraction
// is capped (entries, depth, 16 MiB written) so that an image cannot fill the disk.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>

#include "vdisk/iso9660.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vdisk;
  using namespace vdisk::iso9660;
  std::shared_ptr<const RandomAccessFile> file(
      memory_view_file({reinterpret_cast<const std::byte*>(data), size}));
  VolumeOptions vo;
  vo.limits.max_total_entries = 2000;
  vo.limits.max_depth = 16;
  vo.limits.max_directory_bytes = 1 << 20;
  auto v = Volume::open(file, vo);
  if (!v.ok()) return 0;

  std::string tmpl =
      (std::filesystem::temp_directory_path() / "vdisk-fuzz-extract.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  const std::filesystem::path sandbox(tmpl), dest = sandbox / "dest";
  std::stop_source stop;
  ExtractOptions eo;
  eo.restore_times = false;
  eo.stop = stop.get_token();
  eo.on_progress = [&](const ExtractProgress& p) {
    if (p.bytes > (16u << 20) || p.files + p.directories + p.symlinks > 2000) stop.request_stop();
  };
  (void)extract(**v, "", dest, eo);

  for (const auto& e : std::filesystem::directory_iterator(sandbox))
    if (e.path().filename() != "dest") std::abort();  // written outside DEST
  std::error_code ec;
  // Make everything removable again (extracted directories may have lost their write bits).
  for (auto it = std::filesystem::recursive_directory_iterator(sandbox, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec))
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(sandbox, ec);
  return 0;
}
