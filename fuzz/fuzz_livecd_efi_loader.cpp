// Fuzz target: classifying a UEFI loader's PE image for Secure Boot (formats/iso9660/livecd/efi_loader.h): DOS
// and PE headers, the section table and SBAT text, the certificate table's WIN_CERTIFICATE
// entries. Any bytes give facts (or a problem), never a crash or a read past the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "formats/iso9660/livecd/efi_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto facts = vdisk::livecd::classify_efi_loader(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
  (void)vdisk::livecd::describe_efi_loader(facts);
  return 0;
}
