// Inflating a gzip'd OVA member (ovf:compression="gzip"; RFC 1952, one or more members back to
// back), as a stream and as a random-access file (docs/ova.md, "Compressed files").
#ifndef VDISK_OVA_GUNZIP_H_
#define VDISK_OVA_GUNZIP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vdisk/io.h"

namespace vdisk::ova {

// Restart points a gunzip_file keeps (each holds 32 KiB of history, so at most 32 MiB).
inline constexpr std::size_t kMaxRestartPoints = 1024;
// Inflated bytes between restart points at first; doubled whenever the points run out.
inline constexpr std::uint64_t kRestartSpacing = 1ull << 20;

// The inflated bytes of `in`, read forward. corrupt (naming `in`) for bad gzip data, a member
// cut short, or bytes after a member that are not another member.
std::unique_ptr<InputStream> gunzip_stream(std::unique_ptr<InputStream> in);

// The inflated bytes of `file` as a RandomAccessFile named `name`. Opening inflates the whole
// file once: it checks every member's header, CRC-32 and length, learns the inflated size, and
// records restart points (a deflate block boundary, its bit offset and 32 KiB of history; zlib's
// examples/zran.c describes the technique) every kRestartSpacing inflated bytes, widening the
// spacing as needed to stay within kMaxRestartPoints. read_at() inflates from the nearest
// point at or before the offset, or goes on from where the previous read stopped when that is
// nearer, so a reader that moves forward pays about one inflation in all. Reads take a lock:
// concurrent readers are safe but serialised.
//
// corrupt for the errors gunzip_stream reports (with the compressed offset), or an empty file;
// resource_exhausted when the file inflates to more than `limit` bytes (a decompression bomb).
// `spacing` replaces kRestartSpacing (tests).
Result<std::unique_ptr<RandomAccessFile>> gunzip_file(std::shared_ptr<const RandomAccessFile> file,
                                                      std::uint64_t limit, std::string name,
                                                      std::uint64_t spacing = kRestartSpacing);

}  // namespace vdisk::ova

#endif  // VDISK_OVA_GUNZIP_H_
