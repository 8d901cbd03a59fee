// Flat, ZERO and NOACCESS extents.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "formats/vmdk/vmdk_extent.h"

namespace vdisk::vmdk {
namespace {

class FlatExtent final : public ExtentReader {
 public:
  FlatExtent(std::shared_ptr<const RandomAccessFile> file, std::uint64_t base, std::uint64_t size)
      : file_(std::move(file)), base_(base), size_(size) {}
  std::uint64_t size() const override { return size_; }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    // Holes in a flat file are zeros that belong to this link: they never reach a parent.
    std::vector<Extent> file_map;
    VDISK_RETURN_IF_ERROR(file_->allocation(base_ + offset, length, file_map));
    for (Extent e : file_map) {
      e.offset -= base_;
      if (e.kind == ExtentKind::unallocated) e.kind = ExtentKind::zero;
      append_extent(out, e);
    }
    return {};
  }
  Status read(std::uint64_t offset, std::span<std::byte> dst, const FillFn&) const override {
    return file_->read_at(base_ + offset, dst);
  }
  Result<std::uint64_t> allocated_bytes() const override { return size_; }

 private:
  std::shared_ptr<const RandomAccessFile> file_;
  std::uint64_t base_;
  std::uint64_t size_;
};

class ZeroExtent final : public ExtentReader {
 public:
  ZeroExtent(std::uint64_t size, std::string noaccess) : size_(size), noaccess_(std::move(noaccess)) {}
  std::uint64_t size() const override { return size_; }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    append_extent(out, {offset, length, noaccess_.empty() ? ExtentKind::zero : ExtentKind::data});
    return {};
  }
  Status read(std::uint64_t, std::span<std::byte> dst, const FillFn&) const override {
    if (!noaccess_.empty())
      return unsupported(fmt::format("vmdk: {} is a NOACCESS extent and cannot be read", noaccess_));
    std::memset(dst.data(), 0, dst.size());
    return {};
  }
  Result<std::uint64_t> allocated_bytes() const override { return std::uint64_t{0}; }

 private:
  std::uint64_t size_;
  std::string noaccess_;
};

}  // namespace

Result<std::unique_ptr<ExtentReader>> make_flat_extent(std::shared_ptr<const RandomAccessFile> file,
                                                       std::uint64_t base, std::uint64_t size) {
  if (!detail::range_inside(base, size, file->size()))
    return corrupt(fmt::format(
        "vmdk: flat extent file {}: needs {} bytes from offset {}, but the file has {} bytes",
        file->name(), size, base, file->size()));
  return std::unique_ptr<ExtentReader>(std::make_unique<FlatExtent>(std::move(file), base, size));
}

std::unique_ptr<ExtentReader> make_zero_extent(std::uint64_t size) {
  return std::make_unique<ZeroExtent>(size, std::string());
}

std::unique_ptr<ExtentReader> make_noaccess_extent(std::uint64_t size, std::string what) {
  return std::make_unique<ZeroExtent>(size, std::move(what));
}

}  // namespace vdisk::vmdk
