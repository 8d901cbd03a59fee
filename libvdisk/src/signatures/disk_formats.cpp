// Recognisers for disk-image formats libvdisk does not read (qcow2 v2/v3 headers that check out
// are claimed by the qcow2 driver first; this one then sees qcow v1 and damaged qcow2 headers
// only; VHDX and VDI are claimed by their drivers). Field offsets: docs/probing.md
// (which cites each format's specification: qemu docs/interop/qcow2.txt and qed_spec.txt,
// MS-VHDX 2.1, VirtualBox VDICore.h, Parallels' image format notes, Apple's UDIF trailer, the
// Bochs redolog header, the cloop header, the LUKS on-disk format).
#include <fmt/format.h>

#include "signatures/signatures.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::signatures {
namespace {

using Bytes = std::span<const std::byte>;

// The damage status for a header cut short: "<format>: header at offset 0: expected at least N
// bytes, found M (truncated)".
Status truncated(std::string_view format, std::string_view structure, std::size_t need,
                 std::size_t have) {
  return corrupt_at(format, structure, 0,
                    fmt::format("expected at least {} bytes, found {} (truncated)", need, have));
}

// ASCII letters of a NUL-padded text field, for display.
std::string printable(Bytes b) {
  std::string out;
  for (std::byte c : b) {
    const auto ch = static_cast<unsigned char>(c);
    if (ch == 0) break;
    out += (ch >= 0x20 && ch < 0x7f) ? static_cast<char>(ch) : '?';
  }
  return out;
}

constexpr std::string_view kQemuAdvice =
    "convert it to raw first (qemu-img convert -O raw SRC disk.raw), then convert disk.raw";

}  // namespace

std::optional<Recognition> recognise_qcow(const detail::ProbeData& d) {
  if (!has_magic(d.head, "QFI\xfb")) return std::nullopt;
  Recognition r;
  r.format = "qcow2";
  r.description = "QEMU copy-on-write image";
  r.advice = std::string(kQemuAdvice);
  if (d.head.size() < 8) {
    r.damage = truncated("qcow2", "header", 8, d.head.size());
    return r;
  }
  const std::uint32_t version = detail::load_be32(d.head.subspan(4));
  r.version = std::to_string(version);
  if (version == 1) r.format = "qcow";
  if (version < 1 || version > 3) {
    r.damage = corrupt_at("qcow2", "header", 4,
                          fmt::format("version expected 1, 2 or 3, found {}", version));
    return r;
  }
  // qcow (v1) header: 48 bytes; qcow2 v2: 72; v3: header_length (>= 104) at offset 100.
  const std::size_t need = version == 1 ? 48 : version == 2 ? 72 : 104;
  if (d.head.size() < need) {
    r.damage = truncated(r.format, "header", need, d.head.size());
    return r;
  }
  r.virtual_size = detail::load_be64(d.head.subspan(24));
  const unsigned cluster_bits =
      version == 1 ? std::to_integer<unsigned>(d.head[32]) : detail::load_be32(d.head.subspan(20));
  const unsigned min_bits = 9, max_bits = version == 1 ? 16 : 21;
  if (cluster_bits < min_bits || cluster_bits > max_bits) {
    r.damage = corrupt_at(
        r.format, "header", version == 1 ? 32 : 20,
        fmt::format("cluster_bits expected {}..{}, found {}", min_bits, max_bits, cluster_bits));
    return r;
  }
  r.facts.emplace_back("cluster_size", std::to_string(std::uint64_t{1} << cluster_bits));
  if (version == 3) {
    const std::uint32_t header_length = detail::load_be32(d.head.subspan(100));
    if (header_length < 104 || header_length % 8 != 0 ||
        header_length > (std::uint64_t{1} << cluster_bits)) {
      r.damage = corrupt_at("qcow2", "header", 100,
                            fmt::format("header_length expected a multiple of 8 from 104 to the "
                                        "cluster size, found {}",
                                        header_length));
      return r;
    }
    r.facts.emplace_back("incompatible_features",
                         fmt::format("0x{:x}", detail::load_be64(d.head.subspan(72))));
  }
  const std::uint32_t crypt = detail::load_be32(d.head.subspan(version == 1 ? 36 : 32));
  if (crypt != 0) r.facts.emplace_back("encryption", crypt == 2 ? "luks" : "aes");
  const std::uint64_t backing_offset = detail::load_be64(d.head.subspan(8));
  const std::uint32_t backing_size = detail::load_be32(d.head.subspan(16));
  if (backing_offset != 0 && backing_size != 0 && backing_size <= 1023 &&
      backing_offset <= d.head.size() && backing_size <= d.head.size() - backing_offset)
    r.facts.emplace_back("backing_file", printable(d.head.subspan(backing_offset, backing_size)));
  return r;
}

std::optional<Recognition> recognise_qed(const detail::ProbeData& d) {
  if (!has_magic(d.head, std::string_view("QED\0", 4))) return std::nullopt;
  Recognition r;
  r.format = "qed";
  r.description = "QEMU enhanced disk image";
  r.advice = std::string(kQemuAdvice);
  if (d.head.size() < 64) {
    r.damage = truncated("qed", "header", 64, d.head.size());
    return r;
  }
  const std::uint32_t cluster = detail::load_le32(d.head.subspan(4));
  const std::uint32_t table = detail::load_le32(d.head.subspan(8));
  if (cluster < 4096 || cluster > (64u << 20) || (cluster & (cluster - 1)) != 0) {
    r.damage = corrupt_at("qed", "header", 4,
                          fmt::format("cluster_size expected a power of two from 4096 to "
                                      "67108864, found {}",
                                      cluster));
    return r;
  }
  if (table < 1 || table > 16) {
    r.damage =
        corrupt_at("qed", "header", 8, fmt::format("table_size expected 1..16, found {}", table));
    return r;
  }
  r.virtual_size = detail::load_le64(d.head.subspan(48));
  r.facts.emplace_back("cluster_size", std::to_string(cluster));
  return r;
}

// The vhdx driver claims every file identifier with kCertain (its headers lie past the probe's
// view, so its open names the damage); the registry then never asks this recogniser.
std::optional<Recognition> recognise_vhdx(const detail::ProbeData& d) {
  if (!has_magic(d.head, "vhdxfile")) return std::nullopt;
  Recognition r;
  r.format = "vhdx";
  r.description = "Hyper-V VHDX image";
  r.advice =
      "convert it to raw first (qemu-img convert -f vhdx -O raw SRC disk.raw, or Hyper-V's "
      "Convert-VHD to a fixed VHD), then convert that";
  // File identifier (64 KiB), two 4 KiB headers at 64 and 128 KiB, two region tables at 192
  // and 256 KiB: a file shorter than 320 KiB cannot hold them (MS-VHDX 2.1).
  constexpr std::uint64_t kHeaderSection = 320 * 1024;
  if (d.file_size != 0 && d.file_size < kHeaderSection) {
    r.damage = corrupt_at("vhdx", "header section", 0,
                          fmt::format("expected at least {} bytes, found {} (truncated)",
                                      kHeaderSection, d.file_size));
    return r;
  }
  // Creator: UTF-16LE at offset 8, up to 512 bytes; shown when it is plain ASCII.
  std::string creator;
  for (std::size_t i = 8; i + 1 < d.head.size() && i < 520; i += 2) {
    const unsigned lo = std::to_integer<unsigned>(d.head[i]);
    const unsigned hi = std::to_integer<unsigned>(d.head[i + 1]);
    if (lo == 0 && hi == 0) break;
    creator += (hi == 0 && lo >= 0x20 && lo < 0x7f) ? static_cast<char>(lo) : '?';
  }
  if (!creator.empty()) r.facts.emplace_back("creator", creator);
  return r;
}

// VDI is read (libvdisk/src/formats/vdi/): its driver claims every file with the signature at 0x40 and
// reports a damaged header itself, so this recogniser steps aside.
std::optional<Recognition> recognise_vdi(const detail::ProbeData&) { return std::nullopt; }

std::optional<Recognition> recognise_parallels(const detail::ProbeData& d) {
  if (!has_magic(d.head, "WithoutFreeSpace") && !has_magic(d.head, "WithouFreSpacExt"))
    return std::nullopt;
  Recognition r;
  r.format = "parallels";
  r.description = "Parallels disk image";
  r.advice = std::string(kQemuAdvice);
  if (d.head.size() < 64) {
    r.damage = truncated("parallels", "header", 64, d.head.size());
    return r;
  }
  const std::uint32_t version = detail::load_le32(d.head.subspan(16));
  r.version = std::to_string(version);
  if (version != 2) {
    r.damage =
        corrupt_at("parallels", "header", 16, fmt::format("version expected 2, found {}", version));
    return r;
  }
  const std::uint32_t cluster_sectors = detail::load_le32(d.head.subspan(28));
  if (cluster_sectors == 0) {
    r.damage = corrupt_at("parallels", "header", 28, "sectors per cluster expected > 0, found 0");
    return r;
  }
  const auto bytes = detail::checked_mul(detail::load_le64(d.head.subspan(36)), 512);
  if (bytes) r.virtual_size = *bytes;
  r.facts.emplace_back("cluster_size", std::to_string(std::uint64_t{cluster_sectors} * 512));
  return r;
}

std::optional<Recognition> recognise_dmg(const detail::ProbeData& d) {
  // UDIF keeps its 512-byte "koly" trailer in the last sector of the file.
  if (d.tail.size() < 512) return std::nullopt;
  const Bytes koly = d.tail.subspan(d.tail.size() - 512);
  if (!has_magic(koly, "koly")) return std::nullopt;
  const std::uint32_t header_size = detail::load_be32(koly.subspan(8));
  if (header_size != 512) return std::nullopt;  // not a UDIF trailer after all
  Recognition r;
  r.format = "dmg";
  r.description = "Apple disk image (UDIF)";
  r.version = std::to_string(detail::load_be32(koly.subspan(4)));
  const auto bytes = detail::checked_mul(detail::load_be64(koly.subspan(492)), 512);
  if (bytes) r.virtual_size = *bytes;
  r.advice =
      "convert it to raw first (hdiutil convert SRC -format UDTO, or dmg2img), then "
      "convert that";
  return r;
}

std::optional<Recognition> recognise_bochs(const detail::ProbeData& d) {
  if (!has_magic(d.head, std::string_view("Bochs Virtual HD Image\0", 23))) return std::nullopt;
  Recognition r;
  r.format = "bochs";
  r.description = "Bochs disk image";
  r.advice = std::string(kQemuAdvice);
  if (d.head.size() < 512) {
    r.damage = truncated("bochs", "header", 512, d.head.size());
    return r;
  }
  r.facts.emplace_back("type", printable(d.head.subspan(32, 16)));
  r.facts.emplace_back("subtype", printable(d.head.subspan(48, 16)));
  const std::uint32_t version = detail::load_le32(d.head.subspan(64));
  r.version = fmt::format("{}.{}", version >> 16, version & 0xffff);
  if (version == 0x00020000u)
    r.virtual_size = detail::load_le64(d.head.subspan(88));
  else if (version == 0x00010000u)
    r.virtual_size = detail::load_le64(d.head.subspan(84));
  else
    r.damage = corrupt_at(
        "bochs", "header", 64,
        fmt::format("version expected 0x00010000 or 0x00020000, found 0x{:08x}", version));
  return r;
}

std::optional<Recognition> recognise_cloop(const detail::ProbeData& d) {
  // A shell preamble ("#!/bin/sh\n#V2.0 Format\n..."), then at offset 128 the block size and
  // block count, big-endian.
  if (!has_magic(d.head, "#!/bin/sh\n#V") || d.head.size() < 24 ||
      !has_magic(d.head, ".0 Format\n", 13))
    return std::nullopt;
  Recognition r;
  r.format = "cloop";
  r.description = "compressed loop image (cloop)";
  r.version = fmt::format("{}.0", static_cast<char>(std::to_integer<int>(d.head[12])));
  r.advice = std::string(kQemuAdvice);
  if (d.head.size() < 136) {
    r.damage = truncated("cloop", "header", 136, d.head.size());
    return r;
  }
  const std::uint32_t block = detail::load_be32(d.head.subspan(128));
  const std::uint32_t blocks = detail::load_be32(d.head.subspan(132));
  if (block == 0 || block % 512 != 0) {
    r.damage =
        corrupt_at("cloop", "header", 128,
                   fmt::format("block size expected a non-zero multiple of 512, found {}", block));
    return r;
  }
  r.virtual_size = std::uint64_t{block} * blocks;
  return r;
}

std::optional<Recognition> recognise_luks(const detail::ProbeData& d) {
  if (!has_magic(d.head, "LUKS\xba\xbe")) return std::nullopt;
  Recognition r;
  r.format = "luks";
  r.description = "LUKS encrypted volume";
  r.advice = "open it first (cryptsetup open SRC NAME) and convert /dev/mapper/NAME";
  if (d.head.size() < 8) {
    r.damage = truncated("luks", "header", 8, d.head.size());
    return r;
  }
  r.version = std::to_string(detail::load_be16(d.head.subspan(6)));
  return r;
}

}  // namespace vdisk::signatures
