// Deterministic FAT32 volumes (see fat_writer.h). Field offsets and rules: Microsoft
// "FAT: General Overview of On-Disk Format" 1.03 (BPB, FSInfo, directory entries, dates).
#include "formats/iso9660/livecd/fat_writer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::livecd {
namespace {

using detail::store_le16;
using detail::store_le32;

constexpr std::uint32_t kSector = 512;
constexpr std::uint32_t kReservedSectors = 32;
constexpr std::uint32_t kBackupBootSector = 6;
constexpr std::uint32_t kDirEntry = 32;
// FAT32 starts at 65525 clusters; the specification advises staying 16 clusters clear of the
// boundary so that no implementation's off-by-one turns the volume into FAT16.
constexpr std::uint32_t kMinClusters = 65525 + 16;
constexpr std::uint32_t kMaxClusters = 0x0FFFFFF5 - 2;
constexpr std::uint32_t kEndOfChain = 0x0FFFFFFF;
constexpr std::uint8_t kAttrVolumeId = 0x08;
constexpr std::uint8_t kAttrDirectory = 0x10;
constexpr std::uint8_t kAttrArchive = 0x20;

bool short_name_char(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'()-@^_`{}~").find(c) != std::string_view::npos;
}

// "BOOTX64.EFI" -> "BOOTX64 EFI" (11 bytes, space padded); nullopt when not a short name.
std::optional<std::array<char, 11>> encode_short_name(std::string_view name) {
  const auto dot = name.find('.');
  const std::string_view base = name.substr(0, dot);
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (base.empty() || base.size() > 8 || ext.size() > 3) return std::nullopt;
  if (dot != std::string_view::npos && ext.empty()) return std::nullopt;  // "NAME."
  std::array<char, 11> out;
  out.fill(' ');
  for (std::size_t i = 0; i < base.size(); ++i) {
    if (!short_name_char(base[i])) return std::nullopt;
    out[i] = base[i];
  }
  for (std::size_t i = 0; i < ext.size(); ++i) {
    if (!short_name_char(ext[i])) return std::nullopt;
    out[8 + i] = ext[i];
  }
  return out;
}

// Unix seconds -> FAT date and time (UTC). Days to civil date: the proleptic Gregorian
// calendar in 400-year eras.
struct FatStamp {
  std::uint16_t date = 0;
  std::uint16_t time = 0;
};
std::optional<FatStamp> fat_stamp(std::int64_t t) {
  constexpr std::int64_t kMin = 315532800;   // 1980-01-01 00:00:00
  constexpr std::int64_t kMax = 4354819199;  // 2107-12-31 23:59:59
  if (t < kMin || t > kMax) return std::nullopt;
  const std::int64_t days = t / 86400;
  const std::int64_t secs = t % 86400;
  const std::int64_t z = days + 719468;
  const std::int64_t era = z / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  FatStamp s;
  s.date = static_cast<std::uint16_t>(((year - 1980) << 9) | (month << 5) | day);
  s.time = static_cast<std::uint16_t>(((secs / 3600) << 11) | (((secs / 60) % 60) << 5) |
                                      ((secs % 60) / 2));
  return s;
}

struct Node {
  std::array<char, 11> name{};
  bool directory = false;
  bool listed = false;  // named by an entry (not only implied as a parent)
  std::size_t parent = 0;
  std::vector<std::size_t> children;
  std::shared_ptr<const std::vector<std::byte>> data;  // files
  std::uint32_t clusters = 0;
  std::uint32_t first_cluster = 0;
};

void put_dir_entry(std::span<std::byte> e, const std::array<char, 11>& name, std::uint8_t attr,
                   std::uint32_t cluster, std::uint32_t size, FatStamp stamp) {
  std::memcpy(e.data(), name.data(), 11);
  e[11] = static_cast<std::byte>(attr);
  store_le16(e.subspan(14), stamp.time);  // DIR_CrtTime
  store_le16(e.subspan(16), stamp.date);  // DIR_CrtDate
  store_le16(e.subspan(18), stamp.date);  // DIR_LstAccDate
  store_le16(e.subspan(20), static_cast<std::uint16_t>(cluster >> 16));
  store_le16(e.subspan(22), stamp.time);  // DIR_WrtTime
  store_le16(e.subspan(24), stamp.date);  // DIR_WrtDate
  store_le16(e.subspan(26), static_cast<std::uint16_t>(cluster & 0xFFFF));
  store_le32(e.subspan(28), size);
}

void put_ascii(std::span<std::byte> dst, std::string_view s) {
  if (!s.empty()) std::memcpy(dst.data(), s.data(), s.size());
}

// Boot sector (BPB for FAT32) into `s` (512 bytes).
void put_boot_sector(std::span<std::byte> s, const FatGeometry& g, const FatOptions& o,
                     const std::array<char, 11>& label) {
  s[0] = std::byte{0xEB};  // jmp short 0x5A (the boot code), nop
  s[1] = std::byte{0x58};
  s[2] = std::byte{0x90};
  put_ascii(s.subspan(3), "MSWIN4.1");  // the OEM name the FAT specification recommends
  store_le16(s.subspan(11), static_cast<std::uint16_t>(kSector));
  s[13] = std::byte{1};  // sectors per cluster
  store_le16(s.subspan(14), static_cast<std::uint16_t>(g.reserved_sectors));
  s[16] = std::byte{2};            // FATs
  s[21] = std::byte{0xF8};         // media: fixed disk
  store_le16(s.subspan(24), 63);   // sectors per track (BIOS geometry, informative)
  store_le16(s.subspan(26), 255);  // heads
  store_le32(s.subspan(28), o.hidden_sectors);
  store_le32(s.subspan(32), g.total_sectors);
  store_le32(s.subspan(36), g.fat_sectors);
  store_le32(s.subspan(44), 2);  // root directory cluster
  store_le16(s.subspan(48), 1);  // FSInfo sector
  store_le16(s.subspan(50), static_cast<std::uint16_t>(kBackupBootSector));
  s[64] = std::byte{0x80};  // drive number
  s[66] = std::byte{0x29};  // extended boot signature: the next three fields are present
  store_le32(s.subspan(67), o.volume_serial);
  std::memcpy(s.data() + 71, label.data(), 11);
  put_ascii(s.subspan(82), "FAT32   ");
  // Boot code for a firmware that boots this volume as a disk: int 18h (try the next boot
  // device), then halt forever.
  const std::uint8_t code[] = {0xCD, 0x18, 0xF4, 0xEB, 0xFD};
  for (std::size_t i = 0; i < sizeof code; ++i) s[0x5A + i] = static_cast<std::byte>(code[i]);
  s[510] = std::byte{0x55};
  s[511] = std::byte{0xAA};
}

void put_fsinfo(std::span<std::byte> s, std::uint32_t free_count, std::uint32_t next_free) {
  store_le32(s.subspan(0), 0x41615252);
  store_le32(s.subspan(484), 0x61417272);
  store_le32(s.subspan(488), free_count);
  store_le32(s.subspan(492), next_free);
  store_le32(s.subspan(508), 0xAA550000);
}

}  // namespace

bool is_short_name(std::string_view name) { return encode_short_name(name).has_value(); }

Result<FatImage> build_fat32(std::vector<FatEntry> entries, const FatOptions& options) {
  if (options.align_bytes == 0 || options.align_bytes % kSector != 0) {
    return invalid_argument(fmt::format("fat: alignment {} is not a positive multiple of 512 bytes",
                                        options.align_bytes));
  }
  const auto stamp = fat_stamp(options.timestamp);
  if (!stamp) {
    return invalid_argument(fmt::format(
        "fat: timestamp {} is outside FAT's range 1980-01-01 .. 2107-12-31 (Unix 315532800 .. "
        "4354819199)",
        options.timestamp));
  }
  std::array<char, 11> label;
  label.fill(' ');
  if (options.label.empty()) {
    std::memcpy(label.data(), "NO NAME    ", 11);
  } else {
    bool ok = options.label.size() <= 11 && options.label.front() != ' ';
    for (char c : options.label) ok = ok && (c == ' ' || short_name_char(c));
    if (!ok) {
      return invalid_argument(
          fmt::format("fat: volume label '{}' is not 1..11 upper-case characters from the 8.3 set",
                      options.label));
    }
    std::memcpy(label.data(), options.label.data(), options.label.size());
  }
  if (entries.size() > options.max_entries) {
    return resource_exhausted(
        fmt::format("fat: {} entries exceed the limit of {}", entries.size(), options.max_entries));
  }

  // The tree, root first, then nodes in the order they are first needed.
  std::vector<Node> nodes(1);
  nodes[0].directory = true;
  for (auto& entry : entries) {
    if (!entry.directory && entry.data.size() > 0xFFFFFFFFu) {
      return invalid_argument(fmt::format("fat: file '{}' of {} bytes exceeds FAT's 4 GiB - 1",
                                          entry.path, entry.data.size()));
    }
    if (entry.directory && !entry.data.empty()) {
      return invalid_argument(fmt::format("fat: directory '{}' has data", entry.path));
    }
    std::size_t at = 0;
    std::string_view rest = entry.path;
    if (rest.empty()) return invalid_argument("fat: an entry has an empty path");
    while (true) {
      const auto slash = rest.find('/');
      const std::string_view part = rest.substr(0, slash);
      const bool last = slash == std::string_view::npos;
      const auto name = encode_short_name(part);
      if (!name) {
        return invalid_argument(fmt::format(
            "fat: '{}' in '{}' is not an upper-case 8.3 name (1-8 characters, optionally '.' and "
            "1-3 more, from A-Z 0-9 and !#$%&'()-@^_`{{}}~)",
            part, entry.path));
      }
      std::optional<std::size_t> found;
      for (std::size_t c : nodes[at].children) {
        if (nodes[c].name == *name) found = c;
      }
      if (found && last) {
        if (nodes[*found].listed || !nodes[*found].directory || !entry.directory) {
          return invalid_argument(fmt::format("fat: '{}' is listed twice", entry.path));
        }
        nodes[*found].listed = true;
        break;
      }
      if (found) {
        if (!nodes[*found].directory) {
          return invalid_argument(fmt::format(
              "fat: '{}' needs '{}' as a directory, but it is a file", entry.path, part));
        }
        at = *found;
      } else {
        if (nodes.size() > options.max_entries) {
          return resource_exhausted(
              fmt::format("fat: more than {} files and directories (with implied parents)",
                          options.max_entries));
        }
        Node n;
        n.name = *name;
        n.parent = at;
        n.directory = !last || entry.directory;
        n.listed = last;
        if (last && !entry.directory) {
          n.data = std::make_shared<const std::vector<std::byte>>(std::move(entry.data));
        }
        nodes.push_back(std::move(n));
        nodes[at].children.push_back(nodes.size() - 1);
        at = nodes.size() - 1;
      }
      if (last) break;
      rest = rest.substr(slash + 1);
    }
  }

  // Cluster counts and contiguous allocation from cluster 2 (the root) on.
  std::uint64_t used = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    Node& n = nodes[i];
    std::uint64_t bytes = 0;
    if (n.directory) {
      const std::uint64_t own = i == 0 ? (options.label.empty() ? 0 : 1) : 2;  // label; . and ..
      bytes = std::max<std::uint64_t>(1, own + n.children.size()) * kDirEntry;
    } else {
      bytes = n.data->size();
    }
    const std::uint64_t clusters = detail::div_ceil(bytes, kSector);
    n.clusters = static_cast<std::uint32_t>(clusters);  // bounded: files < 4 GiB, few entries
    n.first_cluster = clusters == 0 ? 0 : static_cast<std::uint32_t>(2 + used);
    used += clusters;
    if (used > kMaxClusters || used * kSector > options.max_bytes) {
      return resource_exhausted(fmt::format(
          "fat: the files need more than the volume limit of {} bytes", options.max_bytes));
    }
  }

  // Geometry: the smallest aligned volume with room for the data and >= kMinClusters clusters.
  const std::uint64_t want_clusters = std::max<std::uint64_t>(used, kMinClusters);
  const std::uint64_t align = options.align_bytes / kSector;
  std::uint64_t total =
      kReservedSectors + 2 * detail::div_ceil(want_clusters + 2, 128) + want_clusters;
  total = std::max(total, detail::div_ceil(options.min_bytes, kSector));
  FatGeometry g;
  for (;;) {
    const auto aligned = detail::round_up(total, align);
    if (!aligned || *aligned > 0xFFFFFFFFu || *aligned * kSector > options.max_bytes) {
      return resource_exhausted(
          fmt::format("fat: a volume of at least {} sectors exceeds the limit of {} bytes", total,
                      options.max_bytes));
    }
    total = *aligned;
    // FAT sectors F: 128 F >= clusters + 2 with clusters = total - reserved - 2 F.
    const std::uint64_t fat = detail::div_ceil(total - kReservedSectors + 2, 130);
    const std::uint64_t clusters = total - kReservedSectors - 2 * fat;
    if (clusters >= want_clusters && clusters <= kMaxClusters) {
      g.total_sectors = static_cast<std::uint32_t>(total);
      g.fat_sectors = static_cast<std::uint32_t>(fat);
      g.cluster_count = static_cast<std::uint32_t>(clusters);
      break;
    }
    total += align;
  }
  g.reserved_sectors = kReservedSectors;
  g.used_clusters = static_cast<std::uint32_t>(used);
  g.first_data_sector = kReservedSectors + 2 * g.fat_sectors;

  std::vector<ImagePiece> pieces;
  auto buffer = [](std::uint64_t n) { return std::make_shared<std::vector<std::byte>>(n); };

  // Reserved area: boot sector, FSInfo, and their backups at 6 and 7.
  auto reserved = buffer(std::uint64_t{8} * kSector);
  const std::uint32_t next_free = static_cast<std::uint32_t>(2 + used);
  for (std::uint32_t base : {0u, kBackupBootSector}) {
    auto sectors = std::span<std::byte>(*reserved).subspan(base * kSector);
    put_boot_sector(sectors.first(kSector), g, options, label);
    put_fsinfo(sectors.subspan(kSector, kSector), g.cluster_count - g.used_clusters, next_free);
  }
  pieces.push_back({0, reserved});

  // The FAT: entries 0 and 1, then one chain per node; two identical copies.
  auto fat = buffer(detail::div_ceil(std::uint64_t{next_free} * 4, kSector) * kSector);
  std::span<std::byte> f(*fat);
  store_le32(f.subspan(0), 0x0FFFFF00 | 0xF8);
  store_le32(f.subspan(4), kEndOfChain);
  for (const Node& n : nodes) {
    for (std::uint32_t k = 0; k < n.clusters; ++k) {
      const std::uint32_t c = n.first_cluster + k;
      store_le32(f.subspan(std::size_t{c} * 4), k + 1 == n.clusters ? kEndOfChain : c + 1);
    }
  }
  pieces.push_back({std::uint64_t{kReservedSectors} * kSector, fat});
  pieces.push_back({(std::uint64_t{kReservedSectors} + g.fat_sectors) * kSector, fat});

  // The data area in cluster order (the nodes' order).
  auto cluster_offset = [&](std::uint32_t c) {
    return (std::uint64_t{g.first_data_sector} + (c - 2)) * kSector;
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!n.directory) {
      if (n.clusters > 0) pieces.push_back({cluster_offset(n.first_cluster), n.data});
      continue;
    }
    auto dir = buffer(std::uint64_t{n.clusters} * kSector);
    std::span<std::byte> d(*dir);
    std::size_t slot = 0;
    auto next = [&] { return d.subspan(kDirEntry * slot++, kDirEntry); };
    if (i == 0) {
      if (!options.label.empty()) put_dir_entry(next(), label, kAttrVolumeId, 0, 0, *stamp);
    } else {
      std::array<char, 11> dot;
      dot.fill(' ');
      dot[0] = '.';
      put_dir_entry(next(), dot, kAttrDirectory, n.first_cluster, 0, *stamp);
      dot[1] = '.';
      // ".." of a directory in the root records cluster 0, not the root's cluster.
      const std::uint32_t up = n.parent == 0 ? 0 : nodes[n.parent].first_cluster;
      put_dir_entry(next(), dot, kAttrDirectory, up, 0, *stamp);
    }
    for (std::size_t c : n.children) {
      const Node& child = nodes[c];
      put_dir_entry(next(), child.name, child.directory ? kAttrDirectory : kAttrArchive,
                    child.first_cluster,
                    child.directory ? 0 : static_cast<std::uint32_t>(child.data->size()), *stamp);
    }
    pieces.push_back({cluster_offset(n.first_cluster), std::move(dir)});
  }

  VDISK_ASSIGN_OR_RETURN(
      auto image, PieceImage::make(std::uint64_t{g.total_sectors} * kSector, std::move(pieces)));
  return FatImage{std::move(image), g};
}

}  // namespace vdisk::livecd
