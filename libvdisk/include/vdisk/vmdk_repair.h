// VMDK descriptor lint and repair: name every descriptor line that a consumer (Microsoft's
// converter MVMC, qemu, VirtualBox, VMware ESXi) refuses, and rewrite the descriptor text so they
// accept it while touching nothing else.
//
// Facts behind each rule: the grammar of VMware's "Virtual Disk Format 5.0" technote ("The
// Descriptor File"), docs/vmdk.md §2 (qemu's byte-literal parser) and §3 (MVMC's ddb whitelist;
// its message names the line's *value*, not its key).
//
// Text model: the descriptor text ends at its first NUL; lines end at '\n' (a '\r' before it is
// part of the line end). Lint and repair work on these raw lines, so every line a repair does not
// edit keeps its bytes, spacing and line end exactly; edited lines keep their line end.
//
// Pure functions, no I/O, no global state: safe to call from any thread.
#ifndef VDISK_VMDK_REPAIR_H_
#define VDISK_VMDK_REPAIR_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/properties.h"
#include "vdisk/status.h"
#include "vdisk/vmdk.h"

namespace vdisk::vmdk {

// Consumers, as a bit mask.
enum Consumer : unsigned {
  kMvmc = 1u << 0,        // Microsoft Virtual Machine Converter (ConvertTo-MvmcVirtualHardDisk)
  kQemu = 1u << 1,        // qemu / qemu-img block/vmdk.c
  kVirtualBox = 1u << 2,  // VirtualBox VMDK backend
  kEsxi = 1u << 3,        // VMware ESXi / Workstation
  kAllConsumers = kMvmc | kQemu | kVirtualBox | kEsxi,
};
// "MVMC, qemu" for a mask; "" for 0.
std::string consumer_names(unsigned mask);
// "mvmc", "qemu", "virtualbox", "esxi" or "all" -> mask; nullopt otherwise.
std::optional<unsigned> parse_consumer(std::string_view name);

enum class LintSeverity : std::uint8_t {
  error,    // at least one consumer refuses the descriptor or misreads the disk
  warning,  // accepted, but a consumer may damage the image or lose data later
};
std::string_view severity_name(LintSeverity severity) noexcept;

struct LintFinding {
  std::string rule;        // stable id, e.g. "mvmc-ddb-entry"
  std::size_t line = 0;    // 1-based line of the descriptor text; 0 = the descriptor as a whole
  std::string key;         // the key concerned ("ddb.toolsInstallType"), may be empty
  std::string value;       // its value as parsed (without quotes), may be empty
  unsigned consumers = 0;  // Consumer mask of who rejects / misreads it
  std::string message;     // the consumer's own error text where known, else empty
  std::string detail;      // one line: what is wrong and why
  LintSeverity severity = LintSeverity::error;
  bool fixable = false;  // repair_descriptor() can fix it without inventing data
};

// The ddb keys MVMC is known to accept (present in every working example; docs/vmdk.md §3):
// ddb.adapterType, ddb.geometry.{cylinders,heads,sectors,biosCylinders,biosHeads,biosSectors},
// ddb.virtualHWVersion, ddb.toolsVersion. Every other ddb key is neutralised for MVMC.
std::vector<std::string> default_mvmc_keep();

struct LintOptions {
  // Keys MVMC accepts (compared ignoring ASCII case).
  std::vector<std::string> mvmc_keep = default_mvmc_keep();
  // True for a standalone text descriptor file (qemu accepts fewer createTypes there); false for
  // a descriptor embedded in a sparse extent.
  bool standalone = false;
  // Bytes available for the text (the embedded descriptor area); 0 = unbounded (text files).
  std::uint64_t area_bytes = 0;
};

// Lints `text` (the raw descriptor, NUL-padded or not), which must be the text `descriptor` was
// parsed from. Findings are in line order, whole-descriptor findings (line 0) first.
std::vector<LintFinding> lint_descriptor(const Descriptor& descriptor, std::string_view text,
                                         const LintOptions& options = {});

// Convenience: parses then lints. The parse error when the text does not parse.
Result<std::vector<LintFinding>> lint_descriptor_text(std::string_view text,
                                                      const LintOptions& options = {});

// ---- Repair -------------------------------------------------------------------------------

enum class RepairAction : std::uint8_t {
  comment_out,  // the line gets a leading '#' (dsfok's manual fix)
  remove,       // the line is deleted
  rewrite,      // the line is replaced by its canonical form (same key and value)
  insert,       // a new line is added
  move,         // the line (rewritten if needed) moves to another position
};
std::string_view action_name(RepairAction action) noexcept;

struct RepairEdit {
  RepairAction action = RepairAction::rewrite;
  std::string rule;      // the lint rule the edit fixes
  std::size_t line = 0;  // line in the original text; 0 for an inserted line
  std::string key;
  std::string value;
  std::string before;      // the original line (without its line end); empty for insert
  std::string after;       // the new line; empty for remove
  unsigned consumers = 0;  // who refused the line
  std::string reason;      // why (the lint detail)
  std::string prevents;    // the consumer's error message this edit prevents, if known
};

struct RepairOptions {
  unsigned consumers = kAllConsumers;  // fix what these consumers refuse
  bool delete_lines = false;           // MVMC: remove unknown ddb lines instead of commenting
  std::vector<std::string> mvmc_keep = default_mvmc_keep();
  bool standalone = false;       // a text descriptor file (see LintOptions)
  std::uint64_t area_bytes = 0;  // room for the text; 0 = unbounded
  // VirtualBox: pre-add the ddb.uuid.* keys it writes on its first read-write open, so that it
  // never grows the descriptor: ddb.uuid.image and ddb.uuid.modification get these values
  // (GUID text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", made by the caller), ddb.uuid.parent and
  // ddb.uuid.parentmodification all zeros (a base disk). Both empty (the default) = do not add.
  // invalid_argument when MVMC is among the consumers (it refuses these keys), VirtualBox is
  // not, the disk is a delta link (its parent's uuid is not known here), or they do not fit.
  std::string virtualbox_image_uuid;
  std::string virtualbox_modification_uuid;
};

struct RepairPlan {
  std::string text;                    // the repaired text, line ends as in the original
  std::vector<RepairEdit> edits;       // in original line order; empty = nothing to do
  std::vector<LintFinding> remaining;  // findings for the selected consumers still present
};

// Plans the repair of `text` (NUL-padded or not). Only lines named by a fixable finding for the
// selected consumers change; every other line keeps its bytes and line end; values (CID
// included) are never changed. The result is verified to parse. invalid_argument when the
// repaired text does not fit `area_bytes` (commenting out grows the text by one byte a line;
// deleting shrinks it); the parse error when `text` does not parse.
// VirtualBox (its findings name only the first problem; repair fixes them all):
// - "# Disk DescriptorFile" becomes the first line: moved up from the comments before the first
//   entry, else inserted;
// - entries are sorted into header, extent, ddb sections: the longest run already in order
//   stays, every other entry moves alone next to the kept entries of its section; comments,
//   blank lines and unknown entries stay, line ends are kept;
// - room (embedded descriptors): when the area cannot hold the ddb.uuid.* keys VirtualBox adds,
//   this run's commented-out lines become deletions, then earlier commented-out ddb lines
//   ("#ddb.key = ...") are dropped, last first, until they fit; nothing else is dropped, so
//   when that is not enough the vbox-room finding remains (with its remedies).
Result<RepairPlan> plan_repair(std::string_view text, const RepairOptions& options);

// ---- The descriptor area of a file --------------------------------------------------------

// Where a VMDK file keeps its descriptor: the embedded descriptor sectors of a hosted sparse
// extent (monolithicSparse, streamOptimized: [descriptorOffset, +descriptorSize) sectors), or the
// whole file for a text descriptor (monolithicFlat, twoGbMaxExtent*, vmfs).
struct DescriptorArea {
  bool embedded = false;
  std::uint64_t offset = 0;  // byte offset of the area
  std::uint64_t size = 0;    // bytes of the area (embedded) or of the file (text)
  std::uint64_t file_size = 0;
  std::vector<std::byte> bytes;   // the area as read
  std::string_view text() const;  // the bytes up to the first NUL
};

// Largest text descriptor file accepted (a descriptor is a few KiB; anything larger is not one).
inline constexpr std::uint64_t kMaxTextDescriptorBytes = 1u << 20;

// Reads the descriptor area. For a sparse extent the header is validated and the area must lie
// inside the file, after the header, and overlap neither the (redundant) grain directory nor
// the grains (corrupt otherwise, naming the offsets). A file without the "KDMV" magic must be a
// text descriptor of at most kMaxTextDescriptorBytes (NUL padding allowed at its end) that parses
// and has a createType or an extent line.
Result<DescriptorArea> read_descriptor_area(const std::filesystem::path& path);

// The bytes that replace the area for `text`: embedded areas get the text NUL-padded to the full
// area size; text files get the text, NUL-padded to the old file size when the old file was
// NUL-padded (qemu-img pads text descriptors to 512 bytes) and the text fits. invalid_argument when
// `text` is larger than the area, or does not parse, or (embedded) contains a NUL.
Result<std::vector<std::byte>> area_bytes_for(const DescriptorArea& area, std::string_view text);

struct WriteDescriptorOptions {
  bool backup = true;  // save the original area bytes next to the file first
  bool sync = true;    // fsync the backup, the file (and directories) before returning
};

// Replaces the descriptor of `path` in place with `text`. The area is re-read first and must
// still equal `area.bytes` (else aborted: another writer changed it). With `backup`, the original
// area bytes go to a new file "<path>.descriptor-backup[.N]" (written and fsynced before the
// edit). Embedded: one pwrite of the whole area, then fsync; no other byte of the file changes.
// Text file: written to a temporary file and renamed over `path` (atomic), keeping its mode.
// Returns the backup path (empty without backup).
Result<std::filesystem::path> write_descriptor_in_place(const std::filesystem::path& path,
                                                        const DescriptorArea& area,
                                                        std::string_view text,
                                                        const WriteDescriptorOptions& options);

// Writes a copy of `src` to `dst` (temporary file + rename; holes stay holes) in which only the
// descriptor area holds `text`. already_exists when `dst` exists and !overwrite.
Status write_descriptor_copy(const std::filesystem::path& src, const DescriptorArea& area,
                             std::string_view text, const std::filesystem::path& dst,
                             bool overwrite, bool sync = true);

// ---- Reports as text and Properties (vdconvert repair / descriptor; docs/json.md) ----------

// "embedded descriptor: 10240 bytes at offset 512, 612 bytes of text" / "text descriptor ...".
std::string describe_area(const std::string& path, const DescriptorArea& area);
// "line 19 ddb.toolsInstallType = "4": error for MVMC: ... \n  MVMC says: ...".
std::string render_finding(const LintFinding& finding);
std::string render_edit(const RepairEdit& edit);

// The same as Properties for --json. Descriptor text is not always UTF-8
// (encoding="windows-1252"): Properties::to_json turns bytes that are not UTF-8 into U+FFFD, so
// the output stays valid JSON.
//   area:    embedded, offset, size, text_bytes, free_bytes (embedded only)
//   finding: line, rule, severity, key, value, consumers [names], message, detail, fixable
//   edit:    line, action, rule, key, value, consumers [names], reason, prevents,
//            mvmc_message (MVMC's own error text, when MVMC refused the line), before, after
void add_area_json(Properties& p, const DescriptorArea& area);
void add_finding_json(Properties& p, const LintFinding& finding);
void add_edit_json(Properties& p, const RepairEdit& edit);
// Consumer mask -> list of names under `key`.
void add_consumers_json(Properties& p, std::string_view key, unsigned mask);

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_REPAIR_H_
