// Recognisers for compressed files and tar archives: a disk inside one of these must be taken
// out before it can be converted. A gzip file's first bytes are inflated (at most two tar
// blocks) to tell a GCP image tarball or a gzip'd OVA from any other gzip'd file.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "formats/gcp/gcp.h"
#include "tar/tar.h"
#include "signatures/signatures.h"
#include "base/checked.h"

namespace vdisk::signatures {
namespace {

using Bytes = std::span<const std::byte>;

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    char c = s[s.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

bool is_disk_name(std::string_view name) {
  for (std::string_view ext : {".vmdk", ".vhd", ".vhdx", ".qcow2", ".img", ".raw", ".vdi", ".iso"})
    if (ends_with_nocase(name, ext)) return true;
  return false;
}

std::string stream_advice(std::string_view tool) {
  return fmt::format(
      "decompress it first ({0} -dc SRC > disk.img), or stream it ({0} -dc SRC | vdconvert "
      "convert --to TARGET - DST)",
      tool);
}

// The members of a tar archive whose first bytes are `head`, as far as `head` reaches.
struct TarListing {
  std::vector<std::string> names;  // regular files, in order
  std::uint64_t first_size = 0;    // apparent size of the first regular member
  bool complete = false;           // the end-of-archive block was inside `head`
};

constexpr std::size_t kMaxListed = 64;

TarListing list_tar(Bytes head) {
  TarListing out;
  std::uint64_t pos = 0;
  std::string long_name;
  while (out.names.size() < kMaxListed && pos + gcp::kTarBlock <= head.size()) {
    const Bytes block = head.subspan(pos, gcp::kTarBlock);
    if (gcp::is_zero_block(block)) {
      out.complete = true;
      break;
    }
    auto h = gcp::decode_header(block, pos);
    if (!h.ok() || !h->checksum_ok) break;
    const auto padded = detail::round_up(h->size, gcp::kTarBlock);
    if (!padded) break;
    if (h->typeflag == 'L' && h->size <= 4096 && pos + gcp::kTarBlock + h->size <= head.size()) {
      const char* p = reinterpret_cast<const char*>(head.data() + pos + gcp::kTarBlock);
      long_name.assign(p, std::find(p, p + h->size, '\0'));
    } else if (h->typeflag == '0' || h->typeflag == '\0' || h->typeflag == 'S' ||
               h->typeflag == '7') {
      if (out.names.empty()) out.first_size = h->typeflag == 'S' ? h->real_size : h->size;
      out.names.push_back(long_name.empty() ? h->name : long_name);
      long_name.clear();
    }
    const auto next = detail::checked_add(pos + gcp::kTarBlock, *padded);
    if (!next) break;
    pos = *next;
  }
  return out;
}

std::string joined(const std::vector<std::string>& names, std::size_t most = 8) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > most) out += ", ...";
  return out;
}

// Describes a tar archive; `compressed` is the compression around it ("" or "gzip").
Recognition describe_tar(const TarListing& tar, std::string_view compressed) {
  Recognition r;
  const std::string tar_flag = compressed.empty() ? "-xf" : "-xzf";
  const std::string sparse_flag = compressed.empty() ? "-xSf" : "-xSzf";
  const std::vector<std::string>& names = tar.names;
  if (!names.empty() && ends_with_nocase(names.front(), ".ovf")) {
    r.format = "ova";
    r.description = compressed.empty() ? "OVA (OVF package in a tar archive)"
                                       : "gzip-compressed OVA (OVF package in a tar archive)";
    std::vector<std::string> disks;
    for (const auto& n : names)
      if (is_disk_name(n)) disks.push_back(n);
    r.facts.emplace_back("ovf", names.front());
    if (!disks.empty()) r.facts.emplace_back("disks", joined(disks));
    r.advice =
        disks.empty()
            ? fmt::format("extract its disk first (tar {} SRC DISK), then convert DISK", tar_flag)
            : fmt::format("extract its disk first (tar {} SRC {}), then convert {}", tar_flag,
                          disks.front(), disks.front());
    return r;
  }
  if (names.size() >= 1 && names.front() == "disk.raw") {
    r.format = "gcp-tarball";
    r.description = compressed.empty() ? "tar archive holding disk.raw"
                                       : "GCP image tarball (gzip'd tar holding disk.raw)";
    r.virtual_size = tar.first_size;
    r.advice = fmt::format(
        "{}to convert the disk, extract it first (tar {} SRC disk.raw) and convert disk.raw",
        compressed.empty() ? ""
                           : "it is already a GCP image ('vdconvert check --for gcp SRC' "
                             "verifies it); ",
        sparse_flag);
    return r;
  }
  r.format = "tar";
  r.description = compressed.empty() ? "tar archive" : "gzip-compressed tar archive";
  if (!names.empty()) r.facts.emplace_back("members", joined(names));
  std::string member = "MEMBER";
  for (const auto& n : names)
    if (is_disk_name(n)) {
      member = n;
      break;
    }
  if (member == "MEMBER" && !names.empty()) member = names.front();
  r.advice = fmt::format("extract the disk member first (tar {} SRC {}), then convert it",
                         sparse_flag, member);
  return r;
}

// The recognition of a tar archive whose first bytes are `head` (`compressed`: "" or "gzip"),
// or nullopt when `head` does not start with a tar header.
std::optional<Recognition> tar_of(Bytes head, std::string_view compressed) {
  if (head.size() < gcp::kTarBlock) return std::nullopt;
  const Bytes block = head.first(gcp::kTarBlock);
  if (gcp::is_zero_block(block)) return std::nullopt;
  auto h = gcp::decode_header(block, 0);
  const bool magic = has_magic(block.subspan(257), std::string_view("ustar\0", 6)) ||
                     has_magic(block.subspan(257), std::string_view("ustar  \0", 8));
  if (!h.ok() || !h->checksum_ok) {
    if (!magic) return std::nullopt;
    Recognition r;
    r.format = "tar";
    r.description = "tar archive";
    r.damage = h.ok() ? corrupt_at("tar", "header", 0,
                                   fmt::format("checksum expected {}, found {}",
                                               h->unsigned_checksum, h->stored_checksum))
                      : h.status();
    return r;
  }
  // A pre-POSIX tar has no magic: require a plausible name and type as well as the checksum.
  if (!magic) {
    const bool type_ok = (h->typeflag >= '0' && h->typeflag <= '7') || h->typeflag == '\0';
    const bool name_ok = !h->name.empty() &&
                         std::all_of(h->name.begin(), h->name.end(),
                                     [](char c) { return static_cast<unsigned char>(c) >= 0x20; });
    if (!type_ok || !name_ok) return std::nullopt;
  }
  return describe_tar(list_tar(head), compressed);
}

}  // namespace

std::optional<Recognition> recognise_compressed(const detail::ProbeData& d) {
  struct Kind {
    std::string_view magic, format, description, tool;
  };
  static constexpr Kind kKinds[] = {
      {std::string_view("\xfd"
                        "7zXZ\0",
                        6),
       "xz", "xz-compressed file", "xz"},
      {"\x28\xb5\x2f\xfd", "zstd", "zstd-compressed file", "zstd"},
      {"\x04\x22\x4d\x18", "lz4", "lz4-compressed file", "lz4"},
      {"\x02\x21\x4c\x18", "lz4", "lz4-compressed file (legacy frame)", "lz4"},
  };
  for (const Kind& k : kKinds) {
    if (!has_magic(d.head, k.magic)) continue;
    Recognition r;
    r.format = k.format;
    r.description = std::string(k.description);
    r.advice = stream_advice(k.tool);
    return r;
  }
  // bzip2: "BZh" + block size digit + the first block's magic (or the end-of-stream magic of
  // an empty stream).
  if (d.head.size() >= 10 && has_magic(d.head, "BZh")) {
    const auto level = std::to_integer<char>(d.head[3]);
    const Bytes rest = d.head.subspan(4);
    if (level >= '1' && level <= '9' &&
        (has_magic(rest, "\x31\x41\x59\x26\x53\x59") ||
         has_magic(rest, "\x17\x72\x45\x38\x50\x90"))) {
      Recognition r;
      r.format = "bzip2";
      r.description = "bzip2-compressed file";
      r.advice = stream_advice("bzip2");
      return r;
    }
  }
  return std::nullopt;
}

std::optional<Recognition> recognise_gzip(const detail::ProbeData& d) {
  if (d.head.size() < 3 || std::to_integer<unsigned>(d.head[0]) != 0x1f ||
      std::to_integer<unsigned>(d.head[1]) != 0x8b || std::to_integer<unsigned>(d.head[2]) != 8)
    return std::nullopt;
  Recognition r;
  r.format = "gzip";
  r.description = "gzip-compressed file";
  r.advice = stream_advice("gzip");
  if (gcp::gzip_header_length(d.head) == 0) {
    r.damage = corrupt_at(
        "gzip", "member header", 0,
        d.head.size() < 10
            ? fmt::format("expected at least 10 bytes, found {} (truncated)", d.head.size())
            : std::string("reserved flag bits set or header cut short"));
    return r;
  }
  // Inflate what the probe bytes hold (bounded output) to look inside.
  std::vector<std::byte> inner(64 * 1024);
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return r;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(d.head.data()));
  z.avail_in = static_cast<uInt>(d.head.size());
  z.next_out = reinterpret_cast<Bytef*>(inner.data());
  z.avail_out = static_cast<uInt>(inner.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  const std::size_t produced = inner.size() - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
    r.damage = corrupt_at("gzip", "deflate data", 0,
                          fmt::format("expected a valid deflate stream, found zlib error {}", rc));
    return r;
  }
  inner.resize(produced);
  if (auto tar = tar_of(inner, "gzip"); tar && tar->damage.ok()) return tar;
  return r;
}

std::optional<Recognition> recognise_tar(const detail::ProbeData& d) { return tar_of(d.head, ""); }

}  // namespace vdisk::signatures
