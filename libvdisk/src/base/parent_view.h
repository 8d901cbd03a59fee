// The bytes a child image does not store, taken from its parent (backing file) or zeros: one
// copy for every format with parents (QCOW2, VHDX and dynamic VHD use it through
// base/mapped_source.h).
#ifndef VDISK_UTIL_PARENT_VIEW_H_
#define VDISK_UTIL_PARENT_VIEW_H_

#include <cstdint>
#include <span>
#include <vector>

#include "vdisk/block.h"

namespace vdisk::detail {

// Fills `dst` with the parent's bytes at `offset`; bytes past the parent's end, or all of them
// when `parent` is null, read as zeros.
Status read_from_parent(const BlockSource* parent, std::uint64_t offset, std::span<std::byte> dst);

// Appends the parent's extents for [offset, offset + length) and, for what lies past its end
// (all of it when `parent` is null), one extent of kind `past_end`.
Status map_from_parent(const BlockSource* parent, std::uint64_t offset, std::uint64_t length,
                       ExtentKind past_end, std::vector<Extent>& out);

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_PARENT_VIEW_H_
