// streamOptimized VMDKs read front to back from a stream (stdin), without seeking.
//
// The reader walks the markers after the header's overhead: grain markers carry their LBA, so
// each grain is placed by LBA whatever the file order; metadata markers of unknown types are
// skipped after their sectors, EOS ends the stream (an image without GD_AT_END may simply end
// after its last grain, as qemu-img's do).
//
// The same image is accepted or refused alike from a stream and from the file. So a GD_AT_END
// stream must end as the file reader reads such a file: footer marker, footer (agreeing with
// the header, check_footer_agrees()) and EOS as its last three sectors, the footer's gdOffset at
// the GD after a GD marker, every GD entry at a GT after a GT marker inside the stream, and the
// GTs listing exactly the grains that came, each at its marker's sector (compared by digest,
// not by keeping every grain's sector). The one difference left: a grain no GT lists is read as
// zeros from the file (as qemu-img does) but refused from a stream, which has already placed it.
// Without GD_AT_END, a header gdOffset past the end of the stream is refused as from a file.
//
// Which grains exist, so that gaps can be returned as zeros before the end of the stream:
// - qemu-img / open-vmdk layout (real gdOffset, GD and GTs before the first grain): the grain
//   tables at the front say exactly; a grain missing from them, or listed but never arriving,
//   is corrupt.
// - VMware layout (GD_AT_END): a GT marker follows the grains of its table, so once it has been
//   seen its table and every earlier one are known; EOS makes everything known.
// Two ways to read it:
// - In order (read()/next(), for outputs written front to back: stdout, gcp). Grains that
//   arrive ahead of the output are held (compressed) in a reorder window of bounded size. When
//   the window is full and the next grain's presence is still unknown, the reader decides the
//   gap holds no grain; a grain that arrives later for a range already returned fails with a
//   clear error naming the window (never silently wrong). Gaps are returned as zero runs.
// - Placed (placed(), for outputs that can write anywhere: a raw or fixed-VHD file). Each grain
//   is handed out as it arrives, still compressed, and the copy pipeline inflates it on a worker
//   and writes it at its offset; gaps are simply never written. Any grain order works with
//   memory bounded by the pipeline's budget, not by the disorder. A grain that comes twice is
//   corrupt (an arrival bitmap, paged, remembers which came), as is one missing from the front
//   grain tables or listed there but never sent.
// Why positional writes rather than spilling held grains to a temporary file so that every
// output could take any order: the output file already is the place every grain must end up,
// so writing it there costs no extra disk space or second pass; and outputs that cannot seek
// (a pipe, a gzip'd tarball) are exactly those a user streams for speed, where the window and
// its clear error ("save the image to a file") are the honest answer.
#ifndef VDISK_VMDK_VMDK_STREAM_H_
#define VDISK_VMDK_VMDK_STREAM_H_

#include <cstdint>
#include <memory>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

namespace vdisk::vmdk {

// Default reorder window (in-order reading): compressed bytes of grains held ahead of the output.
inline constexpr std::uint64_t kStreamWindowBytes = 64ull << 20;
// Bytes read and ignored after the end of the stream (zero padding), so that the process
// writing into a pipe is not cut off by SIGPIPE; more than this are left unread.
inline constexpr std::uint64_t kStreamMaxTrailingBytes = 64ull << 20;
// Largest front metadata (header to first grain) kept to read front grain tables.
inline constexpr std::uint64_t kStreamMaxFrontBytes = 256ull << 20;

// Opens a streamOptimized sparse extent read from `in`. unsupported for other VMDK kinds
// (descriptor files, plain sparse extents, images with a parent).
Result<std::unique_ptr<StreamSource>> open_stream_optimized(
    std::unique_ptr<InputStream> in, const OpenOptions& options,
    std::uint64_t window_bytes = kStreamWindowBytes);

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_STREAM_H_
