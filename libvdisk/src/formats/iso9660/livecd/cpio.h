// Streaming cpio reader for initrds (docs/livecd.md §8): walks the headers of "newc" (070701),
// "crc" (070702) and "odc" (070707) archives over a forward-only byte stream and skips file data,
// so an archive of any size is read with a fixed amount of memory.
//
// Layout (cpio(5), the kernel's Documentation/driver-api/early-userspace/buffer-format.rst):
// - newc/crc: "07070X", 13 fields of 8 ASCII hex digits (ino, mode, uid, gid, nlink, mtime,
//   filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check); then the name (namesize
//   bytes, NUL included), padded so the data starts on a 4-byte boundary; then the data, padded
//   to a 4-byte boundary. Alignment counts from the start of the stream (as the kernel does).
// - odc: "070707", fields in octal (dev 6, ino 6, mode 6, uid 6, gid 6, nlink 6, rdev 6, mtime
//   11, namesize 6, filesize 11): 76 bytes, no padding.
// - An archive ends with the entry "TRAILER!!!"; writers pad after it with zero bytes.
//
// Hostile input: every field is checked (digits, name length, NUL terminator); the entry count
// and name length are capped (resource_exhausted); a stream that ends inside a header, a name or
// data is corrupt. Nothing here allocates more than the name cap plus one read buffer.
#ifndef VDISK_LIVECD_CPIO_H_
#define VDISK_LIVECD_CPIO_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::livecd::detail {

// A forward-only stream of bytes.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to dst.size() bytes; returns the count, 0 only at the end of the stream.
  virtual Result<std::size_t> read(std::span<std::byte> dst) = 0;
  // Skips up to n bytes; returns how many were skipped (fewer only at the end). The default
  // reads and discards.
  virtual Result<std::uint64_t> skip(std::uint64_t n);
};

// A read buffer over a ByteStream that counts the bytes handed out (the stream position).
class BufferedStream {
 public:
  BufferedStream(ByteStream& in, std::uint64_t start_position);
  // Bytes consumed through this object, plus the start position.
  std::uint64_t position() const { return position_; }
  // Fills dst completely; false (and position unspecified) when the stream ends first.
  Result<bool> read_exact(std::span<std::byte> dst);
  // Skips exactly n bytes; false when the stream ends first.
  Result<bool> skip(std::uint64_t n);
  // Skips zero bytes; returns true when a non-zero byte follows (left unread), false at the end.
  // At most `limit` zero bytes are skipped; beyond that resource_exhausted.
  Result<bool> skip_zeros(std::uint64_t limit);
  // True when at least one more byte can be read.
  Result<bool> more();

 private:
  Status fill();
  ByteStream& in_;
  std::vector<std::byte> buf_;
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t position_ = 0;
};

enum class CpioFormat : std::uint8_t { newc, crc, odc };
std::string_view cpio_format_name(CpioFormat f) noexcept;

struct CpioEntry {
  CpioFormat format = CpioFormat::newc;
  std::string name;  // as stored (may start with "./" or "/")
  std::uint32_t mode = 0;
  std::uint64_t size = 0;           // data bytes
  std::uint64_t header_offset = 0;  // stream position of the magic
};

struct CpioLimits {
  std::uint64_t max_entries = 1000000;        // over everything walked with one budget
  std::uint32_t max_name_length = 4096;       // namesize, NUL included (PATH_MAX)
  std::uint64_t max_zero_padding = 1u << 20;  // zero bytes between two archives
};

struct CpioVisitor {
  // Called for every entry but the trailers. Returns true to receive the data through
  // on_data (in chunks), false to skip it.
  std::function<Result<bool>(const CpioEntry&)> on_entry;
  std::function<Status(std::span<const std::byte>)> on_data;
};

struct CpioWalk {
  std::uint64_t entries = 0;   // entries visited (trailers not counted)
  std::uint64_t archives = 0;  // trailers seen
  bool any_odc = false;
  bool any_newc = false;  // newc or crc
};

// Walks archives from the stream's position.
// - single_archive: reads one archive up to and including its TRAILER!!! entry and returns with
//   the stream positioned just after it (newc: after its 4-byte padding). The stream must start
//   with a cpio magic.
// - otherwise: archives and zero padding up to the end of the stream (a decompressed initrd
//   part); the stream may end after any trailer or padding, else it is corrupt.
// `budget` is the number of entries still allowed; it is decreased. `what` names the stream in
// messages ("initrd.img: gzip stream at offset 1024").
Result<CpioWalk> walk_cpio(BufferedStream& in, bool single_archive, const CpioLimits& limits,
                           std::uint64_t& budget, const CpioVisitor& visitor,
                           std::string_view what);

// True when the bytes start with a cpio magic ("070701", "070702" or "070707").
bool is_cpio_magic(std::span<const std::byte> head);

}  // namespace vdisk::livecd::detail

#endif  // VDISK_LIVECD_CPIO_H_
