// The test qcow2 writer (see qcow2_builder.h). Field offsets: docs/qcow2.md.
#include "qcow2_builder.h"

#include <cstring>
#include <span>
#include <stdexcept>

#include "base/endian.h"

namespace vdisk::test {
namespace {

void put_ext(std::vector<std::byte>& c0, std::size_t& at, std::uint32_t type,
             const std::vector<std::byte>& data) {
  detail::store_be32(std::span(c0).subspan(at), type);
  detail::store_be32(std::span(c0).subspan(at + 4), static_cast<std::uint32_t>(data.size()));
  std::memcpy(c0.data() + at + 8, data.data(), data.size());
  at += 8 + (data.size() + 7) / 8 * 8;
}

std::vector<std::byte> bytes_of_text(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

}  // namespace

Qcow2Builder::Qcow2Builder(Qcow2Spec spec) : spec_(std::move(spec)) {
  const std::uint64_t reach = cluster_size() / (spec_.extended_l2 ? 16 : 8) * cluster_size();
  if (spec_.size > reach) throw std::invalid_argument("Qcow2Builder: size beyond one L2 table");
}

std::uint64_t Qcow2Builder::add_data(std::uint64_t ci, std::vector<std::byte> data) {
  tail_.resize((tail_.size() + cluster_size() - 1) / cluster_size() * cluster_size());
  const std::uint64_t host = (kL2Cluster + 1) * cluster_size() + tail_.size();
  data.resize(cluster_size());
  tail_.insert(tail_.end(), data.begin(), data.end());
  set_entry(ci, host | (1ull << 63), spec_.extended_l2 ? 0xffffffffull : 0);
  return host;
}

std::uint64_t Qcow2Builder::add_compressed(std::uint64_t ci, const std::vector<std::byte>& stream) {
  const std::uint64_t host = (kL2Cluster + 1) * cluster_size() + tail_.size();
  tail_.insert(tail_.end(), stream.begin(), stream.end());
  const unsigned shift = 62 - (spec_.cluster_bits - 8);
  const std::uint64_t sectors = ((host % 512) + stream.size() + 511) / 512;
  set_entry(ci, (1ull << 62) | ((sectors - 1) << shift) | host);
  return host;
}

void Qcow2Builder::set_entry(std::uint64_t ci, std::uint64_t word, std::uint64_t bitmap) {
  entries_.emplace_back(ci, word);
  bitmaps_.emplace_back(ci, bitmap);
}

std::vector<std::byte> Qcow2Builder::bytes() const {
  const std::uint64_t cs = cluster_size();
  std::vector<std::byte> out(static_cast<std::size_t>(3 * cs));
  const std::span<std::byte> b(out);
  std::memcpy(out.data(), "QFI\xfb", 4);
  detail::store_be32(b.subspan(4), spec_.version);
  detail::store_be32(b.subspan(20), spec_.cluster_bits);
  detail::store_be64(b.subspan(24), spec_.size);
  detail::store_be32(b.subspan(32), spec_.crypt_method);
  detail::store_be32(b.subspan(36), 1);  // l1_size
  detail::store_be64(b.subspan(40), l1_offset());
  std::size_t at = 72;
  if (spec_.version >= 3) {
    std::uint64_t incompat = spec_.incompatible;
    if (spec_.extended_l2) incompat |= 1u << 4;
    if (spec_.zstd) incompat |= 1u << 3;
    if (!spec_.data_file.empty()) incompat |= 1u << 2;
    detail::store_be64(b.subspan(72), incompat);
    detail::store_be32(b.subspan(96), 4);     // refcount_order
    detail::store_be32(b.subspan(100), 112);  // header_length
    out[104] = std::byte{spec_.zstd ? std::uint8_t{1} : std::uint8_t{0}};
    at = 112;
  }
  if (!spec_.backing_format.empty())
    put_ext(out, at, 0xE2792ACA, bytes_of_text(spec_.backing_format));
  if (!spec_.data_file.empty()) put_ext(out, at, 0x44415441, bytes_of_text(spec_.data_file));
  if (!spec_.feature_names.empty()) {
    std::vector<std::byte> table(48 * spec_.feature_names.size());
    for (std::size_t i = 0; i < spec_.feature_names.size(); ++i) {
      const auto& f = spec_.feature_names[i];
      table[48 * i] = std::byte{f.type};
      table[48 * i + 1] = std::byte{f.bit};
      std::memcpy(table.data() + 48 * i + 2, f.name.data(),
                  std::min<std::size_t>(46, f.name.size()));
    }
    put_ext(out, at, 0x6803F857, table);
  }
  if (!spec_.backing_file.empty()) {
    const std::uint64_t name_at = cs / 2;
    detail::store_be64(b.subspan(8), name_at);
    detail::store_be32(b.subspan(16), static_cast<std::uint32_t>(spec_.backing_file.size()));
    std::memcpy(out.data() + name_at, spec_.backing_file.data(), spec_.backing_file.size());
  }
  detail::store_be64(b.subspan(l1_offset()), l2_offset() | (1ull << 63));
  for (const auto& [ci, word] : entries_) detail::store_be64(b.subspan(entry_offset(ci)), word);
  if (spec_.extended_l2)
    for (const auto& [ci, bits] : bitmaps_)
      detail::store_be64(b.subspan(entry_offset(ci) + 8), bits);
  out.insert(out.end(), tail_.begin(), tail_.end());
  return out;
}

}  // namespace vdisk::test
