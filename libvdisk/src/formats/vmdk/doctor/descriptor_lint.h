// Descriptor lint (internal entry point and helpers shared with the repair code). The public
// API (Consumer, LintFinding, lint_descriptor) is in vdisk/vmdk_repair.h; this header adds the
// raw-line view and the simulations of qemu's byte-literal look-ups that both lint and repair
// use, so that "what lint flags" and "what repair fixes" cannot drift apart.
#ifndef VDISK_VMDK_DESCRIPTOR_LINT_H_
#define VDISK_VMDK_DESCRIPTOR_LINT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"

namespace vdisk::vmdk::lint {

// The text up to its first NUL (embedded descriptors are NUL-padded).
std::string_view text_before_nul(std::string_view text);

// One raw line: `body` without the line end, `end` = the line end as written ("\n", "\r\n",
// "" for a last line without one). Line i (0-based) is line number i + 1 of parse_descriptor.
struct RawLine {
  std::string_view body;
  std::string_view end;
};
std::vector<RawLine> split_lines(std::string_view text);

// The line end most lines use ("\r\n" when most lines end with CR LF, else "\n").
std::string_view dominant_line_end(const std::vector<RawLine>& lines);

// qemu reads at most this many bytes of descriptor (DESC_SIZE - 1 usable; docs/vmdk.md §2).
inline constexpr std::size_t kQemuDescWindow = 20 * 512 - 1;

// qemu's look-ups on the whole descriptor text (qemu block/vmdk.c; docs/vmdk.md §2):
// the first occurrence of the name anywhere (comments included), a fixed number of bytes
// skipped, then a hex number / a string up to the next double quote.
struct QemuLookup {
  bool found = false;     // the look-up succeeds (qemu can open the image)
  std::uint32_t cid = 0;  // qemu_cid: the number read
  std::string text;       // qemu_string: the string read
  std::size_t at = 0;     // byte offset of the name's first occurrence (when present)
};
QemuLookup qemu_cid(std::string_view text, bool parent);
QemuLookup qemu_string(std::string_view text, std::string_view name);

// Canonical text of lines repair writes.
std::string canonical_extent(const ExtentLine& extent);
std::string canonical_entry(std::string_view key, std::string_view value, bool quoted);

// createType values qemu opens from a standalone text descriptor.
bool qemu_standalone_create_type(std::string_view type);

// Bytes VirtualBox adds to a descriptor that lacks its ddb.uuid.* keys (one line each, GUID
// values, LF ends), for the room rule.
std::size_t virtualbox_additions(const Descriptor& descriptor);

// VirtualBox's ddb.uuid.* keys, in the order it writes them.
inline constexpr std::string_view kVirtualBoxUuidKeys[] = {
    "ddb.uuid.image", "ddb.uuid.parent", "ddb.uuid.modification", "ddb.uuid.parentmodification"};
// Bytes of one such line as VirtualBox writes it: key="GUID" and LF.
inline constexpr std::size_t virtualbox_uuid_line_bytes(std::string_view key) {
  return key.size() + 1 + 38 + 1;
}

// The first lines VirtualBox accepts (it compares the whole line).
bool virtualbox_first_line(std::string_view body);

// A ddb entry commented out ("#ddb.key = ..." as repair and dsfok's manual fix write it). Such a
// line is inert for every consumer, so repair may drop it to make room in the area.
bool commented_ddb_entry(std::string_view body);

// How VirtualBox sorts a line into the descriptor's sections: by its first characters, case
// sensitively ("RW"/"RDONLY"/"NOACCESS": extent, "ddb.": disk database, '#' or empty: none).
enum class VirtualBoxSection : std::uint8_t { none, header, extents, ddb };
VirtualBoxSection virtualbox_section(std::string_view body);

bool iequals(std::string_view a, std::string_view b);
bool is_ddb_key(std::string_view key);

}  // namespace vdisk::vmdk::lint

#endif  // VDISK_VMDK_DESCRIPTOR_LINT_H_
