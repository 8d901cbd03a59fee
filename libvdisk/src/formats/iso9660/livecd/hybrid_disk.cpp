// The hybrid disk view and the boot-code loader (see hybrid.h).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "formats/iso9660/livecd/hybrid.h"
#include "base/checked.h"

namespace vdisk::livecd {
namespace {

using vdisk::detail::range_inside;

class HybridDisk final : public BlockSource {
 public:
  HybridDisk(std::shared_ptr<const BlockSource> iso, const HybridPlan& plan,
             std::vector<Patch> patches)
      : iso_(std::move(iso)),
        iso_size_(plan.iso_size),
        size_(plan.disk_size),
        plan_(plan),
        patches_(std::move(patches)) {}

  std::uint64_t size() const override { return size_; }

  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("livecd: read of {} bytes at {} past the hybrid disk's {}",
                                      dst.size(), offset, size_));
    std::size_t from_iso = 0;
    if (offset < iso_size_) {
      from_iso = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), iso_size_ - offset));
      VDISK_RETURN_IF_ERROR(iso_->read(offset, dst.first(from_iso)));
    }
    std::fill(dst.begin() + static_cast<std::ptrdiff_t>(from_iso), dst.end(), std::byte{0});
    const std::uint64_t end = offset + dst.size();
    for (const Patch& p : patches_) {
      const std::uint64_t pe = p.offset + p.bytes.size();
      if (pe <= offset || p.offset >= end) continue;
      const std::uint64_t s = std::max(offset, p.offset), e = std::min(end, pe);
      std::memcpy(dst.data() + (s - offset), p.bytes.data() + (s - p.offset),
                  static_cast<std::size_t>(e - s));
    }
    return ok_status();
  }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    if (!range_inside(offset, length, size_))
      return out_of_range(fmt::format("livecd: map of {} bytes at {} past the hybrid disk's {}",
                                      length, offset, size_));
    std::vector<Extent> base;
    const std::uint64_t end = offset + length;
    if (offset < iso_size_)
      VDISK_RETURN_IF_ERROR(iso_->map(offset, std::min(end, iso_size_) - offset, base));
    const std::uint64_t pad = std::max(offset, iso_size_);
    if (pad < end) base.push_back({pad, end - pad, ExtentKind::zero});
    std::vector<Extent> res;
    for (const Extent& e : base) {
      std::uint64_t pos = e.offset;
      for (const Patch& p : patches_) {
        const std::uint64_t pe = p.offset + p.bytes.size();
        if (pe <= pos || p.offset >= e.end()) continue;
        if (p.offset > pos) append_extent(res, {pos, p.offset - pos, e.kind});
        const std::uint64_t de = std::min(pe, e.end());
        append_extent(res,
                      {std::max(pos, p.offset), de - std::max(pos, p.offset), ExtentKind::data});
        pos = de;
      }
      if (pos < e.end()) append_extent(res, {pos, e.end() - pos, e.kind});
    }
    out.insert(out.end(), res.begin(), res.end());
    return ok_status();
  }

  std::string_view format() const override {
    return "iso9660";
  }  // the input format; describe() tells the hybrid

  void describe(Properties& out) const override {
    iso_->describe(out);
    Properties& h = out.add_object("hybrid");
    describe_hybrid_plan(plan_, h);
    h.add("iso_size", iso_size_);
  }

 private:
  std::shared_ptr<const BlockSource> iso_;
  std::uint64_t iso_size_;
  std::uint64_t size_;
  HybridPlan plan_;
  std::vector<Patch> patches_;
};

Result<std::vector<std::byte>> read_small(const std::filesystem::path& path,
                                          std::string_view package, std::string_view what,
                                          std::uint64_t min, std::uint64_t max) {
  auto f = open_file(path);
  if (!f.ok()) {
    if (f.status().code() == Errc::not_found)
      return not_found(
          fmt::format("livecd: {} {} not found (Debian package {})", what, path.string(), package));
    return f.status();
  }
  const std::uint64_t n = (*f)->size();
  if (n < min || n > max)
    return invalid_argument(fmt::format("livecd: {} {} is {} bytes, expected {}..{}", what,
                                        path.string(), n, min, max));
  std::vector<std::byte> bytes(static_cast<std::size_t>(n));
  VDISK_RETURN_IF_ERROR((*f)->read_at(0, bytes));
  return bytes;
}

}  // namespace

Result<BootCode> load_boot_code(const HybridPlan& plan, const BootCodePaths& paths) {
  BootCode code;
  if (plan.action != HybridAction::hybridize) return code;
  if (plan.bios_loader == BiosLoader::isolinux) {
    // isohdpfx.bin is 432 bytes; an image of the whole MBR (512) is accepted too.
    VDISK_ASSIGN_OR_RETURN(code.isohdpfx,
                           read_small(paths.isohdpfx, "isolinux", "isolinux MBR code", 432, 512));
  } else if (plan.bios_loader == BiosLoader::grub) {
    VDISK_ASSIGN_OR_RETURN(code.grub_hybrid, read_small(paths.grub_hybrid, "grub-pc-bin",
                                                        "GRUB hybrid boot sector", 512, 512));
    if (code.grub_hybrid[510] != std::byte{0x55} || code.grub_hybrid[511] != std::byte{0xAA})
      return invalid_argument(fmt::format(
          "livecd: GRUB hybrid boot sector {} does not end in 55 AA", paths.grub_hybrid.string()));
  }
  return code;
}

Result<std::unique_ptr<BlockSource>> hybrid_disk(std::shared_ptr<const BlockSource> iso,
                                                 const HybridPlan& plan, const BootCode& code,
                                                 const HybridOptions& options) {
  if (!iso) return invalid_argument("livecd: hybrid_disk needs an ISO source");
  if (iso->size() != plan.iso_size)
    return invalid_argument(
        fmt::format("livecd: the plan was made for an ISO of {} bytes, the source has {}",
                    plan.iso_size, iso->size()));
  VDISK_ASSIGN_OR_RETURN(std::vector<Patch> patches, hybrid_patches(plan, code, options));
  return std::unique_ptr<BlockSource>(
      std::make_unique<HybridDisk>(std::move(iso), plan, std::move(patches)));
}

}  // namespace vdisk::livecd
