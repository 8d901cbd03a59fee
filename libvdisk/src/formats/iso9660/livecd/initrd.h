// What a live ISO's initrd carries, read without unpacking it (docs/livecd.md §8): which
// compressions it uses, how many entries it has, which kernel modules it holds as files and
// which its modules.builtin lists; and, for a boot entry, what that means on Azure and GCP.
//
// An initrd is what the kernel's initramfs unpacker accepts (the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst): a sequence of segments, each an
// uncompressed newc cpio archive (dracut and mkinitramfs put the early microcode first this way)
// or a compressed stream holding one or more cpio archives, with zero padding between them.
// Read here: uncompressed, gzip, xz and zstd. Recognised but not read (reported as such): lz4,
// bzip2, lzma and lzo. odc cpio archives are read too, with a note (the kernel unpacks only newc).
//
// Memory is bounded whatever the input: decompressed data is streamed through a fixed buffer and
// file data is skipped, never held (modules.builtin is read line by line). Caps (InitrdLimits)
// bound entries, name length, decompressed bytes, segments and decoder memory.
//
// Errors: read_initrd_facts() fails only when the file cannot be read (io_error) or `stop` is
// requested (cancelled). A malformed, truncated or unsupported initrd is described in
// InitrdFacts::problem, with the facts gathered before the problem kept.
#ifndef VDISK_LIVECD_INITRD_H_
#define VDISK_LIVECD_INITRD_H_

#include <cstdint>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/boot_entry.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

struct InitrdLimits {
  std::uint64_t max_entries = 1000000;                // cpio entries over the whole initrd
  std::uint32_t max_name_length = 4096;               // one cpio name, NUL included
  std::uint64_t max_decompressed_bytes = 8ull << 30;  // over all compressed segments
  std::uint32_t max_segments = 64;
  std::uint64_t max_decoder_memory = 256u << 20;  // xz dictionary, zstd window
  std::uint64_t max_builtin_names = 100000;       // modules.builtin lines kept
};

// One part of the initrd, in file order.
struct InitrdSegment {
  std::uint64_t offset = 0;    // file offset of its first byte (magic)
  std::uint64_t stored = 0;    // file bytes it spans (0 when it could not be read)
  std::string compression;     // "none", "gzip", "xz", "zstd", "lz4", "bzip2", "lzma", "lzo"
  std::uint64_t bytes = 0;     // cpio bytes walked (decompressed size when compressed)
  std::uint64_t entries = 0;   // cpio entries in it (trailers not counted)
  std::uint64_t archives = 0;  // cpio trailers in it
};

struct InitrdFacts {
  std::vector<InitrdSegment> segments;
  std::uint64_t entries = 0;  // cpio entries walked
  // Kernel versions named by lib/modules/<version>/ paths.
  std::set<std::string> kernel_versions;
  // Loadable modules present as files (lib/modules/.../<name>.ko[.xz|.zst|.gz]), by module name
  // with '-' written as '_' (the kernel treats them alike).
  std::set<std::string> modules;
  // Modules built into the kernel per lib/modules/<version>/modules.builtin, same naming.
  std::set<std::string> builtin;
  bool builtin_list = false;       // a modules.builtin file was read
  bool complete = false;           // every segment read to the end of the file
  bool stopped_early = false;      // stopped once every `enough` module was seen
  std::string problem;             // why reading stopped early; empty when complete
  std::vector<std::string> notes;  // odc archives, segments not read

  // The distinct compressions seen, in order of first appearance ("none" for plain cpio).
  std::vector<std::string> compressions() const;
  bool has_module(std::string_view name) const;  // '-' and '_' alike
  bool has_builtin(std::string_view name) const;
};

// Reads the facts of one initrd file (the whole file is the initrd). With `enough` (module
// names), the walk stops as soon as every one of them has been seen as a module file or in
// modules.builtin: the facts are then partial (complete false, problem empty, stopped_early
// true), which is all a question about those modules needs and saves decompressing the rest.
Result<InitrdFacts> read_initrd_facts(const RandomAccessFile& file, const InitrdLimits& limits = {},
                                      std::stop_token stop = {},
                                      std::span<const std::string> enough = {});

// The modules the boot disk of machine `cloud` needs in the initrd (or built in), from the
// machine table (contract/machines.h); empty for a name not in it.
std::vector<std::string> cloud_boot_modules(std::string_view cloud);

// ---- What a boot entry gives each cloud ------------------------------------------------------

enum class DriverState : std::uint8_t {
  in_initrd,      // a module file in one of the entry's initrds
  builtin,        // listed by the initrd's modules.builtin
  absent,         // not in the initrd, and modules.builtin was read and does not list it
  maybe_builtin,  // not in the initrd, no modules.builtin to tell: may be built into the kernel
  unknown,        // the initrds could not be read completely and it was not seen
};
std::string_view driver_state_name(DriverState s) noexcept;

struct DriverFact {
  std::string module;  // "hv_storvsc"
  DriverState state = DriverState::unknown;
  std::string text;  // one line for a report: "hv_storvsc: in the initrd"
};

struct CloudFact {
  std::string cloud;  // a machine's name (contract/machines.h)
  std::vector<DriverFact> drivers;
  bool ready = false;  // every driver in_initrd or builtin
  std::string summary;
};

struct BootEntryFacts {
  std::vector<CloudFact> clouds;  // one per machine, in the table's order
  bool serial_console = false;    // a console=ttyS* word in the entry's append line
  std::string console_text;
};

// Combines the facts of the entry's initrds (in entry.initrds order; `initrds.size()` must equal
// entry.initrds.size(), else a text says which are missing) with its command line. Pure.
BootEntryFacts boot_entry_facts(const BootEntry& entry, std::span<const InitrdFacts> initrds);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_INITRD_H_
