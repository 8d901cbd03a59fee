// Fuzz target: the initrd reader (segments, zero padding, newc/odc cpio headers, gzip/xz/zstd
// streams, modules.builtin lines) over arbitrary bytes. Small limits keep every input fast; the
// facts must be consistent with those limits whatever the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "formats/iso9660/livecd/initrd.h"
#include "vdisk/io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = vdisk::memory_view_file({reinterpret_cast<const std::byte*>(data), size});
  vdisk::livecd::InitrdLimits limits;
  limits.max_entries = 2000;
  limits.max_decompressed_bytes = 8u << 20;
  limits.max_decoder_memory = 16u << 20;
  limits.max_segments = 16;
  auto facts = vdisk::livecd::read_initrd_facts(*file, limits);
  // Only I/O errors or cancellation fail the call, and a memory file has neither.
  if (!facts.ok()) std::abort();
  if (facts->entries > limits.max_entries) std::abort();
  if (facts->segments.size() > limits.max_segments) std::abort();
  if (facts->complete != facts->problem.empty()) std::abort();
  for (const auto& s : facts->segments)
    if (s.offset >= size || s.stored > size - s.offset) std::abort();
  // The cloud facts of an entry using it must hold the two clouds whatever the facts are.
  vdisk::livecd::BootEntry entry;
  entry.initrds = {"/initrd.img"};
  entry.append = "console=ttyS0";
  const auto cloud = vdisk::livecd::boot_entry_facts(entry, {&*facts, 1});
  if (cloud.clouds.size() != 2 || !cloud.serial_console) std::abort();
  return 0;
}
