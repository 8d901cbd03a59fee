// Fuzz target: the SUSP / Rock Ridge entry parser over one system use area, fed again with the
// accumulated state as a continuation area would be.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "formats/iso9660/susp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vdisk::iso9660::detail;
  const std::span<const std::byte> area(reinterpret_cast<const std::byte*>(data), size);
  RockRidge rr;
  std::optional<Continuation> next;
  if (!parse_susp_area(area, 0, rr, &next).ok()) return 0;
  // A second pass continues names and links the way a CE area does.
  (void)parse_susp_area(area.subspan(size / 2), size / 2, rr, &next);
  return 0;
}
