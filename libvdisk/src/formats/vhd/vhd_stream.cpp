// A fixed VHD read from a stream (stdin). The footer is the last 512 bytes, so the reader always
// holds back the 512 most recent bytes; at the end of the stream they must be a fixed-disk
// footer whose current size equals the bytes before it. Dynamic and differencing disks need
// random access (BAT, blocks anywhere in the file) and are refused at open.
//
// A stream whose first bytes carry no signature is read through the same reader in lenient
// mode: its last 512 bytes are the footer of a fixed VHD when they are a valid fixed-disk
// footer (cookie, checksum, type 2) whose current size equals the bytes before it, and are
// disk data otherwise (a raw disk). This is how a fixed VHD is recognised on stdin, where the
// probe cannot see the end.
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "formats/vhd/vhd_reader.h"

namespace vdisk::vhd {
namespace {

class FixedVhdStream final : public StreamSource {
 public:
  FixedVhdStream(std::unique_ptr<InputStream> in, std::array<std::byte, kFooterSize> first,
                 bool lenient, DiagnosticFn on_diagnostic)
      : in_(std::move(in)),
        held_(first),
        lenient_(lenient),
        on_diagnostic_(std::move(on_diagnostic)) {}

  // A lenient stream shorter than a footer: its bytes are a raw disk.
  void set_short(std::span<const std::byte> bytes) {
    pending_.assign(bytes.begin(), bytes.end());
    done_ = true;
  }

  std::optional<std::uint64_t> size() const override { return std::nullopt; }
  std::string_view format() const override { return lenient_ && !footer_found_ ? "raw" : "vhd"; }

  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (dst.empty()) return std::size_t{0};
    if (done_) return drain(dst, 0);
    if (dst.size() < kFooterSize) return read_small(dst);
    // dst = held bytes, then fresh ones; then 512 more to learn whether dst's tail is data.
    std::memcpy(dst.data(), held_.data(), kFooterSize);
    VDISK_ASSIGN_OR_RETURN(const std::size_t m, read_full(*in_, dst.subspan(kFooterSize)));
    if (m < dst.size() - kFooterSize) {
      std::array<std::byte, kFooterSize> footer{};
      std::memcpy(footer.data(), dst.data() + m, kFooterSize);
      return finish(dst, footer, m);
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
    return finish(dst, footer, n);
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
    return finish(dst, footer, m);
  }

  // Copies pending bytes (the last bytes of a lenient stream that were not a footer) to dst
  // after its first `n` bytes.
  std::size_t drain(std::span<std::byte> dst, std::size_t n) {
    const std::size_t k = std::min(dst.size() - n, pending_.size());
    if (k != 0) std::memcpy(dst.data() + n, pending_.data(), k);  // empty: data() may be null
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(k));
    returned_ += k;
    return n + k;
  }

  // The stream ended: `footer` are its last 512 bytes and the first `n` bytes of dst precede
  // them. Strict: they must be a fixed VHD footer. Lenient: if they are not, they are data.
  Result<std::size_t> finish(std::span<std::byte> dst, std::span<const std::byte> footer,
                             std::size_t n) {
    done_ = true;
    auto checked = check_footer(footer, returned_ + n);
    if (!checked.ok() && lenient_) {
      pending_.assign(footer.begin(), footer.end());
      returned_ += n;
      return drain(dst, n);
    }
    VDISK_RETURN_IF_ERROR(checked);
    footer_found_ = true;
    returned_ += n;
    if (lenient_ && on_diagnostic_)
      on_diagnostic_(Diagnostic{
          Diagnostic::Level::note,
          fmt::format("vhd: the stream ends with a fixed VHD footer (current size {} bytes, the "
                      "bytes before it): read as a fixed VHD, the footer is not disk data",
                      returned_)});
    return n;
  }

  Status check_footer(std::span<const std::byte> footer, std::uint64_t data) const {
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
    return {};
  }

  std::unique_ptr<InputStream> in_;
  std::array<std::byte, kFooterSize> held_;
  std::uint64_t returned_ = 0;
  bool done_ = false;
  bool lenient_ = false;
  bool footer_found_ = false;
  std::vector<std::byte> pending_;
  DiagnosticFn on_diagnostic_;
};

}  // namespace

Result<std::unique_ptr<StreamSource>> open_fixed_stream(std::unique_ptr<InputStream> in,
                                                        const OpenOptions& options) {
  std::array<std::byte, kFooterSize> first{};
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in, first));
  // Probed (no format named) and no footer copy at the start: a fixed VHD or a raw disk.
  const bool lenient =
      options.format.empty() && !(n >= 8 && std::memcmp(first.data(), "conectix", 8) == 0);
  if (lenient && n < kFooterSize) {
    auto s = std::make_unique<FixedVhdStream>(std::move(in), first, true, options.on_diagnostic);
    s->set_short(std::span(first).first(n));
    return std::unique_ptr<StreamSource>(std::move(s));
  }
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
  return std::unique_ptr<StreamSource>(
      new FixedVhdStream(std::move(in), first, lenient, options.on_diagnostic));
}

}  // namespace vdisk::vhd
