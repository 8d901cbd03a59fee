// Fuzz target: the EFI system partition's FAT loader lookup (find the UEFI default loader by
// 8.3 names through the root directory, EFI and BOOT subdirectories and the FAT chain). The
// first byte splits the input into a prefix and the FAT window, so windows at odd offsets and
// windows that end early are exercised; the lookup must never read outside its window.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "formats/iso9660/boot_records.h"
#include "vdisk/io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t offset = data[0] % (size);
  auto file = vdisk::memory_view_file({reinterpret_cast<const std::byte*>(data), size});
  const std::string loader = vdisk::iso9660::detail::find_efi_loader(*file, offset, size - offset);
  if (!loader.empty() && loader.rfind("\\EFI\\BOOT\\", 0) != 0) std::abort();
  // A window longer than the file must not make the lookup read past the file's end either.
  (void)vdisk::iso9660::detail::find_efi_loader(*file, offset, size - offset + 4096);
  return 0;
}
