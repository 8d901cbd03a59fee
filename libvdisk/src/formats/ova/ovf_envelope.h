// What an OVF descriptor says about its disks (docs/ova.md, "Descriptor"): the References/File
// entries and the DiskSection/Disk entries, names matched by local name in the OVF 1.x or 2.x
// envelope namespace (any prefix).
#ifndef VDISK_OVA_OVF_ENVELOPE_H_
#define VDISK_OVA_OVF_ENVELOPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::ova {

inline constexpr std::string_view kOvfNamespace1 = "http://schemas.dmtf.org/ovf/envelope/1";
inline constexpr std::string_view kOvfNamespace2 = "http://schemas.dmtf.org/ovf/envelope/2";
// Files and disks an envelope may list (more is refused as resource_exhausted).
inline constexpr std::size_t kMaxOvfFiles = 4096;

struct OvfFile {
  std::string id;                           // ovf:id
  std::string href;                         // ovf:href, relative
  std::optional<std::uint64_t> size;        // ovf:size: bytes as stored (compressed)
  bool gzip = false;                        // ovf:compression="gzip"
  std::optional<std::uint64_t> chunk_size;  // ovf:chunkSize: stored as href.000000000, ...
};

struct OvfDisk {
  std::string disk_id;                          // ovf:diskId
  std::string file_ref;                         // ovf:fileRef; empty: a new, empty disk
  std::uint64_t capacity = 0;                   // bytes (ovf:capacity x allocation units)
  std::string format;                           // ovf:format URI
  std::optional<std::uint64_t> populated_size;  // ovf:populatedSize
};

struct Envelope {
  std::string version;  // "1" or "2" (the envelope namespace)
  std::vector<OvfFile> files;
  std::vector<OvfDisk> disks;  // DiskSection order: disk N (1-based) is disks[N - 1]
  const OvfFile* file(std::string_view id) const;
};

// Parses the descriptor text. corrupt for XML errors, a root that is not an OVF Envelope, a
// File without id or href, duplicate ids or hrefs, a Disk whose fileRef names no File, numbers
// that are not decimal or overflow; unsupported for a compression other than gzip/identity and
// a capacity given as a ${property}. `what` names the descriptor in messages.
Result<Envelope> parse_envelope(std::string_view text, std::string_view what);

// Bytes per unit of ovf:capacityAllocationUnits: "byte", "byte * 2^N" (spaces optional), or
// nullopt when the text is not one of those.
std::optional<std::uint64_t> allocation_unit(std::string_view units);

// The short name of a Disk's ovf:format URI: "streamOptimized", "monolithicSparse", "vhd", ...
// (the part after '#', else the last path segment), or the URI itself.
std::string format_short_name(std::string_view uri);

}  // namespace vdisk::ova

#endif  // VDISK_OVA_OVF_ENVELOPE_H_
