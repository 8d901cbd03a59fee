// The block model: virtual disks opened for reading (BlockSource, StreamSource) and disk images
// being written (BlockSink).
//
// A conversion is `copy(source, sink)` (pipeline.h): the source says which ranges hold data
// (map), the pipeline reads and zero-scans those in parallel, and the sink receives the whole
// virtual disk as data and zero runs in strictly increasing offset order. A stream source says
// the same with next(): data runs and zero runs, front to back.
#ifndef VDISK_BLOCK_H_
#define VDISK_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vdisk/extent.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk {

// A virtual disk with random access. All methods are safe to call concurrently.
class BlockSource {
 public:
  virtual ~BlockSource() = default;

  // Virtual size in bytes.
  virtual std::uint64_t size() const = 0;

  // Reads virtual-disk bytes [offset, offset + dst.size()), which must lie inside size()
  // (out_of_range otherwise). Unallocated and zeroed ranges read as zeros. Thread-safe.
  virtual Status read(std::uint64_t offset, std::span<std::byte> dst) const = 0;

  // Appends extents covering exactly [offset, offset + length) to `out`, in order. A driver
  // reports what its metadata knows without reading data; `data` extents may still hold zeros.
  // Called window by window (the pipeline asks for at most PipelineOptions::map_window_bytes at
  // a time), so drivers need not materialise a map of the whole disk. The default reports one
  // data extent. Thread-safe.
  virtual Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const;

  // Short format name: "raw", "vhd", "vmdk", "iso9660", ...
  virtual std::string_view format() const = 0;

  // Adds format-specific facts (subformat, geometry, chain, ...) for `vdconvert info`. The
  // caller has already added the format name and virtual size.
  virtual void describe(Properties& out) const;
};

// What StreamSource::next() found at the stream's current position.
struct StreamRun {
  enum class Kind : std::uint8_t {
    data,  // `length` bytes (1..dst.size()) of the disk were stored at the start of dst
    zero,  // the next `length` bytes (>= 1) of the disk read as zero; dst was not touched
    end,   // the whole disk has been returned; `length` is 0
  };
  Kind kind = Kind::end;
  std::uint64_t length = 0;
};

// A piece of a disk as a stream stores it, handed out in stream order by PlacedStream.
struct PlacedPiece {
  std::uint64_t offset = 0;         // virtual-disk offset of the piece's first byte
  std::uint64_t length = 0;         // virtual-disk bytes it covers; 0 = the stream has ended
  std::vector<std::byte> stored;    // the bytes as stored (compressed); decode() expands them
  std::uint64_t stream_offset = 0;  // where the piece starts in the stream, for messages
};

// The out-of-order view of a stream whose format places each piece by offset (a streamOptimized
// VMDK's grain markers carry their LBA). Reading the pieces as they come needs no reorder
// window: a caller whose output can write anywhere (BlockSink::can_write_at()) places them as
// they arrive, expands them on worker threads, and leaves the ranges no piece covers as zeros.
class PlacedStream {
 public:
  virtual ~PlacedStream() = default;

  // Reads the stream up to its next piece and returns it. Pieces lie inside the disk, never
  // overlap (a format that finds a second piece for the same range returns corrupt) and may come
  // in any order; bytes that no piece covers read as zero. Returns a piece of length 0 once the
  // stream has ended and has been checked complete (pieces listed up front that never came, a
  // footer that disagrees: errors only the end can show). Called from one thread.
  virtual Result<PlacedPiece> next_piece() = 0;

  // Expands piece.stored into exactly piece.length bytes in `out` (out.size() == piece.length);
  // corrupt when the stored bytes do not expand to that. Thread-safe: called from several
  // threads at once, concurrently with next_piece().
  virtual Status decode(const PlacedPiece& piece, std::span<std::byte> out) const = 0;
};

// A virtual disk read front to back from a stream (stdin). Used from one thread.
//
// Two ways to consume it, which may be mixed call by call (both advance the same position):
// read() returns every byte, zeros included; next() lets a source that knows where the disk
// holds nothing (a streamOptimized VMDK's unallocated grains) report those ranges as zero runs
// without materialising them, so the copy pipeline hands them to BlockSink::write_zeroes() and
// sparse outputs stay sparse without scanning. A zero run says "reads as zero"; data runs may
// still hold zeros (the pipeline zero-scans them as before).
class StreamSource {
 public:
  virtual ~StreamSource() = default;

  // Virtual size when the format states it up front; nullopt for a raw stream, whose size is
  // known only at its end.
  virtual std::optional<std::uint64_t> size() const = 0;

  // Fills dst with the next bytes of the virtual disk. Returns dst.size(), fewer only at the end
  // of the disk, and 0 once the whole disk has been returned. A stream that ends before its
  // stated size returns corrupt.
  virtual Result<std::size_t> read(std::span<std::byte> dst) = 0;

  // Returns the next run of the disk: data stored in dst, a zero run, or the end. `dst` must not
  // be empty. A zero run may be of any length up to the rest of the disk (it costs no memory);
  // successive runs need not alternate. Errors as for read(). The default calls read(dst) and
  // returns what it read as data, for sources that cannot tell zeros from data.
  virtual Result<StreamRun> next(std::span<std::byte> dst);

  virtual std::string_view format() const = 0;

  // The out-of-order view of this stream (see PlacedStream), or nullptr when the format stores
  // the disk in order. Only sources that state their size() offer it. A caller uses either
  // placed() or read()/next() on one source, never both; the object stays owned by the source.
  virtual PlacedStream* placed() { return nullptr; }
};

// A disk image being written.
//
// Contract: the calls cover the virtual disk [0, N) exactly once, in strictly increasing,
// contiguous offset order; N is the virtual size of the written image. A sink never pads: a
// target whose disk must be a whole MiB or GiB (azure, gcp) gets the padded disk from the padded
// view, so its N already includes the padding (contract/target_driver.h, docs/targets.md
// "Padding lives in the view"). write() and write_zeroes() are called from one
// thread at a time. finish() writes trailers (footer, end-of-archive) and commits the
// underlying ByteSink. After any error the sink must not be finished; destroying an unfinished
// sink discards the output.
//
// Positional mode (optional, for stream pieces that arrive out of order). A sink whose
// can_write_at() is true may instead be given the disk as write_at() calls in any order and
// from several threads at once, each byte at most once; then extend_to(N) (one thread, after
// every write_at() has returned) ends the disk at N bytes, every byte no write_at() covered
// reading as zero; then finish() as above. A sink is used in one mode only. Outputs that place
// the disk linearly in a fresh regular file offer it (raw, fixed VHD, Azure: the disk at file
// offset = disk offset, trailers after it); archives and streams (gcp, stdout) do not.
class BlockSink {
 public:
  virtual ~BlockSink() = default;
  virtual Status write(std::uint64_t offset, std::span<const std::byte> data) = 0;
  virtual Status write_zeroes(std::uint64_t offset, std::uint64_t length) = 0;
  virtual Status finish() = 0;

  // Lent data (optional, saves a copy). The same as write(offset, data), except that the caller
  // also hands over `keep`, which holds the bytes of `data` alive and unchanged for as long as
  // any copy of it exists: a sink that would otherwise copy the bytes to work on them later (a
  // compressor with worker threads) may keep `keep` and read `data` after returning, dropping
  // `keep` when done with it, from any thread. The pipeline lends its chunk buffers this way and
  // reuses a buffer only once every copy of its `keep` is gone, so a sink that holds many copies
  // stalls the copy (memory stays bounded), and one must drop them without waiting for later
  // calls (the copy waits for it). The default calls write(offset, data). A sink may
  // cut its output differently for lent data (a compressor's blocks follow the lent runs), so
  // its bytes depend on which calls it gets, as they do on the order of calls.
  virtual Status write_lent(std::uint64_t offset, std::span<const std::byte> data,
                            std::shared_ptr<const void> keep);

  // Positional mode; the defaults say "not offered" and return unsupported.
  virtual bool can_write_at() const { return false; }
  virtual Status write_at(std::uint64_t offset, std::span<const std::byte> data);
  virtual Status extend_to(std::uint64_t size);
};

}  // namespace vdisk

#endif  // VDISK_BLOCK_H_
