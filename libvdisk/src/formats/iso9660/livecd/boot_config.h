// Reading a live ISO's boot configuration (docs/livecd.md §7): which isolinux/syslinux
// or GRUB configuration a BIOS or EFI boot of the ISO would read, and the entry it boots when
// nobody touches the keyboard, as a BootEntry (kernel, initrds, command line).
//
// isolinux/syslinux (syslinux.cfg(5); syslinux 4+ core/fs/iso9660 and core/fs/lib/loadconfig.c):
// - Files searched: "isolinux.cfg" then "syslinux.cfg" in the El Torito BIOS image's directory,
//   then /boot/isolinux, /isolinux, /boot/syslinux, /syslinux, /. The directory of the file
//   found is the current directory: relative kernel, initrd and INCLUDE paths resolve from it.
// - Keywords are case-insensitive: DEFAULT, UI, LABEL, KERNEL / LINUX (and the other kernel-type
//   keywords), APPEND ("APPEND -" = none), INITRD, MENU LABEL / DEFAULT / INCLUDE, INCLUDE,
//   ONTIMEOUT, TEXT HELP ... ENDTEXT; anything else is ignored. A global APPEND (before the first
//   LABEL) applies to labels without their own. initrd=a,b words of the command line become
//   initrds (after those of an INITRD line) and leave the append line.
// - The default: with a menu (a UI line, or DEFAULT naming a .c32 module as livecd-tools'
//   "default vesamenu.c32" does) it is ONTIMEOUT's label if set, else the MENU DEFAULT label,
//   else the label DEFAULT names, else the first label. Without a menu it is the label DEFAULT
//   names (exact, then case-insensitive), else DEFAULT's text is itself a kernel and arguments.
//   No DEFAULT and no menu: the label "linux" (syslinux's built-in default).
//
// GRUB 2 grub.cfg (the GRUB manual's "Shell-like scripting", "menuentry", "default"):
// - Words with '...', "..." and backslash quoting; '#' comments; ';' and newlines end commands;
//   { } blocks; $var and ${var} expanded from earlier `set` lines (unset: empty; an unquoted
//   expansion splits at spaces). if/elif/else/fi and for/while bodies are read in order, both
//   branches (conditions are not evaluated). `source FILE` and `configfile FILE` are read in
//   place. function bodies are skipped.
// - Items: menuentry and submenu, numbered from 0 at each level. `set default=` N, "title",
//   an --id, or a path "N>M" into submenus; empty, unresolvable or out of range: item 0 (as
//   GRUB falls back). A default that is a submenu takes the submenu's first item.
// - In the chosen entry: linux / linux16 / linuxefi PATH ARGS and initrd / initrd16 /
//   initrdefi PATHS; a leading "(device)" (e.g. "($root)", "(cd0)", "(loop)") is dropped; paths
//   must then be absolute.
// - Not read: a grub.cfg embedded in the EFI boot image's FAT file system or in the GRUB core
//   image (the El Torito EFI image of Fedora-style ISOs usually holds a small grub.cfg that
//   searches the ISO by label and reads /EFI/BOOT/grub.cfg from it, which is what is read here).
//
// Bounds: each file at most max_file_bytes; INCLUDE / source depth max_include_depth; at most
// max_files files and max_entries labels or menu items in total (resource_exhausted).
// Malformed text: corrupt, "<file> line <n>: expected <what>, found <what>". The default naming
// nothing that exists: not_found. A default that is not a Linux kernel (COM32 module, chainload,
// LOCALBOOT): unsupported.
#ifndef VDISK_LIVECD_BOOT_CONFIG_H_
#define VDISK_LIVECD_BOOT_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/boot_entry.h"
#include "vdisk/iso9660.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

struct BootConfigLimits {
  std::uint64_t max_file_bytes = 1u << 20;
  std::uint32_t max_include_depth = 8;
  std::uint32_t max_files = 64;
  std::uint32_t max_entries = 4096;
};

// Returns the text of the file at an absolute ISO path ("/isolinux/menu.cfg"); not_found when it
// does not exist; resource_exhausted when it is larger than the limit it was given.
using ConfigLoader = std::function<Result<std::string>(const std::string& path)>;

// Default entry of an isolinux/syslinux configuration whose text is `text`, read from absolute
// ISO path `path` (its directory is the current directory). `load` reads INCLUDEd files.
Result<BootEntry> parse_syslinux_config(const std::string& path, std::string_view text,
                                        const ConfigLoader& load,
                                        const BootConfigLimits& limits = {});

// Default entry of a grub.cfg whose text is `text`, read from absolute ISO path `path`. `load`
// reads `source` / `configfile` files.
Result<BootEntry> parse_grub_config(const std::string& path, std::string_view text,
                                    const ConfigLoader& load, const BootConfigLimits& limits = {});

// "/a/b/../c" → "/a/c": '.' and empty components dropped, '..' never above the root. A relative
// `path` is taken from `dir` (absolute).
std::string resolve_iso_path(std::string_view dir, std::string_view path);

struct BootConfigs {
  // The BIOS boot's default entry (isolinux/syslinux, or grub.cfg for a GRUB El Torito image),
  // else why there is none in bios_problem.
  std::optional<BootEntry> bios;
  std::string bios_problem;
  // The EFI boot's default entry (grub.cfg at /EFI/BOOT/grub.cfg, /boot/grub/grub.cfg), else
  // efi_problem.
  std::optional<BootEntry> efi;
  std::string efi_problem;
  std::string bios_image;          // ISO path of the El Torito BIOS boot image, "" if unknown
  std::vector<std::string> notes;  // e.g. kernel or initrd files the entry names but the ISO lacks
};

// Finds and reads the configurations a BIOS and an EFI boot of `volume` would use. `el_torito`
// is the catalog (iso9660::BootReport::entries); with no entries, the standard places are tried
// for both. File names are looked up exactly, then case-insensitively (plain ISO 9660 names).
// The kernel and initrds of each entry are checked to exist (a note otherwise). Fails only on
// I/O errors; everything else is described in the *_problem fields.
Result<BootConfigs> read_boot_configs(const iso9660::Volume& volume,
                                      std::span<const iso9660::ElToritoEntry> el_torito,
                                      const BootConfigLimits& limits = {});

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_BOOT_CONFIG_H_
