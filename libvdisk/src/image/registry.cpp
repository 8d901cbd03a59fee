// Input format registry, probing and opening.
#include <algorithm>

#include <fmt/format.h>

#include "boot/cloud_boot.h"
#include "boot/disk_boot.h"
#include "contract/format_driver.h"
#include "signatures/signatures.h"
#include "base/checked.h"

namespace vdisk {
namespace detail {

std::span<const FormatDriver* const> format_drivers() {
  // Probe order; raw accepts anything and must stay last.
  static const FormatDriver* const kDrivers[] = {&vhd_driver(),     &vmdk_driver(), &qcow2_driver(),
                                                 &vhdx_driver(),    &vdi_driver(),  &ova_driver(),
                                                 &iso9660_driver(), &raw_driver()};
  return kDrivers;
}

const FormatDriver* find_driver(std::string_view name) {
  for (const FormatDriver* d : format_drivers())
    if (d->name == name) return d;
  return nullptr;
}

namespace {

// What the probe found: the best readable driver (raw at least) and, when it outbids that
// driver, a recognised format libvdisk does not read.
struct ProbeOutcome {
  const FormatDriver* driver = nullptr;
  int score = 0;
  std::optional<signatures::Recognition> foreign;
};

ProbeOutcome probe_all(const ProbeData& data) {
  ProbeOutcome out;
  for (const FormatDriver* d : format_drivers()) {
    const int score = d->probe(data);
    if (score > out.score) {
      out.driver = d;
      out.score = score;
    }
  }
  // A readable format that is certain (a VHD footer at the end, a valid KDMV header) wins: the
  // foreign signature is then part of its disk's content.
  if (out.score < kCertain) out.foreign = signatures::recognise(data);
  return out;
}

Result<const FormatDriver*> named_driver(std::string_view name) {
  if (const FormatDriver* d = find_driver(name)) return d;
  std::string known;
  for (const FormatDriver* d : format_drivers())
    known += (known.empty() ? "" : ", ") + std::string(d->name);
  return invalid_argument(fmt::format("unknown input format '{}' (known: {})", name, known));
}

// Format options given for another format than the one opened are refused: they would be
// silently ignored.
Status check_format_settings(const FormatDriver& d, const OpenOptions& options) {
  for (const auto& [key, value] : options.settings.items()) {
    if (find_option(d.options, key)) continue;
    std::vector<std::string_view> owners;
    for (const FormatDriver* other : format_drivers())
      if (find_option(other->options, key)) owners.push_back(other->name);
    return invalid_argument(fmt::format("option '{}' applies to {} input, and this input is {}",
                                        key, fmt::join(owners, " or "), d.name));
  }
  return check_options(d.options, d.name, options.settings);
}

Result<ProbeOutcome> probe_file(const RandomAccessFile& file) {
  const std::uint64_t size = file.size();
  std::vector<std::byte> head(
      static_cast<std::size_t>(std::min<std::uint64_t>(size, kProbeHeadBytes)));
  std::vector<std::byte> tail(
      static_cast<std::size_t>(std::min<std::uint64_t>(size, kProbeTailBytes)));
  VDISK_RETURN_IF_ERROR(file.read_at(0, head));
  VDISK_RETURN_IF_ERROR(file.read_at(size - tail.size(), tail));
  return probe_all(ProbeData{head, tail, size});
}

// The driver to open an input with: the named one (with a note when the probe saw another
// format's signature), or the probe's, or the refusal of a recognised, unreadable format.
Result<const FormatDriver*> choose_driver(const ProbeOutcome& probed, const OpenOptions& options) {
  if (options.format.empty()) {
    if (probed.foreign) return probed.foreign->refusal();
    return probed.driver;
  }
  VDISK_ASSIGN_OR_RETURN(const FormatDriver* named, named_driver(options.format));
  std::string seen;
  if (probed.foreign)
    seen = fmt::format("{} signature ({})", probed.foreign->format, probed.foreign->description);
  else if (probed.driver != named && probed.score > kFallback)
    seen = fmt::format("{} signature", probed.driver->name);
  if (!seen.empty())
    diagnose(options, Diagnostic::Level::note,
             fmt::format("{}: reading the input as {}, as asked; its {} is ignored", named->name,
                         named->name, seen));
  return named;
}

}  // namespace
}  // namespace detail

std::vector<std::string_view> input_formats() {
  std::vector<std::string_view> out;
  for (const auto* d : detail::format_drivers()) out.push_back(d->name);
  return out;
}

Result<std::span<const OptionSpec>> input_format_options(std::string_view format) {
  VDISK_ASSIGN_OR_RETURN(const detail::FormatDriver* d, detail::named_driver(format));
  return d->options;
}

Status set_format_option(OpenOptions& options, std::string_view key, std::string_view value) {
  std::vector<std::string_view> keys;
  for (const detail::FormatDriver* d : detail::format_drivers()) {
    if (const OptionSpec* row = find_option(d->options, key)) {
      VDISK_RETURN_IF_ERROR(check_option_value(*row, d->name, value));
      options.settings.set(key, value);
      return {};
    }
    for (const auto& row : d->options) keys.push_back(row.key);
  }
  return invalid_argument(
      fmt::format("unknown input format option '{}' (known: {})", key,
                  keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
}

Result<std::string> probe_format(const RandomAccessFile& file) {
  VDISK_ASSIGN_OR_RETURN(const auto probed, detail::probe_file(file));
  if (probed.foreign) return std::string(probed.foreign->format);
  return std::string(probed.driver->name);
}

Result<Identification> identify(const RandomAccessFile& file) {
  VDISK_ASSIGN_OR_RETURN(const auto probed, detail::probe_file(file));
  Identification id;
  if (!probed.foreign) {
    id.format = std::string(probed.driver->name);
    id.readable = true;
    return id;
  }
  const signatures::Recognition& r = *probed.foreign;
  id.format = std::string(r.format);
  id.description = r.description;
  id.version = r.version;
  id.virtual_size = r.virtual_size;
  id.facts = r.facts;
  id.advice = r.advice;
  id.status = r.refusal();
  return id;
}

Properties Identification::to_properties() const {
  Properties p;
  p.add("format", format);
  p.add("readable", readable);
  if (!description.empty()) p.add("description", description);
  if (!version.empty()) p.add("version", version);
  if (virtual_size) p.add("virtual_size", *virtual_size);
  for (const auto& [key, value] : facts) p.add(key, value);
  if (status.code() == Errc::corrupt) p.add("damage", status.message());
  if (!advice.empty()) p.add("advice", advice);
  return p;
}

Result<std::unique_ptr<BlockSource>> open_image(const std::filesystem::path& path,
                                                const OpenOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const auto file_path, detail::ovf_in_directory(path));
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(file_path));
  return open_image(std::move(file), file_path, options);
}

Result<std::unique_ptr<BlockSource>> open_image(std::unique_ptr<RandomAccessFile> file,
                                                const std::filesystem::path& path,
                                                const OpenOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const auto probed, detail::probe_file(*file));
  VDISK_ASSIGN_OR_RETURN(const detail::FormatDriver* driver,
                         detail::choose_driver(probed, options));
  VDISK_RETURN_IF_ERROR(detail::check_format_settings(*driver, options));
  return driver->open(std::move(file), path, options);
}

Result<std::unique_ptr<StreamSource>> open_image_stream(std::unique_ptr<InputStream> in,
                                                        const OpenOptions& options) {
  // Streams get the same probe on their first bytes (a fixed VHD's footer, at the end, is
  // found by the VHD driver's stream reader, which bids for a stream with no signature).
  std::vector<std::byte> head(detail::kProbeHeadBytes);
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in, head));
  head.resize(n);
  const auto probed = detail::probe_all(detail::ProbeData{head, {}, 0, true});
  in = prefixed_stream(std::move(head), std::move(in));
  VDISK_ASSIGN_OR_RETURN(const detail::FormatDriver* driver,
                         detail::choose_driver(probed, options));
  VDISK_RETURN_IF_ERROR(detail::check_format_settings(*driver, options));
  if (!driver->open_stream)
    return unsupported(
        fmt::format("{}: this format cannot be read from a stream (it needs random access); "
                    "save it to a file first",
                    driver->name));
  return driver->open_stream(std::move(in), options);
}

Properties describe(const BlockSource& source) {
  Properties p;
  p.add("format", source.format());
  p.add("virtual_size", source.size());
  source.describe(p);
  // Every disk says what it boots (docs/boot.md), unless its format reports that itself (an ISO:
  // its El Torito and hybrid boot report).
  if (!p.get_object("boot")) {
    auto& b = p.add_object("boot");
    if (auto facts = boot::read_disk_boot(source); facts.ok()) {
      boot::describe_disk_boot(*facts, b);
      boot::describe_cloud_settings(boot::cloud_boot_settings(*facts), b);
    } else {
      b.add("problem", facts.status().to_string());
    }
  }
  return p;
}

}  // namespace vdisk
