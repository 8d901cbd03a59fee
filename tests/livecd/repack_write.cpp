// Writes the GRUB repack of an ISO to a raw disk file, with GRUB images built by the machine's
// grub-mkimage (tools/vdconvert/grub_images.h): the program repack_boot.sh boots in QEMU.
// Usage: repack_write ISO OUT KERNEL INITRDS APPEND   (INITRDS comma-separated, may be empty)
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../../tools/vdconvert/grub_images.h"
#include "formats/iso9660/livecd/repack.h"
#include "vdisk/image.h"

namespace {

int fail(const std::string& what, const vdisk::Status& s) {
  std::fprintf(stderr, "repack_write: %s: %s\n", what.c_str(), s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: repack_write ISO OUT KERNEL INITRDS APPEND\n");
    return 2;
  }
  vdisk::OpenOptions open;
  open.format = "raw";
  auto iso = vdisk::open_image(argv[1], open);
  if (!iso.ok()) return fail("open", iso.status());
  auto images = vdconvert::build_grub_images();
  if (!images.ok()) return fail("grub images", images.status());

  vdisk::livecd::BootEntry entry;
  entry.label = "repack boot test";
  entry.kernel = argv[3];
  for (std::string rest = argv[4]; !rest.empty();) {
    const auto comma = rest.find(',');
    entry.initrds.push_back(rest.substr(0, comma));
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  entry.append = argv[5];
  const vdisk::livecd::RepackImages in{images->boot_image, images->core_image, images->efi_image};
  auto disk = vdisk::livecd::make_repack(**iso, entry, in);
  if (!disk.ok()) return fail("repack", disk.status());

  const int fd = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>((*disk)->size())) != 0) {
    std::perror(argv[2]);
    return 1;
  }
  std::vector<vdisk::Extent> map;
  if (auto s = (*disk)->map(0, (*disk)->size(), map); !s.ok()) return fail("map", s);
  std::vector<std::byte> buf(1 << 20);
  for (const auto& e : map) {
    if (e.reads_as_zero()) continue;
    for (std::uint64_t at = e.offset; at < e.end();) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), e.end() - at));
      if (auto s = (*disk)->read(at, std::span(buf).first(n)); !s.ok()) return fail("read", s);
      if (::pwrite(fd, buf.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) {
        std::perror(argv[2]);
        return 1;
      }
      at += n;
    }
  }
  if (::close(fd) != 0) {
    std::perror(argv[2]);
    return 1;
  }
  std::printf("%s: %llu bytes, ISO at LBA %llu\n", argv[2],
              static_cast<unsigned long long>((*disk)->size()),
              static_cast<unsigned long long>((*disk)->layout().iso_first_lba));
  return 0;
}
