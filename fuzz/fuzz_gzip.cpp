// Fuzz target: the gzip member parser behind `vdconvert check --for gcp` (member header with
// optional fields, raw inflate, CRC-32/ISIZE trailer, bytes after the member) and the tar walk
// it feeds. Input: a whole .tar.gz file. Content hashing is capped at 16 MiB of virtual size
// so a forged disk.raw size costs nothing.
#include <cstddef>
#include <cstdint>
#include <span>

#include "formats/gcp/gcp.h"
#include "vdisk/io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  const std::size_t hlen = vdisk::gcp::gzip_header_length(in);
  if (hlen > in.size()) __builtin_trap();
  auto file = vdisk::memory_view_file(in, "fuzz.tar.gz");
  auto report = vdisk::gcp::check_gcp_file(*file, "fuzz.tar.gz", 16u << 20);
  if (report.ok() && report->items.empty()) __builtin_trap();
  return 0;
}
