// ISO 9660 filesystems (with Rock Ridge, Joliet, zisofs) and the boot report of an ISO image.
//
// An ISO is a filesystem, not a disk container: as a disk (`vdconvert convert x.iso`) its bytes
// are the disk's bytes. This header is the filesystem side: browse directories, stat and read
// files, and tell whether the image boots when written to a disk.
//
// Names: Rock Ridge names are preferred when the volume carries SUSP/Rock Ridge, else the Joliet
// tree, else plain ISO 9660 names (";1" version suffix and a trailing "." removed).
//
// Hostile images: every structure is bounds-checked; directory loops (by extent or by Rock Ridge
// relocation), continuation-area loops, extents past the volume and names that could escape a
// directory ('/', NUL, "." or "..") are reported as corrupt; depth, entry counts and sizes are
// capped by VolumeLimits (resource_exhausted when exceeded). Nothing here throws except
// std::bad_alloc, prints, or reads the environment.
//
// Thread safety: a Volume is immutable after open(); all const methods may be called
// concurrently. Files returned by open_file() are thread-safe RandomAccessFiles.
#ifndef VDISK_ISO9660_H_
#define VDISK_ISO9660_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk::iso9660 {

// Documented caps against hostile images.
struct VolumeLimits {
  std::uint32_t max_depth = 64;  // directory nesting below the root
  std::uint32_t max_entries_per_directory = 100000;
  std::uint64_t max_total_entries = 2000000;      // per walk()
  std::uint64_t max_directory_bytes = 64u << 20;  // one directory's extent
  std::uint32_t max_continuations = 32;           // CE areas followed for one record
  std::uint32_t max_extents_per_file = 4096;      // multi-extent parts
  std::uint32_t max_symlink_bytes = 4096;
  std::uint32_t max_path_components = 256;  // lookup()
};

enum class NameSource : std::uint8_t { automatic, rock_ridge, joliet, plain };

struct VolumeOptions {
  NameSource names = NameSource::automatic;
  // Associated files (flag 0x04, e.g. Apple resource forks) share their main file's name; they
  // are skipped unless asked for.
  bool include_associated = false;
  VolumeLimits limits;
};

enum class EntryType : std::uint8_t { file, directory, symlink, device, fifo, socket };
std::string_view entry_type_name(EntryType type) noexcept;

// A byte range of the image holding (part of) a file's recorded data.
struct DataExtent {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Entry {
  std::string name;  // UTF-8; never ".", ".." and never contains '/' or NUL; empty
                     // only for the root
  EntryType type = EntryType::file;
  std::uint64_t size = 0;  // file size (uncompressed for zisofs), 0 for symlinks
  std::uint32_t mode = 0;  // POSIX mode with type bits (synthesised without Rock Ridge)
  std::uint32_t nlink = 1;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;  // Unix seconds (Rock Ridge TF modify, else the record date)
  std::optional<std::int64_t> atime;
  std::optional<std::int64_t> ctime;
  std::string symlink_target;  // as recorded; may be absolute or contain ".." (never trusted)
  std::uint64_t device = 0;    // Rock Ridge PN (high << 32 | low)
  bool hidden = false;         // ISO "existence" flag 0x01
  bool associated = false;     // flag 0x04
  bool zisofs = false;         // stored compressed (Rock Ridge ZF); read back decompressed
  std::uint8_t zisofs_block_log2 = 0;
  std::uint64_t stored_size = 0;    // bytes recorded in the extents
  std::vector<DataExtent> extents;  // recorded data in order (directories: their records)
  std::uint64_t record_offset = 0;  // image offset of the (first) directory record, for messages
};

struct VolumeInfo {
  std::string system_id;
  std::string volume_id;
  std::string volume_set_id;
  std::string publisher_id;
  std::string preparer_id;
  std::string application_id;
  std::uint64_t volume_blocks = 0;
  std::uint32_t block_size = 2048;
  std::optional<std::int64_t> creation_time;  // Unix seconds
  std::optional<std::int64_t> modification_time;
  bool rock_ridge = false;    // SUSP SP found in the root directory
  std::string rock_ridge_id;  // ER identifier (e.g. "RRIP_1991A"), empty if none
  int joliet_level = 0;       // 0 = no Joliet SVD, else 1..3
  bool el_torito = false;     // a boot record descriptor is present
  std::uint32_t boot_catalog_block = 0;
  NameSource names = NameSource::plain;  // the tree actually used
  std::string application_use;  // PVD application use, trailing spaces/NULs trimmed (isomd5sum)
};
std::string_view name_source_name(NameSource s) noexcept;

class Volume {
 public:
  // Reads the volume descriptor set and the root directory. corrupt when the image is not an
  // ISO 9660 volume or its descriptors are inconsistent.
  static Result<std::unique_ptr<Volume>> open(std::shared_ptr<const RandomAccessFile> file,
                                              const VolumeOptions& options = {});
  virtual ~Volume() = default;

  virtual const VolumeInfo& info() const = 0;
  virtual const Entry& root() const = 0;
  // The entries of a directory ("." and ".." and relocated directories' placeholders omitted;
  // Rock Ridge relocated directories appear where their CL link is).
  virtual Result<std::vector<Entry>> list(const Entry& dir) const = 0;
  // Resolves "/a/b/c" or "a/b/c" from the root without following symlinks ("" or "/" = root).
  virtual Result<Entry> lookup(std::string_view path) const = 0;
  // The content of a regular file: a view over its extents, decompressed for zisofs.
  virtual Result<std::unique_ptr<RandomAccessFile>> open_file(const Entry& file) const = 0;

  // Walks the tree depth-first in directory order, calling visit(path, entry) for every entry
  // below `dir` (path relative to the volume root, "/"-separated, no leading slash). Directory
  // loops are corrupt; depth and entry-count caps give resource_exhausted. A visitor returning a
  // non-ok Status stops the walk with that Status.
  using Visitor = std::function<Status(const std::string& path, const Entry& entry)>;
  virtual Status walk(const Entry& dir, const Visitor& visit) const = 0;
};

// Opens a volume over a file opened by path.
Result<std::unique_ptr<Volume>> open_volume(const std::filesystem::path& path,
                                            const VolumeOptions& options = {});

// ---- Safe extraction ------------------------------------------------------------------------
//
// extract() writes a file, a symlink or a whole directory tree of a volume below a destination
// directory DEST. Guarantees, whatever the image contains:
// - Nothing is created, modified or removed outside DEST. Every object is created relative to
//   a directory descriptor opened from DEST downwards with O_NOFOLLOW (openat/mkdirat/
//   symlinkat/renameat); a name that is empty, ".", "..", or contains '/' or NUL is refused
//   (corrupt); a path component that is a symlink on disk is never followed (corrupt, "refusing
//   to follow"); two entries with the same name in one directory are refused, so a symlink made
//   earlier in the same extraction can never be written through.
// - Each regular file appears complete under its final name or not at all: it is written to a
//   temporary file in its own directory and renamed into place.
// - An existing file or symlink is never replaced unless `overwrite` (already_exists otherwise);
//   an existing directory is merged into; a directory is never replaced by a file or symlink.
// - Symlink targets are restored as recorded (they may be absolute or point above DEST; they
//   are never followed while extracting, and a note is emitted for such targets).
// - Modes (permission bits incl. setuid/setgid/sticky unless `keep_special_bits` is false) and
//   modification/access times are restored; directories get theirs after their contents.
//   Owners are not changed. Devices, FIFOs and sockets are skipped with a warning.
// - Directory loops and caps are those of Volume::walk().
// On error the extraction stops; files already renamed into place stay (each complete), the
// current temporary file is removed.
struct ExtractProgress {
  std::string path;  // the entry just written, relative to the extracted PATH
  const Entry* entry = nullptr;
  std::uint64_t files = 0, directories = 0, symlinks = 0, skipped = 0;
  std::uint64_t bytes = 0;  // file bytes written so far
};

struct ExtractOptions {
  bool overwrite = false;  // replace existing files and symlinks (never directories)
  bool restore_modes = true;
  bool keep_special_bits = false;  // keep setuid/setgid bits (default: cleared)
  bool restore_times = true;
  bool sync = false;  // fsync every file before its rename
  // Called after each entry is created (or skipped). Must not throw.
  std::function<void(const ExtractProgress&)> on_progress;
  DiagnosticFn on_diagnostic;  // skipped entries, notable symlink targets
  std::stop_token stop;        // cancelled when requested
};

struct ExtractReport {
  std::uint64_t files = 0, directories = 0, symlinks = 0, skipped = 0, bytes = 0;
};

// Extracts the entry at `path` ("" or "/" = the root) of `volume`:
// - a directory: its contents go into DEST, which is created (one level) when missing;
// - a file or symlink: written as DEST/<its name> when DEST is an existing directory, else as
//   DEST itself (whose parent directory must exist).
// `dest` itself is trusted (it is the caller's choice and may be a symlink to a directory).
Result<ExtractReport> extract(const Volume& volume, std::string_view path,
                              const std::filesystem::path& dest,
                              const ExtractOptions& options = {});

// Streams the content of regular file `file` to `sink` (zisofs decompressed) and finishes the
// sink. `on_bytes` (may be empty) gets the running byte count.
Status stream_file(const Volume& volume, const Entry& file, ByteSink& sink,
                   const std::function<void(std::uint64_t)>& on_bytes = {},
                   std::stop_token stop = {});

// "drwxr-xr-x" style text of a POSIX mode (type letter + 9 permission characters with s/S/t/T).
std::string mode_string(std::uint32_t mode);

// ---- Boot report ------------------------------------------------------------------------------

struct ElToritoEntry {
  std::uint8_t platform = 0;  // 0 x86 BIOS, 1 PowerPC, 2 Mac, 0xEF UEFI
  bool bootable = false;
  std::uint8_t media = 0;  // 0 no emulation, 1..3 floppy, 4 hard disk
  std::uint16_t load_segment = 0;
  std::uint8_t system_type = 0;
  std::uint16_t sector_count = 0;  // 512-byte virtual sectors
  std::uint32_t load_rba = 0;      // 2048-byte block
};

struct MbrPartition {
  int index = 0;  // 1..4
  bool active = false;
  std::uint8_t type = 0;
  std::uint32_t start_lba = 0;
  std::uint32_t sectors = 0;
};

struct GptPartition {
  int index = 0;          // 1-based entry number
  std::string type_guid;  // canonical lowercase text form
  std::string name;
  std::uint64_t first_lba = 0, last_lba = 0;  // 512-byte LBAs, inclusive
  std::uint64_t attributes = 0;
  bool esp = false;
};

enum class IsohybridKind : std::uint8_t {
  none,
  syslinux,
  syslinux_uefi,
  grub2,
  protective_gpt,
  other
};
std::string_view isohybrid_kind_name(IsohybridKind kind) noexcept;

// What the El Torito BIOS boot image is, as far as booting it from a disk goes (docs/livecd.md):
// isolinux.bin with the hybrid entry signature 0x7078c0fb at +0x40 (a syslinux hybrid MBR can
// start it), isolinux.bin without it (isolinux-debug.bin, syslinux before 3.72), a GRUB El Torito
// image (cdboot.img + diskboot.img, started by GRUB's boot_hybrid.img), or anything else.
enum class BootImageKind : std::uint8_t {
  none,  // no bootable x86 El Torito entry
  isolinux_hybrid,
  isolinux_no_signature,
  grub_diskboot,
  other
};
std::string_view boot_image_kind_name(BootImageKind kind) noexcept;

struct LiveCdInfo {
  bool detected = false;
  std::string squashfs_path;    // "LiveOS/squashfs.img"
  bool squashfs_magic = false;  // "hsqs"
  std::uint64_t squashfs_size = 0;
  std::string config_file;  // where root=live:CDLABEL= was found
  std::string cdlabel;      // the label, \x20 escapes decoded
  bool cdlabel_matches_volume_id = false;
};

struct BootReport {
  // El Torito
  bool el_torito = false;
  std::uint32_t catalog_block = 0;
  std::vector<ElToritoEntry> entries;
  std::string el_torito_problem;  // why the catalog could not be read, empty if fine
  // System area
  bool mbr_signature = false;
  bool mbr_code_present = false;   // any non-zero byte in 0..439
  std::uint64_t mbr_boot_lba = 0;  // LE64 at 432 (isohybrid loader pointer)
  std::vector<MbrPartition> mbr_partitions;
  bool gpt_present = false;  // "EFI PART" at byte 512
  bool gpt_valid = false;    // header and entry-array CRC32s match
  std::string gpt_problem;
  std::vector<GptPartition> gpt_partitions;
  bool esp_present = false;
  std::string esp_where;   // "gpt partition 2" / "mbr partition 2"
  std::string esp_loader;  // "\\EFI\\BOOT\\BOOTX64.EFI" when the ESP's FAT holds it, else ""
  IsohybridKind isohybrid = IsohybridKind::none;
  // The El Torito BIOS image (the first bootable x86 entry) and whether a hybrid MBR written by
  // vdconvert (`--boot hybrid`) could start it; the detail says what it is or why not.
  BootImageKind bios_image = BootImageKind::none;
  bool bios_image_hybridizable = false;
  std::string bios_image_detail;
  // The El Torito UEFI entry (platform 0xEF), if any: its block. EDK2/OVMF boots it from a disk
  // even without a partition table; cloud firmware is not known to (docs/livecd.md).
  bool efi_eltorito_image = false;
  std::uint32_t efi_image_rba = 0;
  bool bios_bootable_as_disk = false;
  std::string bios_reason;
  bool uefi_bootable_as_disk = false;
  std::string uefi_reason;
  LiveCdInfo livecd;
};

// Builds the boot report from the image's system area and, when `volume` is not null, its El
// Torito catalog (with the BIOS boot image classified) and, when `live_layout`, the livecd
// layout (which reads LiveOS/squashfs.img's first bytes and the boot configuration files, so a
// caller that must stay near the image's start, such as the streaming hybridiser, turns it
// off). Errors only for I/O failures; malformed structures are described in the report.
Result<BootReport> boot_report(const RandomAccessFile& image, const Volume* volume,
                               bool live_layout = true);

// Adds the report as properties (used by `vdconvert info`). Keys: el_torito{present,
// catalog_block, problem, entries[]}, system_area{...}, isohybrid, bios_image
// (boot_image_kind_name), bios_image_hybridizable, bios_image_detail, efi_eltorito_image,
// bios_bootable_as_disk, bios_reason, uefi_bootable_as_disk, uefi_reason, livecd{...}.
void describe_boot_report(const BootReport& report, Properties& out);
void describe_volume(const VolumeInfo& info, Properties& out);

}  // namespace vdisk::iso9660

#endif  // VDISK_ISO9660_H_
