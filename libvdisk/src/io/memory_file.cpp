// In-memory RandomAccessFile and InputStream implementations (tests, fuzzers, small images).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "vdisk/io.h"

namespace vdisk {
namespace {

class MemoryFile final : public RandomAccessFile {
 public:
  MemoryFile(std::vector<std::byte> owned, std::span<const std::byte> view, std::string name)
      : owned_(std::move(owned)), view_(owned_.empty() ? view : owned_), name_(std::move(name)) {}

  std::uint64_t size() const override { return view_.size(); }
  const std::string& name() const override { return name_; }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), view_.size()))
      return out_of_range(fmt::format("{}: read of {} bytes at offset {} is past the end ({})",
                                      name_, dst.size(), offset, view_.size()));
    if (!dst.empty()) std::memcpy(dst.data(), view_.data() + offset, dst.size());
    return {};
  }

 private:
  std::vector<std::byte> owned_;
  std::span<const std::byte> view_;
  std::string name_;
};

class MemoryStream final : public InputStream {
 public:
  MemoryStream(std::vector<std::byte> bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t n = std::min(dst.size(), bytes_.size() - pos_);
    if (n) std::memcpy(dst.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  std::vector<std::byte> bytes_;
  std::size_t pos_ = 0;
  std::string name_;
};

}  // namespace

std::unique_ptr<RandomAccessFile> memory_file(std::vector<std::byte> bytes, std::string name) {
  return std::make_unique<MemoryFile>(std::move(bytes), std::span<const std::byte>(),
                                      std::move(name));
}

std::unique_ptr<RandomAccessFile> memory_view_file(std::span<const std::byte> bytes,
                                                   std::string name) {
  return std::make_unique<MemoryFile>(std::vector<std::byte>(), bytes, std::move(name));
}

std::unique_ptr<InputStream> memory_stream(std::vector<std::byte> bytes, std::string name) {
  return std::make_unique<MemoryStream>(std::move(bytes), std::move(name));
}

}  // namespace vdisk
