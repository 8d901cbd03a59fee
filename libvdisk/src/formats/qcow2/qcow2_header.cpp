// QCOW2 header, feature bits and header extensions (qemu docs/interop/qcow2.txt "Header" and
// "Header extensions"; docs/qcow2.md).
#include <cstring>

#include <fmt/format.h>

#include "formats/qcow2/qcow2_format.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::qcow2 {
namespace {

using Bytes = std::span<const std::byte>;

Status header_error(std::uint64_t offset, std::string_view detail) {
  return corrupt_at(kFormat, "header", offset, detail);
}

std::string text_of(Bytes b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Decodes the fields of the v2 header and, for v3, the v3 additions.
Header decode_fields(Bytes b) {
  Header h;
  h.version = detail::load_be32(b.subspan(4));
  h.backing_file_offset = detail::load_be64(b.subspan(8));
  h.backing_file_size = detail::load_be32(b.subspan(16));
  h.cluster_bits = detail::load_be32(b.subspan(20));
  h.size = detail::load_be64(b.subspan(24));
  h.crypt_method = detail::load_be32(b.subspan(32));
  h.l1_size = detail::load_be32(b.subspan(36));
  h.l1_table_offset = detail::load_be64(b.subspan(40));
  h.refcount_table_offset = detail::load_be64(b.subspan(48));
  h.refcount_table_clusters = detail::load_be32(b.subspan(56));
  h.nb_snapshots = detail::load_be32(b.subspan(60));
  h.snapshots_offset = detail::load_be64(b.subspan(64));
  if (h.version >= 3) {
    h.incompatible = detail::load_be64(b.subspan(72));
    h.compatible = detail::load_be64(b.subspan(80));
    h.autoclear = detail::load_be64(b.subspan(88));
    h.refcount_order = detail::load_be32(b.subspan(96));
    h.header_length = detail::load_be32(b.subspan(100));
    if (h.header_length > 104 && b.size() > 104)
      h.compression = static_cast<Compression>(std::to_integer<std::uint8_t>(b[104]));
  }
  return h;
}

// The feature bits: unknown incompatible ones refused by name, corrupt refused, compression
// type consistent with its bit, extended L2 only with subclusters of at least 512 bytes.
Status check_features(const Header& h) {
  const std::uint64_t unknown = h.incompatible & ~kIncompatKnown;
  if (unknown != 0) {
    std::string names;
    for (unsigned bit = 0; bit < 64; ++bit)
      if ((unknown >> bit) & 1) names += (names.empty() ? "" : ", ") + feature_name(h, 0, bit);
    return unsupported(fmt::format(
        "qcow2: header at offset 72: unknown incompatible features 0x{:x} ({}); libvdisk "
        "cannot read this image",
        unknown, names));
  }
  if (h.incompatible & kIncompatCorrupt)
    return corrupt_at(kFormat, "header", 72,
                      "incompatible feature 'corrupt' (bit 1) is set: qemu marked the image's "
                      "metadata as damaged; repair it with qemu-img check -r all first");
  const auto type = static_cast<unsigned>(h.compression);
  if (type > 1)
    return unsupported(fmt::format(
        "qcow2: header at offset 104: compression_type expected 0 (zlib) or 1 (zstd), found {}",
        type));
  const bool bit = (h.incompatible & kIncompatCompression) != 0;
  if (bit != (type != 0))
    return header_error(72, fmt::format("compression type bit (3) expected {} for "
                                        "compression_type {}, found {}",
                                        type != 0 ? "set" : "clear", type, bit ? "set" : "clear"));
  if (h.extended_l2() && h.cluster_bits < kMinExtendedL2Bits)
    return header_error(20, fmt::format("cluster_bits expected at least {} with extended L2 "
                                        "entries, found {}",
                                        kMinExtendedL2Bits, h.cluster_bits));
  if (h.crypt_method != 0)
    return unsupported(fmt::format(
        "qcow2: header at offset 32: crypt_method {} ({}): encrypted qcow2 images are not "
        "supported; decrypt it first (qemu-img convert --object secret,... -O raw)",
        h.crypt_method,
        h.crypt_method == 1   ? "AES-CBC"
        : h.crypt_method == 2 ? "LUKS"
                              : "unknown"));
  return {};
}

// L1 and snapshot table placement against the cluster size and the file.
Status check_tables(const Header& h, std::uint64_t file_size) {
  const std::uint64_t cs = h.cluster_size();
  if (h.l1_size > kMaxL1Entries)
    return header_error(
        36, fmt::format("l1_size expected at most {} entries, found {}", kMaxL1Entries, h.l1_size));
  // Each L1 entry maps l2_entries clusters; the table must cover the virtual size.
  const std::uint64_t per_l1 = h.l2_entries() * cs;
  const std::uint64_t need = detail::div_ceil(h.size, per_l1);
  if (h.l1_size < need)
    return header_error(36, fmt::format("l1_size expected at least {} entries for the virtual "
                                        "size {}, found {}",
                                        need, h.size, h.l1_size));
  if (h.l1_size != 0 &&
      (h.l1_table_offset % cs != 0 ||
       !detail::range_inside(h.l1_table_offset, std::uint64_t{h.l1_size} * 8, file_size)))
    return header_error(40,
                        fmt::format("l1_table_offset expected a cluster-aligned table of {} "
                                    "bytes inside the {}-byte file, found 0x{:x}",
                                    std::uint64_t{h.l1_size} * 8, file_size, h.l1_table_offset));
  if (h.refcount_order > 6)
    return header_error(96,
                        fmt::format("refcount_order expected 0..6, found {}", h.refcount_order));
  if (h.nb_snapshots > kMaxSnapshots)
    return header_error(60, fmt::format("nb_snapshots expected at most {}, found {}", kMaxSnapshots,
                                        h.nb_snapshots));
  // A snapshot entry takes at least 40 bytes.
  if (h.nb_snapshots != 0 &&
      (h.snapshots_offset % cs != 0 ||
       !detail::range_inside(h.snapshots_offset, std::uint64_t{h.nb_snapshots} * 40, file_size)))
    return header_error(64, fmt::format("snapshots_offset expected a cluster-aligned table of {} "
                                        "snapshots inside the {}-byte file, found 0x{:x}",
                                        h.nb_snapshots, file_size, h.snapshots_offset));
  return {};
}

// Reads the backing file name stored in cluster 0.
Status read_backing_name(Header& h, Bytes cluster0) {
  if (h.backing_file_offset == 0) return {};
  if (h.backing_file_size == 0 || h.backing_file_size > kMaxBackingNameBytes ||
      !detail::range_inside(h.backing_file_offset, h.backing_file_size, cluster0.size()))
    return header_error(8, fmt::format("backing file name expected 1..{} bytes inside cluster 0 "
                                       "({} bytes), found {} bytes at offset {}",
                                       kMaxBackingNameBytes, cluster0.size(), h.backing_file_size,
                                       h.backing_file_offset));
  h.backing_file = text_of(cluster0.subspan(h.backing_file_offset, h.backing_file_size));
  if (h.backing_file.find('\0') != std::string::npos)
    return header_error(h.backing_file_offset, "backing file name holds a NUL byte");
  return {};
}

// One extension's payload, by type.
Status apply_extension(Header& h, std::uint32_t type, Bytes data, std::uint64_t at) {
  switch (type) {
    case kExtBackingFormat:
      h.backing_format = text_of(data);
      break;
    case kExtDataFile:
      h.data_file = text_of(data);
      break;
    case kExtCrypto:
      h.crypto_extension = true;
      break;
    case kExtFeatureNames:
      if (data.size() % 48 != 0)
        return corrupt_at(kFormat, "feature name table", at,
                          fmt::format("length expected a multiple of 48, found {}", data.size()));
      for (std::size_t i = 0; i < data.size(); i += 48) {
        FeatureName f;
        f.type = std::to_integer<std::uint8_t>(data[i]);
        f.bit = std::to_integer<std::uint8_t>(data[i + 1]);
        const Bytes name = data.subspan(i + 2, 46);
        std::size_t n = 0;
        while (n < name.size() && name[n] != std::byte{0}) ++n;
        f.name = text_of(name.first(n));
        h.feature_names.push_back(std::move(f));
      }
      break;
    default:
      break;  // bitmaps and unknown extensions do not change what is read
  }
  return {};
}

// Walks the extensions from header_length to the backing name (or the end of cluster 0).
Status read_extensions(Header& h, Bytes cluster0) {
  std::uint64_t end = cluster0.size();
  if (h.backing_file_offset != 0 && h.backing_file_offset < end) end = h.backing_file_offset;
  std::uint64_t at = h.header_length;
  while (at < end) {
    if (end - at < 8)
      return corrupt_at(kFormat, "header extension", at,
                        fmt::format("expected an 8-byte type and length before offset {}, found "
                                    "{} bytes",
                                    end, end - at));
    const std::uint32_t type = detail::load_be32(cluster0.subspan(at));
    const std::uint32_t len = detail::load_be32(cluster0.subspan(at + 4));
    if (type == kExtEnd) return {};
    if (len > end - at - 8)
      return corrupt_at(kFormat, "header extension", at,
                        fmt::format("type 0x{:08x}: length expected at most {}, found {}", type,
                                    end - at - 8, len));
    VDISK_RETURN_IF_ERROR(apply_extension(h, type, cluster0.subspan(at + 8, len), at));
    at += 8 + *detail::round_up(len, 8);
  }
  return {};
}

}  // namespace

Status check_fixed_header(std::span<const std::byte> head) {
  if (head.size() < 8 || std::memcmp(head.data(), "QFI\xfb", 4) != 0)
    return corrupt_at(kFormat, "header", 0, "magic QFI\\xfb and a version expected");
  const std::uint32_t version = detail::load_be32(head.subspan(4));
  if (version != 2 && version != 3)
    return version == 1
               ? unsupported(
                     "qcow2: header at offset 4: version 1 (qcow) is not read; "
                     "convert it with qemu-img convert -O raw first")
               : header_error(4, fmt::format("version expected 2 or 3, found {}", version));
  const std::size_t need = version == 2 ? kV2HeaderBytes : kV3HeaderBytes;
  if (head.size() < need)
    return header_error(
        0, fmt::format("expected at least {} bytes, found {} (truncated)", need, head.size()));
  const std::uint32_t bits = detail::load_be32(head.subspan(20));
  if (bits < kMinClusterBits || bits > kMaxClusterBits)
    return header_error(20, fmt::format("cluster_bits expected {}..{}, found {}", kMinClusterBits,
                                        kMaxClusterBits, bits));
  if (version == 3) {
    const std::uint32_t len = detail::load_be32(head.subspan(100));
    if (len < kV3HeaderBytes || len % 8 != 0 || len > (std::uint64_t{1} << bits))
      return header_error(100, fmt::format("header_length expected a multiple of 8 from 104 to "
                                           "the cluster size, found {}",
                                           len));
  }
  return {};
}

Result<Header> decode_header(std::span<const std::byte> cluster0, std::uint64_t file_size) {
  VDISK_RETURN_IF_ERROR(check_fixed_header(cluster0));
  Header h = decode_fields(cluster0);
  if (cluster0.size() < h.header_length)
    return header_error(0, fmt::format("expected at least {} bytes, found {} (truncated)",
                                       h.header_length, cluster0.size()));
  // The extensions first: they name the feature bits the checks may refuse.
  VDISK_RETURN_IF_ERROR(read_backing_name(h, cluster0));
  VDISK_RETURN_IF_ERROR(read_extensions(h, cluster0));
  VDISK_RETURN_IF_ERROR(check_features(h));
  VDISK_RETURN_IF_ERROR(check_tables(h, file_size));
  if (h.crypto_extension)
    return unsupported(
        "qcow2: header extension 0x0537be77: an encryption header is present; "
        "encrypted qcow2 images are not supported");
  return h;
}

std::string feature_name(const Header& h, std::uint8_t type, unsigned bit) {
  for (const FeatureName& f : h.feature_names)
    if (f.type == type && f.bit == bit && !f.name.empty())
      return fmt::format("'{}' (bit {})", f.name, bit);
  return fmt::format("bit {}", bit);
}

}  // namespace vdisk::qcow2
