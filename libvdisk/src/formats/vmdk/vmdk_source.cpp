// VmdkSource: concatenated extents, parent fall-through, and `info` facts.
#include "formats/vmdk/vmdk_source.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "vdisk/image.h"

namespace vdisk::vmdk {

VmdkSource::VmdkSource(std::vector<Piece> pieces, LinkInfo info, std::unique_ptr<BlockSource> parent)
    : pieces_(std::move(pieces)), info_(std::move(info)), parent_(std::move(parent)) {
  for (const Piece& p : pieces_) size_ = p.start + p.reader->size();
}

Status VmdkSource::fill_from_parent(std::uint64_t offset, std::span<std::byte> dst) const {
  std::size_t from_parent = 0;
  if (parent_ && offset < parent_->size())
    from_parent = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), parent_->size() - offset));
  if (from_parent > 0) VDISK_RETURN_IF_ERROR(parent_->read(offset, dst.first(from_parent)));
  std::memset(dst.data() + from_parent, 0, dst.size() - from_parent);
  return {};
}

Status VmdkSource::map_parent(std::uint64_t offset, std::uint64_t length,
                              std::vector<Extent>& out) const {
  std::uint64_t covered = 0;
  if (parent_ && offset < parent_->size()) {
    covered = std::min(length, parent_->size() - offset);
    std::vector<Extent> tmp;
    VDISK_RETURN_IF_ERROR(parent_->map(offset, covered, tmp));
    for (const Extent& e : tmp) append_extent(out, e);
  }
  append_extent(out, {offset + covered, length - covered, ExtentKind::unallocated});
  return {};
}

Status VmdkSource::read(std::uint64_t offset, std::span<std::byte> dst) const {
  if (offset > size_ || dst.size() > size_ - offset)
    return out_of_range(fmt::format("vmdk: read of {} bytes at {} past the virtual size {}",
                                    dst.size(), offset, size_));
  if (dst.empty()) return {};
  auto it = std::upper_bound(pieces_.begin(), pieces_.end(), offset,
                             [](std::uint64_t o, const Piece& p) { return o < p.start; });
  std::size_t pos = 0;
  for (--it; pos < dst.size(); ++it) {
    const Piece& p = *it;
    const std::uint64_t at = offset + pos;
    const std::uint64_t n = std::min<std::uint64_t>(dst.size() - pos, p.start + p.reader->size() - at);
    const std::uint64_t start = p.start;
    FillFn fill = [this, start](std::uint64_t o, std::span<std::byte> d) {
      return fill_from_parent(start + o, d);
    };
    VDISK_RETURN_IF_ERROR(p.reader->read(at - p.start, dst.subspan(pos, static_cast<std::size_t>(n)), fill));
    pos += static_cast<std::size_t>(n);
  }
  return {};
}

Status VmdkSource::map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const {
  if (offset > size_ || length > size_ - offset)
    return out_of_range(fmt::format("vmdk: map of {} bytes at {} past the virtual size {}", length,
                                    offset, size_));
  const std::uint64_t end = offset + length;
  std::vector<Extent> tmp;
  for (const Piece& p : pieces_) {
    const std::uint64_t pend = p.start + p.reader->size();
    if (pend <= offset || p.start >= end) continue;
    const std::uint64_t from = std::max(offset, p.start), to = std::min(end, pend);
    tmp.clear();
    VDISK_RETURN_IF_ERROR(p.reader->map(from - p.start, to - from, tmp));
    for (Extent e : tmp) {
      e.offset += p.start;
      if (e.kind == ExtentKind::unallocated && parent_) {
        VDISK_RETURN_IF_ERROR(map_parent(e.offset, e.length, out));
      } else {
        append_extent(out, e);
      }
    }
  }
  return {};
}

std::optional<std::uint32_t> VmdkSource::cid() const {
  if (!info_.descriptor) return std::nullopt;
  const auto v = info_.descriptor->get("CID");
  return v ? parse_cid(*v) : std::nullopt;
}

void VmdkSource::describe(Properties& out) const {
  const Descriptor* d = info_.descriptor ? &*info_.descriptor : nullptr;
  auto get = [d](std::string_view key) { return d ? d->get(key) : std::nullopt; };
  out.add("file", info_.file);
  if (auto v = get("createType")) out.add("create_type", *v);
  if (auto v = get("version")) out.add("descriptor_version", *v);
  // CIDs as 8 hex digits (writers differ on leading zeros); malformed ones as written.
  auto cid_text = [](const std::string& v) {
    const auto c = parse_cid(v);
    return c ? fmt::format("{:08x}", *c) : v;
  };
  if (auto v = get("CID")) out.add("cid", cid_text(*v));
  if (auto v = get("parentCID")) out.add("parent_cid", cid_text(*v));
  if (auto v = get("parentFileNameHint")) out.add("parent_file_name_hint", *v);
  if (info_.sparse) {
    const SparseHeader& h = *info_.sparse;
    Properties& s = out.add_object("sparse_header");
    s.add("version", h.version);
    s.add("flags", fmt::format("0x{:08x}", h.flags));
    s.add("grain_size", h.grain_bytes());
    s.add("gtes_per_gt", h.num_gtes_per_gt);
    s.add("compressed", h.compressed());
    s.add("markers", h.markers());
    s.add("zeroed_grains", h.zeroed_grains());
    s.add("gd_at_end", info_.footer_used);
  }
  std::uint64_t allocated = 0;
  bool allocated_known = true;
  for (const Piece& p : pieces_) {
    Properties& e = out.add_list_item("extents");
    e.add("access", access_name(p.line.access));
    e.add("size", p.line.sectors * kSector);
    e.add("type", extent_type_name(p.line.type));
    if (p.line.file) e.add("file", *p.line.file);
    if (p.line.offset) e.add("offset", *p.line.offset * kSector);
    p.reader->describe(e);
    auto a = p.reader->allocated_bytes();
    if (a.ok()) allocated += *a; else allocated_known = false;
  }
  if (allocated_known) out.add("allocated_bytes", allocated);
  if (d) {
    const auto ddb = d->ddb();
    if (!ddb.empty()) {
      Properties& o = out.add_object("ddb");
      for (const DescriptorLine* l : ddb) o.add(l->key, l->value);
    }
  }
  if (parent_) {
    Properties& p = out.add_object("parent");
    p.add("format", parent_->format());
    p.add("virtual_size", parent_->size());
    parent_->describe(p);
  }
}

}  // namespace vdisk::vmdk
