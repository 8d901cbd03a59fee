// The tar walk under `check --for gcp` (formats/gcp/gcp_check.cpp): a push parser over the
// uncompressed archive that records every member, checks headers and the sparse map, and hashes
// disk.raw's content where it belongs in the file (holes expanded); and the inflate loop that
// feeds it from the gzip file. The boot check (gcp_boot_check.cpp) walks the same stream again
// to capture the few ranges of disk.raw the boot facts read.
//
// Hostile input: one block buffer, a bounded sparse map (kMaxMapEntries), bounded extension
// headers (kMaxExtensionBytes); the file is read in fixed chunks.
#ifndef VDISK_FORMATS_GCP_GCP_TAR_WALK_H_
#define VDISK_FORMATS_GCP_GCP_TAR_WALK_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/checked.h"
#include "checksum/sha256.h"
#include "tar/tar.h"
#include "vdisk/io.h"

namespace vdisk::gcp::walk {

constexpr std::size_t kMaxMapEntries = 1u << 22;
constexpr std::uint64_t kMaxHashBytes = 64 * detail::kTiB;
constexpr std::size_t kChunk = 1u << 20;
// Bytes of a GNU long name or pax extended header kept to learn the next entry's name.
constexpr std::size_t kMaxExtensionBytes = 1u << 20;

// Headers that only describe the entry after them (GNU long name / long link, POSIX.1-2001 pax
// extended header): not members of their own. A pax global header ('g') describes no one entry
// and is returned as an entry by readers such as Go's archive/tar, so it counts as a member.
inline bool is_extension(char typeflag) {
  return typeflag == 'L' || typeflag == 'K' || typeflag == 'x';
}

// The "path" record of a pax extended header ("<length> path=<name>\n" records), if any.
inline std::optional<std::string> pax_path(std::string_view data) {
  std::optional<std::string> path;
  while (!data.empty()) {
    const std::size_t sp = data.find(' ');
    std::size_t len = 0;
    if (sp == std::string_view::npos || sp == 0 || sp > 18) break;  // no overflow
    for (char c : data.substr(0, sp)) {
      if (c < '0' || c > '9') return path;
      len = len * 10 + static_cast<std::size_t>(c - '0');
    }
    if (len <= sp + 1 || len > data.size() || data[len - 1] != '\n') break;
    const std::string_view rec = data.substr(sp + 1, len - sp - 2);
    if (rec.starts_with("path=")) path = std::string(rec.substr(5));
    data.remove_prefix(len);
  }
  return path;
}

inline std::string_view type_name(char t) {
  switch (t) {
    case '0':
    case '\0':
    case '7':
    case 'S':
      return "";  // regular files
    case '1':
      return "hard link";
    case '2':
      return "symbolic link";
    case '3':
      return "character device";
    case '4':
      return "block device";
    case '5':
      return "directory";
    case '6':
      return "FIFO";
    case 'D':
      return "GNU dump directory";
    case 'V':
      return "GNU volume label";
    case 'M':
      return "GNU multivolume continuation";
    case 'g':
      return "pax global header";
    case 'x':
      return "pax extended header with no entry after it";
    case 'L':
      return "GNU long name with no entry after it";
    case 'K':
      return "GNU long link name with no entry after it";
    default:
      return "other type";
  }
}

struct Member {
  std::string name;  // as the entry's extension headers set it, else the header's name field
  char typeflag = 0;
  std::uint64_t size = 0;       // stored bytes
  std::uint64_t real_size = 0;  // file size
  std::vector<SparseRegion> map;
};

// A push parser over the uncompressed tar stream.
class TarWalker {
 public:
  void feed(std::span<const std::byte> data) {
    while (!data.empty() && error_.ok()) {
      if (state_ == State::data) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), left_));
        consume_data(data.first(n));
        data = data.subspan(n);
        left_ -= n;
        pos_ += n;
        if (left_ == 0) end_member();
        continue;
      }
      const std::size_t n = std::min(data.size(), kTarBlock - have_);
      std::copy_n(data.begin(), n, block_.begin() + static_cast<std::ptrdiff_t>(have_));
      have_ += n;
      data = data.subspan(n);
      if (have_ == kTarBlock) {
        have_ = 0;
        on_block();
        pos_ += kTarBlock;
      }
    }
  }

  // Extension headers left with no entry after them become entries of their own.
  void finish() {
    for (auto& e : pending_) members.push_back(std::move(e.header));
    pending_.clear();
  }

  // Results.
  Status error_;
  std::vector<Member> members;  // entries, extension headers folded into the entry they describe
  std::size_t headers = 0;      // header blocks, extension headers included
  std::size_t bad_checksums = 0;
  std::size_t non_gnu_magic = 0;
  std::size_t zero_blocks_at_end = 0;
  bool trailing_garbage = false;
  bool ended = false;            // saw the end-of-archive zero blocks
  Status map_status;             // disk.raw's sparse map
  std::uint64_t disk_bytes = 0;  // disk.raw content bytes hashed
  bool hashing = false;
  bool hash_skipped = false;
  std::uint64_t max_hash_bytes = kMaxHashBytes;
  checksum::Sha256 sha;
  bool compute_sha = true;  // false: only walk (the boot check's capture passes)
  // Called with disk.raw's data bytes and their offset in the disk (holes are not passed).
  std::function<void(std::uint64_t offset, std::span<const std::byte> data)> on_disk_data;

  bool mid_member() const { return state_ != State::header && state_ != State::end; }

 private:
  enum class State { header, extension, data, end };

  void on_block() {
    std::span<const std::byte> b(block_.data(), kTarBlock);
    switch (state_) {
      case State::end:
        if (is_zero_block(b))
          ++zero_blocks_at_end;
        else
          trailing_garbage = true;
        return;
      case State::extension: {
        auto more = decode_sparse_extension(b, pos_, cur_.map, kMaxMapEntries);
        if (!more.ok()) {
          error_ = more.status();
          return;
        }
        if (!*more) start_data();
        return;
      }
      case State::header:
        break;
      case State::data:
        return;
    }
    if (is_zero_block(b)) {
      state_ = State::end;
      ended = true;
      zero_blocks_at_end = 1;
      finish();
      return;
    }
    auto h = decode_header(b, pos_);
    if (!h.ok()) {
      error_ = h.status();
      return;
    }
    ++headers;
    if (!h->checksum_ok) ++bad_checksums;
    if (h->magic != TarMagic::gnu) ++non_gnu_magic;
    cur_ = Member{h->name, h->typeflag, h->size, h->typeflag == 'S' ? h->real_size : h->size,
                  std::move(h->map)};
    if (!is_extension(h->typeflag)) {
      // The name the entry's extension headers give it: pax "path" wins over a GNU long name.
      for (const auto& e : pending_)
        if (e.header.typeflag == 'L' && !e.data.empty())
          cur_.name = e.data.substr(0, e.data.find('\0'));
      for (const auto& e : pending_)
        if (e.header.typeflag == 'x')
          if (auto p = pax_path(e.data)) cur_.name = *p;
      pending_.clear();
    }
    if (h->typeflag == 'S' && h->is_extended) {
      state_ = State::extension;
      return;
    }
    start_data();
  }

  void start_data() {
    hashing = false;
    if (!is_extension(cur_.typeflag) && cur_.name == "disk.raw" && disk_members_++ == 0) {
      if (cur_.typeflag == 'S')
        map_status = validate_sparse_map(cur_.map, cur_.real_size, cur_.size);
      hash_skipped = cur_.real_size > max_hash_bytes;
      hashing = (cur_.typeflag == '0' || cur_.typeflag == '\0' ||
                 (cur_.typeflag == 'S' && map_status.ok())) &&
                !hash_skipped;
    }
    region_ = 0;
    region_left_ = 0;
    sparse_pos_ = 0;
    auto padded = detail::round_up(cur_.size, kTarBlock);
    if (!padded) {
      error_ = corrupt_at("tar", "header size", pos_, "size overflows");
      return;
    }
    left_ = *padded;
    stored_seen_ = 0;
    if (left_ == 0)
      end_member();
    else
      state_ = State::data;
  }

  // Member bytes: for disk.raw, hash them where they belong in the file.
  void consume_data(std::span<const std::byte> d) {
    if (is_extension(cur_.typeflag)) {
      const std::uint64_t want = std::min<std::uint64_t>(cur_.size, kMaxExtensionBytes);
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(want > stored_seen_ ? want - stored_seen_ : 0, d.size()));
      ext_data_.append(reinterpret_cast<const char*>(d.data()), n);
      stored_seen_ += d.size();
      return;
    }
    if (!hashing) return;
    if (cur_.typeflag != 'S') {
      const std::uint64_t want = cur_.size > stored_seen_ ? cur_.size - stored_seen_ : 0;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(want, d.size()));
      content(d.first(n));
      disk_bytes += n;
      stored_seen_ += d.size();
      return;
    }
    // Sparse: regions in map order, each padded to whole blocks in the stream.
    while (!d.empty()) {
      if (region_left_ == 0) {
        if (region_ + 1 >= cur_.map.size()) return;  // only the terminator remains: padding
        const SparseRegion& r = cur_.map[region_];
        if (compute_sha) sha.update_zeros(r.offset - sparse_pos_);
        disk_bytes += r.offset - sparse_pos_;
        sparse_pos_ = r.offset;
        region_left_ = *detail::round_up(r.length, kTarBlock);
        region_data_ = r.length;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(region_left_, d.size()));
      const auto real = static_cast<std::size_t>(std::min<std::uint64_t>(region_data_, n));
      content(d.first(real));
      disk_bytes += real;
      sparse_pos_ += real;
      region_data_ -= real;
      region_left_ -= n;
      d = d.subspan(n);
      if (region_left_ == 0) ++region_;
    }
  }

  // disk.raw bytes at disk offset disk_bytes.
  void content(std::span<const std::byte> d) {
    if (compute_sha) sha.update(d);
    if (on_disk_data && !d.empty()) on_disk_data(disk_bytes, d);
  }

  void end_member() {
    if (hashing) {
      if (cur_.typeflag == 'S') {
        if (compute_sha) sha.update_zeros(cur_.real_size - sparse_pos_);
        disk_bytes += cur_.real_size - sparse_pos_;
      }
      hashing = false;
      hashed_member_ = true;
    }
    if (is_extension(cur_.typeflag)) {
      pending_.push_back({std::move(cur_), std::move(ext_data_)});
      ext_data_.clear();
    } else {
      members.push_back(std::move(cur_));
    }
    cur_ = {};
    state_ = State::header;
  }

  struct Extension {
    Member header;
    std::string data;  // its first kMaxExtensionBytes bytes
  };

  State state_ = State::header;
  std::array<std::byte, kTarBlock> block_{};
  std::size_t have_ = 0;
  std::uint64_t pos_ = 0;
  std::uint64_t left_ = 0;
  std::uint64_t stored_seen_ = 0;
  Member cur_;
  std::string ext_data_;            // data of the extension header being read
  std::vector<Extension> pending_;  // extension headers waiting for their entry
  std::size_t disk_members_ = 0;
  std::size_t region_ = 0;
  std::uint64_t region_left_ = 0, region_data_ = 0, sparse_pos_ = 0;
  bool hashed_member_ = false;

 public:
  bool hashed() const { return hashed_member_; }
};

// What one pass of inflate over the gzip member gave.
struct InflateResult {
  bool complete = false;         // the deflate stream ended (Z_STREAM_END)
  bool stopped = false;          // `keep_going` said stop
  std::string error;             // the inflate error or the read that failed, when not complete
  std::uint64_t total = 0;       // uncompressed bytes
  std::uint32_t crc = 0;         // CRC-32 of them
  std::uint64_t trailer_at = 0;  // file offset after the deflate stream
};

// Inflates the raw deflate stream that starts at `header_bytes` of `file`, feeding `tar` in
// chunks, until the stream ends, an error, the tar walk fails, or `keep_going` (when set) returns
// false after a chunk. An error Status only for a read error or zlib's initialisation.
Result<InflateResult> inflate_into(const RandomAccessFile& file, std::uint64_t header_bytes,
                                   TarWalker& tar, const std::function<bool()>& keep_going = {});

}  // namespace vdisk::gcp::walk

#endif  // VDISK_FORMATS_GCP_GCP_TAR_WALK_H_
