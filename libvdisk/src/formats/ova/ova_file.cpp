// OVA packages read from files (docs/ova.md, "Files"): a tar file, whose disk member is read in
// place through a window of the tar (a chunked file: several windows back to back), or a
// descriptor (.ovf) whose files are its siblings; a gzip'd file is inflated once to check it and
// then read through restart points (formats/ova/gunzip.h). The manifest's digests of the descriptor
// and of the chosen disk's files are checked up front, before the disk is opened: random reads of
// the disk cannot feed a digest, so this costs one sequential read of the stored disk file.
#include <algorithm>

#include <fmt/format.h>

#include "base/linked_path.h"
#include "contract/format_driver.h"
#include "formats/ova/gunzip.h"
#include "formats/ova/ova.h"
#include "formats/ova/ova_tar.h"

namespace vdisk::ova {
namespace {

namespace fs = std::filesystem;

Result<FileDigest> digest_windows(const std::vector<FileWindow>& windows, std::size_t i,
                                  std::span<const ManifestEntry> manifest, std::string_view name) {
  FileDigest d = digest_for(manifest, true, name);
  std::vector<std::byte> buf(1 << 20);
  const FileWindow& w = windows[i];
  for (std::uint64_t done = 0; done < w.length;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), w.length - done));
    VDISK_RETURN_IF_ERROR(w.file->read_at(w.offset + done, std::span(buf).first(n)));
    d.update(std::span(buf).first(n));
    done += n;
  }
  d.finish();
  return d;
}

// Verifies the descriptor and each stored file of the chosen disk against the manifest, then
// settles the manifest's state with the entries whose files the package does not hold.
Status verify(Package& p, std::string_view ovf_text, std::span<const ManifestEntry> manifest,
              const std::vector<FileWindow>& windows, const std::vector<std::string>& names,
              const std::function<bool(std::string_view)>& holds, const OpenOptions& options) {
  if (p.manifest.name.empty()) return {};
  if (const ManifestEntry* e = find_entry(manifest, p.ovf_name))
    p.manifest.algorithm = e->algorithm;
  else if (!manifest.empty())
    p.manifest.algorithm = manifest.front().algorithm;
  if (!options.verify_manifest) {
    p.manifest.skipped = true;
    return {};
  }
  if (const ManifestEntry* e = find_entry(manifest, p.ovf_name)) {
    FileDigest d = digest_for(manifest, true, p.ovf_name);
    d.update(std::as_bytes(std::span(ovf_text)));
    d.finish();
    VDISK_RETURN_IF_ERROR(verify_digest(*e, d, p.manifest.name));
  } else {
    note_unlisted(options, p.manifest.name, p.ovf_name);
  }
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const ManifestEntry* e = find_entry(manifest, names[i]);
    if (!e) {
      note_unlisted(options, p.manifest.name, names[i]);
      continue;
    }
    VDISK_ASSIGN_OR_RETURN(const FileDigest d, digest_windows(windows, i, manifest, names[i]));
    VDISK_RETURN_IF_ERROR(verify_digest(*e, d, p.manifest.name));
  }
  settle_manifest(p, manifest, holds, options);
  return {};
}

// The inflated size a gzip'd disk file may reach: twice the disk's capacity and 1 GiB more (an
// image file is its capacity plus metadata; a bomb stops there).
std::uint64_t gunzip_limit(const Package& p) {
  const std::uint64_t cap = p.chosen_disk().capacity;
  constexpr std::uint64_t kSlack = 1ull << 30;
  return cap > (UINT64_MAX - kSlack) / 2 ? UINT64_MAX : 2 * cap + kSlack;
}

// The chosen disk's stored file as one RandomAccessFile: its windows back to back, inflated
// when the File is gzip'd.
Result<std::unique_ptr<RandomAccessFile>> disk_file(const Package& p,
                                                    std::vector<FileWindow> windows,
                                                    std::string name) {
  auto stored = window_file(std::move(windows), name);
  if (!p.chosen_file().gzip) return stored;
  return gunzip_file(std::move(stored), gunzip_limit(p), name + " (gunzip)");
}

Result<std::vector<ManifestEntry>> read_manifest_text(std::string_view text, Package& p,
                                                      std::string name) {
  p.manifest.name = std::move(name);
  return parse_manifest(text, p.manifest.name);
}

// Whether the package of a descriptor on disk holds `name`: the descriptor itself, or a regular
// file next to it. Names that are absolute or leave the directory are not in the package (and
// are not looked up).
std::function<bool(std::string_view)> sibling_holder(const fs::path& dir, std::string ovf_name) {
  return [dir, ovf_name = std::move(ovf_name)](std::string_view name) {
    if (name == ovf_name) return true;
    const fs::path p{std::string(name)};
    const fs::path norm = p.lexically_normal();
    if (p.is_absolute() || name.starts_with('\\') || (name.size() >= 2 && name[1] == ':') ||
        norm.empty() || *norm.begin() == "..")
      return false;
    std::error_code ec;
    return fs::is_regular_file(dir / norm, ec);
  };
}

// Every chunk but the last ovf:chunkSize bytes, all together ovf:size.
Status check_sizes(const Package& p, const std::vector<FileWindow>& windows) {
  const OvfFile& f = p.chosen_file();
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (f.chunk_size)
      VDISK_RETURN_IF_ERROR(
          check_chunk(f, i, windows[i].length, i + 1 == windows.size(), p.archive));
    total += windows[i].length;
  }
  return check_stored_size(f, total, p.archive);
}

// The stored files of the chosen disk among the archive's members.
Status find_members(const Package& p, const std::vector<TarEntry>& members,
                    const std::shared_ptr<const RandomAccessFile>& file,
                    std::vector<FileWindow>& windows, std::vector<std::string>& names) {
  const OvfFile& f = p.chosen_file();
  auto find = [&](const std::string& name) -> const TarEntry* {
    for (const TarEntry& m : members)
      if (m.regular() && m.name == name) return &m;
    return nullptr;
  };
  const std::size_t count = f.chunk_size ? kMaxChunks : 1;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = f.chunk_size ? chunk_name(f.href, i) : f.href;
    const TarEntry* m = find(name);
    if (!m) break;
    windows.push_back({file, m->data_offset, m->size});
    names.push_back(name);
  }
  if (windows.empty())
    return corrupt(fmt::format("ova: {}: '{}' (the file of disk {}) is not in the archive",
                               p.archive, f.chunk_size ? chunk_name(f.href, 0) : f.href,
                               p.disk + 1));
  return check_sizes(p, windows);
}

}  // namespace

Result<std::unique_ptr<BlockSource>> open_tar_file(std::unique_ptr<RandomAccessFile> file,
                                                   const fs::path& path,
                                                   const OpenOptions& options) {
  NestingGuard guard;
  if (guard.nested()) return unsupported("ova: an OVA inside an OVA is not read");
  std::shared_ptr<const RandomAccessFile> shared(std::move(file));
  Package p;
  p.archive = path.empty() ? shared->name() : path.string();
  auto input = file_tar_input(*shared);
  TarWalker walker(*input, p.archive);
  VDISK_ASSIGN_OR_RETURN(const auto first, walker.next());
  if (!first || !first->regular() || !ends_with_nocase(first->name, ".ovf"))
    return corrupt(fmt::format("ova: {}: the first member is not an .ovf descriptor", p.archive));
  p.ovf_name = first->name;
  VDISK_ASSIGN_OR_RETURN(const std::string ovf_text, walker.read_all(kMaxOvfBytes, "descriptor"));
  VDISK_ASSIGN_OR_RETURN(p.envelope, parse_envelope(ovf_text, p.ovf_name));
  VDISK_RETURN_IF_ERROR(choose_disk(p, options, false));

  std::vector<TarEntry> members;
  for (;;) {
    VDISK_ASSIGN_OR_RETURN(auto m, walker.next());
    if (!m) break;
    if (members.size() >= kMaxMembers)
      return resource_exhausted(
          fmt::format("ova: {}: more than {} members in the archive", p.archive, kMaxMembers));
    members.push_back(std::move(*m));
  }
  std::vector<FileWindow> windows;
  std::vector<std::string> names;
  VDISK_RETURN_IF_ERROR(find_members(p, members, shared, windows, names));

  std::vector<ManifestEntry> manifest;
  for (const TarEntry& m : members) {
    if (!m.regular() || !ends_with_nocase(m.name, ".mf")) continue;
    if (m.size > kMaxManifestBytes)
      return resource_exhausted(
          fmt::format("ova: {}: manifest {} is {} bytes, more than the {} "
                      "read",
                      p.archive, m.name, m.size, kMaxManifestBytes));
    std::string text(static_cast<std::size_t>(m.size), '\0');
    VDISK_RETURN_IF_ERROR(shared->read_at(m.data_offset, std::as_writable_bytes(std::span(text))));
    VDISK_ASSIGN_OR_RETURN(manifest, read_manifest_text(text, p, m.name));
    break;
  }
  std::vector<std::string_view> held{p.ovf_name};  // regular members, sorted
  for (const TarEntry& m : members)
    if (m.regular()) held.push_back(m.name);
  std::sort(held.begin(), held.end());
  const auto in_archive = [&held](std::string_view name) {
    return std::binary_search(held.begin(), held.end(), name);
  };
  VDISK_RETURN_IF_ERROR(verify(p, ovf_text, manifest, windows, names, in_archive, options));

  const fs::path inner_path = path.empty() ? fs::path() : path.parent_path() / p.chosen_file().href;
  VDISK_ASSIGN_OR_RETURN(
      auto window,
      disk_file(p, std::move(windows), fmt::format("{}:{}", p.archive, p.chosen_file().href)));
  VDISK_ASSIGN_OR_RETURN(auto inner,
                         open_image(std::move(window), inner_path, inner_options(options)));
  return package_source(std::move(p), std::move(inner));
}

Result<std::unique_ptr<BlockSource>> open_descriptor_file(std::unique_ptr<RandomAccessFile> file,
                                                          const fs::path& path,
                                                          const OpenOptions& options) {
  NestingGuard guard;
  if (guard.nested()) return unsupported("ova: an OVF descriptor inside an OVA is not read");
  Package p;
  p.archive = path.empty() ? file->name() : path.string();
  p.ovf_name = path.empty() ? file->name() : path.filename().string();
  if (file->size() > kMaxOvfBytes)
    return resource_exhausted(
        fmt::format("ova: {}: the descriptor is {} bytes, more than the {} "
                    "read",
                    p.archive, file->size(), kMaxOvfBytes));
  std::string ovf_text(static_cast<std::size_t>(file->size()), '\0');
  VDISK_RETURN_IF_ERROR(file->read_at(0, std::as_writable_bytes(std::span(ovf_text))));
  VDISK_ASSIGN_OR_RETURN(p.envelope, parse_envelope(ovf_text, p.ovf_name));
  VDISK_RETURN_IF_ERROR(choose_disk(p, options, options.allow_outside_paths));
  const fs::path dir = path.parent_path();
  const OvfFile& f = p.chosen_file();

  std::vector<FileWindow> windows;
  std::vector<std::string> names;
  const std::size_t count = f.chunk_size ? kMaxChunks : 1;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = f.chunk_size ? chunk_name(f.href, i) : f.href;
    // The href passed check_href's lexical test; the directory rule (base/linked_path.h) also
    // follows symbolic links, so a link inside the directory to a file outside is refused too.
    // The file is opened by the name the descriptor gives (messages stay as they were). A
    // descriptor opened without a path keeps the plain relative name.
    const fs::path at = dir / name;
    if (!path.empty()) {
      auto resolved = detail::resolve_linked_file(
          "ova", fmt::format("the file of disk {}", p.disk + 1), path, {fs::path(name)}, options);
      // A missing file is left to open_file below, which names it as before.
      if (!resolved.ok() && resolved.status().code() != Errc::not_found) return resolved.status();
    }
    auto opened = open_file(at);
    if (!opened.ok()) {
      if (i > 0 && opened.status().code() == Errc::not_found) break;
      return opened.status().with_context(
          fmt::format("ova: {}: the file of disk {}", p.archive, p.disk + 1));
    }
    std::shared_ptr<const RandomAccessFile> chunk(std::move(*opened));
    windows.push_back({chunk, 0, chunk->size()});
    names.push_back(name);
  }
  VDISK_RETURN_IF_ERROR(check_sizes(p, windows));

  std::vector<ManifestEntry> manifest;
  const std::string mf_name = path.stem().string() + ".mf";
  if (auto mf = open_file(dir / mf_name); mf.ok()) {
    if ((*mf)->size() > kMaxManifestBytes)
      return resource_exhausted(fmt::format("ova: {}: manifest {} is more than {} bytes", p.archive,
                                            mf_name, kMaxManifestBytes));
    std::string text(static_cast<std::size_t>((*mf)->size()), '\0');
    VDISK_RETURN_IF_ERROR((*mf)->read_at(0, std::as_writable_bytes(std::span(text))));
    VDISK_ASSIGN_OR_RETURN(manifest, read_manifest_text(text, p, mf_name));
  }
  VDISK_RETURN_IF_ERROR(
      verify(p, ovf_text, manifest, windows, names, sibling_holder(dir, p.ovf_name), options));

  std::unique_ptr<BlockSource> inner;
  if (f.chunk_size || f.gzip) {
    VDISK_ASSIGN_OR_RETURN(auto window, disk_file(p, std::move(windows),
                                                  fmt::format("{}{}", (dir / f.href).string(),
                                                              f.chunk_size ? " (chunks)" : "")));
    VDISK_ASSIGN_OR_RETURN(inner,
                           open_image(std::move(window), dir / f.href, inner_options(options)));
  } else {
    VDISK_ASSIGN_OR_RETURN(inner, open_image(dir / f.href, inner_options(options)));
  }
  return package_source(std::move(p), std::move(inner));
}

}  // namespace vdisk::ova
