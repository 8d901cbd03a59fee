// Input format registry, probing and opening.
#include <algorithm>

#include <fmt/format.h>

#include "image/driver.h"
#include "util/checked.h"

namespace vdisk {
namespace detail {

std::span<const FormatDriver* const> format_drivers() {
  // Probe order; raw accepts anything and must stay last.
  static const FormatDriver* const kDrivers[] = {&vhd_driver(), &vmdk_driver(), &iso9660_driver(), &raw_driver()};
  return kDrivers;
}

const FormatDriver* find_driver(std::string_view name) {
  for (const FormatDriver* d : format_drivers())
    if (d->name == name) return d;
  return nullptr;
}

void diagnose(const OpenOptions& options, Diagnostic::Level level, std::string message) {
  if (options.on_diagnostic) options.on_diagnostic(Diagnostic{level, std::move(message)});
}

namespace {

const FormatDriver* best_driver(const ProbeData& data) {
  const FormatDriver* best = nullptr;
  int best_score = 0;
  for (const FormatDriver* d : format_drivers()) {
    const int score = d->probe(data);
    if (score > best_score) {
      best = d;
      best_score = score;
    }
  }
  return best;
}

Result<const FormatDriver*> named_driver(std::string_view name) {
  if (const FormatDriver* d = find_driver(name)) return d;
  std::string known;
  for (const FormatDriver* d : format_drivers()) known += (known.empty() ? "" : ", ") + std::string(d->name);
  return invalid_argument(fmt::format("unknown input format '{}' (known: {})", name, known));
}

Result<const FormatDriver*> probe_file(const RandomAccessFile& file) {
  const std::uint64_t size = file.size();
  std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>(size, kProbeHeadBytes)));
  std::vector<std::byte> tail(static_cast<std::size_t>(std::min<std::uint64_t>(size, kProbeTailBytes)));
  VDISK_RETURN_IF_ERROR(file.read_at(0, head));
  VDISK_RETURN_IF_ERROR(file.read_at(size - tail.size(), tail));
  return best_driver(ProbeData{head, tail, size});
}

}  // namespace
}  // namespace detail

std::vector<std::string_view> input_formats() {
  std::vector<std::string_view> out;
  for (const auto* d : detail::format_drivers()) out.push_back(d->name);
  return out;
}

Result<std::string> probe_format(const RandomAccessFile& file) {
  VDISK_ASSIGN_OR_RETURN(const detail::FormatDriver* d, detail::probe_file(file));
  return std::string(d->name);
}

Result<std::unique_ptr<BlockSource>> open_image(const std::filesystem::path& path,
                                                const OpenOptions& options) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  return open_image(std::move(file), path, options);
}

Result<std::unique_ptr<BlockSource>> open_image(std::unique_ptr<RandomAccessFile> file,
                                                const std::filesystem::path& path,
                                                const OpenOptions& options) {
  const detail::FormatDriver* driver = nullptr;
  if (!options.format.empty()) {
    VDISK_ASSIGN_OR_RETURN(driver, detail::named_driver(options.format));
  } else {
    VDISK_ASSIGN_OR_RETURN(driver, detail::probe_file(*file));
  }
  return driver->open(std::move(file), path, options);
}

Result<std::unique_ptr<StreamSource>> open_image_stream(std::unique_ptr<InputStream> in,
                                                        const OpenOptions& options) {
  const detail::FormatDriver* driver = nullptr;
  if (!options.format.empty()) {
    VDISK_ASSIGN_OR_RETURN(driver, detail::named_driver(options.format));
  } else {
    std::vector<std::byte> head(detail::kProbeHeadBytes);
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in, head));
    head.resize(n);
    driver = detail::best_driver(detail::ProbeData{head, {}, 0});
    in = prefixed_stream(std::move(head), std::move(in));
  }
  if (!driver->open_stream)
    return unsupported(fmt::format(
        "{}: this format cannot be read from a stream (it needs random access); "
        "save it to a file first",
        driver->name));
  return driver->open_stream(std::move(in), options);
}

Properties describe(const BlockSource& source) {
  Properties p;
  p.add("format", source.format());
  p.add("virtual_size", source.size());
  source.describe(p);
  return p;
}

}  // namespace vdisk
