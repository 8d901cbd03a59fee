// `vdconvert check --for gcp`: decompress and walk the whole archive, report every rule GCP
// applies to an image tarball (docs/cloud.md, "GCP image tarballs") and the SHA-256 of disk.raw's
// content (holes expanded), comparable with `sha256sum` of the padded source disk.
//
// Hostile input: the file is read in fixed chunks, the tar walk keeps one block buffer, the
// sparse map is bounded (kMaxMapEntries), and content hashing is skipped above kMaxHashBytes so
// a forged realsize cannot make the check run for days.
#include <zlib.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "checksum/sha256.h"
#include "codec/codec.h"
#include "contract/check_rules.h"
#include "formats/gcp/gcp.h"
#include "tar/tar.h"
#include "base/checked.h"

namespace vdisk::gcp {
namespace {

constexpr std::size_t kMaxMapEntries = 1u << 22;
constexpr std::uint64_t kMaxHashBytes = 64 * detail::kTiB;
constexpr std::size_t kChunk = 1u << 20;
// Bytes of a GNU long name or pax extended header kept to learn the next entry's name.
constexpr std::size_t kMaxExtensionBytes = 1u << 20;

// Headers that only describe the entry after them (GNU long name / long link, POSIX.1-2001 pax
// extended header): not members of their own. A pax global header ('g') describes no one entry
// and is returned as an entry by readers such as Go's archive/tar, so it counts as a member.
bool is_extension(char typeflag) { return typeflag == 'L' || typeflag == 'K' || typeflag == 'x'; }

// The "path" record of a pax extended header ("<length> path=<name>\n" records), if any.
std::optional<std::string> pax_path(std::string_view data) {
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

std::string_view type_name(char t) {
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
      sha.update(d.first(n));
      disk_bytes += n;
      stored_seen_ += d.size();
      return;
    }
    // Sparse: regions in map order, each padded to whole blocks in the stream.
    while (!d.empty()) {
      if (region_left_ == 0) {
        if (region_ + 1 >= cur_.map.size()) return;  // only the terminator remains: padding
        const SparseRegion& r = cur_.map[region_];
        sha.update_zeros(r.offset - sparse_pos_);
        disk_bytes += r.offset - sparse_pos_;
        sparse_pos_ = r.offset;
        region_left_ = *detail::round_up(r.length, kTarBlock);
        region_data_ = r.length;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(region_left_, d.size()));
      const auto real = static_cast<std::size_t>(std::min<std::uint64_t>(region_data_, n));
      sha.update(d.first(real));
      disk_bytes += real;
      sparse_pos_ += real;
      region_data_ -= real;
      region_left_ -= n;
      d = d.subspan(n);
      if (region_left_ == 0) ++region_;
    }
  }

  void end_member() {
    if (hashing) {
      if (cur_.typeflag == 'S') {
        sha.update_zeros(cur_.real_size - sparse_pos_);
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

}  // namespace

std::size_t gzip_header_length(std::span<const std::byte> b) {
  auto at = [&](std::size_t i) { return static_cast<std::uint8_t>(b[i]); };
  if (b.size() < 10 || at(0) != 0x1f || at(1) != 0x8b || at(2) != 8) return 0;
  const std::uint8_t flags = at(3);
  if (flags & 0xe0) return 0;
  std::size_t p = 10;
  if (flags & 4) {  // FEXTRA
    if (p + 2 > b.size()) return 0;
    p += 2 + (std::size_t{at(p)} | (std::size_t{at(p + 1)} << 8));
  }
  for (std::uint8_t f : {std::uint8_t{8}, std::uint8_t{16}}) {  // FNAME, FCOMMENT
    if (!(flags & f)) continue;
    while (p < b.size() && at(p) != 0) ++p;
    ++p;
  }
  if (flags & 2) p += 2;  // FHCRC
  return p <= b.size() ? p : 0;
}

Result<CheckReport> check_gcp(const std::filesystem::path& path) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  auto report = check_gcp_file(*file, path.filename().string(), UINT64_MAX);
  if (report.ok()) report->path = path.string();
  return report;
}

Result<CheckReport> check_gcp_file(const RandomAccessFile& f, const std::string& name,
                                   std::uint64_t max_hash_bytes) {
  const RandomAccessFile* file = &f;
  CheckReport report;
  report.target = "gcp";
  report.path = f.name();
  auto add = [&report](std::string id, std::string rule, bool passed, std::string detail) {
    report.items.push_back({std::move(rule), passed, std::move(detail)});
    report.items.back().id = std::move(id);
  };
  add("gcp.file_name", "file name ends in .tar.gz", name.size() > 7 && name.ends_with(".tar.gz"),
      name);

  const std::uint64_t fsize = file->size();
  std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>(fsize, 64 * 1024)));
  VDISK_RETURN_IF_ERROR(file->read_at(0, head));
  const std::size_t hlen = gzip_header_length(head);
  add("gcp.gzip_header", "gzip header is valid (1f 8b, deflate)", hlen > 0,
      hlen > 0 ? fmt::format("{} header bytes", hlen) : "not a gzip member header");
  if (hlen == 0) return report;

  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return internal_error("gcp: inflateInit2 failed");
  TarWalker tar;
  tar.max_hash_bytes = std::min(max_hash_bytes, kMaxHashBytes);
  std::vector<std::byte> in(kChunk), out(kChunk);
  std::uint64_t next_in = hlen;  // file offset of the next compressed byte to read
  std::uint32_t crc = 0;
  std::uint64_t total = 0;
  int rc = Z_OK;
  std::string inflate_error;
  while (rc != Z_STREAM_END && tar.error_.ok()) {
    if (z.avail_in == 0) {
      if (next_in >= fsize) {
        inflate_error =
            fmt::format("compressed data ends at {} before the deflate stream does", fsize);
        break;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, fsize - next_in));
      Status s = file->read_at(next_in, std::span(in).first(n));
      if (!s.ok()) {
        inflateEnd(&z);
        return s;
      }
      next_in += n;
      z.next_in = reinterpret_cast<Bytef*>(in.data());
      z.avail_in = static_cast<uInt>(n);
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && z.avail_in == 0)) {
      inflate_error =
          fmt::format("inflate error {} ({}) after {} bytes out", rc, z.msg ? z.msg : "", total);
      break;
    }
    const std::size_t produced = out.size() - z.avail_out;
    crc = codec::crc32(crc, std::span(out).first(produced));
    total += produced;
    tar.feed(std::span(out).first(produced));
  }
  tar.finish();
  const std::uint64_t trailer_at = next_in - z.avail_in;
  inflateEnd(&z);
  const bool complete = rc == Z_STREAM_END;
  add("gcp.deflate_complete", "deflate stream decompresses completely", complete,
      complete                ? fmt::format("{} bytes of tar", total)
      : inflate_error.empty() ? tar.error_.message()
                              : inflate_error);
  if (complete) {
    std::array<std::byte, 8> trailer{};
    const bool have_trailer = trailer_at + 8 <= fsize && file->read_at(trailer_at, trailer).ok();
    auto le32 = [&](std::size_t i) {
      return std::uint32_t{static_cast<std::uint8_t>(trailer[i])} |
             (std::uint32_t{static_cast<std::uint8_t>(trailer[i + 1])} << 8) |
             (std::uint32_t{static_cast<std::uint8_t>(trailer[i + 2])} << 16) |
             (std::uint32_t{static_cast<std::uint8_t>(trailer[i + 3])} << 24);
    };
    add("gcp.gzip_crc32", "gzip CRC-32 matches the data", have_trailer && le32(0) == crc,
        have_trailer ? fmt::format("stored 0x{:08x}, computed 0x{:08x}", le32(0), crc)
                     : "trailer missing");
    add("gcp.gzip_isize", "gzip ISIZE matches the data length mod 2^32",
        have_trailer && le32(4) == static_cast<std::uint32_t>(total),
        have_trailer ? fmt::format("stored {}, data {} bytes", le32(4), total) : "trailer missing");
    const std::uint64_t after = have_trailer ? fsize - trailer_at - 8 : 0;
    add("gcp.single_member", "file is a single gzip member (nothing after the trailer)",
        have_trailer && after == 0, fmt::format("{} bytes follow the first member", after));
  }
  add("gcp.tar_parses", "tar stream parses", tar.error_.ok() && !tar.mid_member(),
      !tar.error_.ok() ? tar.error_.message()
                       : (tar.mid_member() ? "archive ends inside a member" : "ok"));
  add("gcp.tar_header_checksums", "every tar header checksum is valid",
      tar.bad_checksums == 0 && tar.headers > 0,
      fmt::format("{} of {} headers bad", tar.bad_checksums, tar.headers));
  add("gcp.tar_gnu_magic", "tar headers use GNU/OLDGNU magic \"ustar  \\0\"",
      tar.non_gnu_magic == 0 && tar.headers > 0,
      fmt::format("{} of {} headers have another magic", tar.non_gnu_magic, tar.headers));
  // GCP imports an archive holding disk.raw and nothing else (docs/cloud.md, "GCP image
  // tarballs" rule 1): any other entry
  // (file, directory, link, pax global header, an extension header with no entry after it)
  // fails. GNU long-name and pax extended headers belong to the entry they describe.
  std::vector<std::string> names;
  const Member* disk = nullptr;
  std::size_t disks = 0;
  for (const auto& m : tar.members) {
    const std::string_view kind = type_name(m.typeflag);
    names.push_back(kind.empty() || m.name == "disk.raw" ? m.name
                                                         : fmt::format("{} ({})", m.name, kind));
    if (m.name == "disk.raw" && disks++ == 0) disk = &m;
  }
  const std::size_t others = tar.members.size() - disks;
  std::string found = names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
  if (disks == 1 && others > 0)
    found += fmt::format("; {} {} besides disk.raw", others, others == 1 ? "entry" : "entries");
  add("gcp.one_disk_raw", "exactly one member named disk.raw", disks == 1 && others == 0,
      fmt::format("members: {}", found));
  add("gcp.tar_end_blocks", "archive ends with two zero blocks",
      tar.ended && tar.zero_blocks_at_end >= 2 && !tar.trailing_garbage,
      fmt::format("{} zero blocks{}", tar.zero_blocks_at_end,
                  tar.trailing_garbage ? ", then non-zero data" : ""));
  if (!disk) return report;
  const bool sparse = disk->typeflag == 'S';
  add("gcp.disk_raw_type", "disk.raw is a regular ('0') or GNU sparse ('S') file",
      sparse || disk->typeflag == '0' || disk->typeflag == '\0',
      fmt::format("typeflag '{}'", disk->typeflag ? disk->typeflag : ' '));
  add("gcp.disk_raw_whole_gib", "disk.raw size is a whole number of GiB",
      disk->real_size > 0 && disk->real_size % detail::kGiB == 0,
      fmt::format("{} bytes = {} GiB + {} bytes", disk->real_size, disk->real_size / detail::kGiB,
                  disk->real_size % detail::kGiB));
  if (sparse)
    add("gcp.sparse_map",
        "sparse map is sane (ordered, inside the size, terminated, sums to the stored size)",
        tar.map_status.ok(),
        tar.map_status.ok()
            ? fmt::format("{} regions, {} bytes stored", disk->map.size() - 1, disk->size)
            : tar.map_status.message());
  const bool hashed = tar.hashed() && tar.disk_bytes == disk->real_size;
  add("gcp.disk_content", "disk content read completely (sha256 in detail)", hashed,
      hashed ? fmt::format("sha256 {}", tar.sha.hex())
             : (tar.hash_skipped
                    ? fmt::format("not hashed: size above {} bytes", tar.max_hash_bytes)
                    : fmt::format("read {} of {} bytes", tar.disk_bytes, disk->real_size)));
  return report;
}

}  // namespace vdisk::gcp

namespace vdisk::detail {
namespace {
Result<CheckReport> run_gcp(const std::filesystem::path& p, std::string_view, const CheckOptions&) {
  return gcp::check_gcp(p);
}
}  // namespace

const CheckRuleSet& gcp_rules() {
  static const CheckRuleSet r{"gcp", "gcp-tarball", run_gcp};
  return r;
}
}  // namespace vdisk::detail
