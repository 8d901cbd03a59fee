// OVF envelope: References and DiskSection (see ovf_envelope.h; DSP0243 sections 5 and 9.1).
#include "formats/ova/ovf_envelope.h"

#include <charconv>

#include <fmt/format.h>

#include "formats/ova/ovf_xml.h"
#include "base/checked.h"

namespace vdisk::ova {
namespace {

constexpr std::string_view kNamespaces[] = {kOvfNamespace1, kOvfNamespace2};

bool is_ovf(const XmlName& n, std::string_view local) {
  return n.local == local && (n.ns == kOvfNamespace1 || n.ns == kOvfNamespace2);
}

const std::string* attr(const XmlElement& e, std::string_view local) {
  return e.attribute(local, kNamespaces, true);
}

Result<std::uint64_t> decimal(std::string_view text, std::string_view what, std::size_t at,
                              std::string_view doc) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    return corrupt_at("ovf", fmt::format("{}: {}", doc, what), at,
                      fmt::format("expected a decimal number, found '{}'", text));
  return v;
}

Result<std::optional<std::uint64_t>> optional_decimal(const XmlElement& e, std::string_view local,
                                                      std::string_view what, std::string_view doc) {
  const std::string* v = attr(e, local);
  if (!v) return std::optional<std::uint64_t>();
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t n, decimal(*v, what, e.offset, doc));
  return std::optional<std::uint64_t>(n);
}

Result<OvfFile> read_file(const XmlElement& e, std::string_view doc) {
  OvfFile f;
  const std::string* id = attr(e, "id");
  const std::string* href = attr(e, "href");
  if (!id || id->empty() || !href || href->empty())
    return corrupt_at("ovf", fmt::format("{}: References/File", doc), e.offset,
                      "expected ovf:id and ovf:href");
  f.id = *id;
  f.href = *href;
  VDISK_ASSIGN_OR_RETURN(f.size, optional_decimal(e, "size", "File ovf:size", doc));
  VDISK_ASSIGN_OR_RETURN(f.chunk_size, optional_decimal(e, "chunkSize", "File ovf:chunkSize", doc));
  if (f.chunk_size && *f.chunk_size == 0)
    return corrupt_at("ovf", fmt::format("{}: File '{}' ovf:chunkSize", doc, f.id), e.offset,
                      "expected a positive size, found 0");
  if (const std::string* c = attr(e, "compression")) {
    if (*c == "gzip")
      f.gzip = true;
    else if (*c != "identity" && !c->empty())
      return unsupported(
          fmt::format("ovf: {}: File '{}' uses ovf:compression=\"{}\" (only gzip "
                      "and identity are read)",
                      doc, f.id, *c));
  }
  return f;
}

Result<OvfDisk> read_disk(const XmlElement& e, std::string_view doc) {
  OvfDisk d;
  const std::string* id = attr(e, "diskId");
  const std::string* capacity = attr(e, "capacity");
  const std::string where = fmt::format("{}: DiskSection/Disk", doc);
  if (!id || id->empty() || !capacity)
    return corrupt_at("ovf", where, e.offset, "expected ovf:diskId and ovf:capacity");
  d.disk_id = *id;
  if (const std::string* r = attr(e, "fileRef")) d.file_ref = *r;
  if (const std::string* f = attr(e, "format")) d.format = *f;
  if (capacity->starts_with("${"))
    return unsupported(
        fmt::format("ovf: {}: Disk '{}' gives its capacity as the property {} "
                    "(set at deployment); not read",
                    doc, d.disk_id, *capacity));
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t n,
                         decimal(*capacity, "Disk ovf:capacity", e.offset, doc));
  std::uint64_t unit = 1;
  if (const std::string* u = attr(e, "capacityAllocationUnits")) {
    const auto parsed = allocation_unit(*u);
    if (!parsed)
      return corrupt_at("ovf", where, e.offset,
                        fmt::format("expected ovf:capacityAllocationUnits \"byte * 2^N\", found "
                                    "'{}'",
                                    *u));
    unit = *parsed;
  }
  const auto bytes = detail::checked_mul(n, unit);
  if (!bytes)
    return corrupt_at("ovf", where, e.offset,
                      fmt::format("capacity {} x {} bytes overflows 64 bits", n, unit));
  d.capacity = *bytes;
  VDISK_ASSIGN_OR_RETURN(d.populated_size,
                         optional_decimal(e, "populatedSize", "Disk ovf:populatedSize", doc));
  return d;
}

Status check_unique(const Envelope& env, std::string_view doc) {
  for (std::size_t i = 0; i < env.files.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      if (env.files[i].id == env.files[j].id)
        return corrupt(fmt::format("ovf: {}: two References/File entries have ovf:id '{}'", doc,
                                   env.files[i].id));
      if (env.files[i].href == env.files[j].href)
        return corrupt(fmt::format("ovf: {}: two References/File entries have ovf:href '{}'", doc,
                                   env.files[i].href));
    }
  for (const OvfDisk& d : env.disks)
    if (!d.file_ref.empty() && !env.file(d.file_ref))
      return corrupt(
          fmt::format("ovf: {}: Disk '{}' has ovf:fileRef '{}', which no "
                      "References/File declares",
                      doc, d.disk_id, d.file_ref));
  return {};
}

}  // namespace

const OvfFile* Envelope::file(std::string_view id) const {
  for (const OvfFile& f : files)
    if (f.id == id) return &f;
  return nullptr;
}

std::optional<std::uint64_t> allocation_unit(std::string_view units) {
  std::string compact;
  for (char c : units)
    if (c != ' ' && c != '\t') compact += c;
  if (compact == "byte") return 1;
  if (!compact.starts_with("byte*2^")) return std::nullopt;
  const std::string_view exp = std::string_view(compact).substr(7);
  unsigned e = 0;
  const auto [p, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), e);
  if (exp.empty() || ec != std::errc() || p != exp.data() + exp.size() || e > 63)
    return std::nullopt;
  return std::uint64_t{1} << e;
}

std::string format_short_name(std::string_view uri) {
  const std::size_t hash = uri.rfind('#');
  if (hash != std::string_view::npos && hash + 1 < uri.size())
    return std::string(uri.substr(hash + 1));
  const std::size_t slash = uri.rfind('/');
  if (slash != std::string_view::npos && slash + 1 < uri.size())
    return std::string(uri.substr(slash + 1));
  return std::string(uri);
}

Result<Envelope> parse_envelope(std::string_view text, std::string_view what) {
  VDISK_ASSIGN_OR_RETURN(const XmlElement root, parse_xml(text, what));
  if (!is_ovf(root.name, "Envelope"))
    return corrupt_at("ovf", fmt::format("{}: root element", what), root.offset,
                      fmt::format("expected an OVF Envelope ({}), found '{}' in namespace '{}'",
                                  kOvfNamespace1, root.name.local, root.name.ns));
  Envelope env;
  env.version = std::string(1, root.name.ns == kOvfNamespace2 ? '2' : '1');
  for (const XmlElement& section : root.children) {
    const bool refs = is_ovf(section.name, "References");
    const bool disks = is_ovf(section.name, "DiskSection");
    if (!refs && !disks) continue;
    for (const XmlElement& item : section.children) {
      if (env.files.size() + env.disks.size() >= 2 * kMaxOvfFiles)
        return resource_exhausted(
            fmt::format("ovf: {}: more than {} files or disks", what, kMaxOvfFiles));
      if (refs && is_ovf(item.name, "File")) {
        VDISK_ASSIGN_OR_RETURN(OvfFile f, read_file(item, what));
        env.files.push_back(std::move(f));
      } else if (disks && is_ovf(item.name, "Disk")) {
        VDISK_ASSIGN_OR_RETURN(OvfDisk d, read_disk(item, what));
        env.disks.push_back(std::move(d));
      }
    }
  }
  VDISK_RETURN_IF_ERROR(check_unique(env, what));
  return env;
}

}  // namespace vdisk::ova
