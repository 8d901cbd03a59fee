// VHD input: probing and opening. Fixed disks are read here; dynamic and differencing disks
// are opened by the dynamic reader.
#include <cstring>

#include <fmt/format.h>

#include "image/driver.h"
#include "vhd/vhd.h"
#include "vhd/vhd_footer.h"

namespace vdisk::vhd {
namespace {

class FixedVhdSource final : public BlockSource {
 public:
  FixedVhdSource(std::unique_ptr<RandomAccessFile> file, Footer footer)
      : file_(std::move(file)), footer_(footer) {}
  std::uint64_t size() const override { return footer_.current_size; }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (offset > size() || dst.size() > size() - offset)
      return out_of_range(fmt::format("vhd: read of {} bytes at {} past the virtual size {}",
                                      dst.size(), offset, size()));
    return file_->read_at(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length,
             std::vector<Extent>& out) const override {
    return file_->allocation(offset, length, out);
  }
  std::string_view format() const override { return "vhd"; }
  void describe(Properties& out) const override {
    out.add("subformat", "fixed");
    out.add("creator", footer_.creator_app_string());
    out.add_object("geometry")
        .add("cylinders", unsigned{footer_.geometry.cylinders})
        .add("heads", unsigned{footer_.geometry.heads})
        .add("sectors", unsigned{footer_.geometry.sectors});
  }

 private:
  std::unique_ptr<RandomAccessFile> file_;
  Footer footer_;
};

bool has_cookie(std::span<const std::byte> b) {
  return b.size() >= kFooterSize && std::memcmp(b.data(), "conectix", 8) == 0;
}

int probe(const detail::ProbeData& d) {
  // Dynamic and differencing disks start with a footer copy; fixed disks end with the footer.
  if (has_cookie(d.head)) return 100;
  if (d.tail.size() >= kFooterSize && has_cookie(d.tail.subspan(d.tail.size() - kFooterSize)))
    return 100;
  return 0;
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path&, const OpenOptions& o) {
  const std::uint64_t size = file->size();
  if (size < kFooterSize)
    return corrupt_at("vhd", "file", 0,
                      fmt::format("expected at least {} bytes, found {}", kFooterSize, size));
  std::array<std::byte, kFooterSize> raw{};
  VDISK_RETURN_IF_ERROR(file->read_at(size - kFooterSize, raw));
  VDISK_ASSIGN_OR_RETURN(Footer f, decode_footer(raw, size - kFooterSize));
  const std::uint32_t sum = footer_checksum(raw);
  if (f.checksum != sum)
    return corrupt_at("vhd", "footer", size - kFooterSize,
                      fmt::format("checksum expected 0x{:08x}, found 0x{:08x}", sum, f.checksum));
  if (f.disk_type != static_cast<std::uint32_t>(DiskType::fixed))
    return unsupported(fmt::format("vhd: disk type {} is not supported yet", f.disk_type));
  const std::uint64_t data = size - kFooterSize;
  if (f.current_size > data)
    return corrupt_at("vhd", "footer", data,
                      fmt::format("current size {} exceeds the {} data bytes before the footer",
                                  f.current_size, data));
  if (f.current_size < data)
    detail::diagnose(o, Diagnostic::Level::warning,
                     fmt::format("vhd: {} bytes between the virtual size {} and the footer are "
                                 "ignored",
                                 data - f.current_size, f.current_size));
  return std::unique_ptr<BlockSource>(new FixedVhdSource(std::move(file), f));
}

}  // namespace
}  // namespace vdisk::vhd

namespace vdisk::detail {
const FormatDriver& vhd_driver() {
  static constexpr FormatDriver kDriver{"vhd", &vhd::probe, &vhd::open, nullptr};
  return kDriver;
}
}  // namespace vdisk::detail
