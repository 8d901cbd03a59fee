// VMDK writers: the embedded descriptor, its identities (CID, longContentID, uuid) and
// geometry, the option checks and sizing both subformats share, and make_writer's dispatch.
// Grammar and ddb keys: the VMware technote's descriptor section; qemu's byte-literal look-ups
// (descriptor_lint.h: it finds `key="` literally, so header keys are written without spaces and
// CID before parentCID) and the other consumers' rules are what the unit test lints against.
#include <fmt/format.h>

#include <algorithm>

#include "base/checked.h"
#include "formats/vmdk/vmdk_format.h"
#include "formats/vmdk/vmdk_writer.h"

namespace vdisk::vmdk {
namespace writer {
namespace {

constexpr std::string_view kAdapters[] = {"ide", "buslogic", "lsilogic", "legacyESX"};
constexpr std::size_t kMaxFileName = 1024;  // keeps the descriptor far below its 10 KiB area

// FNV-1a over the uuid, salted: the identities are a pure function of the uuid.
std::uint32_t hash_uuid(const std::array<std::uint8_t, 16>& uuid, std::uint32_t salt) noexcept {
  std::uint32_t h = 2166136261u ^ salt;
  for (std::uint8_t b : uuid) {
    h ^= b;
    h *= 16777619u;
  }
  // FNV's low bits mix poorly for short inputs: finish with a murmur-style avalanche.
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

std::string uuid_text(const std::array<std::uint8_t, 16>& u) {
  // VMware's form: 16 hex byte pairs separated by spaces, a '-' between bytes 7 and 8.
  std::string s;
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i > 0) s += i == 8 ? '-' : ' ';
    s += fmt::format("{:02x}", u[i]);
  }
  return s;
}

Status validate_file_name(const std::string& name) {
  if (name.size() > kMaxFileName)
    return invalid_argument(fmt::format("vmdk: extent file name of {} bytes is longer than {}",
                                        name.size(), kMaxFileName));
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '/' || u < 0x20 || u == 0x7f)
      return invalid_argument(fmt::format(
          "vmdk: extent file name '{}' may not contain '\"', '/' or control characters", name));
  }
  return {};
}

}  // namespace

Tables tables_for(std::uint64_t sectors) noexcept {
  Tables t;
  t.grains = detail::div_ceil(sectors, kGrainSectors);
  t.gts = detail::div_ceil(t.grains, kGtes);
  t.gd_sectors = detail::div_ceil(t.gts * 4, kSector);
  return t;
}

std::uint32_t derive_cid(const std::array<std::uint8_t, 16>& uuid) noexcept {
  std::uint32_t cid = hash_uuid(uuid, 0);
  // ffffffff means "no parent" to VMware (technote); open-vmdk also avoids fffffffe.
  if (cid >= 0xfffffffeu) cid &= 0x7fffffffu;
  return cid;
}

Geometry geometry_for(std::uint64_t sectors, std::string_view adapter) noexcept {
  Geometry g;
  const bool ide = adapter == "ide";
  g.heads = ide ? 16 : 255;
  g.sectors = 63;
  const std::uint64_t cap = ide ? 16383 : 65535;
  g.cylinders = std::min(cap, detail::div_ceil(sectors, std::uint64_t{g.heads} * g.sectors));
  return g;
}

Status validate(std::uint64_t disk_size, const WriterOptions& o) {
  if (disk_size == 0 || disk_size % kSector != 0)
    return invalid_argument(
        fmt::format("vmdk: disk size {} is not a positive multiple of 512 bytes", disk_size));
  if (disk_size > max_disk_size(o.subformat))
    return invalid_argument(fmt::format("vmdk: disk size {} is above the {} limit of {} bytes",
                                        disk_size, subformat_name(o.subformat),
                                        max_disk_size(o.subformat)));
  if (o.level < 0 || o.level > 9)
    return invalid_argument(fmt::format("vmdk: level {} not in 0..9", o.level));
  if (o.threads > 256) return invalid_argument(fmt::format("vmdk: threads {} > 256", o.threads));
  if (std::find(std::begin(kAdapters), std::end(kAdapters), o.adapter) == std::end(kAdapters))
    return invalid_argument(fmt::format(
        "vmdk: adapter type '{}' is not one of ide, buslogic, lsilogic, legacyESX", o.adapter));
  if (o.hw_version < 4 || o.hw_version > 21)
    return invalid_argument(
        fmt::format("vmdk: virtual hardware version {} not in 4..21", o.hw_version));
  if (o.engine_override && !codec::engine_available(*o.engine_override))
    return invalid_argument(fmt::format("vmdk: engine {} is not compiled into this build",
                                        codec::engine_name(*o.engine_override)));
  return validate_file_name(o.file_name);
}

std::string descriptor_text(std::uint64_t sectors, const WriterOptions& o) {
  const std::uint32_t cid = derive_cid(o.uuid);
  const Geometry g = geometry_for(sectors, o.adapter);
  std::string t;
  t += "# Disk DescriptorFile\n";
  t += "version=1\n";
  t += "encoding=\"UTF-8\"\n";
  t += fmt::format("CID={:08x}\n", cid);
  t += "parentCID=ffffffff\n";
  t += fmt::format("createType=\"{}\"\n\n", subformat_name(o.subformat));
  t += "# Extent description\n";
  t += fmt::format("RW {} SPARSE \"{}\"\n\n", sectors,
                   o.file_name.empty() ? std::string("disk.vmdk") : o.file_name);
  t += "# The Disk Data Base\n#DDB\n\n";
  t += fmt::format("ddb.adapterType = \"{}\"\n", o.adapter);
  t += fmt::format("ddb.geometry.cylinders = \"{}\"\n", g.cylinders);
  t += fmt::format("ddb.geometry.heads = \"{}\"\n", g.heads);
  t += fmt::format("ddb.geometry.sectors = \"{}\"\n", g.sectors);
  if (o.identity_keys)
    // open-vmdk's shape: three words and the CID.
    t += fmt::format("ddb.longContentID = \"{:08x}{:08x}{:08x}{:08x}\"\n", hash_uuid(o.uuid, 1),
                     hash_uuid(o.uuid, 2), hash_uuid(o.uuid, 3), cid);
  t += "ddb.toolsVersion = \"2147483647\"\n";
  if (o.identity_keys) t += fmt::format("ddb.uuid = \"{}\"\n", uuid_text(o.uuid));
  t += fmt::format("ddb.virtualHWVersion = \"{}\"\n", o.hw_version);
  return t;
}

Status OrderedWriter::usable() const {
  if (!failed_.ok()) return failed_;
  if (finished_) return internal_error("vmdk: writer used after finish()");
  return {};
}

Status OrderedWriter::fail_on(Status s) {
  if (!s.ok() && failed_.ok()) failed_ = s;
  return s;
}

Status OrderedWriter::check_call(std::uint64_t offset, std::uint64_t length) {
  VDISK_RETURN_IF_ERROR(usable());
  if (offset != pos_ || length > disk_size_ - pos_)
    return fail_on(internal_error(
        fmt::format("vmdk: write of {} bytes at {} breaks the in-order contract (at {} of {})",
                    length, offset, pos_, disk_size_)));
  return {};
}

Status OrderedWriter::check_complete() {
  VDISK_RETURN_IF_ERROR(usable());
  if (pos_ != disk_size_)
    return fail_on(internal_error(
        fmt::format("vmdk: finish() at disk offset {} of {}: the disk was not written whole", pos_,
                    disk_size_)));
  return {};
}

}  // namespace writer

Result<Subformat> parse_subformat(std::string_view name) {
  if (name == "streamOptimized") return Subformat::stream_optimized;
  if (name == "monolithicSparse") return Subformat::monolithic_sparse;
  return invalid_argument(
      fmt::format("vmdk: subformat '{}' is not streamOptimized or monolithicSparse", name));
}

std::string_view subformat_name(Subformat subformat) noexcept {
  return subformat == Subformat::monolithic_sparse ? "monolithicSparse" : "streamOptimized";
}

std::uint64_t max_disk_size(Subformat subformat) noexcept {
  if (subformat == Subformat::stream_optimized) return kMaxCapacitySectors * kSector;
  // The largest capacity whose metadata plus every grain stays inside 2^32 sectors.
  std::uint64_t sectors = (1ull << 32) - writer::sparse_overhead(1ull << 32);
  sectors -= sectors % writer::kGrainSectors;
  return sectors * kSector;
}

Result<std::unique_ptr<BlockSink>> make_writer(std::unique_ptr<ByteSink> out,
                                               std::uint64_t disk_size,
                                               const WriterOptions& options) {
  if (!out) return invalid_argument("vmdk: no output");
  VDISK_RETURN_IF_ERROR(writer::validate(disk_size, options));
  if (options.subformat == Subformat::monolithic_sparse)
    return writer::make_sparse_writer(std::move(out), disk_size, options);
  return writer::make_stream_writer(std::move(out), disk_size, options);
}

Result<SizeEstimate> estimate_size(std::uint64_t disk_size, std::uint64_t data_grains,
                                   const WriterOptions& options) {
  VDISK_RETURN_IF_ERROR(writer::validate(disk_size, options));
  const std::uint64_t sectors = disk_size / kSector;
  const writer::Tables t = writer::tables_for(sectors);
  if (data_grains > t.grains)
    return invalid_argument(
        fmt::format("vmdk: {} data grains but the disk has {}", data_grains, t.grains));
  SizeEstimate e;
  if (options.subformat == Subformat::monolithic_sparse) {
    e.metadata_bytes = writer::sparse_overhead(sectors) * kSector;
    e.upper_bound = e.metadata_bytes + data_grains * writer::kGrainBytes;
    return e;
  }
  // Front (header, descriptor), GT marker + GT per table used, GD marker + GD, footer trio.
  const std::uint64_t gt_sectors = std::min(data_grains, t.gts) * (1 + writer::kGtSectors);
  e.metadata_bytes = (writer::kStreamOverhead + gt_sectors + 1 + t.gd_sectors + 3) * kSector;
  const std::uint64_t grain_record = *detail::round_up(
      kGrainMarkerHeader + codec::zlib_compress_bound(writer::kGrainBytes), kSector);
  e.upper_bound = e.metadata_bytes + data_grains * grain_record;
  return e;
}

}  // namespace vdisk::vmdk
