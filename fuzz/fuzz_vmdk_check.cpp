// Fuzz target: `vdconvert check --for vmdk` on one file from memory: hosted sparse, COWD and
// SESparse metadata walks (grain directories, typed grain tables, overlap detection), the
// embedded descriptor and its lint. Files the input names (extents, parents) resolve inside a
// directory that does not exist, so nothing outside the input is read.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vdisk/io.h"
#include "formats/vmdk/doctor/vmdk_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  for (const char* target : {"vmdk", "virtualbox"}) {
    auto report = vdisk::vmdk::check_vmdk_file(vdisk::memory_view_file(in, "fuzz.vmdk"),
                                               "/nonexistent-vdisk-fuzz/fuzz.vmdk", target);
    if (!report.ok() || report->items.empty()) __builtin_trap();
  }
  return 0;
}
