// VMDK descriptor model: the text that names a VMDK's extents, identity (CID, parentCID) and
// disk database (ddb.*), as parsed from a standalone descriptor file or from the descriptor
// embedded in a sparse extent.
//
// The parser is tolerant (CRLF, case-insensitive keys and keywords, spaces around '=',
// comments, blank lines, quoted or unquoted values) and keeps every line, including unknown keys
// and comments, in order with its 1-based line number, so tools can report and repair
// descriptors without losing anything. serialize_descriptor() writes one line per model line,
// so parse(serialize(parse(t))) == parse(t) for every t that parses.
//
// Pure functions, no I/O, no global state: safe to call from any thread.
#ifndef VDISK_VMDK_H_
#define VDISK_VMDK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::vmdk {

enum class Access : std::uint8_t { rw, rdonly, noaccess };
enum class ExtentType : std::uint8_t {
  flat,         // FLAT: raw bytes in a file, from a sector offset
  sparse,       // SPARSE: hosted sparse extent ("KDMV")
  zero,         // ZERO: reads as zeros, no file
  vmfs,         // VMFS: flat extent on VMFS (vmfs, vmfsThin, vmfsPreallocated, ...)
  vmfs_sparse,  // VMFSSPARSE: COWD redo log
  vmfs_rdm,     // VMFSRDM: raw device mapping
  vmfs_raw,     // VMFSRAW: raw device
  se_sparse,    // SESPARSE: space-efficient sparse (ESXi 6.5+)
};

// Keywords as VMware writes them ("RW", "SPARSE", ...).
std::string_view access_name(Access access) noexcept;
std::string_view extent_type_name(ExtentType type) noexcept;

// `ACCESS SIZE TYPE ["FILE" [OFFSET [EXTRA...]]]`
struct ExtentLine {
  Access access = Access::rw;
  std::uint64_t sectors = 0;               // extent size in 512-byte sectors
  ExtentType type = ExtentType::flat;
  std::optional<std::string> file;         // file name as written (unquoted); none for ZERO
  std::optional<std::uint64_t> offset;     // start sector inside the file (flat extents)
  std::vector<std::string> extra;          // further tokens (partition UUID, device id)
  friend bool operator==(const ExtentLine&, const ExtentLine&) = default;
};

struct DescriptorLine {
  enum class Kind : std::uint8_t { blank, comment, entry, extent };
  Kind kind = Kind::blank;
  std::size_t number = 0;  // 1-based line number in the parsed text
  std::string text;        // comment: the line as written (without the line end)
  std::string key;         // entry: key as written ("CID", "ddb.adapterType", ...)
  std::string value;       // entry: value without surrounding quotes
  bool quoted = false;     // entry: the value was written in double quotes
  ExtentLine extent;       // extent: the parsed extent line
  friend bool operator==(const DescriptorLine&, const DescriptorLine&) = default;
};

struct Descriptor {
  std::vector<DescriptorLine> lines;

  // The first entry whose key equals `key` ignoring ASCII case, or nullptr.
  const DescriptorLine* find(std::string_view key) const;
  // Its value, or nullopt.
  std::optional<std::string> get(std::string_view key) const;
  // Extent lines in order.
  std::vector<ExtentLine> extents() const;
  // Entries whose key starts with "ddb." (any case), in order.
  std::vector<const DescriptorLine*> ddb() const;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

// Largest descriptor text parse_descriptor() accepts (resource_exhausted above it).
inline constexpr std::size_t kMaxDescriptorBytes = 4u << 20;

// Parses descriptor text. The text ends at its first NUL byte (embedded descriptors are
// NUL-padded). Syntax errors are corrupt with the line number: "vmdk: descriptor line 7: ...".
// Semantic checks (createType known, extents present, CID format) are left to the caller.
Result<Descriptor> parse_descriptor(std::string_view text);

// Writes the model back as text, LF line ends, one line per model line: comments as written,
// entries as `key=value` (`key = "value"` for ddb entries, quotes when `quoted`), extents in
// VMware's canonical form.
std::string serialize_descriptor(const Descriptor& descriptor);

// Parses a CID value: 1 to 8 hex digits. nullopt otherwise.
std::optional<std::uint32_t> parse_cid(std::string_view text);

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_H_
