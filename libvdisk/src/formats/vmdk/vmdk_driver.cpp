// VMDK input driver: probing, opening single-file sparse images and descriptor files, resolving
// extent and parent files, and walking snapshot chains.
//
// Extent files and parents follow the directory rule, and parents the one chain stack of every
// format (base/linked_path.h): a delta whose parent is a qcow2 or VHD image, whose own parent
// comes back to a VMDK being opened, is caught as a loop.
//
// NOACCESS extents: the map reports them as data and reads fail with unsupported, so a
// conversion stops with a clear message instead of silently writing zeros.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "base/checked.h"
#include "base/endian.h"
#include "base/linked_path.h"
#include "vdisk/vmdk.h"
#include "formats/vmdk/vmdk_extent.h"
#include "formats/vmdk/vmdk_source.h"
#include "formats/vmdk/vmdk_stream.h"

namespace vdisk::vmdk {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kNoParentCid = 0xffffffffu;

// ---- probing ----

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// True when the text's first line that is neither blank nor a comment is `version = N`, and a
// createType line follows somewhere in `text`.
bool looks_like_descriptor(std::string_view text) {
  bool version_seen = false;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::string lower;
    for (char c : line) lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    if (!version_seen) {
      if (lower.rfind("version", 0) != 0) return false;
      std::string_view rest = std::string_view(lower).substr(7);
      while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
      if (rest.empty() || rest.front() != '=') return false;
      rest.remove_prefix(1);
      while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
      if (rest.empty() || rest.front() < '0' || rest.front() > '9') return false;
      version_seen = true;
      continue;
    }
    if (lower.rfind("createtype", 0) == 0) return true;
  }
  return false;
}

int probe(const detail::ProbeData& d) {
  // The magic alone claims the input: a header cut short or impossible is a damaged VMDK
  // (open reports what is wrong), never a raw disk.
  if (d.head.size() >= 4) {
    const std::uint32_t magic = detail::load_le32(d.head);
    if (magic == kSparseMagic)
      return d.head.size() >= kHeaderSize && decode_sparse_header(d.head.first(kHeaderSize), 0).ok()
                 ? detail::kCertain
                 : 30;
    if (magic == kCowdMagic) return 60;
  }
  // qemu pads standalone descriptors with NULs to a whole sector; the text ends at the first.
  std::string_view text(reinterpret_cast<const char*>(d.head.data()), d.head.size());
  text = text.substr(0, text.find('\0'));
  return looks_like_descriptor(text) ? 90 : 0;
}

// ---- paths ----

// Resolves `name` (from a descriptor of the image at `image`) under the shared directory rule.
// Backslashes are separators. A Windows drive name ("C:...") lies outside any directory here:
// refused as such unless outside paths are allowed, and then looked for as it is (not found).
Result<fs::path> resolve(const fs::path& image, std::string name, std::string_view what,
                         const OpenOptions& options) {
  std::replace(name.begin(), name.end(), '\\', '/');
  if (name.empty()) return corrupt(fmt::format("vmdk: {} has an empty file name", what));
  if (name.size() >= 2 && name[1] == ':' && !options.allow_outside_paths)
    return detail::outside_link(
        fmt::format("vmdk: {} '{}' of '{}' is a Windows drive path, which lies outside the "
                    "directory; allow outside paths to open it",
                    what, name, image.string()));
  return detail::resolve_linked_file("vmdk", what, image, {fs::path(name)}, options);
}

Result<std::shared_ptr<const RandomAccessFile>> open_shared(const fs::path& p) {
  VDISK_ASSIGN_OR_RETURN(auto f, open_file(p));
  return std::shared_ptr<const RandomAccessFile>(std::move(f));
}

// ---- links ----

Result<std::unique_ptr<VmdkSource>> open_link(std::shared_ptr<const RandomAccessFile> file,
                                              const fs::path& path, const OpenOptions& options);

// `path`: the image whose descriptor `d` is (its directory is where extent files are looked for).
Result<std::vector<Piece>> open_descriptor_extents(const Descriptor& d, const fs::path& path,
                                                   const OpenOptions& options, LinkInfo& info) {
  std::vector<Piece> pieces;
  std::uint64_t start = 0;
  for (const DescriptorLine& l : d.lines) {
    if (l.kind != DescriptorLine::Kind::extent) continue;
    const ExtentLine& e = l.extent;
    const std::string what = fmt::format("descriptor line {}", l.number);
    const auto bytes = detail::checked_mul(e.sectors, kSector);
    const auto end = bytes ? detail::checked_add(start, *bytes) : std::nullopt;
    if (!end || *end > kMaxCapacitySectors * kSector)
      return corrupt(
          fmt::format("vmdk: {}: extent of {} sectors makes the disk larger than {} "
                      "sectors",
                      what, e.sectors, kMaxCapacitySectors));
    Piece piece;
    piece.start = start;
    piece.line = e;
    if (e.access == Access::noaccess) {
      piece.reader = make_noaccess_extent(*bytes, what);
    } else if (e.type == ExtentType::zero) {
      piece.reader = make_zero_extent(*bytes);
    } else {
      if (!e.file)
        return corrupt(
            fmt::format("vmdk: {}: {} extent has no file name", what, extent_type_name(e.type)));
      VDISK_ASSIGN_OR_RETURN(
          fs::path p, resolve(path, *e.file,
                              fmt::format("extent file on descriptor line {}", l.number), options));
      switch (e.type) {
        case ExtentType::flat:
        case ExtentType::vmfs:
        case ExtentType::vmfs_rdm:
        case ExtentType::vmfs_raw: {
          VDISK_ASSIGN_OR_RETURN(auto f, open_shared(p));
          const auto base = detail::checked_mul(e.offset.value_or(0), kSector);
          if (!base) return corrupt(fmt::format("vmdk: {}: extent offset overflows", what));
          VDISK_ASSIGN_OR_RETURN(piece.reader, make_flat_extent(std::move(f), *base, *bytes));
          break;
        }
        case ExtentType::sparse: {
          VDISK_ASSIGN_OR_RETURN(auto f, open_shared(p));
          VDISK_ASSIGN_OR_RETURN(OpenedSparse s,
                                 open_sparse_extent(std::move(f), *bytes, options.on_diagnostic));
          if (!info.sparse) {
            info.sparse = s.info.header;
            info.footer_used = s.info.used_footer;
          }
          piece.reader = std::move(s.reader);
          break;
        }
        case ExtentType::vmfs_sparse: {
          VDISK_ASSIGN_OR_RETURN(auto f, open_shared(p));
          VDISK_ASSIGN_OR_RETURN(piece.reader, open_cowd_extent(std::move(f), *bytes));
          break;
        }
        case ExtentType::se_sparse: {
          VDISK_ASSIGN_OR_RETURN(auto f, open_shared(p));
          VDISK_ASSIGN_OR_RETURN(piece.reader, open_sesparse_extent(std::move(f), *bytes));
          break;
        }
        default:
          return unsupported(fmt::format("vmdk: {}: {} extents are not supported yet", what,
                                         extent_type_name(e.type)));
      }
    }
    pieces.push_back(std::move(piece));
    start = *end;
  }
  if (pieces.empty()) return corrupt("vmdk: descriptor has no extent lines");
  return pieces;
}

// `path`: the image whose descriptor `d` is; `self`: its canonical path (the chain's key).
Result<std::unique_ptr<BlockSource>> open_parent(const Descriptor& d, const fs::path& path,
                                                 const fs::path& self, const OpenOptions& options) {
  const DescriptorLine* hint = d.find("parentFileNameHint");
  const auto parent_cid_text = d.get("parentCID");
  // 2^32 marks an absent or malformed parentCID (CIDs are 32-bit).
  const std::uint64_t parent_cid =
      parent_cid_text ? parse_cid(*parent_cid_text).value_or(1ull << 32) : (1ull << 32);
  if (!hint || hint->value.empty()) {
    if (parent_cid != kNoParentCid && parent_cid_text)
      detail::diagnose(options, Diagnostic::Level::warning,
                       fmt::format("vmdk: parentCID is {} but there is no parentFileNameHint; "
                                   "reading as a disk without a parent",
                                   *parent_cid_text));
    return std::unique_ptr<BlockSource>();
  }
  const std::string what =
      fmt::format("parent (parentFileNameHint on descriptor line {})", hint->number);
  VDISK_ASSIGN_OR_RETURN(fs::path p, resolve(path, hint->value, what, options));
  detail::ChainLink link;
  VDISK_RETURN_IF_ERROR(link.enter("vmdk", what, self, p));
  VDISK_ASSIGN_OR_RETURN(auto file, open_shared(p));
  VDISK_ASSIGN_OR_RETURN(std::string format, probe_format(*file));
  if (format != "vmdk") {
    // Another format's own driver opens it (and its own parents).
    OpenOptions o = options;
    o.format.clear();
    detail::diagnose(options, Diagnostic::Level::note,
                     fmt::format("vmdk: parent {} is a {} image; its CID cannot be checked",
                                 p.string(), format));
    VDISK_ASSIGN_OR_RETURN(auto raw, open_file(p));
    return open_image(std::move(raw), p, o);
  }
  VDISK_ASSIGN_OR_RETURN(auto parent, open_link(std::move(file), p, options));
  if (!options.ignore_parent_identity) {
    const auto cid = parent->cid();
    const std::uint64_t have = cid ? std::uint64_t{*cid} : (1ull << 33);
    if (parent_cid != have)
      return corrupt(fmt::format(
          "vmdk: parentCID {} does not match the CID {} of parent {} (content ID mismatch; "
          "--ignore-cid, OpenOptions::ignore_parent_identity, reads it anyway)",
          parent_cid_text.value_or("(none)"), cid ? fmt::format("{:08x}", *cid) : "(none)",
          p.string()));
  }
  return std::unique_ptr<BlockSource>(std::move(parent));
}

Result<Descriptor> parse_text(std::string_view text, std::string_view where) {
  auto d = parse_descriptor(text);
  if (!d.ok()) return d.status().with_context(where);
  return d;
}

Result<std::unique_ptr<VmdkSource>> open_link(std::shared_ptr<const RandomAccessFile> file,
                                              const fs::path& path, const OpenOptions& options) {
  std::error_code ec;
  fs::path self = path.empty() ? fs::path() : fs::weakly_canonical(path, ec);
  if (path.empty() || ec) self = path.empty() ? fs::path(file->name()) : path.lexically_normal();
  LinkInfo info;
  info.file = file->name();
  std::array<std::byte, 4> magic{};
  std::vector<Piece> pieces;
  if (file->size() >= 4) VDISK_RETURN_IF_ERROR(file->read_at(0, magic));
  const std::uint32_t m = detail::load_le32(magic);
  if (m == kCowdMagic) {
    // A COWD redo log opened on its own: one extent, no descriptor (its parent is named by the
    // descriptor that lists it, so a lone file reads unallocated grains as zeros).
    VDISK_ASSIGN_OR_RETURN(auto reader, open_cowd_extent(file, std::nullopt));
    Piece piece;
    piece.line.access = Access::rw;
    piece.line.sectors = reader->size() / kSector;
    piece.line.type = ExtentType::vmfs_sparse;
    piece.line.file = path.empty() ? file->name() : path.filename().string();
    piece.reader = std::move(reader);
    pieces.push_back(std::move(piece));
  } else if (m == kSparseMagic) {
    VDISK_ASSIGN_OR_RETURN(SparseExtentInfo si, read_sparse_info(*file));
    if (!si.embedded_descriptor.empty()) {
      auto d = parse_text(si.embedded_descriptor, file->name() + ": embedded descriptor");
      if (d.ok()) {
        info.descriptor = std::move(*d);
      } else {
        detail::diagnose(options, Diagnostic::Level::warning, d.status().message());
      }
    }
    if (si.header.capacity == 0 && info.descriptor) {
      // A descriptor carrier: the embedded descriptor lists the real extents.
      VDISK_ASSIGN_OR_RETURN(pieces,
                             open_descriptor_extents(*info.descriptor, path, options, info));
    } else {
      VDISK_ASSIGN_OR_RETURN(OpenedSparse s,
                             open_sparse_extent(file, std::nullopt, options.on_diagnostic));
      info.sparse = s.info.header;
      info.footer_used = s.info.used_footer;
      Piece piece;
      piece.reader = std::move(s.reader);
      piece.line.access = Access::rw;
      piece.line.sectors = s.info.header.capacity;
      piece.line.type = ExtentType::sparse;
      piece.line.file = path.empty() ? file->name() : path.filename().string();
      pieces.push_back(std::move(piece));
    }
  } else {
    if (file->size() > kMaxDescriptorBytes)
      return corrupt(
          fmt::format("vmdk: {} is neither a sparse extent nor a descriptor of at most "
                      "{} bytes",
                      file->name(), kMaxDescriptorBytes));
    std::string text(static_cast<std::size_t>(file->size()), '\0');
    VDISK_RETURN_IF_ERROR(file->read_at(0, std::as_writable_bytes(std::span(text))));
    VDISK_ASSIGN_OR_RETURN(Descriptor d, parse_text(text, file->name()));
    if (!d.find("createType"))
      detail::diagnose(options, Diagnostic::Level::warning,
                       fmt::format("vmdk: {}: descriptor has no createType line", file->name()));
    VDISK_ASSIGN_OR_RETURN(pieces, open_descriptor_extents(d, path, options, info));
    info.descriptor = std::move(d);
  }
  std::unique_ptr<BlockSource> parent;
  if (info.descriptor) {
    VDISK_ASSIGN_OR_RETURN(parent, open_parent(*info.descriptor, path, self, options));
  }
  return std::make_unique<VmdkSource>(std::move(pieces), std::move(info), std::move(parent));
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path& path,
                                          const OpenOptions& options) {
  VDISK_ASSIGN_OR_RETURN(
      auto src, open_link(std::shared_ptr<const RandomAccessFile>(std::move(file)), path, options));
  return std::unique_ptr<BlockSource>(std::move(src));
}

Result<std::unique_ptr<StreamSource>> open_stream(std::unique_ptr<InputStream> in,
                                                  const OpenOptions& options) {
  return open_stream_optimized(
      std::move(in), options,
      options.stream_window_bytes ? options.stream_window_bytes : kStreamWindowBytes);
}

}  // namespace
}  // namespace vdisk::vmdk

namespace vdisk::detail {
const FormatDriver& vmdk_driver() {
  static constexpr FormatDriver kDriver{"vmdk", &vmdk::probe, &vmdk::open, &vmdk::open_stream};
  return kDriver;
}
}  // namespace vdisk::detail
