// The iso9660 driver's boot modes (boot_disk.h): the option rows, the choice between copying,
// the hybrid view and the GRUB repack, and the notes that tell the user which one was made.
#include "formats/iso9660/livecd/boot_disk.h"

#include <fmt/format.h>

#include <future>

#include "contract/format_driver.h"
#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/boot_verdict.h"
#include "formats/iso9660/livecd/grub_cfg.h"
#include "formats/iso9660/livecd/kernel_args.h"
#include "formats/iso9660/livecd/repack.h"

namespace vdisk::livecd {
namespace {

constexpr std::string_view kModes[] = {"auto", "hybrid", "grub", "none"};
constexpr OptionSpec kIsoOptions[] = {
    {"boot", OptionKind::choice, "MODE",
     "how an ISO becomes a disk: auto (hybrid when it qualifies, else grub), hybrid (its own "
     "boot loader, system area rewritten), grub (GRUB repack with a serial console) or none (its "
     "bytes); auto into targets that boot (azure, gcp, vmdk, aws-snapshot), else none",
     "", kModes},
    {"kernel-args", OptionKind::text, "WORDS",
     "grub: kernel command-line edits (key=value replaces, word adds, -key removes; "
     "console=ttyS0 is added unless given)"},
    {"secure-boot", OptionKind::flag, "",
     "the disk must boot with UEFI Secure Boot on (Azure Trusted Launch, GCP Shielded VM): the "
     "ISO's own loader is kept (copy or hybrid) and must be signed with Microsoft's UEFI CA; "
     "refused (exit 4) otherwise, and with grub or kernel-args (GRUB built here is not signed)"},
    {"isohdpfx", OptionKind::text, "FILE", "hybrid: isolinux's MBR code (package isolinux)",
     "/usr/lib/ISOLINUX/isohdpfx.bin"},
    {"boot-hybrid", OptionKind::text, "FILE", "hybrid: GRUB's boot_hybrid.img (grub-pc-bin)",
     "/usr/lib/grub/i386-pc/boot_hybrid.img"},
};

void note(const OpenOptions& o, std::string message) {
  detail::diagnose(o, Diagnostic::Level::note, std::move(message));
}

// The ISO's bytes under the disk the mode made (or the ISO itself), named as the input format,
// with what was done in describe().
class BootDisk final : public BlockSource {
 public:
  BootDisk(std::shared_ptr<const BlockSource> iso, std::unique_ptr<BlockSource> disk,
           Properties facts)
      : iso_(std::move(iso)), disk_(std::move(disk)), facts_(std::move(facts)) {}
  std::uint64_t size() const override { return shown().size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return shown().read(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return shown().map(offset, length, out);
  }
  std::string_view format() const override { return "iso9660"; }
  void describe(Properties& out) const override {
    iso_->describe(out);
    out.add_object("boot_conversion") = facts_;
  }

 private:
  const BlockSource& shown() const { return disk_ ? *disk_ : *iso_; }
  std::shared_ptr<const BlockSource> iso_;
  std::unique_ptr<BlockSource> disk_;  // null: the ISO as it is
  Properties facts_;
};

void data_iso_warning(const OpenOptions& o) {
  detail::diagnose(o, Diagnostic::Level::warning,
                   "iso9660: no El Torito boot catalog: a data ISO, copied as it is; it will not "
                   "boot as a disk");
}

// The disk a mode made, with the boot verdict (what would keep it from booting on
// options.boot_machine: the initrd's drivers, and the serial console when the ISO's own command
// line is kept) worked out beside the copy: reading a live ISO's initrd costs about 0.1 s, as
// much as hybridising a 1 GiB ISO's whole conversion adds otherwise. The warnings go to
// on_diagnostic from the worker when it is done; the source waits for it before it goes.
class Checked final : public BlockSource {
 public:
  Checked(std::unique_ptr<BlockSource> disk, std::future<void> verdict)
      : disk_(std::move(disk)), verdict_(std::move(verdict)) {}
  ~Checked() override {
    if (verdict_.valid()) verdict_.wait();
  }
  std::uint64_t size() const override { return disk_->size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return disk_->read(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return disk_->map(offset, length, out);
  }
  std::string_view format() const override { return disk_->format(); }
  void describe(Properties& out) const override { disk_->describe(out); }

 private:
  std::unique_ptr<BlockSource> disk_;
  std::future<void> verdict_;
};

// `disk` with the verdict started beside it (when someone listens for the warnings). `iso`
// keeps `volume` alive for the worker.
Result<std::unique_ptr<BlockSource>> with_verdict(std::unique_ptr<BlockSource> disk,
                                                  std::shared_ptr<const BlockSource> iso,
                                                  const iso9660::Volume* volume,
                                                  const HybridPlan& plan, bool console_kept,
                                                  const OpenOptions& o) {
  if (!volume || o.boot_machine.empty() || !o.on_diagnostic) return disk;
  auto work = [iso = std::move(iso), volume, report = plan.report, console_kept,
               machine = o.boot_machine, fn = o.on_diagnostic] {
    auto v = boot_verdict(*volume, report, machine);
    if (!v.ok()) {
      fn(Diagnostic{
          Diagnostic::Level::warning,
          "iso9660: the boot entry's initrd could not be checked: " + v.status().message()});
      return;
    }
    for (std::string& w : boot_warnings(*v, machine, console_kept))
      fn(Diagnostic{Diagnostic::Level::warning, std::move(w)});
  };
  return std::unique_ptr<BlockSource>(
      std::make_unique<Checked>(std::move(disk), std::async(std::launch::async, std::move(work))));
}

std::unique_ptr<BlockSource> as_is(std::shared_ptr<const BlockSource> iso, const HybridPlan& plan) {
  Properties facts;
  facts.add("mode", "copy");
  facts.add("reason", plan.summary);
  return std::make_unique<BootDisk>(std::move(iso), nullptr, std::move(facts));
}

// A dracut label with escapes (CDLABEL=My\x20Live) cannot pass through GRUB's command line
// unchanged (grub_cfg.h); the repack's ISO partition is named by its PARTUUID instead, which
// dracut's live: root accepts too.
std::string portable_root(std::string append, const std::string& partuuid,
                          std::vector<std::string>& notes) {
  std::vector<std::string> words = split_kernel_args(append);
  bool changed = false;
  for (std::string& w : words) {
    if (!w.starts_with("root=live:") || w.find('\\') == std::string::npos) continue;
    notes.push_back(fmt::format(
        "iso9660: {} holds escapes GRUB would change; the repack names the ISO partition "
        "instead: root=live:PARTUUID={}",
        w, partuuid));
    w = "root=live:PARTUUID=" + partuuid;
    changed = true;
  }
  return changed ? join_kernel_args(words) : append;
}

// The entry the repack boots: the ISO's default entry (the BIOS configuration's, else the
// EFI one's) with the cloud's kernel arguments and a root the command line can carry.
// `partuuid`: the repack's p3. `notes` gets the notes to give, `warnings` the warnings.
struct RepackChoice {
  BootEntry entry;
  std::vector<std::string> notes, warnings;
};

Result<RepackChoice> repack_entry(const iso9660::Volume& volume,
                                  std::span<const iso9660::ElToritoEntry> el_torito,
                                  const BootRequest& r, const std::string& partuuid) {
  VDISK_ASSIGN_OR_RETURN(const BootConfigs configs, read_boot_configs(volume, el_torito));
  if (!configs.bios && !configs.efi)
    return unsupported(fmt::format(
        "iso9660: no kernel entry to repack with GRUB (BIOS: {}; EFI: {}); use --boot none to "
        "copy the ISO's bytes",
        configs.bios_problem.empty() ? "no configuration" : configs.bios_problem,
        configs.efi_problem.empty() ? "no configuration" : configs.efi_problem));
  RepackChoice c;
  c.entry = configs.bios ? *configs.bios : *configs.efi;
  VDISK_ASSIGN_OR_RETURN(std::string append, cloud_kernel_args(c.entry.append, r.kernel_args));
  c.entry.append = portable_root(std::move(append), partuuid, c.notes);
  c.warnings = configs.notes;
  return c;
}

Result<GrubImages> grub_images(const OpenOptions& o) {
  if (!o.grub_images)
    return unsupported(
        "iso9660: the GRUB repack needs GRUB's boot images, and none were provided "
        "(OpenOptions::grub_images; vdconvert builds them with grub-mkimage)");
  return o.grub_images();
}

void tell(const OpenOptions& o, const RepackChoice& c) {
  for (const std::string& n : c.notes) note(o, n);
  note(o, fmt::format("iso9660: repacked with GRUB for BIOS and UEFI: kernel {} from {} with "
                      "\"{}\"",
                      c.entry.kernel, c.entry.config_file, c.entry.append));
  for (const std::string& w : c.warnings) detail::diagnose(o, Diagnostic::Level::warning, w);
}

Result<std::unique_ptr<BlockSource>> grub_disk(std::shared_ptr<const BlockSource> iso,
                                               const iso9660::Volume* volume,
                                               const HybridPlan& plan, const BootRequest& r,
                                               const OpenOptions& o) {
  if (!volume)
    return unsupported(
        "iso9660: the GRUB repack boots the ISO's own kernel, and this ISO's file system cannot "
        "be read to find it");
  VDISK_ASSIGN_OR_RETURN(const std::string partuuid, repack_iso_partuuid(*iso));
  VDISK_ASSIGN_OR_RETURN(const RepackChoice choice,
                         repack_entry(*volume, plan.report.entries, r, partuuid));
  VDISK_ASSIGN_OR_RETURN(const GrubImages images, grub_images(o));
  VDISK_ASSIGN_OR_RETURN(auto repack, make_repack(*iso, choice.entry,
                                                  RepackImages{images.boot_image, images.core_image,
                                                               images.efi_image}));
  tell(o, choice);
  const BootEntry& entry = choice.entry;
  Properties facts;
  facts.add("mode", "grub");
  facts.add("config_file", entry.config_file);
  facts.add("kernel", entry.kernel);
  for (const std::string& i : entry.initrds) facts.add_list_string("initrds", i);
  facts.add("append", entry.append);
  facts.add("iso_partuuid", repack->layout().iso_partuuid);
  auto disk = std::make_unique<BootDisk>(iso, std::move(repack), std::move(facts));
  return with_verdict(std::move(disk), std::move(iso), volume, plan, false, o);
}

// The repack from a stream (repack.h, "Streaming form"): the entry is chosen once the ISO has
// passed, from the directories and configuration files kept on the way; the initrd is not read
// (no boot verdict: it would need the ISO a second time).
Result<std::unique_ptr<StreamSource>> grub_stream(std::unique_ptr<HybridStream> iso,
                                                  const BootRequest& r, const OpenOptions& o) {
  VDISK_ASSIGN_OR_RETURN(const GrubImages images, grub_images(o));
  std::vector<iso9660::ElToritoEntry> el_torito = iso->plan().report.entries;
  auto choose = [el_torito = std::move(el_torito), r, o](
                    const iso9660::Volume& volume,
                    const RepackLayout& layout) -> Result<BootEntry> {
    VDISK_ASSIGN_OR_RETURN(const RepackChoice choice,
                           repack_entry(volume, el_torito, r, layout.iso_partuuid));
    tell(o, choice);
    return choice.entry;
  };
  VDISK_ASSIGN_OR_RETURN(
      auto stream,
      repack_stream(std::move(iso),
                    RepackImages{images.boot_image, images.core_image, images.efi_image},
                    std::move(choose)));
  return std::unique_ptr<StreamSource>(std::move(stream));
}

constexpr std::string_view kSecureBootOff =
    "Secure Boot must be off (Azure: security type Standard, or Trusted Launch with Secure Boot "
    "disabled; GCP: Shielded VM Secure Boot off, its default)";

// secure-boot: the disk `plan` gives (copy or hybrid) boots under UEFI through the ISO's own
// loader, signed with Microsoft's UEFI CA; unsupported naming what is missing otherwise.
Status check_secure_boot(const HybridPlan& plan) {
  const auto refuse = [](std::string why) {
    return unsupported("iso9660: secure-boot: " + why +
                       "; without --secure-boot the disk boots with Secure Boot off");
  };
  if (!plan.efi.present || plan.efi.loader.empty())
    return refuse(
        "the ISO has no UEFI loader (an El Torito EFI image holding \\EFI\\BOOT\\BOOTX64.EFI)");
  if (!plan.uefi_boots) return refuse("the disk would not boot under UEFI: " + plan.uefi_reason);
  const EfiLoaderFacts& l = plan.efi.loader_facts;
  if (!l.pe || !l.signed_image || !l.microsoft_ca)
    return refuse(
        fmt::format("the ISO's UEFI loader {} ({}) is not signed with Microsoft's "
                    "UEFI CA, the key the clouds' Secure Boot trusts",
                    plan.efi.loader, describe_efi_loader(l)));
  return ok_status();
}

// Without secure-boot: a note when the disk's UEFI path needs Secure Boot off.
void secure_boot_note(const HybridPlan& plan, bool repacked, const OpenOptions& o) {
  if (repacked) {
    note(o, fmt::format("iso9660: UEFI boots the repack's GRUB, which is not signed: {}",
                        kSecureBootOff));
    return;
  }
  if (!plan.uefi_boots || plan.efi.loader.empty()) return;
  const EfiLoaderFacts& l = plan.efi.loader_facts;
  if (l.pe && l.signed_image && l.microsoft_ca) return;
  note(o, fmt::format("iso9660: UEFI boots the ISO's loader {} ({}): {}", plan.efi.loader,
                      describe_efi_loader(l), kSecureBootOff));
}

}  // namespace

std::span<const OptionSpec> iso_options() { return kIsoOptions; }

Result<BootRequest> boot_request(const OpenOptions& options) {
  BootRequest r;
  VDISK_ASSIGN_OR_RETURN(const std::string mode,
                         option_text(kIsoOptions, options.settings, "boot"));
  if (mode == "hybrid")
    r.mode = BootMode::hybrid;
  else if (mode == "grub")
    r.mode = BootMode::grub;
  else if (mode == "auto" || (mode.empty() && options.boot_disk))
    r.mode = BootMode::automatic;
  else
    r.mode = BootMode::none;
  VDISK_ASSIGN_OR_RETURN(r.kernel_args, option_text(kIsoOptions, options.settings, "kernel-args"));
  if (!r.kernel_args.empty() && (r.mode == BootMode::none || r.mode == BootMode::hybrid))
    return invalid_argument(fmt::format(
        "iso9660: kernel-args need the GRUB repack (boot grub or auto); boot {} keeps the ISO's "
        "own command line",
        r.mode == BootMode::none ? "none" : "hybrid"));
  VDISK_ASSIGN_OR_RETURN(const std::string isohdpfx,
                         option_text(kIsoOptions, options.settings, "isohdpfx"));
  VDISK_ASSIGN_OR_RETURN(const std::string grub_hybrid,
                         option_text(kIsoOptions, options.settings, "boot-hybrid"));
  r.code_paths.isohdpfx = isohdpfx;
  r.code_paths.grub_hybrid = grub_hybrid;
  VDISK_ASSIGN_OR_RETURN(r.secure_boot, option_flag(kIsoOptions, options.settings, "secure-boot"));
  if (r.secure_boot && (r.mode == BootMode::none || r.mode == BootMode::grub))
    return invalid_argument(fmt::format(
        "iso9660: secure-boot keeps the ISO's own signed loader (boot auto or hybrid); boot {} {}",
        r.mode == BootMode::none ? "none" : "grub",
        r.mode == BootMode::none ? "makes no boot disk"
                                 : "boots GRUB built here, which is not signed"));
  if (r.secure_boot && !r.kernel_args.empty())
    return invalid_argument(
        "iso9660: secure-boot keeps the ISO's own signed loader and command line; kernel-args "
        "need the GRUB repack, whose GRUB is not signed");
  return r;
}

AutoVerdict auto_verdict(const HybridPlan& plan, const iso9660::Volume* volume) {
  switch (plan.action) {
    case HybridAction::copy_as_is:
      return {"copy", plan.summary};
    case HybridAction::hybridize:
      return {"hybrid", plan.summary};
    case HybridAction::impossible:
      break;
  }
  if (!volume) return {"refuse", plan.refusal + "; and the file system cannot be read to repack"};
  auto configs = read_boot_configs(*volume, plan.report.entries);
  if (!configs.ok()) return {"refuse", configs.status().message()};
  if (!configs->bios && !configs->efi)
    return {"refuse", fmt::format("{}; and no kernel entry to repack (BIOS: {}; EFI: {})",
                                  plan.refusal, configs->bios_problem, configs->efi_problem)};
  const BootEntry& e = configs->bios ? *configs->bios : *configs->efi;
  return {"grub", fmt::format("{}; GRUB repack of {} ({})", plan.refusal, e.kernel, e.config_file)};
}

Result<std::unique_ptr<BlockSource>> make_boot_disk(std::shared_ptr<const BlockSource> iso,
                                                    const iso9660::Volume* volume,
                                                    const BootRequest& r, const OpenOptions& o) {
  VDISK_ASSIGN_OR_RETURN(const HybridPlan plan, plan_hybrid(*iso));
  BootMode mode = r.mode;
  if (mode == BootMode::automatic && !plan.report.el_torito && r.kernel_args.empty()) {
    // No boot catalog at all: a data ISO, not a live one. Its bytes are what the user gets.
    if (r.secure_boot) VDISK_RETURN_IF_ERROR(check_secure_boot(plan));
    data_iso_warning(o);
    return as_is(std::move(iso), plan);
  }
  if (mode == BootMode::automatic) {
    if (!r.kernel_args.empty()) {
      mode = BootMode::grub;
    } else if (plan.action != HybridAction::impossible) {
      mode = BootMode::hybrid;  // hybridise, or copy what boots as it is
    } else if (r.secure_boot) {
      return unsupported("iso9660: secure-boot: cannot be hybridised (" + plan.refusal +
                         "), and the GRUB repack's GRUB is not signed");
    } else {
      note(o, "iso9660: cannot be hybridised (" + plan.refusal + "); repacking it with GRUB");
      mode = BootMode::grub;
    }
  }
  if (mode == BootMode::grub) {
    VDISK_ASSIGN_OR_RETURN(auto disk, grub_disk(std::move(iso), volume, plan, r, o));
    secure_boot_note(plan, true, o);
    return disk;
  }
  // hybrid
  if (plan.action == HybridAction::impossible)
    return unsupported("iso9660: boot hybrid: " + plan.refusal);
  if (r.secure_boot) VDISK_RETURN_IF_ERROR(check_secure_boot(plan));
  if (plan.action == HybridAction::copy_as_is) {
    note(o, "iso9660: boots as a disk as it is, copied unchanged: " + plan.summary);
    if (!r.secure_boot) secure_boot_note(plan, false, o);
    return with_verdict(as_is(iso, plan), iso, volume, plan, true, o);
  }
  VDISK_ASSIGN_OR_RETURN(const BootCode code, load_boot_code(plan, r.code_paths));
  VDISK_ASSIGN_OR_RETURN(auto disk, hybrid_disk(iso, plan, code));
  note(o, "iso9660: made bootable as a disk (hybrid): " + plan.summary);
  if (!r.secure_boot) secure_boot_note(plan, false, o);
  return with_verdict(std::move(disk), std::move(iso), volume, plan, true, o);
}

Result<std::unique_ptr<StreamSource>> make_boot_stream(std::unique_ptr<StreamSource> iso,
                                                       const BootRequest& r, const OpenOptions& o) {
  const bool grub = r.mode == BootMode::grub || !r.kernel_args.empty();
  HybridStreamOptions so;
  const BootCodePaths paths = r.code_paths;
  so.load_code = [paths](const HybridPlan& plan) { return load_boot_code(plan, paths); };
  so.plan_only = grub;  // the repack keeps the ISO's bytes as they are
  VDISK_ASSIGN_OR_RETURN(auto stream, hybrid_stream(std::move(iso), so));
  const HybridPlan& plan = stream->plan();
  if (!grub) {
    switch (plan.action) {
      case HybridAction::copy_as_is:
      case HybridAction::hybridize:
        if (r.secure_boot) VDISK_RETURN_IF_ERROR(check_secure_boot(plan));
        note(o, plan.action == HybridAction::hybridize
                    ? "iso9660: made bootable as a disk (hybrid): " + plan.summary
                    : "iso9660: boots as a disk as it is, copied unchanged: " + plan.summary);
        if (!r.secure_boot) secure_boot_note(plan, false, o);
        return std::unique_ptr<StreamSource>(std::move(stream));
      case HybridAction::impossible:
        if (r.mode == BootMode::automatic && !plan.report.el_torito) {
          if (r.secure_boot) VDISK_RETURN_IF_ERROR(check_secure_boot(plan));
          data_iso_warning(o);
          return std::unique_ptr<StreamSource>(std::move(stream));
        }
        if (r.mode == BootMode::hybrid) return unsupported("iso9660: boot hybrid: " + plan.refusal);
        if (r.secure_boot)
          return unsupported("iso9660: secure-boot: cannot be hybridised (" + plan.refusal +
                             "), and the GRUB repack's GRUB is not signed");
        note(o, "iso9660: cannot be hybridised (" + plan.refusal + "); repacking it with GRUB");
        break;
    }
  }
  secure_boot_note(plan, true, o);
  return grub_stream(std::move(stream), r, o);
}

}  // namespace vdisk::livecd
