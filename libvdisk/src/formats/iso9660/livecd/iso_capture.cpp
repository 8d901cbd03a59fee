// Keeping what a live ISO's boot configuration needs while the ISO streams past (see
// iso_capture.h). Records: ECMA-119 §8 (volume descriptors) and §9.1 (directory records);
// continuation areas: SUSP 1.12 §5.1 (CE); Joliet: a supplementary descriptor with a UCS-2
// escape sequence.
#include "formats/iso9660/livecd/iso_capture.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/susp.h"
#include "formats/iso9660/livecd/boot_config_text.h"
#include "base/checked.h"

namespace vdisk::livecd {
namespace {

namespace rec = iso9660::detail;
constexpr std::uint64_t kBlock = rec::kBlockSize;

bool config_name(std::string name) {
  name = detail::lower(name);
  return name.ends_with(".cfg") || name.ends_with(".conf");
}

}  // namespace

class IsoCapture::View final : public RandomAccessFile {
 public:
  explicit View(const IsoCapture& c) : c_(c) {}
  std::uint64_t size() const override { return c_.iso_size_; }
  const std::string& name() const override { return name_; }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!vdisk::detail::range_inside(offset, dst.size(), c_.iso_size_))
      return out_of_range(
          fmt::format("iso9660 (stream): read of {} bytes at {} past the {}-byte ISO", dst.size(),
                      offset, c_.iso_size_));
    std::uint64_t pos = offset;
    const std::uint64_t end = offset + dst.size();
    while (pos < end) {
      auto it = c_.kept_.upper_bound(pos);
      if (it == c_.kept_.begin()) return not_kept(pos, end);
      --it;
      const std::uint64_t kept_end = it->first + it->second.bytes.size();
      if (pos >= kept_end) return not_kept(pos, end);
      const std::uint64_t n = std::min(end, kept_end) - pos;
      std::memcpy(dst.data() + (pos - offset), it->second.bytes.data() + (pos - it->first),
                  static_cast<std::size_t>(n));
      pos += n;
    }
    return ok_status();
  }

 private:
  Status not_kept(std::uint64_t from, std::uint64_t to) const {
    std::string why =
        "were not kept (only directories, continuation areas, \"*.cfg\"/\"*.conf\" "
        "files and small files are)";
    auto m = c_.missed_.upper_bound(from);
    if (m != c_.missed_.begin()) {
      --m;
      if (from < m->first + m->second)
        why = fmt::format("had passed before the record naming them was read (extent at byte {})",
                          m->first);
    }
    const std::string message = fmt::format(
        "iso9660 (stream): bytes {}..{} of the ISO {}; convert from a file instead", from, to, why);
    {
      const std::lock_guard<std::mutex> lock(c_.refusal_mutex_);
      if (c_.refusal_.ok()) c_.refusal_ = unsupported(message);
    }
    return io_error(message);
  }

  const IsoCapture& c_;
  std::string name_ = "<iso stream>";
};

IsoCapture::IsoCapture(std::uint64_t iso_size, const CaptureLimits& limits)
    : iso_size_(iso_size), limits_(limits) {
  Want w;
  w.length = kBlock;
  w.kind = Kind::descriptor;
  (void)want(rec::kFirstDescriptorBlock * kBlock, w, "descriptor");
}

IsoCapture::~IsoCapture() = default;

Status IsoCapture::refusal() const {
  const std::lock_guard<std::mutex> lock(refusal_mutex_);
  return refusal_;
}

std::shared_ptr<const RandomAccessFile> IsoCapture::view() const {
  return std::make_shared<View>(*this);
}

Status IsoCapture::want(std::uint64_t offset, Want w, std::string_view why) {
  if (w.length == 0) return ok_status();
  if (offset >= iso_size_) return ok_status();  // past the ISO: a read of it fails anyway
  w.length = std::min(w.length, iso_size_ - offset);
  if (offset < pos_) {
    auto& len = missed_[offset];
    len = std::max(len, w.length);
    return ok_status();
  }
  // Already wanted (the same extent named by another tree): keep the longer, within budget.
  for (auto [a, b] = wanted_.equal_range(offset); a != b; ++a) {
    if (a->second.kind != w.kind && (a->second.kind == Kind::file || w.kind != Kind::file))
      continue;
    if (w.length <= a->second.length) return ok_status();
    const std::uint64_t extra = w.length - a->second.length;
    if (a->second.kind == Kind::file) {
      if (file_bytes_ + extra > limits_.max_file_bytes) return ok_status();  // the shorter stays
      file_bytes_ += extra;
    } else {
      VDISK_RETURN_IF_ERROR(charge_tree(extra, why, offset));
    }
    a->second.length = w.length;
    return ok_status();
  }
  if (++extents_ > limits_.max_extents)
    return resource_exhausted(
        fmt::format("iso9660 (stream): more than {} extents to keep while reading the ISO's tree",
                    limits_.max_extents));
  if (w.kind == Kind::file) {
    if (file_bytes_ + w.length > limits_.max_file_bytes) return ok_status();  // not kept
    file_bytes_ += w.length;
  } else {
    VDISK_RETURN_IF_ERROR(charge_tree(w.length, why, offset));
  }
  wanted_.emplace(offset, w);
  return ok_status();
}

Status IsoCapture::charge_tree(std::uint64_t bytes, std::string_view why, std::uint64_t offset) {
  if (tree_bytes_ + bytes > limits_.max_tree_bytes)
    return resource_exhausted(fmt::format(
        "iso9660 (stream): the ISO's directories take more than {} bytes ({} at byte {})",
        limits_.max_tree_bytes, why, offset));
  tree_bytes_ += bytes;
  return ok_status();
}

Status IsoCapture::feed(std::span<const std::byte> bytes) {
  if (pos_ >= iso_size_) return ok_status();
  if (bytes.size() > iso_size_ - pos_)
    bytes = bytes.first(static_cast<std::size_t>(iso_size_ - pos_));
  const std::uint64_t base = pos_;
  const std::uint64_t end = base + bytes.size();
  while (pos_ < end) {
    // Start every extent that begins here.
    while (!wanted_.empty() && wanted_.begin()->first <= pos_) {
      const std::uint64_t at = wanted_.begin()->first;
      const Want w = wanted_.begin()->second;
      wanted_.erase(wanted_.begin());
      if (at < pos_) {  // cannot happen: want() sends these to missed_
        missed_[at] = w.length;
        continue;
      }
      auto [it, fresh] = active_.try_emplace(at, w);
      if (!fresh) {  // two kinds at one offset: one buffer serves both readers
        it->second.length = std::max(it->second.length, w.length);
        if (w.kind != Kind::file) {
          it->second.kind = w.kind;
          it->second.joliet = w.joliet;
          it->second.skip = w.skip;
        }
      }
      kept_[at].bytes.reserve(static_cast<std::size_t>(it->second.length));
    }
    // The next event: an active extent ends, a wanted one starts, or the bytes end.
    std::uint64_t next = end;
    if (!wanted_.empty()) next = std::min(next, wanted_.begin()->first);
    for (const auto& [at, w] : active_) next = std::min(next, at + w.length);
    const auto chunk =
        bytes.subspan(static_cast<std::size_t>(pos_ - base), static_cast<std::size_t>(next - pos_));
    for (const auto& [at, w] : active_) {
      auto& b = kept_[at].bytes;
      b.insert(b.end(), chunk.begin(), chunk.end());
    }
    pos_ = next;
    // Finish what ended here (in offset order; what they want lies at or after pos_).
    for (auto it = active_.begin(); it != active_.end();) {
      if (it->first + it->second.length != pos_) {
        ++it;
        continue;
      }
      const std::uint64_t at = it->first;
      const Want w = it->second;
      it = active_.erase(it);
      VDISK_RETURN_IF_ERROR(complete(at, w, kept_[at].bytes));
    }
  }
  return ok_status();
}

Status IsoCapture::complete(std::uint64_t offset, const Want& w, std::span<const std::byte> bytes) {
  switch (w.kind) {
    case Kind::descriptor:
      return descriptor(offset, bytes);
    case Kind::directory:
      return directory(offset, w, bytes);
    case Kind::continuation:
      return continuation(offset, bytes);
    case Kind::file:
      return ok_status();
  }
  return ok_status();
}

Status IsoCapture::descriptor(std::uint64_t offset, std::span<const std::byte> block) {
  if (block.size() < kBlock) return ok_status();  // the ISO ended: Volume::open says why
  ++descriptors_;
  if (std::to_integer<std::uint8_t>(block[0]) == rec::kVdTerminator) return ok_status();
  auto vd = rec::decode_volume_descriptor(block, offset);
  // Not a descriptor: the set ends here; Volume::open reports it when it reads this block.
  if (!vd.ok()) return ok_status();
  if (vd->type == rec::kVdPrimary || vd->type == rec::kVdSupplementary) {
    auto root = rec::decode_dir_record(vd->root_record, offset + 156);
    if (root.ok()) {
      Want d;
      d.kind = Kind::directory;
      d.length = std::uint64_t{root->ext_attr_length} * kBlock + root->data_length;
      d.joliet = vd->type == rec::kVdSupplementary && vd->joliet_level > 0;
      VDISK_RETURN_IF_ERROR(want(std::uint64_t{root->extent} * kBlock, d, "root directory"));
    }
  }
  if (descriptors_ < rec::kMaxDescriptors) {
    Want n;
    n.kind = Kind::descriptor;
    n.length = kBlock;
    VDISK_RETURN_IF_ERROR(want(offset + kBlock, n, "descriptor"));
  }
  return ok_status();
}

Status IsoCapture::directory(std::uint64_t offset, const Want& w,
                             std::span<const std::byte> bytes) {
  const std::uint64_t own_start = offset;
  for (std::size_t sector = 0; sector < bytes.size(); sector += kBlock) {
    const auto s = bytes.subspan(sector, std::min<std::size_t>(kBlock, bytes.size() - sector));
    std::size_t at = 0;
    while (at < s.size()) {
      const auto len = std::to_integer<std::uint8_t>(s[at]);
      if (len == 0) break;  // the rest of the sector is padding
      const std::uint64_t rec_offset = offset + sector + at;
      auto r = rec::decode_dir_record(s.subspan(at), rec_offset);
      if (!r.ok()) break;  // Volume reports it if the record is ever needed
      at += r->length;
      const auto id0 = std::to_integer<std::uint8_t>(r->identifier[0]);
      const bool dot = r->identifier.size() == 1 && (id0 == 0 || id0 == 1);
      // System use: Rock Ridge names and continuation areas (the "." record's too).
      std::string rr_name;
      if (!w.joliet && r->system_use.size() > w.skip) {
        iso9660::detail::RockRidge rr;
        std::optional<iso9660::detail::Continuation> ce;
        if (rec::parse_susp_area(r->system_use.subspan(w.skip), rec_offset, rr, &ce).ok()) {
          if (rr.nm) rr_name = rr.name;
          if (ce) {
            Want c;
            c.kind = Kind::continuation;
            c.length = ce->length;
            VDISK_RETURN_IF_ERROR(
                want(std::uint64_t{ce->block} * kBlock + ce->offset, c, "continuation area"));
          }
        }
      }
      if (dot) continue;
      const std::uint64_t start = std::uint64_t{r->extent} * kBlock;
      const std::uint64_t length = std::uint64_t{r->ext_attr_length} * kBlock + r->data_length;
      if (r->flags & rec::kFlagDirectory) {
        if (start == own_start) continue;
        Want d;
        d.kind = Kind::directory;
        d.length = length;
        d.joliet = w.joliet;
        d.skip = w.skip;
        VDISK_RETURN_IF_ERROR(want(start, d, "directory"));
        continue;
      }
      if (r->flags & rec::kFlagMultiExtent) continue;  // configurations are one extent
      auto name = w.joliet ? rec::joliet_name(r->identifier, rec_offset)
                           : rec::plain_name(r->identifier, rec_offset);
      const bool config =
          (name.ok() && config_name(*name)) || (!rr_name.empty() && config_name(rr_name));
      if ((config && length <= limits_.max_config_file) || length <= limits_.max_small_file) {
        Want f;
        f.kind = Kind::file;
        f.length = length;
        VDISK_RETURN_IF_ERROR(want(start, f, "file"));
      }
    }
  }
  return ok_status();
}

Status IsoCapture::continuation(std::uint64_t offset, std::span<const std::byte> bytes) {
  iso9660::detail::RockRidge rr;
  std::optional<iso9660::detail::Continuation> ce;
  if (!rec::parse_susp_area(bytes, offset, rr, &ce).ok() || !ce) return ok_status();
  Want c;
  c.kind = Kind::continuation;
  c.length = ce->length;
  return want(std::uint64_t{ce->block} * kBlock + ce->offset, c, "continuation area");
}

}  // namespace vdisk::livecd
