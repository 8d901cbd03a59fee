// Fuzz target: VMDK descriptor parser; parse -> serialize -> parse must be identical.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vdisk/vmdk.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = vdisk::vmdk::parse_descriptor(text);
  if (!a.ok()) return 0;
  (void)a->extents();
  (void)a->ddb();
  if (auto cid = a->get("CID")) (void)vdisk::vmdk::parse_cid(*cid);
  const std::string s = vdisk::vmdk::serialize_descriptor(*a);
  auto b = vdisk::vmdk::parse_descriptor(s);
  if (!b.ok()) {
    // Canonical spacing can grow a text right at the size limit; anything else is a bug.
    if (b.status().code() == vdisk::Errc::resource_exhausted) return 0;
    std::abort();
  }
  if (!(*a == *b)) std::abort();
  if (vdisk::vmdk::serialize_descriptor(*b) != s) std::abort();
  return 0;
}
