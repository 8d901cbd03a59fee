// Fuzz target: VMDK descriptor repair for VirtualBox with the ddb.uuid.* keys pre-added
// (`repair --add-uuids`) into tight areas. Byte 0 picks the consumers (VirtualBox always, MVMC
// sometimes: then the options must be refused) and delete/standalone; byte 1 the slack of the
// area over the text (0-127 bytes, so the keys often just fit or just miss); byte 2 whether the
// uuids are well-formed GUID text; the rest is the descriptor text.
// Invariants: fuzz/repair_invariants.h.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "repair_invariants.h"
#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  namespace vm = vdisk::vmdk;
  const std::uint8_t opt = data[0], slack = data[1] & 0x7F, ids = data[2];
  const std::string_view text(reinterpret_cast<const char*>(data + 3), size - 3);
  if (!vm::parse_descriptor(text).ok()) return 0;
  vm::RepairOptions ro;
  ro.consumers = (opt & 0x0F) | vm::kVirtualBox;
  ro.delete_lines = (opt & 0x10) != 0;
  ro.standalone = (opt & 0x20) != 0;
  ro.area_bytes = (opt & 0x40) ? text.size() + slack : 0;
  if (ids & 1) {
    ro.virtualbox_image_uuid = "9f0c2a5e-6d1b-4c3a-8e7f-0a1b2c3d4e5f";
    ro.virtualbox_modification_uuid = (ids & 2) ? "3c1d9b7a-0e2f-4a5b-9c8d-7e6f5a4b3c2d" : "bad";
  }
  const auto repaired = vdisk::fuzz::check_repair(text, ro);
  // Keys asked for and not refused are in the text (added, or kept as the text had them: keys
  // match without regard to case, so "Ddb.uuid.image" is the key too).
  if (repaired && !ro.virtualbox_image_uuid.empty()) {
    std::string lower = *repaired;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("ddb.uuid.image") == std::string::npos ||
        lower.find("ddb.uuid.modification") == std::string::npos)
      std::abort();
  }
  return 0;
}
