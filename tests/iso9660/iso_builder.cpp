#include "iso_builder.h"

#include <cstring>

#include "base/endian.h"

namespace vdisk::test::iso {
namespace {

using vdisk::detail::store_be16;
using vdisk::detail::store_be32;
using vdisk::detail::store_le16;
using vdisk::detail::store_le32;

void both32(std::byte* p, std::uint32_t v) {
  store_le32({p, 4}, v);
  store_be32({p + 4, 4}, v);
}
void both16(std::byte* p, std::uint16_t v) {
  store_le16({p, 2}, v);
  store_be16({p + 2, 2}, v);
}
Bytes entry(std::string_view sig, std::size_t len) {
  Bytes e(len);
  e[0] = static_cast<std::byte>(sig[0]);
  e[1] = static_cast<std::byte>(sig[1]);
  e[2] = static_cast<std::byte>(len);
  e[3] = std::byte{1};
  return e;
}

}  // namespace

Bytes record(std::string_view id, std::uint32_t extent, std::uint32_t length, std::uint8_t flags,
             std::span<const std::byte> su) {
  std::size_t n = 33 + id.size() + (id.size() % 2 == 0 ? 1 : 0) + su.size();
  if (n % 2) ++n;
  Bytes r(n);
  r[0] = static_cast<std::byte>(n);
  both32(&r[2], extent);
  both32(&r[10], length);
  r[18] = std::byte{120};  // 2020
  r[19] = std::byte{1};
  r[20] = std::byte{2};
  r[25] = static_cast<std::byte>(flags);
  both16(&r[28], 1);
  r[32] = static_cast<std::byte>(id.size());
  std::memcpy(&r[33], id.data(), id.size());
  const std::size_t su_at = 33 + id.size() + (id.size() % 2 == 0 ? 1 : 0);
  if (!su.empty()) std::memcpy(&r[su_at], su.data(), su.size());
  return r;
}
Bytes dot(std::uint32_t extent, std::uint32_t length, std::span<const std::byte> su) {
  return record(std::string_view("\0", 1), extent, length, kDir, su);
}
Bytes dotdot(std::uint32_t extent, std::uint32_t length) {
  return record(std::string_view("\1", 1), extent, length, kDir);
}

Bytes sp() {
  Bytes e = entry("SP", 7);
  e[4] = std::byte{0xBE};
  e[5] = std::byte{0xEF};
  return e;
}
Bytes er_rrip() {
  const std::string_view id = "RRIP_1991A";
  Bytes e = entry("ER", 8 + id.size());
  e[4] = static_cast<std::byte>(id.size());
  e[7] = std::byte{1};
  std::memcpy(&e[8], id.data(), id.size());
  return e;
}
Bytes nm(std::string_view name, std::uint8_t flags) {
  Bytes e = entry("NM", 5 + name.size());
  e[4] = static_cast<std::byte>(flags);
  std::memcpy(&e[5], name.data(), name.size());
  return e;
}
Bytes px(std::uint32_t mode, std::uint32_t uid, std::uint32_t gid) {
  Bytes e = entry("PX", 36);
  both32(&e[4], mode);
  both32(&e[12], 1);
  both32(&e[20], uid);
  both32(&e[28], gid);
  return e;
}
Bytes sl(std::span<const std::pair<std::uint8_t, std::string_view>> components) {
  Bytes body;
  for (const auto& [flags, text] : components) {
    body.push_back(static_cast<std::byte>(flags));
    body.push_back(static_cast<std::byte>(text.size()));
    for (char c : text) body.push_back(static_cast<std::byte>(c));
  }
  Bytes e = entry("SL", 5 + body.size());
  std::memcpy(&e[5], body.data(), body.size());
  return e;
}
Bytes ce(std::uint32_t block, std::uint32_t offset, std::uint32_t length) {
  Bytes e = entry("CE", 28);
  both32(&e[4], block);
  both32(&e[12], offset);
  both32(&e[20], length);
  return e;
}
Bytes cl(std::uint32_t block) {
  Bytes e = entry("CL", 12);
  both32(&e[4], block);
  return e;
}
Bytes pl(std::uint32_t block) {
  Bytes e = entry("PL", 12);
  both32(&e[4], block);
  return e;
}
Bytes re() { return entry("RE", 4); }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Builder::Builder(std::uint32_t blocks) : img_(std::size_t{blocks} * kBlock) {
  std::byte* pvd = &img_[16 * kBlock];
  pvd[0] = std::byte{1};
  std::memcpy(pvd + 1, "CD001", 5);
  pvd[6] = std::byte{1};
  std::memcpy(pvd + 40, "TESTVOL", 7);
  both32(pvd + 80, blocks);
  both16(pvd + 120, 1);
  both16(pvd + 124, 1);
  both16(pvd + 128, 2048);
  pvd[881] = std::byte{1};
  std::byte* term = &img_[17 * kBlock];
  term[0] = std::byte{255};
  std::memcpy(term + 1, "CD001", 5);
  term[6] = std::byte{1};
}

void Builder::root(std::uint32_t extent, std::uint32_t length) {
  const Bytes r = dot(extent, length);
  std::memcpy(&img_[16 * kBlock + 156], r.data(), 34);
}

std::uint32_t Builder::directory(std::uint32_t block, std::initializer_list<Bytes> records) {
  std::size_t pos = std::size_t{block} * kBlock;
  const std::size_t start = pos;
  for (const auto& r : records) {
    if (pos / kBlock != (pos + r.size() - 1) / kBlock) pos = (pos / kBlock + 1) * kBlock;
    std::memcpy(&img_[pos], r.data(), r.size());
    pos += r.size();
  }
  const std::size_t used = ((pos - start) + kBlock - 1) / kBlock * kBlock;
  return static_cast<std::uint32_t>(used);
}

void Builder::put(std::uint64_t offset, std::span<const std::byte> bytes) {
  std::memcpy(&img_[static_cast<std::size_t>(offset)], bytes.data(), bytes.size());
}

}  // namespace vdisk::test::iso
