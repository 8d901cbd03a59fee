// Fuzz target: GNU tar header, sparse extension and sparse map decoding on hostile blocks.
// Input: a header block followed by any number of extension blocks.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tar/tar.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  if (in.size() < vdisk::gcp::kTarBlock) return 0;
  auto h = vdisk::gcp::decode_header(in.first(vdisk::gcp::kTarBlock), 0);
  if (!h.ok()) return 0;
  std::vector<vdisk::gcp::SparseRegion> map = h->map;
  bool more = h->is_extended;
  for (std::size_t at = vdisk::gcp::kTarBlock; more && at + vdisk::gcp::kTarBlock <= in.size();
       at += vdisk::gcp::kTarBlock) {
    auto r = vdisk::gcp::decode_sparse_extension(in.subspan(at, vdisk::gcp::kTarBlock), at, map,
                                                 4096);
    if (!r.ok()) return 0;
    more = *r;
  }
  (void)vdisk::gcp::validate_sparse_map(map, h->real_size, h->size);
  return 0;
}
