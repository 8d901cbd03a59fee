// The UEFI default loader inside an ISO's FAT images and EFI system partitions: the FAT reader of
// boot/esp_fat.h over the image file.
#include "boot/esp_fat.h"
#include "formats/iso9660/boot_records.h"

namespace vdisk::iso9660::detail {
namespace {

boot::ReadAt file_reader(const RandomAccessFile& f) {
  return [&f](std::uint64_t offset, std::span<std::byte> dst) {
    return offset <= f.size() && dst.size() <= f.size() - offset && f.read_at(offset, dst).ok();
  };
}

}  // namespace

std::string find_efi_loader(const RandomAccessFile& f, std::uint64_t offset, std::uint64_t length) {
  return boot::find_efi_loader(file_reader(f), offset, length);
}

std::vector<std::byte> read_efi_loader(const RandomAccessFile& f, std::uint64_t offset,
                                       std::uint64_t length, std::string_view loader,
                                       std::uint64_t max_bytes) {
  return boot::read_efi_loader(file_reader(f), offset, length, loader, max_bytes);
}

}  // namespace vdisk::iso9660::detail
