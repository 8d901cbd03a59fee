#include "formats/iso9660/file_views.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>
#include <zlib.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::iso9660::detail {
namespace {

using vdisk::detail::div_ceil;
using vdisk::detail::load_le32;

class ExtentFile final : public RandomAccessFile {
 public:
  ExtentFile(std::shared_ptr<const RandomAccessFile> image, std::vector<DataExtent> extents,
             std::string name)
      : image_(std::move(image)), extents_(std::move(extents)), name_(std::move(name)) {
    for (const auto& e : extents_) size_ += e.length;
  }
  std::uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!vdisk::detail::range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("iso9660: {}: read of {} bytes at {} past the size {}", name_,
                                      dst.size(), offset, size_));
    std::uint64_t base = 0;
    for (const auto& e : extents_) {
      if (dst.empty()) break;
      if (offset < base + e.length) {
        const std::uint64_t in = offset - base;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(e.length - in, dst.size()));
        VDISK_RETURN_IF_ERROR(image_->read_at(e.offset + in, dst.first(n)));
        dst = dst.subspan(n);
        offset += n;
      }
      base += e.length;
    }
    return {};
  }

 private:
  std::shared_ptr<const RandomAccessFile> image_;
  std::vector<DataExtent> extents_;
  std::string name_;
  std::uint64_t size_ = 0;
};

constexpr std::size_t kZfHeader = 16;

class ZisofsFile final : public RandomAccessFile {
 public:
  ZisofsFile(std::unique_ptr<RandomAccessFile> stored, std::uint64_t size, std::uint32_t bs,
             std::vector<std::uint32_t> ptrs, std::string name)
      : stored_(std::move(stored)),
        size_(size),
        bs_(bs),
        ptrs_(std::move(ptrs)),
        name_(std::move(name)) {}
  std::uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!vdisk::detail::range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("iso9660: {}: read of {} bytes at {} past the size {}", name_,
                                      dst.size(), offset, size_));
    std::lock_guard lock(mu_);
    while (!dst.empty()) {
      const std::uint64_t block = offset / bs_;
      VDISK_RETURN_IF_ERROR(load_block(block));
      const std::uint64_t in = offset - block * bs_;
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(cache_.size() - in, dst.size()));
      std::memcpy(dst.data(), cache_.data() + in, n);
      dst = dst.subspan(n);
      offset += n;
    }
    return {};
  }

 private:
  Status load_block(std::uint64_t block) const {
    if (cached_ == block) return {};
    cached_ = UINT64_MAX;
    const std::uint64_t start = block * bs_;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(bs_, size_ - start));
    cache_.assign(want, std::byte{0});
    const std::uint32_t lo = ptrs_[block], hi = ptrs_[block + 1];
    if (hi > lo) {
      std::vector<std::byte> in(hi - lo);
      VDISK_RETURN_IF_ERROR(stored_->read_at(lo, in));
      z_stream z{};
      if (inflateInit(&z) != Z_OK) return internal_error("iso9660: zlib inflateInit failed");
      z.next_in = reinterpret_cast<Bytef*>(in.data());
      z.avail_in = static_cast<uInt>(in.size());
      z.next_out = reinterpret_cast<Bytef*>(cache_.data());
      z.avail_out = static_cast<uInt>(cache_.size());
      int rc = inflate(&z, Z_FINISH);
      const auto produced = z.total_out;
      inflateEnd(&z);
      if (rc != Z_STREAM_END || produced != want)
        return corrupt_at(
            "iso9660", fmt::format("zisofs block {} of {}", block, name_), lo,
            fmt::format("inflate gave {} bytes (zlib status {}), expected {}", produced, rc, want));
    }
    cached_ = block;
    return {};
  }

  std::unique_ptr<RandomAccessFile> stored_;
  std::uint64_t size_;
  std::uint32_t bs_;
  std::vector<std::uint32_t> ptrs_;
  std::string name_;
  mutable std::mutex mu_;
  mutable std::vector<std::byte> cache_;
  mutable std::uint64_t cached_ = UINT64_MAX;
};

}  // namespace

std::unique_ptr<RandomAccessFile> extent_view(std::shared_ptr<const RandomAccessFile> image,
                                              std::vector<DataExtent> extents, std::string name) {
  return std::make_unique<ExtentFile>(std::move(image), std::move(extents), std::move(name));
}

Result<std::unique_ptr<RandomAccessFile>> zisofs_view(std::unique_ptr<RandomAccessFile> stored,
                                                      std::uint64_t size, std::uint8_t log2,
                                                      std::string name) {
  auto bad = [&](std::uint64_t off, std::string detail) {
    return corrupt_at("iso9660", fmt::format("zisofs data of {}", name), off, detail);
  };
  if (log2 < 15 || log2 > 17)
    return bad(0, fmt::format("block size 2^{} outside 2^15..2^17", log2));
  if (size == 0) return std::unique_ptr<RandomAccessFile>(std::move(stored));
  if (stored->size() < kZfHeader) return bad(0, "shorter than the 16-byte header");
  std::array<std::byte, kZfHeader> h{};
  VDISK_RETURN_IF_ERROR(stored->read_at(0, h));
  if (std::memcmp(h.data(), kZisofsMagic, 8) != 0) return bad(0, "magic not found");
  if (load_le32(std::span<const std::byte>(h).subspan(8)) != size)
    return bad(8, fmt::format("header size {} differs from the ZF entry's {}",
                              load_le32(std::span<const std::byte>(h).subspan(8)), size));
  const auto hsize = std::to_integer<std::uint32_t>(h[12]) * 4u;
  const auto hlog2 = std::to_integer<std::uint8_t>(h[13]);
  if (hsize < kZfHeader || hlog2 != log2)
    return bad(12, fmt::format("header size {} / block log2 {} (ZF says {})", hsize, hlog2, log2));
  const std::uint32_t bs = 1u << log2;
  const std::uint64_t blocks = div_ceil(size, bs);
  const std::uint64_t table = (blocks + 1) * 4;
  if (hsize + table > stored->size())
    return bad(hsize, fmt::format("block pointer table of {} bytes past the stored size {}", table,
                                  stored->size()));
  std::vector<std::byte> raw(static_cast<std::size_t>(table));
  VDISK_RETURN_IF_ERROR(stored->read_at(hsize, raw));
  std::vector<std::uint32_t> ptrs(static_cast<std::size_t>(blocks + 1));
  // zlib output for one block never exceeds its input by more than a small margin.
  const std::uint32_t max_block = bs + bs / 8 + 1024;
  for (std::size_t i = 0; i < ptrs.size(); ++i) {
    ptrs[i] = load_le32(std::span<const std::byte>(raw).subspan(4 * i));
    if (ptrs[i] > stored->size())
      return bad(hsize + 4 * i,
                 fmt::format("block pointer {} past the stored size {}", ptrs[i], stored->size()));
    if (i == 0 && ptrs[0] < hsize + table)
      return bad(hsize, fmt::format("first block at {} overlaps the header", ptrs[0]));
    if (i > 0 && (ptrs[i] < ptrs[i - 1] || ptrs[i] - ptrs[i - 1] > max_block))
      return bad(hsize + 4 * i, fmt::format("block pointers {} -> {} not increasing or block "
                                            "larger than {}",
                                            ptrs[i - 1], ptrs[i], max_block));
  }
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<ZisofsFile>(std::move(stored), size, bs, std::move(ptrs), std::move(name)));
}

}  // namespace vdisk::iso9660::detail
