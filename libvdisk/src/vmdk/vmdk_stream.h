// streamOptimized VMDKs read front to back from a stream (stdin), without seeking.
//
// The reader walks the markers after the header's overhead: grain markers carry their LBA, so
// each grain is placed by LBA whatever the file order; metadata markers (GT, GD, footer, unknown
// types) are skipped after their sectors, EOS ends the stream (an image without GD_AT_END may
// simply end after its last grain, as qemu-img's do).
//
// Which grains exist, so that gaps can be returned as zeros before the end of the stream:
// - qemu-img / open-vmdk layout (real gdOffset, GD and GTs before the first grain): the grain
//   tables at the front say exactly; a grain missing from them, or listed but never arriving,
//   is corrupt.
// - VMware layout (GD_AT_END): a GT marker follows the grains of its table, so once it has been
//   seen its table and every earlier one are known; EOS makes everything known.
// Grains that arrive ahead of the output are held (compressed) in a reorder window of bounded
// size. When the window is full and the next grain's presence is still unknown, the reader
// decides the gap holds no grain; a grain that arrives later for a range already returned
// fails with a clear error naming the window (never silently wrong). Save such an image to a
// file and convert the file instead.
#ifndef VDISK_VMDK_VMDK_STREAM_H_
#define VDISK_VMDK_VMDK_STREAM_H_

#include <cstdint>
#include <memory>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

namespace vdisk::vmdk {

// Default reorder window: compressed bytes of grains held ahead of the output.
inline constexpr std::uint64_t kStreamWindowBytes = 64ull << 20;
// Bytes read and ignored after the end of the stream (zero padding), so that the process
// writing into a pipe is not cut off by SIGPIPE; more than this are left unread.
inline constexpr std::uint64_t kStreamMaxTrailingBytes = 64ull << 20;
// Largest front metadata (header to first grain) kept to read front grain tables.
inline constexpr std::uint64_t kStreamMaxFrontBytes = 256ull << 20;

// Opens a streamOptimized sparse extent read from `in`. unsupported for other VMDK kinds
// (descriptor files, plain sparse extents, images with a parent).
Result<std::unique_ptr<StreamSource>> open_stream_optimized(std::unique_ptr<InputStream> in,
                                                            const OpenOptions& options,
                                                            std::uint64_t window_bytes = kStreamWindowBytes);

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_STREAM_H_
