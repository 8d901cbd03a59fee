// OVA/OVF input driver (docs/ova.md): probing a tar whose first member is an .ovf descriptor
// with an OVF Envelope root (or a bare descriptor), and dispatching to the file and stream
// readers.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "tar/tar.h"
#include "formats/ova/ova.h"
#include "formats/ova/ova_tar.h"
#include "formats/ova/ovf_xml.h"

namespace vdisk::ova {
namespace {

namespace fs = std::filesystem;

// The probe's bytes as an archive of unknown size (the first member may run past them).
class HeadInput final : public TarInput {
 public:
  explicit HeadInput(std::span<const std::byte> b) : b_(b) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t n = std::min(dst.size(), b_.size() - pos_);
    std::memcpy(dst.data(), b_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  Result<std::uint64_t> skip(std::uint64_t n) override {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, b_.size() - pos_));
    pos_ += k;
    return std::uint64_t{k};
  }
  std::uint64_t position() const override { return pos_; }
  std::optional<std::uint64_t> size() const override { return std::nullopt; }

 private:
  std::span<const std::byte> b_;
  std::size_t pos_ = 0;
};

bool is_envelope(std::span<const std::byte> text) {
  const auto root =
      xml_root_name(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  return root && root->local == "Envelope" &&
         (root->ns == kOvfNamespace1 || root->ns == kOvfNamespace2);
}

bool has_tar_header(std::span<const std::byte> head) {
  if (head.size() < gcp::kTarBlock) return false;
  auto h = gcp::decode_header(head.first(gcp::kTarBlock), 0);
  return h.ok() && h->checksum_ok && !gcp::is_zero_block(head.first(gcp::kTarBlock));
}

int probe(const detail::ProbeData& d) {
  if (!has_tar_header(d.head)) return is_envelope(d.head) ? detail::kCertain : 0;
  HeadInput input(d.head);
  TarWalker walker(input, "probe");
  auto first = walker.next();
  if (!first.ok() || !*first || !(*first)->regular()) return 0;
  const TarEntry& e = **first;
  if (!ova::ends_with_nocase(e.name, ".ovf") || e.data_offset >= d.head.size()) return 0;
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>(e.size, d.head.size() - e.data_offset));
  return is_envelope(d.head.subspan(static_cast<std::size_t>(e.data_offset), n)) ? detail::kCertain
                                                                                 : 0;
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const fs::path& path, const OpenOptions& options) {
  std::array<std::byte, gcp::kTarBlock> head{};
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>(file->size(), head.size()));
  VDISK_RETURN_IF_ERROR(file->read_at(0, std::span(head).first(n)));
  if (has_tar_header(std::span(head).first(n)))
    return open_tar_file(std::move(file), path, options);
  return open_descriptor_file(std::move(file), path, options);
}

Result<std::unique_ptr<StreamSource>> open_stream(std::unique_ptr<InputStream> in,
                                                  const OpenOptions& options) {
  std::vector<std::byte> head(gcp::kTarBlock);
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in, head));
  head.resize(n);
  if (!has_tar_header(head))
    return unsupported(
        fmt::format("ova: {}: an OVF descriptor names sibling files and cannot be "
                    "read from a stream; give its path (or its directory) instead",
                    in->name()));
  return open_tar_stream(prefixed_stream(std::move(head), std::move(in)), options);
}

}  // namespace
}  // namespace vdisk::ova

namespace vdisk::detail {

const FormatDriver& ova_driver() {
  static constexpr FormatDriver kDriver{"ova", &ova::probe, &ova::open, &ova::open_stream};
  return kDriver;
}

Result<std::filesystem::path> ovf_in_directory(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return path;
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (ova::ends_with_nocase(entry.path().filename().string(), ".ovf") &&
        entry.is_regular_file(ec))
      found.push_back(entry.path());
    if (found.size() > 1) break;
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) return path;
  return invalid_argument(
      fmt::format("{}: the directory holds more than one .ovf descriptor ({}, "
                  "{}); name the one to read",
                  path.string(), found[0].filename().string(), found[1].filename().string()));
}

}  // namespace vdisk::detail
