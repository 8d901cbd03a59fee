// The package model shared by the OVA readers (see ova.h).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "formats/ova/ova.h"
#include "base/checked.h"
#include "base/linked_path.h"

namespace vdisk::ova {
namespace {

thread_local int g_open_depth = 0;

Status check_href(std::string_view href, bool allow_outside, std::string_view archive) {
  if (href.find("://") != std::string_view::npos)
    return unsupported(
        fmt::format("ova: {}: file '{}' is a URL; only files inside the package "
                    "are read",
                    archive, href));
  const std::filesystem::path p{std::string(href)};
  const bool absolute = href.starts_with('/') || href.starts_with('\\') ||
                        (href.size() >= 2 && href[1] == ':') || p.is_absolute();
  const std::filesystem::path norm = p.lexically_normal();
  const bool escapes = !norm.empty() && *norm.begin() == "..";
  if ((absolute || escapes) && !allow_outside)
    return detail::outside_link(
        fmt::format("ova: {}: file '{}' lies outside the package ({}); "
                    "refusing it (allow outside paths to permit)",
                    archive, href, absolute ? "absolute path" : "'..'"));
  return {};
}

class PackageSource final : public BlockSource {
 public:
  PackageSource(Package p, std::unique_ptr<BlockSource> inner)
      : p_(std::move(p)), inner_(std::move(inner)) {}
  std::uint64_t size() const override { return inner_->size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return inner_->read(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return inner_->map(offset, length, out);
  }
  std::string_view format() const override { return "ova"; }
  void describe(Properties& out) const override {
    describe_package(p_, out);
    Properties& image = out.add_object("disk_image");
    image.add("format", inner_->format());
    image.add("virtual_size", inner_->size());
    inner_->describe(image);
  }

 private:
  Package p_;
  std::unique_ptr<BlockSource> inner_;
};

class WindowFile final : public RandomAccessFile {
 public:
  WindowFile(std::vector<FileWindow> w, std::string name)
      : w_(std::move(w)), name_(std::move(name)) {
    for (const FileWindow& x : w_) {
      starts_.push_back(size_);
      size_ += x.length;
    }
  }
  std::uint64_t size() const override { return size_; }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("{}: read of {} bytes at {} past the end ({} bytes)", name_,
                                      dst.size(), offset, size_));
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    std::size_t i = static_cast<std::size_t>(it - starts_.begin()) - 1;
    while (!dst.empty()) {
      const FileWindow& x = w_[i];
      const std::uint64_t in = offset - starts_[i];
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), x.length - in));
      VDISK_RETURN_IF_ERROR(x.file->read_at(x.offset + in, dst.first(n)));
      dst = dst.subspan(n);
      offset += n;
      ++i;
    }
    return {};
  }
  const std::string& name() const override { return name_; }

 private:
  std::vector<FileWindow> w_;
  std::vector<std::uint64_t> starts_;
  std::uint64_t size_ = 0;
  std::string name_;
};

}  // namespace

Status choose_disk(Package& p, const OpenOptions& options, bool allow_outside) {
  const auto& disks = p.envelope.disks;
  if (disks.empty())
    return unsupported(fmt::format("ova: {}: the descriptor {} lists no disk (DiskSection)",
                                   p.archive, p.ovf_name));
  if (options.disk_index >= disks.size())
    return invalid_argument(
        fmt::format("ova: {}: there is no disk {}; the package has {} "
                    "(numbered 1 to {})",
                    p.archive, options.disk_index + 1, disks.size(), disks.size()));
  p.disk = options.disk_index;
  const OvfDisk& d = disks[p.disk];
  if (d.file_ref.empty())
    return unsupported(
        fmt::format("ova: {}: disk {} ('{}') has no file: it is a new, empty disk "
                    "of {} bytes that the importer creates",
                    p.archive, p.disk + 1, d.disk_id, d.capacity));
  return check_href(p.chosen_file().href, allow_outside, p.archive);
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(
      suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

std::string chunk_name(std::string_view href, std::size_t index) {
  return fmt::format("{}.{:09}", href, index);
}

Status check_chunk(const OvfFile& f, std::size_t index, std::uint64_t size, bool last,
                   std::string_view archive) {
  if (!last && size != *f.chunk_size)
    return corrupt(
        fmt::format("ova: {}: chunk {} of '{}' is {} bytes; every chunk but the last "
                    "must be ovf:chunkSize = {}",
                    archive, chunk_name(f.href, index), f.href, size, *f.chunk_size));
  if (size == 0 || size > *f.chunk_size)
    return corrupt(
        fmt::format("ova: {}: chunk {} of '{}' is {} bytes; expected 1 to "
                    "ovf:chunkSize = {}",
                    archive, chunk_name(f.href, index), f.href, size, *f.chunk_size));
  return {};
}

Status check_stored_size(const OvfFile& f, std::uint64_t stored, std::string_view archive) {
  if (f.size && *f.size != stored)
    return corrupt(fmt::format("ova: {}: '{}' is {} bytes, but its References/File ovf:size is {}",
                               archive, f.href, stored, *f.size));
  return {};
}

FileDigest digest_for(std::span<const ManifestEntry> manifest, bool manifest_known,
                      std::string_view name) {
  if (!manifest_known) return FileDigest(true, true);
  const ManifestEntry* e = find_entry(manifest, name);
  return FileDigest(e && e->algorithm == "SHA1", e && e->algorithm == "SHA256");
}

void note_unlisted(const OpenOptions& options, std::string_view manifest, std::string_view name) {
  detail::diagnose(
      options, Diagnostic::Level::warning,
      fmt::format("ova: manifest {} does not list {}; its digest is not checked", manifest, name));
}

void settle_manifest(Package& p, std::span<const ManifestEntry> manifest,
                     const std::function<bool(std::string_view)>& holds,
                     const OpenOptions& options) {
  p.manifest.unchecked = entries_not_held(manifest, holds);
  for (const std::string& name : p.manifest.unchecked)
    detail::diagnose(options, Diagnostic::Level::warning,
                     fmt::format("ova: manifest {} lists {}, which is not in the package {}; its "
                                 "digest could not be checked",
                                 p.manifest.name, name, p.archive));
  p.manifest.verified = p.manifest.unchecked.empty();
}

void describe_package(const Package& p, Properties& out) {
  out.add("ovf", p.ovf_name);
  out.add("ovf_version", p.envelope.version == "2" ? "2.x" : "1.x");
  out.add("disk", static_cast<std::uint64_t>(p.disk + 1));
  out.add_list("disks");
  for (std::size_t i = 0; i < p.envelope.disks.size(); ++i) {
    const OvfDisk& d = p.envelope.disks[i];
    Properties& item = out.add_list_item("disks");
    item.add("number", static_cast<std::uint64_t>(i + 1));
    item.add("id", d.disk_id);
    const OvfFile* f = d.file_ref.empty() ? nullptr : p.envelope.file(d.file_ref);
    item.add("file", f ? f->href : "");
    item.add("capacity", d.capacity);
    item.add("format", format_short_name(d.format));
    if (d.populated_size) item.add("populated_size", *d.populated_size);
    if (f) {
      item.add("compression", f->gzip ? "gzip" : "none");
      if (f->chunk_size) item.add("chunk_size", *f->chunk_size);
      if (f->size) item.add("stored_size", *f->size);
    }
  }
  Properties& m = out.add_object("manifest");
  m.add("file", p.manifest.name.empty() ? "(none)" : p.manifest.name);
  if (!p.manifest.name.empty()) {
    m.add("algorithm", p.manifest.algorithm);
    m.add("verified", p.manifest.verified);
    for (const std::string& name : p.manifest.unchecked) m.add_list_string("unchecked", name);
  }
}

std::unique_ptr<BlockSource> package_source(Package p, std::unique_ptr<BlockSource> inner) {
  return std::make_unique<PackageSource>(std::move(p), std::move(inner));
}

NestingGuard::NestingGuard() : nested_(g_open_depth > 0) { ++g_open_depth; }
NestingGuard::~NestingGuard() { --g_open_depth; }

std::unique_ptr<RandomAccessFile> window_file(std::vector<FileWindow> windows, std::string name) {
  return std::make_unique<WindowFile>(std::move(windows), std::move(name));
}

OpenOptions inner_options(const OpenOptions& options) {
  OpenOptions o = options;
  o.format.clear();
  return o;
}

}  // namespace vdisk::ova
