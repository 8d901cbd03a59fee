// Structural check of a VMDK chain (see vmdk_check.h). Independent of the reader: it walks the
// same metadata but records every problem instead of stopping at the first one.
#include "formats/vmdk/doctor/vmdk_check.h"
#include "contract/check_rules.h"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "base/linked_path.h"
#include "formats/vmdk/doctor/vmdk_check_impl.h"
#include "formats/vmdk/vmdk_extent.h"
#include "formats/vmdk/vmdk_format.h"
#include "vdisk/vmdk.h"

namespace vdisk::vmdk {
namespace check {

namespace fs = std::filesystem;

namespace {
constexpr std::size_t kShownProblems = 3;

// A file named by the descriptor of the image at `image`, resolved as the reader resolves it
// (base/linked_path.h, with outside paths refused as the reader's default refuses them), so a
// hostile descriptor cannot make the check open arbitrary files or devices.
Result<fs::path> resolve_name(const fs::path& image, std::string name, std::string_view what) {
  std::replace(name.begin(), name.end(), '\\', '/');
  return detail::resolve_linked_file("vmdk", what, image, {fs::path(name)}, OpenOptions{});
}

}  // namespace

std::string region_name(const Region& r) {
  static constexpr std::array<std::string_view, 9> kNames = {"header",
                                                             "embedded descriptor",
                                                             "grain directory",
                                                             "grain table",
                                                             "redundant grain directory",
                                                             "redundant grain table",
                                                             "footer",
                                                             "grain",
                                                             "volatile header"};
  std::string name(kNames[r.kind]);
  if (r.kind == kGtRegion || r.kind == kRgtRegion || r.kind == kGrainRegion)
    name += fmt::format(" {}", r.index);
  return fmt::format("{} (sectors {}-{})", name, r.start, r.end - 1);
}

CheckReport Checker::run(std::unique_ptr<RandomAccessFile> file, const fs::path& path,
                         std::string_view target) {
  std::set<std::string> visited;
  check_link(std::move(file), path, visited, 0, std::nullopt);
  finish_notes();
  CheckReport report;
  report.target = std::string(target);
  report.path = path.string();
  for (std::size_t r = 0; r < kRuleCount; ++r) {
    const auto& p = problems_[r];
    std::string detail;
    if (p.empty()) {
      detail = notes_[r].empty() ? "no problem found" : notes_[r];
    } else {
      detail = fmt::format("{} problem{}: ", p.size(), p.size() == 1 ? "" : "s");
      for (std::size_t i = 0; i < std::min(p.size(), kShownProblems); ++i)
        detail += (i ? "; " : "") + p[i];
      if (p.size() > kShownProblems) detail += "; ...";
      if (r == kCid && ignore_cid_) detail += " (ignored: parent identity check overridden)";
    }
    CheckItem item{std::string(kRuleText[r]), p.empty(), std::move(detail)};
    item.id = std::string(kRuleId[r]);
    if (r == kCid && ignore_cid_) item.severity = CheckSeverity::warning;
    report.items.push_back(std::move(item));
  }
  lint_items(report);
  return report;
}

// Checks one link of the chain; `expect_cid` is the child's parentCID for this link.
void Checker::check_link(std::unique_ptr<RandomAccessFile> file, const fs::path& path,
                         std::set<std::string>& visited, std::size_t depth,
                         std::optional<std::string> expect_cid) {
  std::error_code ec;
  const fs::path canon = fs::weakly_canonical(path, ec);
  if (!visited.insert(ec ? path.string() : canon.string()).second) {
    problem(kChain, fmt::format("{}: the chain loops back to this file", path.string()));
    return;
  }
  ++links_;
  const std::string name = path.string();
  std::shared_ptr<const RandomAccessFile> f(std::move(file));
  std::optional<Descriptor> desc;
  std::array<std::byte, 4> magic{};
  if (f->size() >= 4 && !f->read_at(0, magic).ok()) {
    problem(kOpen, fmt::format("{}: cannot read the first bytes", name));
    return;
  }
  const std::uint32_t m = detail::load_le32(magic);
  bool monolithic = false;
  if (m == kSparseMagic) {
    auto info = read_sparse_info(*f);
    if (!info.ok()) {
      problem(kHeader, fmt::format("{}: {}", name, info.status().message()));
      if (depth == 0) notes_[kOpen] = "KDMV sparse extent";
      return;
    }
    if (!info->embedded_descriptor.empty()) {
      auto d = parse_descriptor(info->embedded_descriptor);
      if (d.ok()) {
        desc = std::move(*d);
        lint(*desc, info->embedded_descriptor, name, false, info->header.descriptor_size * kSector);
      } else {
        problem(kDescriptor,
                fmt::format("{}: embedded descriptor: {}", name, d.status().message()));
      }
    }
    monolithic = !(info->header.capacity == 0 && desc);
    if (monolithic) check_sparse(f, name, std::nullopt);
  } else if (m == kCowdMagic) {
    // A COWD redo log on its own: no descriptor, so no parent to follow.
    if (depth == 0) notes_[kOpen] = "COWD (vmfsSparse) extent without a descriptor";
    check_cowd(*f, name, std::nullopt);
    return;
  } else {
    if (f->size() > kMaxDescriptorBytes) {
      problem(kOpen, fmt::format("{}: neither a sparse extent nor a descriptor ({} bytes)", name,
                                 f->size()));
      return;
    }
    std::string text(static_cast<std::size_t>(f->size()), '\0');
    if (!f->read_at(0, std::as_writable_bytes(std::span(text))).ok()) {
      problem(kOpen, fmt::format("{}: cannot read the descriptor", name));
      return;
    }
    auto d = parse_descriptor(text);
    if (!d.ok()) {
      problem(kDescriptor, fmt::format("{}: {}", name, d.status().message()));
      return;
    }
    desc = std::move(*d);
    lint(*desc, text, name, true, 0);
  }
  if (desc && !monolithic) check_descriptor_extents(*desc, path, name);
  if (!desc) return;
  const auto cid_text = desc->get("CID");
  const auto cid = cid_text ? parse_cid(*cid_text) : std::nullopt;
  if (expect_cid) {
    const auto want = parse_cid(*expect_cid);
    if (!want || !cid || *want != *cid)
      problem(kCid, fmt::format("{}: CID is {} but the child's parentCID is {}", name,
                                cid_text.value_or("(none)"), *expect_cid));
  }
  check_parent(*desc, path, visited, depth);
}

void Checker::check_parent(const Descriptor& d, const fs::path& path,
                           std::set<std::string>& visited, std::size_t depth) {
  const std::string name = path.string();
  const auto hint = d.get("parentFileNameHint");
  const auto pcid = d.get("parentCID");
  const bool has_parent_cid = pcid && parse_cid(*pcid) != 0xffffffffu;
  if (!hint || hint->empty()) {
    if (has_parent_cid)
      problem(kChain,
              fmt::format("{}: parentCID is {} but there is no parentFileNameHint", name, *pcid));
    return;
  }
  if (!pcid) problem(kCid, fmt::format("{}: parentFileNameHint without parentCID", name));
  // The chain holds depth + 1 images; the parent would be one more.
  if (depth + 2 > detail::kMaxChainDepth) {
    problem(kChain, fmt::format("{}: chain deeper than {} images", name, detail::kMaxChainDepth));
    return;
  }
  auto resolved = resolve_name(path, *hint, "parent");
  auto parent = resolved.ok() ? open_file(*resolved)
                              : Result<std::unique_ptr<RandomAccessFile>>(resolved.status());
  if (!parent.ok()) {
    problem(kChain, fmt::format("{}: parent '{}': {}", name, *hint, parent.status().message()));
    return;
  }
  check_link(std::move(*parent), *resolved, visited, depth + 1, pcid.value_or("(none)"));
}

void Checker::check_descriptor_extents(const Descriptor& d, const fs::path& image,
                                       const std::string& name) {
  const auto extents = d.extents();
  if (extents.empty()) {
    problem(kDescriptor, fmt::format("{}: no extent lines", name));
    return;
  }
  for (const ExtentLine& e : extents) {
    if (e.type == ExtentType::zero) continue;
    if (!e.file || e.file->empty()) {
      problem(kExtents,
              fmt::format("{}: {} extent without a file name", name, extent_type_name(e.type)));
      continue;
    }
    auto resolved = resolve_name(image, *e.file, "extent file");
    auto opened = resolved.ok() ? open_file(*resolved)
                                : Result<std::unique_ptr<RandomAccessFile>>(resolved.status());
    if (!opened.ok()) {
      problem(kExtents,
              fmt::format("{}: extent '{}': {}", name, *e.file, opened.status().message()));
      continue;
    }
    const fs::path& p = *resolved;
    std::shared_ptr<const RandomAccessFile> f(std::move(*opened));
    const auto bytes = detail::checked_mul(e.sectors, kSector);
    if (e.type != ExtentType::sparse && e.type != ExtentType::vmfs_sparse &&
        e.type != ExtentType::se_sparse)
      ++extents_;
    switch (e.type) {
      case ExtentType::flat:
      case ExtentType::vmfs:
      case ExtentType::vmfs_rdm:
      case ExtentType::vmfs_raw: {
        const auto base = detail::checked_mul(e.offset.value_or(0), kSector);
        if (!bytes || !base || !detail::range_inside(*base, *bytes, f->size()))
          problem(kExtents, fmt::format("{}: flat extent needs {} sectors from sector {}, "
                                        "the file has {} bytes",
                                        p.string(), e.sectors, e.offset.value_or(0), f->size()));
        break;
      }
      case ExtentType::sparse:
        check_sparse(f, p.string(), bytes.value_or(~std::uint64_t{0}));
        break;
      case ExtentType::vmfs_sparse:
        check_cowd(*f, p.string(), bytes.value_or(~std::uint64_t{0}));
        break;
      case ExtentType::se_sparse:
        check_sesparse(*f, p.string(), bytes.value_or(~std::uint64_t{0}));
        break;
      default:
        break;
    }
  }
}

// Checks one hosted sparse extent file. `size`: the descriptor's extent size in bytes.
void Checker::check_sparse(const std::shared_ptr<const RandomAccessFile>& f,
                           const std::string& name, std::optional<std::uint64_t> size) {
  ++extents_;
  const std::uint64_t fsize = f->size();
  const std::uint64_t fsectors = detail::div_ceil(fsize, kSector);
  std::array<std::byte, kHeaderSize> raw{};
  if (fsize < kHeaderSize || !f->read_at(0, raw).ok()) {
    problem(kHeader, fmt::format("{}: shorter than a sparse header ({} bytes)", name, fsize));
    return;
  }
  auto decoded = decode_sparse_header(raw, 0);
  if (!decoded.ok()) {
    problem(kHeader, fmt::format("{}: {}", name, decoded.status().message()));
    return;
  }
  SparseHeader h = *decoded;
  std::vector<Region> regions;
  regions.push_back({0, 1, 0, kHeaderRegion});
  if (h.gd_at_end()) {
    const std::uint64_t at = fsize / kSector * kSector;
    std::array<std::byte, kFooterTrioBytes> trio{};
    auto footer =
        at >= kHeaderSize + kFooterTrioBytes && f->read_at(at - kFooterTrioBytes, trio).ok()
            ? decode_footer_trio(trio, at - kFooterTrioBytes)
            : Result<SparseHeader>(corrupt(fmt::format("file has only {} bytes", fsize)));
    if (!footer.ok()) {
      problem(kFooter, fmt::format("{}: gdOffset is GD_AT_END but the footer is unusable: {}", name,
                                   footer.status().message()));
      return;
    }
    compare_footer(h, *footer, name);
    h = *footer;
    regions.push_back({at / kSector - 3, at / kSector, 0, kFooterRegion});
  }
  if (size && *size > h.capacity * kSector)
    problem(kExtents, fmt::format("{}: descriptor says {} bytes, the header capacity is {} bytes",
                                  name, *size, h.capacity * kSector));
  if (h.descriptor_offset != 0 && h.descriptor_size != 0) {
    if (!detail::range_inside(h.descriptor_offset, h.descriptor_size, fsectors))
      problem(kHeader, fmt::format("{}: embedded descriptor (sectors {}+{}) lies past the end",
                                   name, h.descriptor_offset, h.descriptor_size));
    else
      regions.push_back(
          {h.descriptor_offset, h.descriptor_offset + h.descriptor_size, 0, kDescRegion});
  }
  if (h.compressed() && !h.markers()) {
    problem(kHeader, fmt::format("{}: compressed grains without markers", name));
    return;
  }
  const std::uint64_t entries = h.gd_entries();
  if (entries * 4 > kMaxGdBytes) {
    problem(kGdInside, fmt::format("{}: grain directory of {} entries exceeds the {} byte limit",
                                   name, entries, kMaxGdBytes));
    return;
  }
  auto gd = load_dir(*f, h.gd_offset, entries, name, kGdRegion, regions);
  if (!gd) return;
  walk_tables(*f, h, *gd, name, regions);
  find_overlaps(regions, name);
}

void Checker::walk_tables(const RandomAccessFile& file, const SparseHeader& h,
                          const std::vector<std::uint32_t>& gd, const std::string& name,
                          std::vector<Region>& regions) {
  const RandomAccessFile* f = &file;
  const std::uint64_t fsectors = detail::div_ceil(f->size(), kSector);
  const std::uint64_t entries = gd.size();
  const bool redundant =
      (h.flags & kFlagRedundantGrainTable) != 0 && h.rgd_offset != 0 && !h.gd_at_end();
  std::optional<std::vector<std::uint32_t>> rgd;
  if (redundant) rgd = load_dir(*f, h.rgd_offset, entries, name, kRgdRegion, regions);
  const std::uint64_t gt_sectors = detail::div_ceil(std::uint64_t{h.num_gtes_per_gt} * 4, kSector);
  const std::uint64_t grains = detail::div_ceil(h.capacity, h.grain_size);
  std::uint64_t allocated = 0;
  std::vector<std::byte> gt_raw(static_cast<std::size_t>(gt_sectors * kSector));
  std::vector<std::byte> rgt_raw(gt_raw.size());
  for (std::uint64_t t = 0; t < entries; ++t) {
    const std::uint32_t gde = gd[t];
    if (rgd && (*rgd)[t] == 0 && gde != 0)
      problem(kRedundant, fmt::format("{}: grain table {} has no redundant copy", name, t));
    if (gde == 0) continue;
    if (!detail::range_inside(gde, gt_sectors, fsectors) ||
        !f->read_at(std::uint64_t{gde} * kSector, gt_raw).ok()) {
      problem(kGtInside, fmt::format("{}: grain directory entry {} = sector {}: its {}-sector "
                                     "table lies past the end ({} sectors)",
                                     name, t, gde, gt_sectors, fsectors));
      continue;
    }
    regions.push_back({gde, gde + gt_sectors, t, kGtRegion});
    bool rgt_ok = false;
    if (rgd && (*rgd)[t] != 0) {
      const std::uint32_t rgde = (*rgd)[t];
      if (!detail::range_inside(rgde, gt_sectors, fsectors) ||
          !f->read_at(std::uint64_t{rgde} * kSector, rgt_raw).ok()) {
        problem(kRedundant, fmt::format("{}: redundant grain directory entry {} = sector {} lies "
                                        "past the end",
                                        name, t, rgde));
      } else {
        regions.push_back({rgde, rgde + gt_sectors, t, kRgtRegion});
        rgt_ok = true;
      }
    }
    for (std::uint64_t i = 0; i < h.num_gtes_per_gt; ++i) {
      const std::uint32_t gte =
          detail::load_le32(std::span<const std::byte>(gt_raw).subspan(i * 4));
      const std::uint64_t g = t * h.num_gtes_per_gt + i;
      if (rgt_ok) {
        const std::uint32_t r =
            detail::load_le32(std::span<const std::byte>(rgt_raw).subspan(i * 4));
        if (r != gte)
          problem(kRedundant, fmt::format("{}: grain {}: table entry {} but redundant entry {}",
                                          name, g, gte, r));
      }
      if (gte == 0 || (gte == 1 && h.zeroed_grains())) continue;
      if (g >= grains) {
        problem(kGrainInside, fmt::format("{}: grain table {} entry {} = sector {} lies beyond "
                                          "the capacity ({} grains)",
                                          name, t, i, gte, grains));
        continue;
      }
      ++allocated;
      auto region = check_grain(*f, h, g, gte, name);
      if (!region) continue;
      if (regions.size() < kMaxRegions)
        regions.push_back(*region);
      else
        regions_capped_ = true;
    }
  }
  count_allocated(allocated);
}

void Checker::compare_footer(const SparseHeader& head, const SparseHeader& foot,
                             const std::string& name) {
  auto cmp = [&](std::string_view field, std::uint64_t a, std::uint64_t b) {
    if (a != b)
      problem(kFooter,
              fmt::format("{}: {} is {} in the header but {} in the footer", name, field, a, b));
  };
  cmp("capacity", head.capacity, foot.capacity);
  cmp("grainSize", head.grain_size, foot.grain_size);
  cmp("numGTEsPerGT", head.num_gtes_per_gt, foot.num_gtes_per_gt);
  cmp("flags", head.flags, foot.flags);
  cmp("compressAlgorithm", head.compress_algorithm, foot.compress_algorithm);
  cmp("descriptorOffset", head.descriptor_offset, foot.descriptor_offset);
  cmp("descriptorSize", head.descriptor_size, foot.descriptor_size);
  if (foot.gd_at_end())
    problem(kFooter, fmt::format("{}: the footer's gdOffset is GD_AT_END too", name));
}

std::optional<std::vector<std::uint32_t>> Checker::load_dir(const RandomAccessFile& f,
                                                            std::uint64_t at, std::uint64_t entries,
                                                            const std::string& name,
                                                            RegionKind kind,
                                                            std::vector<Region>& regions) {
  const std::uint64_t sectors = detail::div_ceil(entries * 4, kSector);
  const Rule rule = kind == kGdRegion ? kGdInside : kRedundant;
  const std::string_view what = kind == kGdRegion ? "grain directory" : "redundant grain directory";
  std::vector<std::byte> raw(static_cast<std::size_t>(entries * 4));
  if (!detail::range_inside(at, sectors, detail::div_ceil(f.size(), kSector)) ||
      !f.read_at(at * kSector, raw).ok()) {
    problem(rule, fmt::format("{}: {} ({} entries at sector {}) lies past the end ({} bytes)", name,
                              what, entries, at, f.size()));
    return std::nullopt;
  }
  regions.push_back({at, at + sectors, 0, static_cast<std::uint8_t>(kind)});
  std::vector<std::uint32_t> out(static_cast<std::size_t>(entries));
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = detail::load_le32(std::span<const std::byte>(raw).subspan(i * 4));
  return out;
}

// The sectors grain `g` (table entry `gte`) occupies, or nullopt after recording a problem.
std::optional<Region> Checker::check_grain(const RandomAccessFile& f, const SparseHeader& h,
                                           std::uint64_t g, std::uint32_t gte,
                                           const std::string& name) {
  const std::uint64_t fsize = f.size();
  const std::uint64_t at = std::uint64_t{gte} * kSector;
  if (!h.compressed()) {
    // The virtual part of the grain must be in the file (the last grain may be partial).
    const std::uint64_t len = std::min(h.grain_size, h.capacity - g * h.grain_size) * kSector;
    if (!detail::range_inside(at, len, fsize)) {
      problem(kGrainInside, fmt::format("{}: grain {} at sector {} ({} bytes) lies past the end "
                                        "({} bytes)",
                                        name, g, gte, len, fsize));
      return std::nullopt;
    }
    return Region{gte, gte + len / kSector, g, kGrainRegion};
  }
  std::array<std::byte, kGrainMarkerHeader> hdr{};
  if (!detail::range_inside(at, hdr.size(), fsize) || !f.read_at(at, hdr).ok()) {
    problem(kGrainInside, fmt::format("{}: grain {} marker at sector {} lies past the end ({} "
                                      "bytes)",
                                      name, g, gte, fsize));
    return std::nullopt;
  }
  const std::uint64_t lba = detail::load_le64(hdr);
  const std::uint32_t csize = detail::load_le32(std::span<const std::byte>(hdr).subspan(8));
  if (lba != g * h.grain_size)
    problem(kGrainInside, fmt::format("{}: grain {} marker at sector {} names LBA {}, expected {}",
                                      name, g, gte, lba, g * h.grain_size));
  if (csize == 0 || csize > 2 * h.grain_bytes() + kCompressedSlackBytes ||
      !detail::range_inside(at + kGrainMarkerHeader, csize, fsize)) {
    problem(kGrainInside, fmt::format("{}: grain {} at sector {}: compressed size {} is invalid "
                                      "or runs past the end ({} bytes)",
                                      name, g, gte, csize, fsize));
    return std::nullopt;
  }
  return Region{gte, detail::div_ceil(at + kGrainMarkerHeader + csize, kSector), g, kGrainRegion};
}

void Checker::find_overlaps(std::vector<Region>& regions, const std::string& name) {
  if (regions_capped_) {
    notes_[kOverlap] = fmt::format("not checked in {}: more than {} grains", name, kMaxRegions);
    regions_capped_ = false;
    return;
  }
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.start < b.start; });
  const Region* reach = nullptr;  // the region reaching furthest so far
  for (const Region& r : regions) {
    if (reach && r.start < reach->end)
      problem(kOverlap,
              fmt::format("{}: {} overlaps {}", name, region_name(r), region_name(*reach)));
    if (!reach || r.end > reach->end) reach = &r;
  }
}

void Checker::count_allocated(std::uint64_t allocated) {
  allocated_ += allocated;
  notes_[kGrainInside] = fmt::format("{} allocated grains in {} extent{}", allocated_, extents_,
                                     extents_ == 1 ? "" : "s");
}

void Checker::finish_notes() {
  if (notes_[kOpen].empty())
    notes_[kOpen] = fmt::format("{} link{}", links_, links_ == 1 ? "" : "s");
  if (notes_[kExtents].empty())
    notes_[kExtents] = fmt::format("{} extent file{}", extents_, extents_ == 1 ? "" : "s");
}

}  // namespace check

Result<CheckReport> check_vmdk(const std::filesystem::path& path, std::string_view target,
                               const CheckOptions& options) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  return check_vmdk_file(std::move(file), path, target, options);
}

Result<CheckReport> check_vmdk_file(std::unique_ptr<RandomAccessFile> file,
                                    const std::filesystem::path& path, std::string_view target,
                                    const CheckOptions& options) {
  unsigned consumers = kAllConsumers;
  if (target != "vmdk") {
    const auto c = parse_consumer(target);
    if (!c || *c == kAllConsumers)
      return invalid_argument(
          fmt::format("vmdk check: unknown target '{}' (vmdk, mvmc, qemu, "
                      "virtualbox, esxi)",
                      target));
    consumers = *c;
  }
  check::Checker c(consumers, target != "vmdk", options.ignore_parent_identity);
  return c.run(std::move(file), path, target);
}

}  // namespace vdisk::vmdk

namespace vdisk::detail {
namespace {
Result<CheckReport> run_vmdk(std::unique_ptr<RandomAccessFile> file, const std::filesystem::path& p,
                             const std::string&, std::string_view name, const CheckOptions& o) {
  return vmdk::check_vmdk_file(std::move(file), p, name, o);
}
}  // namespace

std::span<const CheckRuleSet> vmdk_rule_sets() {
  // "vmdk": structure plus every consumer's lint as warnings; each consumer: structure plus its
  // own lint, whose errors fail (vdisk/check.h).
  static const CheckRuleSet sets[] = {{"vmdk", "vmdk", run_vmdk},
                                      {"mvmc", "", run_vmdk},
                                      {"qemu", "", run_vmdk},
                                      {"virtualbox", "", run_vmdk},
                                      {"esxi", "", run_vmdk}};
  return sets;
}
}  // namespace vdisk::detail
