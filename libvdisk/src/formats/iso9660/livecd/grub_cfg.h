// The grub.cfg the GRUB repack writes to its ESP (docs/livecd.md §6): one menu entry that
// boots a live ISO's kernel and initrds from the ISO partition, with GRUB on the serial port
// as well as the screen (cloud consoles are serial).
//
// Finding the ISO: GRUB's $root starts as the ESP it was loaded from ("hd0,gpt2"); the ISO is
// partition `iso_partition` of that same disk, so the config replaces the partition part. Only
// when $root does not look like that does it fall back to `search --label <volume id>`: a label
// search can pick a second copy of the ISO (attached as a CD), and GRUB reports the Joliet
// volume name, truncated to 16 characters, where the ISO has one.
//
// Quoting: every word the config takes from its inputs is quoted for GRUB's lexer
// (grub_quote()): single quotes around anything outside [A-Za-z0-9_./,:=+@%^~-], so that $, ;,
// |, &, <, >, {, }, quotes, spaces and wildcards reach the command as written.
//
// Kernel arguments: `append` is split into words at spaces and tabs, and each word becomes one
// argument of GRUB's `linux` command. GRUB joins the arguments with single spaces, and GRUB
// builds differ in what else they do: Debian's 2.06 (checked here: `e=\x20f` reached the kernel
// as `e=\\x20f`) and upstream 2.12 put an argument holding a space in double quotes and escape
// " ' and \ with a backslash (2.12 leaves \xNN alone); older ones copy arguments as they are.
// So a word holding a double or single quote or a backslash is refused: no one grub.cfg gives
// the kernel the same command line under all of them. (dracut's root=live:CDLABEL=My\x20Live
// cannot be passed; root=live:PARTUUID=<the ISO partition, repack_iso_partuuid()> can.)
#ifndef VDISK_LIVECD_GRUB_CFG_H_
#define VDISK_LIVECD_GRUB_CFG_H_

#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/boot_entry.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

struct GrubConfigOptions {
  unsigned timeout_seconds = 1;  // the menu's timeout (at most 3600)
  unsigned serial_unit = 0;      // ttyS<unit>/COM<unit+1> (at most 3)
  unsigned serial_speed = 115200;
};

// `word` quoted for GRUB's lexer: unchanged when every character is in [A-Za-z0-9_./,:=+@%^~-]
// (and it is not empty), else in single quotes, a ' inside written as '\''.
std::string grub_quote(std::string_view word);

// The kernel command line as words GRUB passes on unchanged (see above); invalid_argument naming
// the word for a quote, a backslash or a control character.
Result<std::vector<std::string>> grub_kernel_words(std::string_view append);

// The grub.cfg text. `iso_partition` is the GPT partition number of the ISO on the boot disk;
// `iso_volume_id` the ISO's volume identifier (trailing spaces removed; empty: no label
// fallback). invalid_argument for: a kernel or initrd path that is empty, not absolute or holds
// a control character, an append line grub_kernel_words() refuses, a command line that with
// GRUB's "BOOT_IMAGE=<kernel>" in front exceeds the 2047 bytes x86 Linux keeps
// (COMMAND_LINE_SIZE 2048; the rest would be dropped silently), options out of range, more
// than 64 initrds, inputs longer than 64 KiB. The entry's label and config_file appear only in
// the menu title and a comment (control characters there become '?').
Result<std::string> grub_config(const BootEntry& entry, std::string_view iso_volume_id,
                                unsigned iso_partition, const GrubConfigOptions& options);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_GRUB_CFG_H_
