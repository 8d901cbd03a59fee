// Fuzz target: VMDK sparse header, footer trio and marker codecs, grain inflation, and the COWD
// and SESparse header decoders.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "formats/vmdk/vmdk_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  auto h = vdisk::vmdk::decode_sparse_header(in, 0);
  if (h.ok()) {
    // A decoded header re-encodes to something that decodes to the same fields.
    std::vector<std::byte> again(vdisk::vmdk::kHeaderSize);
    vdisk::vmdk::encode_sparse_header(*h, again);
    auto h2 = vdisk::vmdk::decode_sparse_header(again, 0);
    if (!h2.ok() || h2->capacity != h->capacity || h2->gd_offset != h->gd_offset ||
        h2->grain_size != h->grain_size || h2->flags != h->flags)
      __builtin_trap();
    (void)h->gd_entries();
  }
  (void)vdisk::vmdk::decode_footer_trio(in, 0);
  if (size >= 16) (void)vdisk::vmdk::decode_marker(in);
  auto c = vdisk::vmdk::decode_cowd_header(in);
  if (c.ok()) {
    std::vector<std::byte> again(vdisk::vmdk::kCowdHeaderSize);
    vdisk::vmdk::encode_cowd_header(*c, again);
    auto c2 = vdisk::vmdk::decode_cowd_header(again);
    if (!c2.ok() || c2->capacity != c->capacity || c2->gd_entries != c->gd_entries) __builtin_trap();
  }
  (void)vdisk::vmdk::decode_sesparse_header(in);
  std::vector<std::byte> grain(4096);
  (void)vdisk::vmdk::inflate_grain(in, grain, 0);
  return 0;
}
