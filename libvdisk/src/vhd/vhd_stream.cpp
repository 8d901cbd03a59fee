// A fixed VHD read from a stream (stdin). The footer is the last 512 bytes, so the reader always
// holds back the 512 most recent bytes; at the end of the stream they must be a fixed-disk
// footer whose current size equals the bytes before it. Dynamic and differencing disks need
// random access (BAT, blocks anywhere in the file) and are refused at open.
#include <cstring>

#include <fmt/format.h>

#include "image/driver.h"
#include "vhd/vhd_reader.h"

namespace vdisk::vhd {
namespace {

class FixedVhdStream final : public StreamSource {
 public:
  FixedVhdStream(std::unique_ptr<InputStream> in, std::array<std::byte, kFooterSize> first)
      : in_(std::move(in)), held_(first) {}

  std::optional<std::uint64_t> size() const override { return std::nullopt; }
  std::string_view format() const override { return "vhd"; }

  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (done_ || dst.empty()) return std::size_t{0};
    if (dst.size() < kFooterSize) return read_small(dst);
    // dst = held bytes, then fresh ones; then 512 more to learn whether dst's tail is data.
    std::memcpy(dst.data(), held_.data(), kFooterSize);
    VDISK_ASSIGN_OR_RETURN(const std::size_t m, read_full(*in_, dst.subspan(kFooterSize)));
    if (m < dst.size() - kFooterSize) {
      std::array<std::byte, kFooterSize> footer{};
      std::memcpy(footer.data(), dst.data() + m, kFooterSize);
      return finish(footer, m);
    }
    std::array<std::byte, kFooterSize> next{};
    VDISK_ASSIGN_OR_RETURN(const std::size_t t, read_full(*in_, next));
    if (t == kFooterSize) {
      held_ = next;
      returned_ += dst.size();
      return dst.size();
    }
    // The footer straddles dst's end and `next`.
    const std::size_t n = dst.size() - (kFooterSize - t);
    std::array<std::byte, kFooterSize> footer{};
    std::memcpy(footer.data(), dst.data() + n, kFooterSize - t);
    std::memcpy(footer.data() + (kFooterSize - t), next.data(), t);
    return finish(footer, n);
  }

 private:
  Result<std::size_t> read_small(std::span<std::byte> dst) {
    std::vector<std::byte> buf(kFooterSize + dst.size());
    std::memcpy(buf.data(), held_.data(), kFooterSize);
    VDISK_ASSIGN_OR_RETURN(const std::size_t m,
                           read_full(*in_, std::span(buf).subspan(kFooterSize)));
    std::memcpy(dst.data(), buf.data(), m);
    if (m == dst.size()) {
      std::memcpy(held_.data(), buf.data() + m, kFooterSize);
      returned_ += m;
      return m;
    }
    std::array<std::byte, kFooterSize> footer{};
    std::memcpy(footer.data(), buf.data() + m, kFooterSize);
    return finish(footer, m);
  }

  // The stream ended: `footer` are its last 512 bytes and `n` bytes of dst precede them.
  Result<std::size_t> finish(std::span<const std::byte> footer, std::size_t n) {
    done_ = true;
    const std::uint64_t data = returned_ + n;
    VDISK_ASSIGN_OR_RETURN(Footer f, decode_footer(footer, data));
    const std::uint32_t sum = footer_checksum(footer);
    if (f.checksum != sum)
      return corrupt_at("vhd", "footer", data,
                        fmt::format("checksum expected 0x{:08x}, found 0x{:08x}", sum, f.checksum));
    if (f.disk_type != static_cast<std::uint32_t>(DiskType::fixed))
      return corrupt_at("vhd", "footer", data,
                        fmt::format("disk type expected 2 (fixed) at the end of a stream, "
                                    "found {}",
                                    f.disk_type));
    if (f.current_size != data)
      return corrupt_at("vhd", "footer", data,
                        fmt::format("current size expected {} (the bytes before the footer), "
                                    "found {}",
                                    data, f.current_size));
    returned_ = data;
    return n;
  }

  std::unique_ptr<InputStream> in_;
  std::array<std::byte, kFooterSize> held_;
  std::uint64_t returned_ = 0;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<StreamSource>> open_fixed_stream(std::unique_ptr<InputStream> in,
                                                        const OpenOptions&) {
  std::array<std::byte, kFooterSize> first{};
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in, first));
  if (n < kFooterSize)
    return corrupt_at(
        "vhd", "stream", 0,
        fmt::format("expected at least a {}-byte footer, found {} bytes", kFooterSize, n));
  // A footer copy at the start means a dynamic or differencing disk. (A fixed disk whose data
  // is empty, or itself starts with a fixed VHD footer, is read normally.)
  auto head = decode_footer(first, 0);
  if (head.ok() && head->disk_type != static_cast<std::uint32_t>(DiskType::fixed))
    return unsupported(fmt::format(
        "vhd: {} starts with a footer copy, so it is a dynamic or differencing VHD, which "
        "cannot be read from a stream (its blocks are addressed by offset); save it to a file "
        "first",
        in->name()));
  return std::unique_ptr<StreamSource>(new FixedVhdStream(std::move(in), first));
}

}  // namespace vdisk::vhd
