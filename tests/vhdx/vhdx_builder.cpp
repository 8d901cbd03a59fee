// The VHDX test writer (see vhdx_builder.h). Structures as MS-VHDX lays them out; CRC-32C from
// libvdisk's checksum module (itself tested against published vectors).
#include "vhdx_builder.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "checksum/crc32c.h"
#include "base/utf.h"

namespace vdisk::test {
namespace {

using Bytes = std::vector<std::byte>;

void put(Bytes& b, std::uint64_t at, std::string_view s) {
  std::memcpy(b.data() + at, s.data(), s.size());
}
template <class T>
void put_le(Bytes& b, std::uint64_t at, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    b[at + i] = std::byte{static_cast<unsigned char>(static_cast<std::uint64_t>(v) >> (8 * i))};
}
void put16(Bytes& b, std::uint64_t at, std::uint16_t v) { put_le(b, at, v); }
void put32(Bytes& b, std::uint64_t at, std::uint32_t v) { put_le(b, at, v); }
void put64(Bytes& b, std::uint64_t at, std::uint64_t v) { put_le(b, at, v); }
void put_guid(Bytes& b, std::uint64_t at, const Guid16& g) {
  for (std::size_t i = 0; i < 16; ++i) b[at + i] = std::byte{g[i]};
}
// A GUID from its text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in the stored byte order.
Guid16 guid_of(std::string_view t) {
  std::string hex;
  for (char c : t)
    if (c != '-') hex += c;
  std::array<std::uint8_t, 16> v{};
  for (std::size_t i = 0; i < 16; ++i)
    v[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
  return {v[3], v[2], v[1],  v[0],  v[5],  v[4],  v[7],  v[6],
          v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]};
}

void fix_crc(Bytes& img, std::uint64_t at, std::size_t len) {
  put32(img, at + 4, 0);
  put32(img, at + 4, checksum::crc32c(0, std::span(img).subspan(at, len)));
}

Bytes parent_locator(const std::vector<std::pair<std::string, std::string>>& kv) {
  Bytes out(20 + kv.size() * 12);
  put_guid(out, 0, guid_of("b04aefb7-d19e-4a81-b789-25b8e9445913"));
  put16(out, 18, static_cast<std::uint16_t>(kv.size()));
  for (std::size_t i = 0; i < kv.size(); ++i) {
    const Bytes k = detail::utf8_to_utf16(kv[i].first, false);
    const Bytes v = detail::utf8_to_utf16(kv[i].second, false);
    const std::size_t ko = out.size();
    out.insert(out.end(), k.begin(), k.end());
    const std::size_t vo = out.size();
    out.insert(out.end(), v.begin(), v.end());
    put32(out, 20 + i * 12, static_cast<std::uint32_t>(ko));
    put32(out, 20 + i * 12 + 4, static_cast<std::uint32_t>(vo));
    put16(out, 20 + i * 12 + 8, static_cast<std::uint16_t>(k.size()));
    put16(out, 20 + i * 12 + 10, static_cast<std::uint16_t>(v.size()));
  }
  return out;
}

}  // namespace

VhdxBuilder::VhdxBuilder(VhdxSpec spec) : spec_(std::move(spec)) {
  next_ = metadata_offset() + kMiB;
}

std::uint64_t VhdxBuilder::chunk_ratio() const {
  return (std::uint64_t{1} << 23) * spec_.logical_sector / spec_.block_size;
}
std::uint64_t VhdxBuilder::payload_blocks() const {
  return (spec_.virtual_size + spec_.block_size - 1) / spec_.block_size;
}
std::uint64_t VhdxBuilder::bat_entries() const {
  const std::uint64_t p = payload_blocks(), cr = chunk_ratio();
  return spec_.has_parent ? (p + cr - 1) / cr * (cr + 1) : p + (p - 1) / cr;
}
std::uint64_t VhdxBuilder::metadata_offset() const {
  return kBatOffset + (bat_entries() * 8 + kMiB - 1) / kMiB * kMiB;
}

std::uint64_t VhdxBuilder::allocate(std::uint64_t bytes) {
  const std::uint64_t at = next_;
  next_ += (bytes + kMiB - 1) / kMiB * kMiB;
  return at;
}

std::uint64_t VhdxBuilder::add_block(std::uint64_t b, const Bytes& data) {
  const std::uint64_t at = allocate(spec_.block_size);
  blobs_.emplace_back(
      at, Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(
                                                 data.size(), spec_.block_size))));
  bat_[bat_index(b)] = at | 6;
  return at;
}

std::uint64_t VhdxBuilder::add_partial(std::uint64_t b, const Bytes& data,
                                       const std::vector<bool>& present) {
  const std::uint64_t at = add_block(b, data);
  bat_[bat_index(b)] = at | 7;
  const std::uint64_t chunk = b / chunk_ratio();
  if (!bitmaps_.count(chunk)) {
    bitmaps_[chunk] = allocate(kMiB);
    bat_[bitmap_index(chunk)] = bitmaps_[chunk] | 6;
  }
  Bytes* bm = nullptr;
  for (auto& [off, bytes] : blobs_)
    if (off == bitmaps_[chunk]) bm = &bytes;
  if (!bm) {
    blobs_.emplace_back(bitmaps_[chunk], Bytes(kMiB));
    bm = &blobs_.back().second;
  }
  const std::uint64_t first = (b % chunk_ratio()) * (spec_.block_size / spec_.logical_sector);
  for (std::size_t s = 0; s < present.size(); ++s)
    if (present[s])
      (*bm)[(first + s) / 8] |= std::byte{static_cast<unsigned char>(1u << ((first + s) % 8))};
  return at;
}

Bytes VhdxBuilder::bytes() const {
  Bytes img(static_cast<std::size_t>(next_));
  for (const auto& [off, data] : blobs_)
    std::copy(data.begin(), data.end(), img.begin() + static_cast<std::ptrdiff_t>(off));
  put(img, 0, "vhdxfile");
  const Bytes creator = detail::utf8_to_utf16("vdisk test builder", false);
  std::copy(creator.begin(), creator.end(), img.begin() + 8);
  // Region tables.
  const std::uint64_t md = metadata_offset();
  for (int t = 0; t < 2; ++t) {
    const std::uint64_t at = kRegionTable[t];
    put(img, at, "regi");
    put32(img, at + 8, 2);
    const std::uint32_t req = spec_.required_regions ? 1 : 0;
    put_guid(img, at + 16, guid_of("2dc27766-f623-4200-9d64-115e9bfd4a08"));
    put64(img, at + 32, kBatOffset);
    put32(img, at + 40, static_cast<std::uint32_t>(md - kBatOffset));
    put32(img, at + 44, req);
    put_guid(img, at + 48, guid_of("8b7ca206-4790-4b9a-b8fe-575f050f886e"));
    put64(img, at + 64, md);
    put32(img, at + 72, static_cast<std::uint32_t>(kMiB));
    put32(img, at + 76, req);
    fix_region_crc(img, t);
  }
  // Metadata table and items.
  put(img, md, "metadata");
  struct Item {
    const char* id;
    Bytes data;
    std::uint32_t flags;
  };
  std::vector<Item> items;
  Bytes fp(8), vs(8), p83(16), ls(4), ps(4);
  put32(fp, 0, spec_.block_size);
  put32(fp, 4, (spec_.leave_allocated ? 1u : 0u) | (spec_.has_parent ? 2u : 0u));
  put64(vs, 0, spec_.virtual_size);
  put_guid(p83, 0, spec_.page83);
  put32(ls, 0, spec_.logical_sector);
  put32(ps, 0, spec_.physical_sector);
  items.push_back({"caa16737-fa36-4d43-b3b6-33f0aa44e76b", fp, 4});
  items.push_back({"2fa54224-cd1b-4876-b211-5dbed83bf4b8", vs, 6});
  items.push_back({"beca12ab-b2e6-4523-93ef-c309e000c746", p83, 6});
  items.push_back({"8141bf1d-a96f-4709-ba47-f233a8faab5f", ls, 6});
  items.push_back({"cda348c7-445d-4471-9cc9-e9885251c556", ps, 6});
  if (spec_.has_parent)
    items.push_back({"a8d35f2d-b30b-454d-abf7-d3d84834ab0c", parent_locator(spec_.locator), 4});
  put16(img, md + 10, static_cast<std::uint16_t>(items.size()));
  for (unsigned i = 0; i < items.size(); ++i) {
    const std::uint64_t e = item_entry_offset(i);
    put_guid(img, e, guid_of(items[i].id));
    put32(img, e + 16, static_cast<std::uint32_t>(item_offset(i) - md));
    put32(img, e + 20, static_cast<std::uint32_t>(items[i].data.size()));
    put32(img, e + 24, items[i].flags);
    std::copy(items[i].data.begin(), items[i].data.end(),
              img.begin() + static_cast<std::ptrdiff_t>(item_offset(i)));
  }
  for (const auto& [index, raw] : bat_) put64(img, entry_offset(index), raw);
  if (has_log_) write_log(img);
  // Headers last: they carry the log GUID.
  for (int h = 0; h < 2; ++h) {
    const std::uint64_t at = kHeader[h];
    put(img, at, "head");
    put64(img, at + 8, spec_.sequence + static_cast<std::uint64_t>(h));
    put_guid(img, at + 16, spec_.file_write);
    put_guid(img, at + 32, spec_.data_write);
    if (has_log_) put_guid(img, at + 48, log_.guid);
    put16(img, at + 66, 1);
    put32(img, at + 68, static_cast<std::uint32_t>(kLogLength));
    put64(img, at + 72, kLogOffset);
    fix_header_crc(img, h);
  }
  return img;
}

void VhdxBuilder::write_log(Bytes& img) const {
  struct Desc {
    bool zero;
    std::uint64_t offset, length;
  };
  std::vector<Desc> all;
  for (std::uint64_t s : log_.sectors) all.push_back({false, s, 4096});
  for (const auto& [o, l] : log_.zeros) all.push_back({true, o, l});
  const unsigned n_entries = std::max(1u, log_.entries);
  std::uint64_t pos = log_.start;
  std::size_t next = 0;
  for (unsigned e = 0; e < n_entries; ++e) {
    const std::size_t take = (all.size() - next) / (n_entries - e);
    const std::vector<Desc> ds(all.begin() + static_cast<std::ptrdiff_t>(next),
                               all.begin() + static_cast<std::ptrdiff_t>(next + take));
    next += take;
    const std::uint64_t seq = log_.first_sequence + e;
    const std::uint64_t desc_sectors = (ds.size() + 2 + 127) / 128;
    std::uint64_t data = 0;
    for (const Desc& d : ds) data += d.zero ? 0 : 1;
    Bytes entry((desc_sectors + data) * 4096);
    put(entry, 0, "loge");
    put32(entry, 8, static_cast<std::uint32_t>(entry.size()));
    put32(entry, 12, static_cast<std::uint32_t>(log_.tail.value_or(log_.start)));
    put64(entry, 16, seq);
    put32(entry, 24, static_cast<std::uint32_t>(ds.size()));
    put_guid(entry, 32, log_.guid);
    put64(entry, 48, log_.flushed.value_or(img.size()));
    put64(entry, 56, img.size());
    std::uint64_t di = 0;
    for (std::size_t i = 0; i < ds.size(); ++i) {
      const std::uint64_t at = 64 + i * 32;
      const Desc& d = ds[i];
      if (d.zero) {
        put(entry, at, "zero");
        put64(entry, at + 8, d.length);
      } else {
        put(entry, at, "desc");
        std::memcpy(entry.data() + at + 4, img.data() + d.offset + 4092, 4);
        std::memcpy(entry.data() + at + 8, img.data() + d.offset, 8);
        const std::uint64_t s = (desc_sectors + di++) * 4096;
        put(entry, s, "data");
        put32(entry, s + 4, static_cast<std::uint32_t>(seq >> 32));
        std::memcpy(entry.data() + s + 8, img.data() + d.offset + 8, 4084);
        put32(entry, s + 4092, static_cast<std::uint32_t>(seq));
      }
      put64(entry, at + 16, d.offset);
      put64(entry, at + 24, seq);
    }
    fix_crc(entry, 0, entry.size());
    for (std::size_t i = 0; i < entry.size(); i += 4096) {
      std::copy_n(entry.begin() + static_cast<std::ptrdiff_t>(i), 4096,
                  img.begin() + static_cast<std::ptrdiff_t>(kLogOffset + pos));
      pos = (pos + 4096) % kLogLength;
    }
  }
  for (const Desc& d : all)
    std::fill_n(img.begin() + static_cast<std::ptrdiff_t>(d.offset), d.length,
                std::byte{log_.stale});
}

void VhdxBuilder::fix_header_crc(Bytes& img, int which) { fix_crc(img, kHeader[which], 4096); }
void VhdxBuilder::fix_region_crc(Bytes& img, int which) {
  fix_crc(img, kRegionTable[which], 65536);
}

}  // namespace vdisk::test
