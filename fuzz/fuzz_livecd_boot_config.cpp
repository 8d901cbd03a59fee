// Fuzz target: both boot configuration parsers (isolinux/syslinux and grub.cfg) over arbitrary
// text. The first byte picks which file name includes resolve to the input itself, so INCLUDE,
// MENU INCLUDE and source chains (and loops) are exercised; the kernel command line edits run
// on whatever append line comes out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/kernel_args.h"

namespace {

void check_entry(const vdisk::Result<vdisk::livecd::BootEntry>& r) {
  if (!r.ok()) {
    if (r.status().message().empty()) std::abort();
    return;
  }
  if (r->kernel.empty() || r->kernel.front() != '/') std::abort();
  for (const auto& i : r->initrds)
    if (i.empty() || i.front() != '/') std::abort();
  auto edited = vdisk::livecd::cloud_kernel_args(r->append, "-quiet rootdelay=300");
  if (!edited.ok()) std::abort();
  if (edited->find("console=ttyS0,115200n8") == std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool self_include = (data[0] & 1) != 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const vdisk::livecd::ConfigLoader load =
      [&](const std::string& path) -> vdisk::Result<std::string> {
    if (self_include && path.size() < 64) return text;
    return vdisk::not_found(path + ": no such file");
  };
  vdisk::livecd::BootConfigLimits limits;
  limits.max_files = 16;
  check_entry(vdisk::livecd::parse_syslinux_config("/isolinux/isolinux.cfg", text, load, limits));
  check_entry(vdisk::livecd::parse_grub_config("/boot/grub/grub.cfg", text, load, limits));
  // The edits themselves over the text as a command line.
  (void)vdisk::livecd::edit_kernel_args(text, "console=ttyS0 -quiet x");
  return 0;
}
