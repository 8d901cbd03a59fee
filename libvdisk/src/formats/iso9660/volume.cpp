// The ISO 9660 filesystem reader: descriptor set walk, directory listing with Rock Ridge /
// Joliet / plain names, relocation, multi-extent files, bounded continuation chains.
#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "formats/iso9660/file_views.h"
#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/susp.h"
#include "base/checked.h"
#include "vdisk/iso9660.h"

namespace vdisk::iso9660 {

std::string_view entry_type_name(EntryType type) noexcept {
  switch (type) {
    case EntryType::file:
      return "file";
    case EntryType::directory:
      return "directory";
    case EntryType::symlink:
      return "symlink";
    case EntryType::device:
      return "device";
    case EntryType::fifo:
      return "fifo";
    case EntryType::socket:
      return "socket";
  }
  return "unknown";
}

std::string_view name_source_name(NameSource s) noexcept {
  switch (s) {
    case NameSource::automatic:
      return "automatic";
    case NameSource::rock_ridge:
      return "rock_ridge";
    case NameSource::joliet:
      return "joliet";
    case NameSource::plain:
      return "plain";
  }
  return "unknown";
}

namespace {

using namespace detail;
using vdisk::detail::checked_add;
using vdisk::detail::range_inside;

constexpr std::uint32_t kMaxContinuationBytes = 64 * 1024;

// POSIX file type bits.
constexpr std::uint32_t kIfMt = 0170000, kIfDir = 0040000, kIfReg = 0100000, kIfLnk = 0120000,
                        kIfChr = 0020000, kIfBlk = 0060000, kIfIfo = 0010000, kIfSock = 0140000;

class VolumeImpl final : public Volume {
 public:
  VolumeImpl(std::shared_ptr<const RandomAccessFile> file, VolumeOptions opt)
      : file_(std::move(file)), opt_(opt) {}

  Status init();

  const VolumeInfo& info() const override { return info_; }
  const Entry& root() const override { return root_; }
  Result<std::vector<Entry>> list(const Entry& dir) const override;
  Result<Entry> lookup(std::string_view path) const override;
  Result<std::unique_ptr<RandomAccessFile>> open_file(const Entry& file) const override;
  Status walk(const Entry& dir, const Visitor& visit) const override;

 private:
  Status read_system_use(std::span<const std::byte> su, std::uint64_t su_offset,
                         RockRidge& rr) const;
  Result<std::vector<std::byte>> read_directory(const Entry& dir) const;
  // Fills attributes of `e` from record `r` (image offset `off`). Sets *skip for entries hidden
  // from listings (relocated directories at their physical place).
  Status make_entry(const DirRecord& r, std::uint64_t off, Entry& e, bool* skip) const;
  Status check_extent(std::uint64_t offset, std::uint64_t length, std::uint64_t rec_off) const;
  Status walk_dir(const Entry& dir, const std::string& prefix, std::uint32_t depth,
                  std::set<std::uint64_t>& seen, std::uint64_t& count, const Visitor& visit) const;

  std::shared_ptr<const RandomAccessFile> file_;
  VolumeOptions opt_;
  VolumeInfo info_;
  Entry root_;
  std::uint64_t volume_bytes_ = 0;
  bool rr_ = false;
  std::uint8_t len_skp_ = 0;
  bool joliet_tree_ = false;
};

Status VolumeImpl::check_extent(std::uint64_t offset, std::uint64_t length,
                                std::uint64_t rec_off) const {
  if (length == 0) return {};
  if (!range_inside(offset, length, volume_bytes_))
    return corrupt_at("iso9660", "directory record", rec_off,
                      fmt::format("extent [{}, +{}) lies outside the volume of {} bytes", offset,
                                  length, volume_bytes_));
  return {};
}

Status VolumeImpl::read_system_use(std::span<const std::byte> su, std::uint64_t su_offset,
                                   RockRidge& rr) const {
  SuspLimits limits;
  limits.max_symlink_bytes = opt_.limits.max_symlink_bytes;
  std::optional<Continuation> ce;
  VDISK_RETURN_IF_ERROR(parse_susp_area(su, su_offset, rr, &ce, limits));
  std::vector<std::pair<std::uint32_t, std::uint32_t>> seen;
  std::uint32_t n = 0;
  while (ce) {
    const Continuation c = *ce;
    ce.reset();
    const std::uint64_t off = std::uint64_t{c.block} * kBlockSize + c.offset;
    if (++n > opt_.limits.max_continuations)
      return resource_exhausted(
          fmt::format("iso9660: system use area at offset {}: more than {} continuation areas",
                      su_offset, opt_.limits.max_continuations));
    if (std::find(seen.begin(), seen.end(), std::pair{c.block, c.offset}) != seen.end())
      return corrupt_at(
          "iso9660", "SUSP CE entry", su_offset,
          fmt::format("continuation loop back to block {} offset {}", c.block, c.offset));
    seen.emplace_back(c.block, c.offset);
    if (c.length > kMaxContinuationBytes || !range_inside(off, c.length, volume_bytes_))
      return corrupt_at("iso9660", "SUSP CE entry", su_offset,
                        fmt::format("continuation area [{}, +{}) outside the volume or larger "
                                    "than {} bytes",
                                    off, c.length, kMaxContinuationBytes));
    std::vector<std::byte> area(c.length);
    VDISK_RETURN_IF_ERROR(file_->read_at(off, area));
    VDISK_RETURN_IF_ERROR(parse_susp_area(area, off, rr, &ce, limits));
  }
  return {};
}

Status VolumeImpl::init() {
  const std::uint64_t fsize = file_->size();
  std::optional<VolumeDescriptor> pvd, svd, boot;
  std::vector<std::vector<std::byte>> keep;  // descriptors' spans point into these
  bool terminated = false;
  for (std::uint32_t i = 0; i < kMaxDescriptors; ++i) {
    const std::uint64_t off = (kFirstDescriptorBlock + i) * kBlockSize;
    if (!range_inside(off, kBlockSize, fsize))
      return corrupt_at("iso9660", "volume descriptor set", off,
                        "file ends before the set terminator");
    keep.emplace_back(kBlockSize);
    VDISK_RETURN_IF_ERROR(file_->read_at(off, keep.back()));
    VDISK_ASSIGN_OR_RETURN(VolumeDescriptor vd, decode_volume_descriptor(keep.back(), off));
    if (vd.type == kVdTerminator) {
      terminated = true;
      break;
    }
    if (vd.type == kVdPrimary && !pvd) pvd = vd;
    if (vd.type == kVdSupplementary && vd.joliet_level > (svd ? svd->joliet_level : 0)) svd = vd;
    if (vd.type == kVdBoot && vd.el_torito && !boot) boot = vd;
  }
  if (!terminated)
    return corrupt_at("iso9660", "volume descriptor set", kFirstDescriptorBlock * kBlockSize,
                      fmt::format("no terminator within {} descriptors", kMaxDescriptors));
  if (!pvd)
    return corrupt_at("iso9660", "volume descriptor set", kFirstDescriptorBlock * kBlockSize,
                      "no primary volume descriptor");
  info_.system_id = pvd->system_id;
  info_.volume_id = pvd->volume_id;
  info_.volume_set_id = pvd->volume_set_id;
  info_.publisher_id = pvd->publisher_id;
  info_.preparer_id = pvd->preparer_id;
  info_.application_id = pvd->application_id;
  info_.application_use = pvd->application_use;
  info_.volume_blocks = pvd->volume_blocks;
  info_.creation_time = pvd->creation;
  info_.modification_time = pvd->modification;
  info_.joliet_level = svd ? svd->joliet_level : 0;
  info_.el_torito = boot.has_value();
  info_.boot_catalog_block = boot ? boot->boot_catalog : 0;
  volume_bytes_ = std::uint64_t{pvd->volume_blocks} * kBlockSize;

  // The root "." record of the primary tree says whether SUSP/Rock Ridge is in use.
  const std::uint64_t pvd_root_off = kFirstDescriptorBlock * kBlockSize + 156;
  VDISK_ASSIGN_OR_RETURN(DirRecord proot, decode_dir_record(pvd->root_record, pvd_root_off));
  VDISK_RETURN_IF_ERROR(
      check_extent(std::uint64_t{proot.extent} * kBlockSize, proot.data_length, pvd_root_off));
  if (proot.data_length >= kMinRecordLength) {
    std::vector<std::byte> sector(kBlockSize);
    const std::uint64_t off = std::uint64_t{proot.extent} * kBlockSize;
    VDISK_RETURN_IF_ERROR(file_->read_at(off, sector));
    VDISK_ASSIGN_OR_RETURN(DirRecord dot, decode_dir_record(sector, off));
    RockRidge rr;
    const auto su_off = off + static_cast<std::uint64_t>(dot.system_use.data() - sector.data());
    Status s = read_system_use(dot.system_use, su_off, rr);
    if (s.ok() && rr.sp) {
      rr_ = true;
      len_skp_ = rr.len_skp;
      info_.rock_ridge = true;
      info_.rock_ridge_id = rr.er_id;
    }
  }
  NameSource names = opt_.names;
  if (names == NameSource::automatic)
    names = rr_ ? NameSource::rock_ridge : svd ? NameSource::joliet : NameSource::plain;
  if (names == NameSource::rock_ridge && !rr_)
    return unsupported("iso9660: the volume has no Rock Ridge (SUSP SP entry) names");
  if (names == NameSource::joliet && !svd)
    return unsupported("iso9660: the volume has no Joliet supplementary descriptor");
  info_.names = names;
  rr_ = names == NameSource::rock_ridge;
  joliet_tree_ = names == NameSource::joliet;

  DirRecord rootrec = proot;
  std::uint64_t root_off = pvd_root_off;
  if (joliet_tree_) {
    root_off = 0;  // spans of the SVD: offset only used in messages
    VDISK_ASSIGN_OR_RETURN(rootrec, decode_dir_record(svd->root_record, root_off));
  }
  root_.type = EntryType::directory;
  root_.mode = kIfDir | 0555;
  root_.mtime = rootrec.recorded;
  root_.record_offset = root_off;
  const std::uint64_t root_extent =
      (std::uint64_t{rootrec.extent} + rootrec.ext_attr_length) * kBlockSize;
  VDISK_RETURN_IF_ERROR(check_extent(root_extent, rootrec.data_length, root_off));
  root_.extents.push_back({root_extent, rootrec.data_length});
  root_.size = root_.stored_size = rootrec.data_length;
  if (rr_) {
    // Root attributes live in its own "." record.
    std::vector<std::byte> sector(kBlockSize);
    VDISK_RETURN_IF_ERROR(file_->read_at(root_extent, sector));
    VDISK_ASSIGN_OR_RETURN(DirRecord dot, decode_dir_record(sector, root_extent));
    RockRidge rr;
    const auto su_off =
        root_extent + static_cast<std::uint64_t>(dot.system_use.data() - sector.data());
    VDISK_RETURN_IF_ERROR(read_system_use(dot.system_use, su_off, rr));
    if (rr.px) {
      root_.mode = kIfDir | (rr.mode & 07777);
      root_.uid = rr.uid;
      root_.gid = rr.gid;
      root_.nlink = rr.nlink;
    }
    if (rr.mtime) root_.mtime = *rr.mtime;
  }
  return {};
}

Status VolumeImpl::make_entry(const DirRecord& r, std::uint64_t off, Entry& e, bool* skip) const {
  *skip = false;
  e.record_offset = off;
  e.hidden = (r.flags & kFlagHidden) != 0;
  e.associated = (r.flags & kFlagAssociated) != 0;
  e.mtime = r.recorded;
  const bool is_dir = (r.flags & kFlagDirectory) != 0;
  e.type = is_dir ? EntryType::directory : EntryType::file;
  e.mode = is_dir ? (kIfDir | 0555) : (kIfReg | 0444);
  std::uint64_t extent = (std::uint64_t{r.extent} + r.ext_attr_length) * kBlockSize;
  std::uint64_t length = r.data_length;

  RockRidge rr;
  if (rr_) {
    // SP's LEN_SKP: bytes at the start of every later system use area to ignore.
    const std::size_t skip_n = std::min<std::size_t>(r.system_use.size(), len_skp_);
    const auto su = r.system_use.subspan(skip_n);
    const std::uint64_t su_off =
        off + 33 + static_cast<std::uint64_t>(r.system_use.data() - r.identifier.data()) + skip_n;
    VDISK_RETURN_IF_ERROR(read_system_use(su, su_off, rr));
  }
  if (joliet_tree_) {
    VDISK_ASSIGN_OR_RETURN(e.name, joliet_name(r.identifier, off));
  } else if (rr.nm && !rr.nm_special) {
    VDISK_RETURN_IF_ERROR(check_component(rr.name, "rock ridge NM entry", off));
    e.name = rr.name;
  } else {
    VDISK_ASSIGN_OR_RETURN(e.name, plain_name(r.identifier, off));
  }
  if (rr.re) {
    *skip = true;  // shown where its CL placeholder is
    return {};
  }
  if (rr.cl) {
    // Placeholder for a directory relocated (deep trees): the real one starts at block *cl.
    const std::uint64_t target = std::uint64_t{*rr.cl} * kBlockSize;
    if (!range_inside(target, kBlockSize, volume_bytes_))
      return corrupt_at("iso9660", "rock ridge CL entry", off,
                        fmt::format("child link to block {} outside the volume", *rr.cl));
    std::vector<std::byte> sector(kBlockSize);
    VDISK_RETURN_IF_ERROR(file_->read_at(target, sector));
    VDISK_ASSIGN_OR_RETURN(DirRecord dot, decode_dir_record(sector, target));
    if (!(dot.flags & kFlagDirectory) || dot.extent != *rr.cl)
      return corrupt_at("iso9660", "rock ridge CL entry", off,
                        fmt::format("block {} does not start a directory", *rr.cl));
    RockRidge drr;
    const auto su_off = target + static_cast<std::uint64_t>(dot.system_use.data() - sector.data());
    VDISK_RETURN_IF_ERROR(read_system_use(dot.system_use, su_off, drr));
    extent = target;
    length = dot.data_length;
    e.type = EntryType::directory;
    e.mode = kIfDir | 0555;
    rr.px = drr.px;
    rr.mode = drr.mode;
    rr.uid = drr.uid;
    rr.gid = drr.gid;
    rr.nlink = drr.nlink;
    if (drr.mtime) rr.mtime = drr.mtime;
  }
  if (rr.px) {
    e.uid = rr.uid;
    e.gid = rr.gid;
    e.nlink = rr.nlink;
    const std::uint32_t fmt_bits = rr.mode & kIfMt;
    if (e.type == EntryType::directory) {
      e.mode = kIfDir | (rr.mode & 07777);
    } else {
      e.mode = rr.mode;
      switch (fmt_bits) {
        case kIfLnk:
          e.type = EntryType::symlink;
          break;
        case kIfChr:
        case kIfBlk:
          e.type = EntryType::device;
          break;
        case kIfIfo:
          e.type = EntryType::fifo;
          break;
        case kIfSock:
          e.type = EntryType::socket;
          break;
        default:
          e.type = EntryType::file;
          e.mode = kIfReg | (rr.mode & 07777);
          break;
      }
    }
  }
  if (rr.sl && e.type != EntryType::directory) {
    e.type = EntryType::symlink;
    e.mode = kIfLnk | (rr.px ? (rr.mode & 07777) : 0777);
    e.symlink_target = rr.symlink;
    if (e.symlink_target.empty())
      return corrupt_at("iso9660", "rock ridge SL entry", off, "empty link target");
  }
  if (e.type == EntryType::symlink && !rr.sl)
    return corrupt_at("iso9660", "rock ridge PX entry", off, "symlink without an SL entry");
  if (rr.pn) e.device = rr.device;
  if (rr.mtime) e.mtime = *rr.mtime;
  e.atime = rr.atime;
  e.ctime = rr.ctime;
  if (e.type == EntryType::directory || e.type == EntryType::file) {
    if ((r.unit_size != 0 || r.gap_size != 0) && length != 0)
      return unsupported(
          fmt::format("iso9660: directory record at offset {}: interleaved file (unit {}, gap {})",
                      off, r.unit_size, r.gap_size));
    VDISK_RETURN_IF_ERROR(check_extent(extent, length, off));
    if (length != 0) e.extents.push_back({extent, length});
    e.stored_size = e.size = length;
  }
  if (rr.zf && e.type == EntryType::file) {
    if (rr.zf_algorithm != "pz" || rr.zf_header_size4 != 4)
      return unsupported(fmt::format(
          "iso9660: rock ridge ZF entry at offset {}: algorithm '{}' / header {} not zisofs", off,
          rr.zf_algorithm, rr.zf_header_size4));
    e.zisofs = true;
    e.zisofs_block_log2 = rr.zf_block_log2;
    e.size = rr.zf_size;
  }
  return {};
}

Result<std::vector<std::byte>> VolumeImpl::read_directory(const Entry& dir) const {
  if (dir.type != EntryType::directory)
    return invalid_argument(fmt::format("iso9660: '{}' is not a directory", dir.name));
  if (dir.extents.empty()) return std::vector<std::byte>{};
  const DataExtent ext = dir.extents.front();
  if (ext.length > opt_.limits.max_directory_bytes)
    return resource_exhausted(
        fmt::format("iso9660: directory at offset {} is {} bytes, more than the limit {}",
                    ext.offset, ext.length, opt_.limits.max_directory_bytes));
  std::vector<std::byte> buf(static_cast<std::size_t>(ext.length));
  VDISK_RETURN_IF_ERROR(file_->read_at(ext.offset, buf));
  return buf;
}

Result<std::vector<Entry>> VolumeImpl::list(const Entry& dir) const {
  VDISK_ASSIGN_OR_RETURN(std::vector<std::byte> buf, read_directory(dir));
  const std::uint64_t base = dir.extents.empty() ? 0 : dir.extents.front().offset;
  std::vector<Entry> out;
  std::optional<Entry> pending;  // multi-extent file being assembled
  std::size_t pos = 0;
  std::uint32_t records = 0;
  while (pos < buf.size()) {
    const std::size_t sector_end = std::min(buf.size(), (pos / kBlockSize + 1) * kBlockSize);
    if (buf[pos] == std::byte{0}) {  // no more records in this sector
      pos = sector_end;
      continue;
    }
    const std::uint64_t off = base + pos;
    VDISK_ASSIGN_OR_RETURN(
        DirRecord r,
        decode_dir_record(std::span<const std::byte>(buf).subspan(pos, sector_end - pos), off));
    pos += r.length;
    if (++records > opt_.limits.max_entries_per_directory)
      return resource_exhausted(
          fmt::format("iso9660: directory at offset {} has more than {} records", base,
                      opt_.limits.max_entries_per_directory));
    if (r.identifier.size() == 1 &&
        (r.identifier[0] == std::byte{0} || r.identifier[0] == std::byte{1})) {
      if (pending)
        return corrupt_at("iso9660", "directory record", off,
                          "multi-extent file interrupted by '.' or '..'");
      continue;
    }
    Entry e;
    bool skip = false;
    VDISK_RETURN_IF_ERROR(make_entry(r, off, e, &skip));
    if (pending) {
      if (e.name != pending->name || e.type != EntryType::file || pending->zisofs || e.zisofs)
        return corrupt_at(
            "iso9660", "directory record", off,
            fmt::format("multi-extent file '{}' continued by '{}'", pending->name, e.name));
      if (pending->extents.size() >= opt_.limits.max_extents_per_file)
        return resource_exhausted(
            fmt::format("iso9660: multi-extent file '{}' has more than {} extents", e.name,
                        opt_.limits.max_extents_per_file));
      for (const auto& x : e.extents) pending->extents.push_back(x);
      pending->size += e.size;
      pending->stored_size += e.stored_size;
      if (r.flags & kFlagMultiExtent) continue;
      e = std::move(*pending);
      pending.reset();
    } else if (r.flags & kFlagMultiExtent) {
      if (e.type != EntryType::file)
        return corrupt_at("iso9660", "directory record", off, "multi-extent flag on a non-file");
      pending = std::move(e);
      continue;
    }
    if (skip) continue;
    if (e.associated && !opt_.include_associated) continue;
    out.push_back(std::move(e));
  }
  if (pending)
    return corrupt_at("iso9660", "directory record", pending->record_offset,
                      fmt::format("multi-extent file '{}' has no final record", pending->name));
  return out;
}

Result<Entry> VolumeImpl::lookup(std::string_view path) const {
  Entry cur = root_;
  std::uint32_t n = 0;
  std::size_t p = 0;
  while (p < path.size()) {
    const std::size_t slash = path.find('/', p);
    const std::string_view comp =
        path.substr(p, slash == std::string_view::npos ? std::string_view::npos : slash - p);
    p = slash == std::string_view::npos ? path.size() : slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..")
      return invalid_argument(fmt::format("iso9660: path '{}': '..' is not allowed", path));
    if (++n > opt_.limits.max_path_components)
      return resource_exhausted(fmt::format("iso9660: path '{}' is too deep", path));
    if (cur.type != EntryType::directory)
      return not_found(fmt::format("iso9660: path '{}': '{}' is not a directory", path, cur.name));
    VDISK_ASSIGN_OR_RETURN(std::vector<Entry> entries, list(cur));
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& e) { return e.name == comp; });
    if (it == entries.end())
      return not_found(fmt::format("iso9660: path '{}': no entry '{}'", path, comp));
    cur = std::move(*it);
  }
  return cur;
}

Result<std::unique_ptr<RandomAccessFile>> VolumeImpl::open_file(const Entry& file) const {
  if (file.type != EntryType::file)
    return invalid_argument(fmt::format("iso9660: '{}' is a {}, not a regular file", file.name,
                                        entry_type_name(file.type)));
  for (const auto& x : file.extents)
    VDISK_RETURN_IF_ERROR(check_extent(x.offset, x.length, file.record_offset));
  auto view = extent_view(file_, file.extents, file.name);
  if (!file.zisofs) return view;
  return zisofs_view(std::move(view), file.size, file.zisofs_block_log2, file.name);
}

Status VolumeImpl::walk_dir(const Entry& dir, const std::string& prefix, std::uint32_t depth,
                            std::set<std::uint64_t>& seen, std::uint64_t& count,
                            const Visitor& visit) const {
  VDISK_ASSIGN_OR_RETURN(std::vector<Entry> entries, list(dir));
  for (const Entry& e : entries) {
    if (++count > opt_.limits.max_total_entries)
      return resource_exhausted(
          fmt::format("iso9660: more than {} entries in the tree", opt_.limits.max_total_entries));
    const std::string path = prefix.empty() ? e.name : prefix + "/" + e.name;
    VDISK_RETURN_IF_ERROR(visit(path, e));
    if (e.type != EntryType::directory) continue;
    if (depth + 1 > opt_.limits.max_depth)
      return resource_exhausted(fmt::format("iso9660: '{}' is nested deeper than {} levels", path,
                                            opt_.limits.max_depth));
    const std::uint64_t key = e.extents.empty() ? 0 : e.extents.front().offset;
    if (key != 0 && !seen.insert(key).second)
      return corrupt_at(
          "iso9660", "directory record", e.record_offset,
          fmt::format("directory loop: '{}' reuses the extent at offset {}", path, key));
    VDISK_RETURN_IF_ERROR(walk_dir(e, path, depth + 1, seen, count, visit));
  }
  return {};
}

Status VolumeImpl::walk(const Entry& dir, const Visitor& visit) const {
  std::set<std::uint64_t> seen;
  if (!dir.extents.empty()) seen.insert(dir.extents.front().offset);
  if (!root_.extents.empty()) seen.insert(root_.extents.front().offset);
  std::uint64_t count = 0;
  return walk_dir(dir, "", 0, seen, count, visit);
}

}  // namespace

Result<std::unique_ptr<Volume>> Volume::open(std::shared_ptr<const RandomAccessFile> file,
                                             const VolumeOptions& options) {
  auto v = std::make_unique<VolumeImpl>(std::move(file), options);
  VDISK_RETURN_IF_ERROR(v->init());
  return std::unique_ptr<Volume>(std::move(v));
}

Result<std::unique_ptr<Volume>> open_volume(const std::filesystem::path& path,
                                            const VolumeOptions& options) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  return Volume::open(std::shared_ptr<const RandomAccessFile>(std::move(file)), options);
}

}  // namespace vdisk::iso9660
