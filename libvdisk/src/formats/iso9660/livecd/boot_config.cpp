// Finding a live ISO's boot configurations on its ISO 9660 volume (see boot_config.h).
#include "formats/iso9660/livecd/boot_config.h"

#include <algorithm>

#include <fmt/format.h>

#include "formats/iso9660/livecd/boot_config_text.h"

namespace vdisk::livecd {

namespace {

using iso9660::Entry;
using iso9660::EntryType;
using iso9660::Volume;

constexpr std::uint8_t kPlatformBios = 0;
constexpr std::uint8_t kPlatformEfi = 0xEF;

bool fatal(const Status& s) { return s.code() == Errc::io_error || s.code() == Errc::cancelled; }

// Looks `path` up exactly, then component by component ignoring ASCII case. nullopt when it
// does not exist or the volume cannot say (a corrupt directory); I/O errors are returned.
Result<std::optional<Entry>> find_entry(const Volume& v, const std::string& path) {
  auto exact = v.lookup(path);
  if (exact.ok()) return std::optional<Entry>(std::move(*exact));
  if (fatal(exact.status())) return exact.status();
  Entry cur = v.root();
  for (const std::string& comp : [&] {
         std::vector<std::string> parts;
         std::size_t i = 0;
         while (i < path.size()) {
           const auto slash = path.find('/', i);
           const auto end = slash == std::string::npos ? path.size() : slash;
           if (end > i) parts.push_back(path.substr(i, end - i));
           i = end + 1;
         }
         return parts;
       }()) {
    if (cur.type != EntryType::directory) return std::optional<Entry>();
    auto listed = v.list(cur);
    if (!listed.ok()) {
      if (fatal(listed.status())) return listed.status();
      return std::optional<Entry>();
    }
    const std::string want = detail::lower(comp);
    const Entry* found = nullptr;
    for (const Entry& e : *listed) {
      if (detail::lower(e.name) == want) {
        found = &e;
        break;
      }
    }
    if (found == nullptr) return std::optional<Entry>();
    cur = *found;
  }
  return std::optional<Entry>(std::move(cur));
}

// The text of a regular file, bounded.
Result<std::string> load_text(const Volume& v, const std::string& path, std::uint64_t max_bytes) {
  VDISK_ASSIGN_OR_RETURN(const auto entry, find_entry(v, path));
  if (!entry || entry->type != EntryType::file)
    return not_found(fmt::format("{}: no such file on the ISO", path));
  if (entry->size > max_bytes)
    return resource_exhausted(
        fmt::format("{}: {} bytes, over the limit of {} for a boot "
                    "configuration",
                    path, entry->size, max_bytes));
  VDISK_ASSIGN_OR_RETURN(const auto file, v.open_file(*entry));
  std::string text(static_cast<std::size_t>(entry->size), '\0');
  VDISK_RETURN_IF_ERROR(
      file->read_at(0, std::span(reinterpret_cast<std::byte*>(text.data()), text.size())));
  return text;
}

// The ISO path of the file whose data starts at 2048-byte block `rba`, "" when none.
Result<std::string> path_of_block(const Volume& v, std::uint32_t rba) {
  const std::uint64_t offset = std::uint64_t{rba} * 2048;
  std::string found;
  const Status s = v.walk(v.root(), [&](const std::string& path, const Entry& e) -> Status {
    if (e.type == EntryType::file && !e.extents.empty() && e.extents.front().offset == offset) {
      found = "/" + path;
      return Status(Errc::cancelled, "found");  // stops the walk
    }
    return Status();
  });
  if (!found.empty()) return found;
  if (s.code() == Errc::io_error) return s;
  return std::string();
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Found {
  std::optional<BootEntry> entry;
  std::string problem;
};

// Tries each candidate path in order; the first that exists is parsed.
Result<Found> read_first(const Volume& v, const std::vector<std::string>& candidates, bool grub,
                         const BootConfigLimits& limits) {
  const ConfigLoader load = [&](const std::string& p) {
    return load_text(v, p, limits.max_file_bytes);
  };
  for (const std::string& c : candidates) {
    auto text = load(c);
    if (!text.ok()) {
      if (fatal(text.status())) return text.status();
      if (text.status().code() == Errc::not_found) continue;
      return Found{std::nullopt, text.status().message()};
    }
    auto entry = grub ? parse_grub_config(c, *text, load, limits)
                      : parse_syslinux_config(c, *text, load, limits);
    if (!entry.ok()) {
      if (fatal(entry.status())) return entry.status();
      return Found{std::nullopt, entry.status().message()};
    }
    return Found{std::move(*entry), {}};
  }
  std::string tried;
  for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c;
  return Found{std::nullopt, "no configuration file found (looked for " + tried + ")"};
}

std::vector<std::string> syslinux_candidates(const std::string& image_dir) {
  std::vector<std::string> dirs;
  if (!image_dir.empty()) dirs.push_back(image_dir);
  for (const char* d : {"/boot/isolinux", "/isolinux", "/boot/syslinux", "/syslinux", "/"})
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.emplace_back(d);
  std::vector<std::string> out;
  for (const auto& d : dirs)
    for (const char* f : {"isolinux.cfg", "syslinux.cfg"}) out.push_back(resolve_iso_path(d, f));
  return out;
}

Status check_files(const Volume& v, const BootEntry& e, std::vector<std::string>& notes) {
  std::vector<std::string> files{e.kernel};
  files.insert(files.end(), e.initrds.begin(), e.initrds.end());
  for (const auto& f : files) {
    VDISK_ASSIGN_OR_RETURN(const auto found, find_entry(v, f));
    if (!found || found->type != EntryType::file)
      notes.push_back(fmt::format("{} (from {}) is not a file on the ISO", f, e.config_file));
  }
  return Status();
}

}  // namespace

std::string resolve_iso_path(std::string_view dir, std::string_view path) {
  std::vector<std::string_view> parts;
  const auto add = [&](std::string_view s) {
    std::size_t i = 0;
    while (i <= s.size()) {
      const auto slash = s.find('/', i);
      const auto end = slash == std::string_view::npos ? s.size() : slash;
      const std::string_view c = s.substr(i, end - i);
      if (c == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!c.empty() && c != ".") {
        parts.push_back(c);
      }
      if (slash == std::string_view::npos) break;
      i = slash + 1;
    }
  };
  if (!path.starts_with('/')) add(dir);
  add(path);
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? "/" : out;
}

Result<BootConfigs> read_boot_configs(const Volume& volume,
                                      std::span<const iso9660::ElToritoEntry> el_torito,
                                      const BootConfigLimits& limits) {
  BootConfigs out;
  const iso9660::ElToritoEntry* bios = nullptr;
  bool efi = false;
  for (const auto& e : el_torito) {
    if (e.platform == kPlatformBios && bios == nullptr) bios = &e;
    if (e.platform == kPlatformEfi) efi = true;
  }
  const bool catalog = !el_torito.empty();

  // BIOS.
  if (catalog && bios == nullptr) {
    out.bios_problem = "the El Torito catalog has no BIOS entry";
  } else {
    bool grub_image = false;
    std::string image_dir;
    if (bios != nullptr) {
      VDISK_ASSIGN_OR_RETURN(out.bios_image, path_of_block(volume, bios->load_rba));
      if (out.bios_image.empty()) {
        out.notes.push_back(
            fmt::format("the El Torito BIOS image (block {}) is not a file of the "
                        "ISO tree",
                        bios->load_rba));
      } else {
        image_dir = dir_of(out.bios_image);
        const std::string base = detail::lower(base_of(out.bios_image));
        grub_image = base == "eltorito.img" ||
                     detail::lower(out.bios_image).find("/grub") != std::string::npos;
      }
    }
    const std::vector<std::string> grub_paths{"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"};
    VDISK_ASSIGN_OR_RETURN(
        Found f, grub_image ? read_first(volume, grub_paths, true, limits)
                            : read_first(volume, syslinux_candidates(image_dir), false, limits));
    if (!f.entry && bios == nullptr) {
      // No catalog to tell: a GRUB-only ISO.
      VDISK_ASSIGN_OR_RETURN(Found g, read_first(volume, grub_paths, true, limits));
      if (g.entry) f = std::move(g);
    }
    out.bios = std::move(f.entry);
    out.bios_problem = std::move(f.problem);
  }

  // EFI.
  if (catalog && !efi) {
    out.efi_problem = "the El Torito catalog has no EFI entry";
  } else {
    VDISK_ASSIGN_OR_RETURN(
        Found f,
        read_first(volume, {"/EFI/BOOT/grub.cfg", "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"},
                   true, limits));
    out.efi = std::move(f.entry);
    out.efi_problem = std::move(f.problem);
    if (out.efi)
      out.notes.push_back(
          "EFI: read from the ISO 9660 tree; a grub.cfg inside the El Torito EFI image (FAT) is "
          "not read");
  }
  if (out.bios) VDISK_RETURN_IF_ERROR(check_files(volume, *out.bios, out.notes));
  if (out.efi) VDISK_RETURN_IF_ERROR(check_files(volume, *out.efi, out.notes));
  return out;
}

}  // namespace vdisk::livecd
