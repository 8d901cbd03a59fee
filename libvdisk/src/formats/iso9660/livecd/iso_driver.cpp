// The "iso9660" input driver: an ISO's bytes are the disk's bytes (read like raw), or, with its
// `boot` option (boot_disk.h; auto into targets that boot), a disk made to boot: the hybrid view
// or the GRUB repack. info adds the volume facts, the boot report and what `auto` would do.
// It lives with livecd/ rather than iso9660/ (the file system reader) because it uses both.
#include <cstring>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/livecd/boot_disk.h"
#include "formats/iso9660/livecd/boot_verdict.h"
#include "formats/raw/raw.h"
#include "vdisk/iso9660.h"

namespace vdisk::iso9660 {
namespace {

// Lets the raw source and the volume share one open file.
class SharedFile final : public RandomAccessFile {
 public:
  explicit SharedFile(std::shared_ptr<const RandomAccessFile> f) : f_(std::move(f)) {}
  std::uint64_t size() const override { return f_->size(); }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    return f_->read_at(offset, dst);
  }
  Status allocation(std::uint64_t offset, std::uint64_t length,
                    std::vector<Extent>& out) const override {
    return f_->allocation(offset, length, out);
  }
  const std::string& name() const override { return f_->name(); }

 private:
  std::shared_ptr<const RandomAccessFile> f_;
};

class IsoSource final : public BlockSource {
 public:
  IsoSource(std::unique_ptr<BlockSource> raw, std::shared_ptr<const Volume> volume,
            std::string volume_problem, BootReport report)
      : raw_(std::move(raw)),
        volume_(std::move(volume)),
        volume_problem_(std::move(volume_problem)),
        report_(std::move(report)) {}
  std::uint64_t size() const override { return raw_->size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return raw_->read(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return raw_->map(offset, length, out);
  }
  std::string_view format() const override { return "iso9660"; }
  void describe(Properties& out) const override {
    Properties& v = out.add_object("iso9660");
    if (volume_)
      describe_volume(volume_->info(), v);
    else
      v.add("problem", volume_problem_);
    describe_boot_report(report_, out.add_object("boot"));
    if (volume_) {
      // The default entry and its initrds: what each cloud gets (read here, for info only).
      Properties& e = out.add_object("boot_entry");
      if (auto bv = livecd::boot_verdict(*volume_, report_); bv.ok())
        livecd::describe_boot_verdict(*bv, e);
      else
        e.add("problem", bv.status().message());
    }
    // What `--boot auto` would make of this ISO: planned here, for info only, so that a plain
    // conversion (--boot none) does not pay for it.
    if (auto plan = livecd::plan_hybrid(*raw_); plan.ok()) {
      const livecd::AutoVerdict verdict = livecd::auto_verdict(*plan, volume_.get());
      Properties& a = out.add_object("boot_auto");
      a.add("action", verdict.action);
      a.add("reason", verdict.reason);
      // The UEFI loader a copy or hybrid keeps, as Secure Boot sees it (efi_loader.h).
      if (!plan->efi.loader.empty()) {
        const livecd::EfiLoaderFacts& l = plan->efi.loader_facts;
        Properties& u = a.add_object("uefi_loader");
        u.add("path", plan->efi.loader);
        u.add("summary", livecd::describe_efi_loader(l));
        if (l.pe) {
          u.add("machine", livecd::efi_machine_name(l.machine));
          u.add("signed", l.signed_image);
          u.add("microsoft_uefi_ca", l.microsoft_ca);
          u.add("shim", l.shim);
        }
        u.add("secure_boot", l.pe && l.signed_image && l.microsoft_ca
                                 ? "can stay on (the loader is signed with Microsoft's UEFI CA)"
                                 : "must be off (Azure: security type Standard, or Trusted Launch "
                                   "with Secure Boot disabled; GCP: Shielded VM Secure Boot off)");
      }
    }
  }

 private:
  std::unique_ptr<BlockSource> raw_;
  std::shared_ptr<const Volume> volume_;
  std::string volume_problem_;
  BootReport report_;
};

int probe(const vdisk::detail::ProbeData& d) {
  constexpr std::size_t kPvd = detail::kFirstDescriptorBlock * detail::kBlockSize;
  if (d.head.size() < kPvd + 7) return 0;
  const auto* p = d.head.data() + kPvd;
  if (std::memcmp(p + 1, "CD001", 5) != 0) return 0;
  const auto type = std::to_integer<std::uint8_t>(p[0]);
  if (type != detail::kVdPrimary && type != detail::kVdBoot) return 0;
  return 80;
}

class IsoStream final : public StreamSource {
 public:
  explicit IsoStream(std::unique_ptr<StreamSource> raw) : raw_(std::move(raw)) {}
  std::optional<std::uint64_t> size() const override { return raw_->size(); }
  Result<std::size_t> read(std::span<std::byte> dst) override { return raw_->read(dst); }
  std::string_view format() const override { return "iso9660"; }

 private:
  std::unique_ptr<StreamSource> raw_;
};

// From a stream the ISO is copied as the raw disk it is (the boot report needs random access),
// or hybridised or repacked on the way (livecd::make_boot_stream).
Result<std::unique_ptr<StreamSource>> open_stream(std::unique_ptr<InputStream> in,
                                                  const OpenOptions& o) {
  VDISK_ASSIGN_OR_RETURN(const livecd::BootRequest request, livecd::boot_request(o));
  auto raw = std::make_unique<IsoStream>(raw::open_stream(std::move(in)));
  if (request.mode != livecd::BootMode::none)
    return livecd::make_boot_stream(std::move(raw), request, o);
  vdisk::detail::diagnose(o, Diagnostic::Level::note,
                          "iso9660: read from a stream, so the boot report is not available");
  return std::unique_ptr<StreamSource>(std::move(raw));
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path&, const OpenOptions& o) {
  VDISK_ASSIGN_OR_RETURN(const livecd::BootRequest request, livecd::boot_request(o));
  std::shared_ptr<const RandomAccessFile> shared(std::move(file));
  std::unique_ptr<Volume> volume;
  std::string problem;
  // The CD001 signature claims the file: an ISO whose volume cannot be read, or that ends
  // before the volume space its primary descriptor states (a cut-short download), is a
  // damaged ISO and is refused, never copied as if it were whole.
  if (auto v = Volume::open(shared); v.ok()) {
    volume = std::move(*v);
  } else if (v.status().code() == Errc::unsupported) {
    // The bytes are still a disk; the filesystem facts are just unavailable.
    problem = v.status().message();
    vdisk::detail::diagnose(o, Diagnostic::Level::warning,
                            "iso9660: the file system could not be read: " + problem);
  } else {
    return v.status();
  }
  if (volume) {
    const std::uint64_t space = std::uint64_t{volume->info().volume_blocks} * detail::kBlockSize;
    if (space > shared->size())
      return corrupt_at("iso9660", "primary volume descriptor",
                        detail::kFirstDescriptorBlock * detail::kBlockSize + 80,
                        fmt::format("volume space size {} blocks ({} bytes) expected within the "
                                    "file, found {} bytes (truncated)",
                                    volume->info().volume_blocks, space, shared->size()));
  }
  VDISK_ASSIGN_OR_RETURN(BootReport report, boot_report(*shared, volume.get()));
  std::shared_ptr<const Volume> vol(std::move(volume));
  auto raw = raw::open_source(std::make_unique<SharedFile>(shared));
  auto iso = std::make_unique<IsoSource>(std::move(raw), vol, std::move(problem), report);
  if (request.mode != livecd::BootMode::none)
    return livecd::make_boot_disk(std::shared_ptr<const BlockSource>(std::move(iso)), vol.get(),
                                  request, o);
  if (!report.bios_bootable_as_disk && !report.uefi_bootable_as_disk)
    vdisk::detail::diagnose(
        o, Diagnostic::Level::warning,
        fmt::format("iso9660: this ISO will not boot as a disk: BIOS: {}; UEFI: {}",
                    report.bios_reason, report.uefi_reason));
  else if (!report.bios_bootable_as_disk)
    vdisk::detail::diagnose(
        o, Diagnostic::Level::note,
        "iso9660: boots as a disk only with UEFI (Azure Gen2); BIOS: " + report.bios_reason);
  else if (!report.uefi_bootable_as_disk)
    vdisk::detail::diagnose(
        o, Diagnostic::Level::note,
        "iso9660: boots as a disk only with BIOS (Azure Gen1); UEFI: " + report.uefi_reason);
  return std::unique_ptr<BlockSource>(std::move(iso));
}

}  // namespace
}  // namespace vdisk::iso9660

namespace vdisk::detail {
const FormatDriver& iso9660_driver() {
  static const FormatDriver kDriver{"iso9660", &iso9660::probe, &iso9660::open,
                                    &iso9660::open_stream, livecd::iso_options()};
  return kDriver;
}
}  // namespace vdisk::detail
