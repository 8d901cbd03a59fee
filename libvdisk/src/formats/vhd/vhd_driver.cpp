// VHD input: probing, choosing the authoritative footer, and opening. Fixed disks are read
// here; dynamic and differencing disks by vhd_dynamic_source.cpp, streams by vhd_stream.cpp.
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "formats/vhd/vhd.h"
#include "formats/vhd/vhd_footer.h"
#include "formats/vhd/vhd_reader.h"

namespace vdisk::vhd {

void describe_footer(const Footer& f, Properties& out) {
  out.add("creator", f.creator_app_string());
  out.add("creator_version",
          fmt::format("{}.{}", f.creator_version >> 16, f.creator_version & 0xFFFF));
  std::array<char, 4> os{};
  for (std::size_t i = 0; i < 4; ++i)
    os[i] = static_cast<char>((f.creator_os >> (24 - 8 * i)) & 0xFF);
  out.add("creator_os", std::string_view(os.data(), 4));
  out.add_object("geometry")
      .add("cylinders", unsigned{f.geometry.cylinders})
      .add("heads", unsigned{f.geometry.heads})
      .add("sectors", unsigned{f.geometry.sectors});
  out.add("unique_id", uuid_text(f.unique_id));
  out.add("timestamp", format_time_utc(kVhdEpochUnix + std::int64_t{f.timestamp}));
  out.add("saved_state", f.saved_state != 0);
}

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
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return file_->allocation(offset, length, out);
  }
  std::string_view format() const override { return "vhd"; }
  void describe(Properties& out) const override {
    out.add("subformat", "fixed");
    describe_footer(footer_, out);
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
  // The cookie alone claims the file: a footer copy cut short is a damaged VHD, not raw data.
  if (d.head.size() >= 8 && std::memcmp(d.head.data(), "conectix", 8) == 0) return detail::kCertain;
  if (d.tail.size() >= kFooterSize && has_cookie(d.tail.subspan(d.tail.size() - kFooterSize)))
    return detail::kCertain;
  // A stream's end is not in the probe: the stream reader looks for a fixed VHD's footer there.
  return d.stream ? detail::kFallback : 0;
}

// Decodes a footer and requires its checksum.
Result<Footer> checked_footer(std::span<const std::byte> raw, std::uint64_t offset) {
  VDISK_ASSIGN_OR_RETURN(Footer f, decode_footer(raw, offset));
  const std::uint32_t sum = footer_checksum(raw);
  if (f.checksum != sum)
    return corrupt_at("vhd", "footer", offset,
                      fmt::format("checksum expected 0x{:08x}, found 0x{:08x}", sum, f.checksum));
  return f;
}

bool is_sparse_type(std::uint32_t t) {
  return t == static_cast<std::uint32_t>(DiskType::dynamic) ||
         t == static_cast<std::uint32_t>(DiskType::differencing);
}

Result<std::unique_ptr<BlockSource>> open_fixed(std::unique_ptr<RandomAccessFile> file,
                                                const Footer& f, const OpenOptions& o) {
  const std::uint64_t data = file->size() - kFooterSize;
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

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path& path, const OpenOptions& o) {
  const std::uint64_t size = file->size();
  if (size < kFooterSize)
    return corrupt_at("vhd", "file", 0,
                      fmt::format("expected at least {} bytes, found {}", kFooterSize, size));
  std::array<std::byte, kFooterSize> tail{};
  VDISK_RETURN_IF_ERROR(file->read_at(size - kFooterSize, tail));
  // The footer at the end is authoritative. A file without one may still be a dynamic disk
  // whose end was lost; its footer copy at offset 0 then describes it.
  if (!has_cookie(tail) && size >= 2 * kFooterSize) {
    std::array<std::byte, kFooterSize> head{};
    VDISK_RETURN_IF_ERROR(file->read_at(0, head));
    if (has_cookie(head)) {
      VDISK_ASSIGN_OR_RETURN(Footer f, checked_footer(head, 0));
      if (!is_sparse_type(f.disk_type))
        return corrupt_at("vhd", "footer", size - kFooterSize,
                          fmt::format("cookie \"conectix\" expected at the end of a disk of "
                                      "type {}, found other bytes",
                                      f.disk_type));
      detail::diagnose(o, Diagnostic::Level::warning,
                       fmt::format("vhd: no footer at offset {} (end of file); using the "
                                   "footer copy at offset 0",
                                   size - kFooterSize));
      return open_dynamic(std::move(file), path, o, f, false);
    }
  }
  VDISK_ASSIGN_OR_RETURN(Footer f, checked_footer(tail, size - kFooterSize));
  if (f.disk_type == static_cast<std::uint32_t>(DiskType::fixed))
    return open_fixed(std::move(file), f, o);
  if (is_sparse_type(f.disk_type)) return open_dynamic(std::move(file), path, o, f, true);
  return unsupported(
      fmt::format("vhd: footer at offset {}: disk type expected 2, 3 or 4, "
                  "found {}",
                  size - kFooterSize, f.disk_type));
}

}  // namespace
}  // namespace vdisk::vhd

namespace vdisk::detail {
const FormatDriver& vhd_driver() {
  static constexpr FormatDriver kDriver{"vhd", &vhd::probe, &vhd::open, &vhd::open_fixed_stream};
  return kDriver;
}
}  // namespace vdisk::detail
