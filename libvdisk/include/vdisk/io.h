// Byte-level I/O: random-access input files, forward-only input streams, and output sinks that
// commit atomically.
//
// Every format driver reads through RandomAccessFile or InputStream and writes through ByteSink,
// so tests and fuzzers can substitute memory-backed versions, and the few lines that talk to the
// operating system live in one place.
#ifndef VDISK_IO_H_
#define VDISK_IO_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/extent.h"
#include "vdisk/status.h"

namespace vdisk {

// A read-only file with a fixed size, read by offset. Implementations are safe for concurrent
// use by several threads (they hold no cursor).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;

  // Size in bytes. Constant for the life of the object.
  virtual std::uint64_t size() const = 0;

  // Reads exactly dst.size() bytes starting at `offset`. Returns out_of_range (nothing useful in
  // dst) when [offset, offset + dst.size()) does not lie inside the file, io_error when the
  // operating system fails. Never returns a short read. Thread-safe.
  virtual Status read_at(std::uint64_t offset, std::span<std::byte> dst) const = 0;

  // Appends the allocation map of [offset, offset + length) to `out` as data and unallocated
  // extents, in order, covering the whole range. The range must lie inside the file. The
  // default reports one data extent; regular files report holes (SEEK_DATA/SEEK_HOLE).
  virtual Status allocation(std::uint64_t offset, std::uint64_t length,
                            std::vector<Extent>& out) const;

  // The path or a description ("<memory>"), for messages.
  virtual const std::string& name() const = 0;
};

// Opens a regular file or block device for reading. not_found, io_error on failure.
Result<std::unique_ptr<RandomAccessFile>> open_file(const std::filesystem::path& path);

// A file over bytes the object owns. `name` is used in messages.
std::unique_ptr<RandomAccessFile> memory_file(std::vector<std::byte> bytes,
                                              std::string name = "<memory>");

// A file over bytes owned by the caller, which must outlive the returned object (fuzzers).
std::unique_ptr<RandomAccessFile> memory_view_file(std::span<const std::byte> bytes,
                                                   std::string name = "<memory>");

// A forward-only byte stream (stdin, a pipe). Used from one thread at a time.
class InputStream {
 public:
  virtual ~InputStream() = default;
  // Reads up to dst.size() bytes. Returns the count; 0 only at end of stream. io_error on
  // failure.
  virtual Result<std::size_t> read(std::span<std::byte> dst) = 0;
  virtual const std::string& name() const = 0;
};

// Fills `dst` completely unless the stream ends first; returns the number of bytes read.
Result<std::size_t> read_full(InputStream& in, std::span<std::byte> dst);

// A stream over a file descriptor the caller keeps open (0 for stdin).
std::unique_ptr<InputStream> fd_input_stream(int fd, std::string name);

// A stream that first returns `prefix` and then the bytes of `rest` (used after probing a
// stream's first bytes).
std::unique_ptr<InputStream> prefixed_stream(std::vector<std::byte> prefix,
                                             std::unique_ptr<InputStream> rest);

// A stream over memory (tests).
std::unique_ptr<InputStream> memory_stream(std::vector<std::byte> bytes,
                                           std::string name = "<memory>");

// Sequential output that commits on finish().
//
// Contract: write() and write_zeroes() append at position(). finish() makes the output
// durable and visible and may be called once; after an error the sink must not be finished.
// Destroying a sink that was not finished discards the output: a file sink removes its
// temporary file, so no partial output ever appears under the final name.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(std::span<const std::byte> data) = 0;
  // Appends `length` zero bytes. Seekable regular files get a hole instead of written zeros.
  virtual Status write_zeroes(std::uint64_t length) = 0;
  // Bytes appended so far.
  virtual std::uint64_t position() const = 0;
  virtual Status finish() = 0;

  // Positional writing (optional; BlockSink's positional mode rests on it). can_write_at() is
  // true for a fresh file (a temporary regular file, memory) where bytes never written read as
  // zero. write_at() writes `data` at `offset` without moving position(); calls may come from
  // several threads at once when their ranges do not overlap. extend_to(end) then moves
  // position() to `end` (>= position()), keeping what write_at() wrote below it: the bytes
  // nothing wrote become holes, or allocated zeros when the sink is not sparse. The defaults
  // return unsupported.
  virtual bool can_write_at() const { return false; }
  virtual Status write_at(std::uint64_t offset, std::span<const std::byte> data);
  virtual Status extend_to(std::uint64_t end);
};

struct FileSinkOptions {
  // Replace an existing regular file at the destination. Without it, an existing destination
  // is refused with already_exists (checked when creating and again, atomically, on finish).
  bool overwrite = false;
  // Leave holes for zero runs where the destination is a regular file.
  bool sparse = true;
  // fsync the file and its directory before reporting success.
  bool sync = true;
};

// Creates an output file. A regular-file destination is written to a temporary file in the same
// directory and renamed into place by finish(). An existing block device is written in place
// and requires `overwrite`; an existing character device (e.g. /dev/null) is written in place.
Result<std::unique_ptr<ByteSink>> create_file_sink(const std::filesystem::path& path,
                                                   const FileSinkOptions& options);

// The checks create_file_sink makes before it creates anything, on their own, so a caller can
// refuse a bad destination before it reads its input: `path` non-empty and not a directory; an
// existing file or block device only with options.overwrite; its directory present and
// writable. invalid_argument, already_exists, not_found or io_error naming the path.
Status check_output_path(const std::filesystem::path& path, const FileSinkOptions& options);

// A sink over a file descriptor the caller keeps open (1 for stdout). When the descriptor is a
// seekable regular file, zero runs become holes; otherwise zeros are written. finish() flushes.
std::unique_ptr<ByteSink> fd_sink(int fd, std::string name);

// A sink that appends to `*out` (tests, in-memory conversions). `out` must outlive the sink.
// Bytes are visible in *out as they are written; finish() only marks the sink finished.
std::unique_ptr<ByteSink> memory_sink(std::vector<std::byte>* out);

// True when both paths name the same existing file (same device and inode).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace vdisk

#endif  // VDISK_IO_H_
