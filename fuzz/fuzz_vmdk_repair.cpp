// Fuzz target: VMDK descriptor lint + repair. The first byte picks the options (consumers,
// delete/comment, standalone, area = the input size or unbounded); the rest is the text.
// Invariants: fuzz/repair_invariants.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "repair_invariants.h"
#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  namespace vm = vdisk::vmdk;
  auto parsed = vm::parse_descriptor(text);
  if (!parsed.ok()) return 0;
  vm::LintOptions lo;
  lo.standalone = (opt & 0x20) != 0;
  lo.area_bytes = (opt & 0x40) ? text.size() : 0;
  (void)vm::lint_descriptor(*parsed, text, lo);

  vm::RepairOptions ro;
  ro.consumers = opt & 0x0F;
  if (ro.consumers == 0) ro.consumers = vm::kAllConsumers;
  ro.delete_lines = (opt & 0x10) != 0;
  ro.standalone = lo.standalone;
  ro.area_bytes = lo.area_bytes;
  if (opt & 0x80) ro.mvmc_keep.clear();
  (void)vdisk::fuzz::check_repair(text, ro);
  return 0;
}
