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

#include "base/checked.h"
#include "checksum/sha256.h"
#include "codec/codec.h"
#include "contract/check_rules.h"
#include "formats/gcp/gcp.h"
#include "formats/gcp/gcp_tar_walk.h"
#include "tar/tar.h"

namespace vdisk::gcp {
namespace walk {

Result<InflateResult> inflate_into(const RandomAccessFile& file, std::uint64_t header_bytes,
                                   TarWalker& tar, const std::function<bool()>& keep_going) {
  const std::uint64_t fsize = file.size();
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return internal_error("gcp: inflateInit2 failed");
  std::vector<std::byte> in(kChunk), out(kChunk);
  std::uint64_t next_in = header_bytes;  // file offset of the next compressed byte to read
  InflateResult r;
  int rc = Z_OK;
  while (rc != Z_STREAM_END && tar.error_.ok()) {
    if (keep_going && !keep_going()) {
      r.stopped = true;
      break;
    }
    if (z.avail_in == 0) {
      if (next_in >= fsize) {
        r.error = fmt::format("compressed data ends at {} before the deflate stream does", fsize);
        break;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, fsize - next_in));
      Status s = file.read_at(next_in, std::span(in).first(n));
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
      r.error =
          fmt::format("inflate error {} ({}) after {} bytes out", rc, z.msg ? z.msg : "", r.total);
      break;
    }
    const std::size_t produced = out.size() - z.avail_out;
    r.crc = codec::crc32(r.crc, std::span(out).first(produced));
    r.total += produced;
    tar.feed(std::span(out).first(produced));
  }
  r.trailer_at = next_in - z.avail_in;
  inflateEnd(&z);
  r.complete = rc == Z_STREAM_END;
  return r;
}

}  // namespace walk

using namespace walk;

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

  TarWalker tar;
  tar.max_hash_bytes = std::min(max_hash_bytes, kMaxHashBytes);
  VDISK_ASSIGN_OR_RETURN(const InflateResult inflated, inflate_into(*file, hlen, tar));
  tar.finish();
  const std::uint64_t total = inflated.total;
  const std::uint32_t crc = inflated.crc;
  const std::uint64_t trailer_at = inflated.trailer_at;
  const std::string& inflate_error = inflated.error;
  const bool complete = inflated.complete;
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
  // What the disk boots (docs/boot.md), when the archive and its disk.raw read completely.
  if (hashed) VDISK_RETURN_IF_ERROR(add_gcp_boot_rules(report, *file, hlen, disk->real_size));
  return report;
}

}  // namespace vdisk::gcp

namespace vdisk::detail {
namespace {
Result<CheckReport> run_gcp(std::unique_ptr<RandomAccessFile> file, const std::filesystem::path&,
                            const std::string& display, std::string_view, const CheckOptions&) {
  // The name GCP sees is the object's: the last part of the path or URL, without a query.
  std::string name = display.substr(0, display.find('?'));
  if (const std::size_t slash = name.find_last_of('/'); slash != std::string::npos)
    name.erase(0, slash + 1);
  auto report = gcp::check_gcp_file(*file, name, UINT64_MAX);
  if (report.ok()) report->path = display;
  return report;
}
}  // namespace

const CheckRuleSet& gcp_rules() {
  static const CheckRuleSet r{"gcp", "gcp-tarball", run_gcp};
  return r;
}
}  // namespace vdisk::detail
