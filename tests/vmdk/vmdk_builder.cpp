#include "vmdk_builder.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

#include "base/endian.h"
#include "base/zero.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk::test {
namespace {

constexpr std::uint64_t kS = 512;

void pad_to_sector(std::vector<std::byte>& f) { f.resize((f.size() + kS - 1) / kS * kS); }

std::vector<std::byte> deflate_grain(std::span<const std::byte> in, bool raw) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, raw ? -15 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::vector<std::byte> out(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Geometry {
  std::uint64_t capacity, grain, gtes, gdes, gd_sectors, gt_sectors;
};
Geometry geometry(std::uint64_t bytes, std::uint64_t grain, std::uint64_t gtes) {
  Geometry g{};
  g.capacity = bytes / kS;
  g.grain = grain;
  g.gtes = gtes;
  g.gdes = (g.capacity + grain * gtes - 1) / (grain * gtes);
  g.gd_sectors = (g.gdes * 4 + kS - 1) / kS;
  g.gt_sectors = (gtes * 4 + kS - 1) / kS;
  return g;
}

std::span<const std::byte> grain_bytes(const std::vector<std::byte>& c, const Geometry& g,
                                       std::uint64_t i) {
  const std::uint64_t off = i * g.grain * kS;
  const std::uint64_t n = std::min<std::uint64_t>(g.grain * kS, c.size() - off);
  return std::span<const std::byte>(c).subspan(off, n);
}

void put_header(std::vector<std::byte>& f, std::uint64_t at, const SparseHeader& h) {
  encode_sparse_header(h, std::span<std::byte>(f).subspan(at, kHeaderSize));
}

void put_descriptor(std::vector<std::byte>& f, const std::string& d) {
  if (d.size() > 20 * kS) throw std::runtime_error("descriptor too long");
  std::memcpy(f.data() + kS, d.data(), d.size());
}

}  // namespace

std::string make_descriptor(const std::string& create_type, std::uint64_t sectors,
                            const std::string& extent_type, const std::string& file,
                            std::uint32_t cid, std::uint32_t parent_cid,
                            const std::string& parent_hint) {
  std::string d = fmt::format(
      "# Disk DescriptorFile\nversion=1\nCID={:08x}\nparentCID={:08x}\ncreateType=\"{}\"\n", cid,
      parent_cid, create_type);
  if (!parent_hint.empty()) d += fmt::format("parentFileNameHint=\"{}\"\n", parent_hint);
  d += fmt::format("\n# Extent description\nRW {} {} \"{}\"\n\n# The Disk Data Base\n#DDB\n\n",
                   sectors, extent_type, file);
  d += "ddb.virtualHWVersion = \"4\"\nddb.adapterType = \"lsilogic\"\n";
  return d;
}

std::vector<std::byte> build_sparse(const SparseBuild& b) {
  const Geometry g = geometry(b.content.size(), b.grain_sectors, b.gtes_per_gt);
  SparseHeader h;
  h.version = b.zeroed.empty() ? 1 : 2;
  h.flags = kFlagNewlineTest | (b.zeroed.empty() ? 0 : kFlagZeroedGrainGte);
  h.capacity = g.capacity;
  h.grain_size = g.grain;
  h.descriptor_offset = 1;
  h.descriptor_size = 20;
  h.num_gtes_per_gt = b.gtes_per_gt;
  h.gd_offset = kBuiltGdSector;
  const std::uint64_t meta_end = kBuiltGdSector + g.gd_sectors + g.gdes * g.gt_sectors;
  h.overhead = (meta_end + g.grain - 1) / g.grain * g.grain;
  std::vector<std::byte> f(h.overhead * kS);
  put_header(f, 0, h);
  put_descriptor(f, b.descriptor.empty()
                        ? make_descriptor("monolithicSparse", g.capacity, "SPARSE", "x.vmdk")
                        : b.descriptor);
  for (std::uint64_t t = 0; t < g.gdes; ++t)
    detail::store_le32(
        std::span<std::byte>(f).subspan(kBuiltGdSector * kS + t * 4),
        static_cast<std::uint32_t>(kBuiltGdSector + g.gd_sectors + t * g.gt_sectors));
  const std::uint64_t grains = (g.capacity + g.grain - 1) / g.grain;
  for (std::uint64_t i = 0; i < grains; ++i) {
    std::uint32_t gte = 0;
    if (b.zeroed.count(i)) {
      gte = 1;
    } else {
      auto data = grain_bytes(b.content, g, i);
      if (detail::is_zero(data)) continue;
      gte = static_cast<std::uint32_t>(f.size() / kS);
      f.insert(f.end(), data.begin(), data.end());
      f.resize(f.size() + (g.grain * kS - data.size()));  // whole grain in the file
    }
    const std::uint64_t gt_at = (kBuiltGdSector + g.gd_sectors + (i / g.gtes) * g.gt_sectors) * kS;
    detail::store_le32(std::span<std::byte>(f).subspan(gt_at + (i % g.gtes) * 4), gte);
  }
  return f;
}

std::vector<std::byte> build_stream(const StreamBuild& b) {
  const Geometry g = geometry(b.content.size(), b.grain_sectors, 512);
  SparseHeader h;
  h.version = 3;
  h.flags = kFlagNewlineTest | kFlagCompressed | kFlagMarkers;
  h.capacity = g.capacity;
  h.grain_size = g.grain;
  h.descriptor_offset = 1;
  h.descriptor_size = 20;
  h.num_gtes_per_gt = 512;
  h.compress_algorithm = kCompressDeflate;
  const std::uint64_t front_meta =
      b.vmware_layout ? 21 : kBuiltGdSector + g.gd_sectors + g.gdes * g.gt_sectors;
  h.overhead = (front_meta + g.grain - 1) / g.grain * g.grain;
  h.gd_offset = b.vmware_layout ? kGdAtEnd : kBuiltGdSector;
  std::vector<std::byte> f(h.overhead * kS);
  put_header(f, 0, h);
  put_descriptor(f, b.descriptor.empty()
                        ? make_descriptor("streamOptimized", g.capacity, "SPARSE", "x.vmdk")
                        : b.descriptor);
  std::vector<std::uint32_t> gtes(g.gdes * g.gtes, 0);
  const std::uint64_t grains = (g.capacity + g.grain - 1) / g.grain;
  std::vector<std::uint64_t> order;
  for (std::uint64_t i = 0; i < grains; ++i)
    if (!detail::is_zero(grain_bytes(b.content, g, i))) order.push_back(i);
  if (b.reverse_grains) std::reverse(order.begin(), order.end());
  for (std::uint64_t i : order) {
    std::vector<std::byte> data(grain_bytes(b.content, g, i).begin(),
                                grain_bytes(b.content, g, i).end());
    if (b.last_grain_bytes != 0 && i + 1 == grains)
      data.resize(b.last_grain_bytes, b.last_grain_fill);
    const auto packed = deflate_grain(data, b.raw_deflate);
    gtes[i] = static_cast<std::uint32_t>(f.size() / kS);
    std::vector<std::byte> hdr(kGrainMarkerHeader);
    encode_grain_marker_header(i * g.grain, static_cast<std::uint32_t>(packed.size()), hdr);
    f.insert(f.end(), hdr.begin(), hdr.end());
    f.insert(f.end(), packed.begin(), packed.end());
    pad_to_sector(f);
  }
  std::vector<std::uint32_t> gd(g.gdes);
  auto put_table = [&f](std::span<const std::uint32_t> t, std::uint64_t at) {
    for (std::size_t k = 0; k < t.size(); ++k)
      detail::store_le32(std::span<std::byte>(f).subspan(at + k * 4), t[k]);
  };
  if (b.vmware_layout) {
    std::vector<std::byte> marker(kS);
    for (std::uint64_t t = 0; t < g.gdes; ++t) {
      encode_metadata_marker(g.gt_sectors, MarkerType::grain_table, marker);
      f.insert(f.end(), marker.begin(), marker.end());
      gd[t] = static_cast<std::uint32_t>(f.size() / kS);
      f.resize(f.size() + g.gt_sectors * kS);
      put_table(std::span<const std::uint32_t>(gtes).subspan(t * g.gtes, g.gtes), gd[t] * kS);
    }
    encode_metadata_marker(g.gd_sectors, MarkerType::grain_directory, marker);
    f.insert(f.end(), marker.begin(), marker.end());
    const std::uint64_t gd_sector = f.size() / kS;
    f.resize(f.size() + g.gd_sectors * kS);
    put_table(gd, gd_sector * kS);
    encode_metadata_marker(1, MarkerType::footer, marker);
    f.insert(f.end(), marker.begin(), marker.end());
    SparseHeader footer = h;
    footer.gd_offset = gd_sector;
    f.resize(f.size() + kS);
    put_header(f, f.size() - kS, footer);
    encode_metadata_marker(0, MarkerType::eos, marker);
    f.insert(f.end(), marker.begin(), marker.end());
  } else {
    for (std::uint64_t t = 0; t < g.gdes; ++t) {
      gd[t] = static_cast<std::uint32_t>(kBuiltGdSector + g.gd_sectors + t * g.gt_sectors);
      put_table(std::span<const std::uint32_t>(gtes).subspan(t * g.gtes, g.gtes), gd[t] * kS);
    }
    put_table(gd, kBuiltGdSector * kS);
  }
  return f;
}

std::vector<std::byte> build_cowd(const CowdBuild& b) {
  CowdHeader h;
  h.capacity = static_cast<std::uint32_t>(b.content.size() / kS);
  h.grain_size = b.grain_sectors;
  h.gd_offset = 4;
  h.gd_entries = static_cast<std::uint32_t>(h.needed_gd_entries());
  const std::uint64_t gd_sectors = (std::uint64_t{h.gd_entries} * 4 + kS - 1) / kS;
  const std::uint64_t gt_sectors = kCowdGtes * 4 / kS;
  std::vector<std::byte> f((4 + gd_sectors + h.gd_entries * gt_sectors) * kS);
  const Geometry g = geometry(b.content.size(), b.grain_sectors, kCowdGtes);
  const std::uint64_t grains = (g.capacity + g.grain - 1) / g.grain;
  for (std::uint64_t t = 0; t < h.gd_entries; ++t)
    detail::store_le32(std::span<std::byte>(f).subspan(4 * kS + t * 4),
                       static_cast<std::uint32_t>(4 + gd_sectors + t * gt_sectors));
  std::vector<std::uint64_t> order;
  for (std::uint64_t i = 0; i < grains; ++i)
    if (!b.skip.count(i) && !detail::is_zero(grain_bytes(b.content, g, i))) order.push_back(i);
  if (b.reverse_grains) std::reverse(order.begin(), order.end());
  for (std::uint64_t i : order) {
    auto data = grain_bytes(b.content, g, i);
    const auto at = static_cast<std::uint32_t>(f.size() / kS);
    f.insert(f.end(), data.begin(), data.end());
    f.resize(f.size() + (g.grain * kS - data.size()));
    const std::uint64_t gt_at = (4 + gd_sectors + (i / kCowdGtes) * gt_sectors) * kS;
    detail::store_le32(std::span<std::byte>(f).subspan(gt_at + (i % kCowdGtes) * 4), at);
  }
  h.free_sector = static_cast<std::uint32_t>(f.size() / kS);
  encode_cowd_header(h, std::span<std::byte>(f).first(kCowdHeaderSize));
  return f;
}

std::vector<std::byte> build_sesparse(const SeSparseBuild& b) {
  const std::uint64_t capacity = b.content.size() / kS;
  const std::uint64_t grains = (capacity + 7) / 8;
  const std::uint64_t tables = std::max<std::uint64_t>(1, (grains + 4095) / 4096);
  const std::uint64_t gd_sectors = (tables * 8 + kS - 1) / kS;
  const std::uint64_t gt_at = 4 + gd_sectors;
  const std::uint64_t grains_at = gt_at + tables * 64;
  std::vector<std::byte> f(grains_at * kS);
  auto put64 = [&f](std::uint64_t at, std::uint64_t v) {
    detail::store_le64(std::span<std::byte>(f).subspan(at), v);
  };
  put64(0, kSeSparseMagic);
  put64(8, kSeSparseVersion);
  put64(16, capacity);
  put64(24, 8);
  put64(32, 64);
  const std::uint64_t pairs[8][2] = {{1, 1},
                                     {2, 1},
                                     {3, 1},
                                     {4, gd_sectors},
                                     {gt_at, tables * 64},
                                     {0, 0},
                                     {0, 0},
                                     {grains_at, grains * 8}};
  for (std::uint64_t i = 0; i < 8; ++i) {
    put64(80 + i * 16, pairs[i][0]);
    put64(88 + i * 16, pairs[i][1]);
  }
  put64(kS, kSeSparseVolatileMagic);
  put64(kS + 24, b.dirty ? 1 : 0);
  for (std::uint64_t t = 0; t < tables; ++t) put64(4 * kS + t * 8, 0x1000000000000000ull | t);
  std::vector<std::uint64_t> stored;
  for (std::uint64_t i = 0; i < grains; ++i) {
    std::uint64_t e = 0;
    if (b.zero.count(i)) {
      e = 2ull << 60;
    } else if (b.unmapped.count(i)) {
      e = 1ull << 60;
    } else if (!b.skip.count(i)) {
      const std::uint64_t off = i * 8 * kS;
      const auto n = std::min<std::uint64_t>(8 * kS, b.content.size() - off);
      if (detail::is_zero(std::span<const std::byte>(b.content).subspan(off, n))) continue;
      stored.push_back(i);
      continue;
    }
    put64(gt_at * kS + i * 8, e);
  }
  std::reverse(stored.begin(), stored.end());
  for (std::uint64_t k = 0; k < stored.size(); ++k) {
    const std::uint64_t i = stored[k];
    put64(gt_at * kS + i * 8, (3ull << 60) | ((k & 0xFFF) << 48) | (k >> 12));
    const std::uint64_t off = i * 8 * kS;
    const auto n = std::min<std::uint64_t>(8 * kS, b.content.size() - off);
    f.insert(f.end(), b.content.begin() + static_cast<std::ptrdiff_t>(off),
             b.content.begin() + static_cast<std::ptrdiff_t>(off + n));
    f.resize(f.size() + (8 * kS - n));
  }
  return f;
}

}  // namespace vdisk::vmdk::test
