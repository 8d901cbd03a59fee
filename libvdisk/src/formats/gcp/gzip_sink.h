// A parallel gzip compressor that writes ONE gzip member (RFC 1952), pigz-style.
//
// The uncompressed stream is cut into blocks of `block_bytes`. Each block is deflated on its own
// (raw deflate) with the previous 32 KiB of the stream as preset dictionary and ends with a sync
// flush, so the compressed blocks concatenate into one valid deflate stream; the last block ends
// with Z_FINISH. Per-block CRC-32s are combined in order. Long zero runs passed to write_zeroes()
// are not compressed at all: they become copies of a precomputed deflate segment for 1 MiB of zeros
// (self-contained, byte-aligned), ~1 KB of output per MiB, and the CRC is extended over them
// arithmetically (deflate blocks: RFC 1951 §3.2.3; why one member: docs/cloud.md, "GCP image
// tarballs" rule 5).
//
// Engines (codec/codec.h): the gzip level (0..9) picks a point on the speed/size curve, not
// zlib's level of the same number. Measured on 512 MiB of /usr binaries and on a 64 MiB sample
// of the benchmark disk (bench/RESULTS.md, "GCP tarball"; sizes relative to `gzip -6` / `gzip -9`
// of the same bytes, speed per core):
//   level | engine          | size                    | speed
//   0     | zlib 0          | stored                  |
//   1..3  | ISA-L 1-3       | +14% .. +11% vs gzip -6 | 250-430 MiB/s  (zlib 1 without ISA-L;
//         |                 |                         |  level 2 is vdconvert's gcp default)
//   4     | zlib 2          |                         |
//   5     | zlib 3          |                         |
//   6     | zlib 4          | +3.4% vs gzip -6        | ~50 MiB/s
//   7     | libdeflate 9    | -0.7% vs gzip -9        | ~14 MiB/s      (zlib 6 without libdeflate)
//   8     | libdeflate 10   | -3.1% vs gzip -9        | ~8 MiB/s       (zlib 8 without libdeflate)
//   9     | libdeflate 12   | -3.2% vs gzip -9        | ~5.5 MiB/s     (zlib 9 without libdeflate)
// On a whole disk (file data plus incompressible data and metadata, bench/compare_all.py) ISA-L
// 2 stays within 8% of `pigz -6` at several times zlib 4's speed, so the GCP default
// (kDefaultGcpLevel, vdisk/image.h) is level 2: the archive is uploaded once, and minutes of
// compression cost more than a few percent of size. Level 6 (zlib 4) is one flag away.
// libdeflate cannot be primed with the previous 32 KiB, so its blocks are independent (they
// cost ~0.1% at 1 MiB); zlib 9 alone ends up level with gzip -9, not below it.
//
// Determinism: the output depends only on the sequence of write()/write_zeroes() calls and on
// level and block_bytes, never on `threads` or timing.
//
// Threads: the sink owns `threads` worker threads (an ordered job pool, pipeline/ordered_jobs.h).
// Its ByteSink methods must be called from one thread at a time; that thread also writes the
// compressed blocks to `out`, strictly in order.
// At most 2 * threads + 2 blocks are in flight, so memory stays bounded (lent blocks count too;
// their bytes are the lender's).
#ifndef VDISK_GCP_GZIP_SINK_H_
#define VDISK_GCP_GZIP_SINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "codec/codec.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::gcp {

struct GzipOptions {
  int level = 6;                       // 0 (stored) .. 9
  unsigned threads = 0;                // 0 = hardware concurrency; at most 256
  std::size_t block_bytes = 1u << 20;  // 64 KiB .. 64 MiB
};

class GzipSink : public ByteSink {
 public:
  // position() counts uncompressed bytes; this counts bytes written to the underlying sink.
  virtual std::uint64_t compressed_bytes() const = 0;
  // CRC-32 of the uncompressed bytes compressed so far (complete after finish()).
  virtual std::uint32_t crc32() const = 0;
  // write(data), with `keep` holding the bytes alive (BlockSink::write_lent, vdisk/block.h):
  // the whole blocks inside `data` are deflated in place by the workers, which drop `keep` when
  // done. The output is byte for byte what write(data) gives. A null `keep` is a plain write().
  virtual Status write_lent(std::span<const std::byte> data, std::shared_ptr<const void> keep) = 0;
};

struct GzipEngine {
  codec::Engine engine;
  int level;
};
// The engine and engine level used for gzip `level` (0..9) in this build.
GzipEngine gzip_engine(int level) noexcept;

// Wraps `out`; finish() writes the last block and the trailer, then finishes `out`. Destroying
// the sink unfinished discards `out` (its own contract). invalid_argument for bad options.
Result<std::unique_ptr<GzipSink>> make_gzip_sink(std::unique_ptr<ByteSink> out,
                                                 const GzipOptions& options);

// CRC-32 (IEEE, zlib's) of `length` zero bytes following a stream whose CRC is `crc`.
std::uint32_t crc32_extend_zeros(std::uint32_t crc, std::uint64_t length);

}  // namespace vdisk::gcp

#endif  // VDISK_GCP_GZIP_SINK_H_
