// Fuzz target: the boot facts of a hostile disk (boot/disk_boot.h) and what follows from them,
// the cloud settings and the check rules (boot/cloud_boot.h, boot/boot_check.h). The input is
// the whole disk: MBR, GPT at 512 or 4096-byte LBAs, GRUB's core sector, the ESP's FAT. Every
// read must stay inside the disk (the source refuses others: abort), and the verdicts must agree
// with the facts (UEFI yes only with BOOTX64.EFI found; a data disk boots nowhere and fails no
// boot rule but the partition-table ones).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "boot/boot_check.h"
#include "boot/cloud_boot.h"
#include "boot/disk_boot.h"
#include "contract/machines.h"

namespace {

class SpanSource final : public vdisk::BlockSource {
 public:
  explicit SpanSource(std::span<const std::byte> b) : b_(b) {}
  std::uint64_t size() const override { return b_.size(); }
  vdisk::Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (offset > b_.size() || dst.size() > b_.size() - offset) std::abort();  // out of bounds
    if (!dst.empty()) std::memcpy(dst.data(), b_.data() + offset, dst.size());
    return {};
  }
  std::string_view format() const override { return "fuzz"; }

 private:
  std::span<const std::byte> b_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SpanSource disk({reinterpret_cast<const std::byte*>(data), size});
  auto facts = vdisk::boot::read_disk_boot(disk);
  if (!facts.ok()) std::abort();  // the source never fails: no error is possible
  const vdisk::boot::DiskBootFacts& f = *facts;
  if (f.uefi && f.esp_loader != "\\EFI\\BOOT\\BOOTX64.EFI") std::abort();
  if (f.data_disk && (f.bios || f.uefi)) std::abort();
  vdisk::Properties p;
  vdisk::boot::describe_disk_boot(f, p);
  for (const auto& s : vdisk::boot::cloud_boot_settings(f))
    if (s.boots && f.data_disk) std::abort();
  for (const auto& m : vdisk::detail::machines()) {
    vdisk::CheckReport r;
    vdisk::boot::add_boot_rules(r, m, f);
    // A data disk passes every boot rule; the partition-table rules (gpt_lba_size, mbr_size)
    // apply to every disk, since a data disk loses its partitions the same way (docs/boot.md).
    if (!f.data_disk) continue;
    for (const vdisk::CheckItem& item : r.items) {
      const bool table_rule = item.id.ends_with(".gpt_lba_size") || item.id.ends_with(".mbr_size");
      if (!item.passed && item.severity == vdisk::CheckSeverity::error && !table_rule) std::abort();
    }
  }
  return 0;
}
