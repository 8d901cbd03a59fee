#include "formats/raw/raw.h"

#include <fmt/format.h>

#include "contract/format_driver.h"

namespace vdisk::raw {
namespace {

class RawSource final : public BlockSource {
 public:
  explicit RawSource(std::unique_ptr<RandomAccessFile> file) : file_(std::move(file)) {}
  std::uint64_t size() const override { return file_->size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return file_->read_at(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return file_->allocation(offset, length, out);
  }
  std::string_view format() const override { return "raw"; }

 private:
  std::unique_ptr<RandomAccessFile> file_;
};

class RawStream final : public StreamSource {
 public:
  explicit RawStream(std::unique_ptr<InputStream> in) : in_(std::move(in)) {}
  std::optional<std::uint64_t> size() const override { return std::nullopt; }
  Result<std::size_t> read(std::span<std::byte> dst) override { return read_full(*in_, dst); }
  std::string_view format() const override { return "raw"; }

 private:
  std::unique_ptr<InputStream> in_;
};

class RawSink final : public BlockSink {
 public:
  explicit RawSink(std::unique_ptr<ByteSink> out) : out_(std::move(out)) {}
  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(check_offset(offset));
    return out_->write(data);
  }
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    VDISK_RETURN_IF_ERROR(check_offset(offset));
    return out_->write_zeroes(length);
  }
  Status finish() override { return out_->finish(); }

  // The disk is the file: positional writes go straight through.
  bool can_write_at() const override { return out_->can_write_at(); }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    return out_->write_at(offset, data);
  }
  Status extend_to(std::uint64_t size) override { return out_->extend_to(size); }

 private:
  Status check_offset(std::uint64_t offset) const {
    if (offset != out_->position())
      return internal_error(
          fmt::format("raw: write at {} but the output is at {}", offset, out_->position()));
    return {};
  }
  std::unique_ptr<ByteSink> out_;
};

int probe(const detail::ProbeData&) { return 1; }  // anything is a raw disk

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path&, const OpenOptions&) {
  return open_source(std::move(file));
}

Result<std::unique_ptr<StreamSource>> open_stream_driver(std::unique_ptr<InputStream> in,
                                                         const OpenOptions&) {
  return open_stream(std::move(in));
}

}  // namespace

std::unique_ptr<BlockSource> open_source(std::unique_ptr<RandomAccessFile> file) {
  return std::make_unique<RawSource>(std::move(file));
}
std::unique_ptr<StreamSource> open_stream(std::unique_ptr<InputStream> in) {
  return std::make_unique<RawStream>(std::move(in));
}
std::unique_ptr<BlockSink> make_sink(std::unique_ptr<ByteSink> out) {
  return std::make_unique<RawSink>(std::move(out));
}

}  // namespace vdisk::raw

namespace vdisk::detail {
const FormatDriver& raw_driver() {
  static constexpr FormatDriver kDriver{"raw", &raw::probe, &raw::open, &raw::open_stream_driver};
  return kDriver;
}
}  // namespace vdisk::detail
