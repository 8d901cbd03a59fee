// Fixed VHD writer.
//
// Creator and geometry: we write creator application "win " (the Hyper-V convention), Current Size
// = Original Size = the exact virtual size, and the specification's CHS geometry. qemu's vpc driver
// takes the virtual size from Current Size only for creators it trusts ("win ", "qem2", "d2v ",
// "CTXS", "tap\0") or for the maximum geometry, and otherwise from C*H*S, which rounds down (qemu
// block/vpc.c, vpc_open); libvhdi and Hyper-V/Azure read Current Size. With "win " every reader
// sees the exact, MiB-aligned size, while the geometry stays the honest one a BIOS would compute
// for the disk.
#include <fmt/format.h>

#include "base/checked.h"
#include "formats/vhd/vhd.h"
#include "formats/vhd/vhd_footer.h"

namespace vdisk::vhd {

SizeRule plain_rule() { return {"vhd", 512, 0, 0}; }

SizeRule azure_rule() { return {"azure", detail::kMiB, 20 * detail::kMiB, 32 * detail::kTiB}; }

Result<std::uint64_t> fixed_size(const SizeRule& rule, std::uint64_t source_size) {
  auto rounded = detail::round_up(source_size, rule.align);
  if (!rounded)
    return invalid_argument(
        fmt::format("{}: size {} cannot be rounded up", rule.name, source_size));
  std::uint64_t size = std::max(*rounded, rule.min_size);
  if (rule.max_size != 0 && size > rule.max_size)
    return invalid_argument(fmt::format(
        "{}: virtual size {} bytes ({:.2f} TiB) exceeds the maximum of {} bytes ({} TiB)",
        rule.name, size, static_cast<double>(size) / static_cast<double>(detail::kTiB),
        rule.max_size, rule.max_size / detail::kTiB));
  return size;
}

namespace {

class FixedVhdSink final : public BlockSink {
 public:
  FixedVhdSink(std::unique_ptr<ByteSink> out, const FixedSinkOptions& options)
      : out_(std::move(out)), options_(options) {}

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(admit(offset, data.size()));
    return out_->write(data);
  }
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    VDISK_RETURN_IF_ERROR(admit(offset, length));
    return out_->write_zeroes(length);
  }
  // A fixed VHD is the disk at file offset = disk offset, then the footer: positional writes go
  // straight through, and finish() writes the footer after extend_to()'s end.
  bool can_write_at() const override { return out_->can_write_at(); }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(within_rule(offset, data.size()));
    return out_->write_at(offset, data);
  }
  Status extend_to(std::uint64_t size) override {
    VDISK_RETURN_IF_ERROR(within_rule(0, size));
    return out_->extend_to(size);
  }

  Status finish() override {
    // The disk arrives padded (the target layer pads in the source view), so its size must be
    // one the rule gives.
    const std::uint64_t size = out_->position();
    VDISK_ASSIGN_OR_RETURN(const std::uint64_t ruled, fixed_size(options_.rule, size));
    if (ruled != size)
      return internal_error(
          fmt::format("{}: the disk ends at {} bytes, not at a size the rule "
                      "gives (next: {}); it was not padded",
                      options_.rule.name, size, ruled));
    Footer f;
    f.timestamp = options_.timestamp;
    f.original_size = size;
    f.current_size = size;
    f.geometry = chs_for_size(size);
    f.unique_id = options_.unique_id;
    const auto footer = encode_footer(f);
    VDISK_RETURN_IF_ERROR(out_->write(footer));
    return out_->finish();
  }

 private:
  Status admit(std::uint64_t offset, std::uint64_t length) const {
    if (offset != out_->position())
      return internal_error(
          fmt::format("vhd: write at {} but the output is at {}", offset, out_->position()));
    return within_rule(offset, length);
  }
  Status within_rule(std::uint64_t offset, std::uint64_t length) const {
    const SizeRule& r = options_.rule;
    if (r.max_size != 0 && (length > r.max_size || offset > r.max_size - length))
      return invalid_argument(
          fmt::format("{}: the disk is larger than the maximum virtual size "
                      "of {} bytes ({} TiB)",
                      r.name, r.max_size, r.max_size / detail::kTiB));
    return {};
  }

  std::unique_ptr<ByteSink> out_;
  FixedSinkOptions options_;
};

}  // namespace

std::unique_ptr<BlockSink> make_fixed_sink(std::unique_ptr<ByteSink> out,
                                           const FixedSinkOptions& options) {
  return std::make_unique<FixedVhdSink>(std::move(out), options);
}

}  // namespace vdisk::vhd
