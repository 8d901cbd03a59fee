#include "vhd_builder.h"

#include <algorithm>
#include <cstring>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::test {

using namespace vdisk::vhd;

namespace {

std::uint64_t align512(std::uint64_t v) { return (v + 511) / 512 * 512; }

bool sector_present(const VhdBlockSpec& b, std::uint64_t sector) {
  return b.present.empty() || (sector < b.present.size() && b.present[sector]);
}

}  // namespace

BuiltVhd build_dynamic_vhd(const DynamicVhdSpec& spec) {
  BuiltVhd out;
  const std::uint64_t entries = spec.max_table_entries.value_or(
      static_cast<std::uint32_t>(detail::div_ceil(spec.size, spec.block_size)));
  const std::uint64_t sectors = spec.block_size / 512;
  out.bitmap_bytes = static_cast<std::uint32_t>(align512((sectors + 7) / 8));
  out.table_offset = 1536;
  std::uint64_t pos = out.table_offset + align512(entries * 4);

  DynamicHeader h;
  h.table_offset = out.table_offset;
  h.max_table_entries = static_cast<std::uint32_t>(entries);
  h.block_size = spec.block_size;
  h.parent_unique_id = spec.parent_id;
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> locator_data;
  std::size_t nloc = 0;
  auto add_locator = [&](std::uint32_t code, const std::string& text) {
    if (text.empty()) return;
    auto utf16 = vhd::utf8_to_utf16(text, false);
    ParentLocator& l = h.locators[nloc++];
    l.platform_code = code;
    l.data_length = static_cast<std::uint32_t>(utf16.size());
    l.data_space = static_cast<std::uint32_t>(align512(utf16.size()) / 512);
    l.data_offset = pos;
    pos += align512(utf16.size());
    locator_data.emplace_back(l.data_offset, std::move(utf16));
  };
  add_locator(kPlatformW2ru, spec.parent_relative);
  add_locator(kPlatformW2ku, spec.parent_absolute);
  const auto name = vhd::utf8_to_utf16(spec.parent_unicode, true);
  std::copy_n(name.begin(), std::min(name.size(), h.parent_name.size()), h.parent_name.begin());

  std::vector<std::uint32_t> bat(entries, kBatUnused);
  for (const auto& b : spec.blocks) {
    out.block_offsets.push_back(pos);
    if (b.index < bat.size()) bat[b.index] = static_cast<std::uint32_t>(pos / 512);
    pos += out.bitmap_bytes + spec.block_size;
  }
  const std::uint64_t file_size = pos + kFooterSize;
  out.bytes.assign(file_size, std::byte{0});
  std::span<std::byte> s(out.bytes);

  Footer f;
  f.data_offset = 512;
  f.timestamp = spec.timestamp;
  f.creator_app = {'t', 'e', 's', 't'};
  f.creator_version = 0x00010002;
  f.original_size = spec.size;
  f.current_size = spec.size;
  f.geometry = chs_for_size(spec.size);
  f.disk_type =
      static_cast<std::uint32_t>(spec.differencing ? DiskType::differencing : DiskType::dynamic);
  f.unique_id = spec.unique_id;
  const auto footer = encode_footer(f);
  std::memcpy(out.bytes.data(), footer.data(), kFooterSize);
  std::memcpy(out.bytes.data() + file_size - kFooterSize, footer.data(), kFooterSize);
  const auto header = encode_dynamic_header(h);
  std::memcpy(out.bytes.data() + 512, header.data(), kDynHeaderSize);
  for (std::size_t i = 0; i < bat.size(); ++i)
    detail::store_be32(s.subspan(out.table_offset + 4 * i), bat[i]);
  for (auto& [off, data] : locator_data)
    std::memcpy(out.bytes.data() + off, data.data(), data.size());
  for (std::size_t k = 0; k < spec.blocks.size(); ++k) {
    const auto& b = spec.blocks[k];
    const std::uint64_t off = out.block_offsets[k];
    for (std::uint64_t sct = 0; sct < sectors; ++sct)
      if (sector_present(b, sct))
        out.bytes[off + sct / 8] |= static_cast<std::byte>(0x80u >> (sct % 8));
    std::memcpy(out.bytes.data() + off + out.bitmap_bytes, b.data.data(),
                std::min<std::size_t>(b.data.size(), spec.block_size));
  }
  return out;
}

void reseal_vhd(std::vector<std::byte>& bytes, std::uint64_t header_offset) {
  std::span<std::byte> s(bytes);
  auto fix_footer = [&](std::size_t at) {
    auto f = s.subspan(at, kFooterSize);
    if (std::memcmp(f.data(), "conectix", 8) != 0) return;
    detail::store_be32(f.subspan(kOffChecksum), footer_checksum(f));
  };
  fix_footer(0);
  fix_footer(bytes.size() - kFooterSize);
  if (header_offset + kDynHeaderSize <= bytes.size() &&
      std::memcmp(bytes.data() + header_offset, "cxsparse", 8) == 0) {
    auto h = s.subspan(header_offset, kDynHeaderSize);
    detail::store_be32(h.subspan(kDynOffChecksum), dynamic_header_checksum(h));
  }
}

std::vector<std::byte> expected_image(const DynamicVhdSpec& spec,
                                      const std::vector<std::byte>& parent) {
  std::vector<std::byte> img(spec.size, std::byte{0});
  if (spec.differencing)
    std::memcpy(img.data(), parent.data(), std::min(parent.size(), img.size()));
  for (const auto& b : spec.blocks) {
    const std::uint64_t base = std::uint64_t{b.index} * spec.block_size;
    for (std::uint64_t sct = 0; sct < spec.block_size / 512; ++sct) {
      const std::uint64_t v = base + sct * 512;
      if (v >= spec.size) break;
      const std::uint64_t n = std::min<std::uint64_t>(512, spec.size - v);
      if (sector_present(b, sct)) {
        for (std::uint64_t i = 0; i < n; ++i) {
          const std::uint64_t in = sct * 512 + i;
          img[v + i] = in < b.data.size() ? b.data[in] : std::byte{0};
        }
      } else if (!spec.differencing) {
        std::fill_n(img.begin() + static_cast<std::ptrdiff_t>(v), n, std::byte{0});
      }
    }
  }
  return img;
}

std::vector<std::byte> build_fixed_vhd(const std::vector<std::byte>& data,
                                       const std::array<std::uint8_t, 16>& id) {
  Footer f;
  f.original_size = data.size();
  f.current_size = data.size();
  f.geometry = chs_for_size(data.size());
  f.unique_id = id;
  const auto footer = encode_footer(f);
  std::vector<std::byte> out = data;
  out.insert(out.end(), footer.begin(), footer.end());
  return out;
}

}  // namespace vdisk::test
