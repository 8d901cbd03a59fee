// SUSP (System Use Sharing Protocol) and Rock Ridge entries in a directory record's system use
// area or a continuation area (SUSP: IEEE P1281, version 1.12; Rock Ridge: IEEE P1282, RRIP
// version 1.12). Pure: the caller reads continuation
// areas (CE) and feeds them back in, bounded and loop-checked.
#ifndef VDISK_ISO9660_SUSP_H_
#define VDISK_ISO9660_SUSP_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "vdisk/status.h"

namespace vdisk::iso9660::detail {

struct Continuation {
  std::uint32_t block = 0, offset = 0, length = 0;
};

// Everything Rock Ridge says about one directory record, accumulated over its areas.
struct RockRidge {
  bool sp = false;  // SP found (only meaningful in the root "." record)
  std::uint8_t len_skp = 0;
  std::string er_id;  // first ER extension identifier
  bool any = false;   // any RRIP entry seen
  bool px = false;
  std::uint32_t mode = 0, nlink = 0, uid = 0, gid = 0;
  bool pn = false;
  std::uint64_t device = 0;
  bool nm = false;
  std::string name;
  bool nm_continues = false;
  bool nm_special = false;  // NM flagged "." or ".."
  bool sl = false;
  std::string symlink;
  bool sl_continues = false;       // last SL entry said more SL entries follow
  bool sl_component_open = false;  // last component continues in the next one
  bool re = false;
  std::optional<std::uint32_t> cl, pl;
  std::optional<std::int64_t> mtime, atime, ctime;
  bool zf = false;
  std::uint8_t zf_header_size4 = 0, zf_block_log2 = 0;
  std::uint32_t zf_size = 0;
  std::string zf_algorithm;
};

struct SuspLimits {
  std::uint32_t max_name_bytes = 1024;
  std::uint32_t max_symlink_bytes = 4096;
};

// Parses the entries of one area into `rr`. Sets *next when a CE entry names a continuation
// (the last CE wins; SUSP allows one per area). Stops at ST or when fewer than 4 bytes remain.
// `offset` is the image offset of the area, for messages. Errors: corrupt for entries whose
// length is < 4 or runs past the area, malformed fixed-size entries, names or link components
// containing '/' or NUL; resource_exhausted when a name or link exceeds the limits.
Status parse_susp_area(std::span<const std::byte> area, std::uint64_t offset, RockRidge& rr,
                       std::optional<Continuation>* next, const SuspLimits& limits = {});

}  // namespace vdisk::iso9660::detail

#endif  // VDISK_ISO9660_SUSP_H_
