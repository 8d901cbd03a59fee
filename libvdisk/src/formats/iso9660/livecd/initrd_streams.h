// Byte streams over a part of an initrd file: the stored bytes as they are, or decompressed
// (gzip, xz, zstd) through a fixed input buffer. Internal to initrd.cpp (and the fuzz target).
#ifndef VDISK_LIVECD_INITRD_STREAMS_H_
#define VDISK_LIVECD_INITRD_STREAMS_H_

#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "formats/iso9660/livecd/cpio.h"
#include "vdisk/io.h"

namespace vdisk::livecd::detail {

enum class Compression : std::uint8_t { none, gzip, xz, zstd, lz4, bzip2, lzma, lzo, unknown };
std::string_view compression_name(Compression c) noexcept;

// What the bytes at a segment start are (at least 6 bytes for a sure answer).
Compression sniff_compression(std::span<const std::byte> head);

// A stream over `file` from `start` whose compressed input ends at a decoder-defined point.
class SegmentStream : public ByteStream {
 public:
  // File bytes consumed so far: after the end of a compressed stream, its stored length.
  virtual std::uint64_t consumed() const = 0;
  // True once the compressed stream's end marker was decoded (always true for `none`).
  virtual bool finished() const = 0;
};

// Opens a stream of kind `c` (none, gzip, xz or zstd) over file bytes [start, file.size()).
// `max_output` caps the bytes the stream will produce (resource_exhausted past it);
// `decoder_memory` caps the xz dictionary and zstd window. `what` names it in messages.
Result<std::unique_ptr<SegmentStream>> open_segment_stream(const RandomAccessFile& file,
                                                           std::uint64_t start, Compression c,
                                                           std::uint64_t max_output,
                                                           std::uint64_t decoder_memory,
                                                           std::string what, std::stop_token stop);

}  // namespace vdisk::livecd::detail

#endif  // VDISK_LIVECD_INITRD_STREAMS_H_
