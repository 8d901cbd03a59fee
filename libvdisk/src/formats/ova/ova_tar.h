// Walking the tar archive of an OVA front to back (docs/ova.md, "Tar"): ustar, GNU and pax
// headers (tar/tar.h decodes the header block), GNU long names ('L') and pax records (path,
// size) applied to the member that follows. The same walker lists a file's members (data
// skipped by seeking) and reads a stream's members as they come.
#ifndef VDISK_OVA_OVA_TAR_H_
#define VDISK_OVA_OVA_TAR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::ova {

inline constexpr std::uint64_t kMaxLongNameBytes = 4096;
inline constexpr std::uint64_t kMaxPaxBytes = 64 * 1024;
// Bytes read and dropped after the end-of-archive blocks of a stream (record padding), so the
// writer of a pipe is not cut off; more are left unread.
inline constexpr std::uint64_t kMaxTrailingBytes = 1 << 20;

// Archive bytes read front to back.
class TarInput {
 public:
  virtual ~TarInput() = default;
  // Fills dst unless the archive ends first; returns the count.
  virtual Result<std::size_t> read(std::span<std::byte> dst) = 0;
  // Moves `n` bytes on; returns the count moved (fewer only at the end).
  virtual Result<std::uint64_t> skip(std::uint64_t n) = 0;
  virtual std::uint64_t position() const = 0;
  // The archive's size when known (a file), for checking stated sizes before reading.
  virtual std::optional<std::uint64_t> size() const = 0;
};
// Over a file the caller keeps alive; over a stream the caller keeps alive.
std::unique_ptr<TarInput> file_tar_input(const RandomAccessFile& file);
std::unique_ptr<TarInput> stream_tar_input(InputStream& in);

struct TarEntry {
  std::string name;  // leading "./" removed
  char type = '0';   // '0' for a regular file (also '\0' and '7')
  std::uint64_t header_offset = 0;
  std::uint64_t data_offset = 0;
  std::uint64_t size = 0;
  bool regular() const { return type == '0'; }
};

class TarWalker {
 public:
  // `archive` names the archive in messages.
  TarWalker(TarInput& in, std::string archive) : in_(in), archive_(std::move(archive)) {}

  // The next member, positioned at its data (the unread rest of the previous member and its
  // padding are skipped first); nullopt at the end of the archive (two zero blocks, or the end
  // of the input at a header boundary). corrupt for a bad checksum, a malformed number, a size
  // that runs past the end of a file, a long name or pax record out of bounds.
  Result<std::optional<TarEntry>> next();
  // Reads up to dst.size() bytes of the current member's data; 0 at its end. corrupt when the
  // archive ends before the member's stated size.
  Result<std::size_t> read_data(std::span<std::byte> dst);
  // The whole current member (at most `cap` bytes, resource_exhausted beyond).
  Result<std::string> read_all(std::uint64_t cap, std::string_view what);
  std::uint64_t data_left() const { return left_; }
  const TarEntry& current() const { return entry_; }
  // After next() returned nullopt: drops up to kMaxTrailingBytes of what follows.
  Status drain_trailer();

 private:
  Status skip_rest();
  Result<std::string> read_meta(std::uint64_t size, std::uint64_t cap, std::string_view what);
  Status apply_pax(std::string_view records, std::uint64_t offset);

  TarInput& in_;
  std::string archive_;
  TarEntry entry_;
  std::uint64_t left_ = 0;     // data bytes of the current member not read yet
  std::uint64_t padding_ = 0;  // then its padding to the next block
  std::optional<std::string> long_name_;
  std::optional<std::uint64_t> pax_size_;
  bool ended_ = false;
};

}  // namespace vdisk::ova

#endif  // VDISK_OVA_OVA_TAR_H_
