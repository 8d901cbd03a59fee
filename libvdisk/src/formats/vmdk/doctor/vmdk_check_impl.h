// Internals of the VMDK check (vmdk_check.h), shared by vmdk_check.cpp (chain, descriptors,
// hosted sparse extents, report), vmdk_check_vmfs.cpp (COWD and SESparse extents) and
// vmdk_check_lint.cpp (descriptor lint items).
#ifndef VDISK_VMDK_VMDK_CHECK_IMPL_H_
#define VDISK_VMDK_VMDK_CHECK_IMPL_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/check.h"
#include "vdisk/io.h"
#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk::check {

enum Rule : std::size_t {
  kOpen,
  kDescriptor,
  kExtents,
  kHeader,
  kFooter,
  kGdInside,
  kGtInside,
  kGrainInside,
  kGteType,
  kOverlap,
  kRedundant,
  kChain,
  kCid,
  kRuleCount
};

inline constexpr std::array<std::string_view, kRuleCount> kRuleText = {
    "file is a VMDK (sparse extent, COWD extent or descriptor)",
    "descriptor parses and lists extents",
    "extent files exist and hold their extents",
    "sparse extent headers (hosted, COWD, SESparse) are valid and self-consistent",
    "stream footer agrees with the header",
    "grain directories lie inside their files",
    "grain directory entries point to grain tables inside the file",
    "grain table entries point to grains inside the file",
    "SESparse grain table entries have a valid type",
    "grains do not overlap each other or metadata",
    "redundant grain directory and tables agree with the primary ones",
    "parent links resolve (hint present, file opens, no loop)",
    "each parentCID equals its parent's CID",
};

// Stable ids of the rules above (the JSON "rule" field; docs/json.md lists them).
inline constexpr std::array<std::string_view, kRuleCount> kRuleId = {
    "vmdk.is_vmdk",           "vmdk.descriptor",    "vmdk.extents",          "vmdk.sparse_header",
    "vmdk.stream_footer",     "vmdk.gd_past_end",   "vmdk.gt_past_end",      "vmdk.grain_past_end",
    "vmdk.sesparse_gte_type", "vmdk.grain_overlap", "vmdk.redundant_tables", "vmdk.parent_link",
    "vmdk.parent_cid",
};

// Overlap detection keeps one record per allocated grain; beyond this many it is skipped.
inline constexpr std::size_t kMaxRegions = std::size_t{8} << 20;

// A run of sectors used by one structure of a sparse extent file.
struct Region {
  std::uint64_t start = 0;  // sector
  std::uint64_t end = 0;    // sector, exclusive
  std::uint64_t index = 0;  // grain / table number
  std::uint8_t kind = 0;
};
enum RegionKind : std::uint8_t {
  kHeaderRegion,
  kDescRegion,
  kGdRegion,
  kGtRegion,
  kRgdRegion,
  kRgtRegion,
  kFooterRegion,
  kGrainRegion,
  kVolatileRegion,
};
std::string region_name(const Region& r);

// A descriptor of the chain, kept for the lint items.
struct LintedDescriptor {
  std::string file;
  std::vector<LintFinding> findings;
};

class Checker {
 public:
  // `consumers`: whose lint findings become items; `strict`: lint errors fail (else warnings).
  Checker(unsigned consumers, bool strict, bool ignore_cid)
      : consumers_(consumers), strict_(strict), ignore_cid_(ignore_cid) {}

  CheckReport run(std::unique_ptr<RandomAccessFile> file, const std::filesystem::path& path,
                  std::string_view target);

 private:
  void problem(Rule r, std::string text) { problems_[r].push_back(std::move(text)); }

  void check_link(std::unique_ptr<RandomAccessFile> file, const std::filesystem::path& path,
                  std::set<std::string>& visited, std::size_t depth,
                  std::optional<std::string> expect_cid);
  void check_parent(const Descriptor& d, const std::filesystem::path& path,
                    std::set<std::string>& visited, std::size_t depth);
  // `image`: the file whose descriptor `d` is (extent names are resolved against its directory).
  void check_descriptor_extents(const Descriptor& d, const std::filesystem::path& image,
                                const std::string& name);
  void check_sparse(const std::shared_ptr<const RandomAccessFile>& f, const std::string& name,
                    std::optional<std::uint64_t> size);
  // Walks the grain directory and tables of a hosted sparse or COWD extent described by `h`
  // (directory `gd`), adding the tables and grains it finds to `regions`.
  void walk_tables(const RandomAccessFile& f, const SparseHeader& h,
                   const std::vector<std::uint32_t>& gd, const std::string& name,
                   std::vector<Region>& regions);
  void compare_footer(const SparseHeader& head, const SparseHeader& foot, const std::string& name);
  std::optional<std::vector<std::uint32_t>> load_dir(const RandomAccessFile& f, std::uint64_t at,
                                                     std::uint64_t entries, const std::string& name,
                                                     RegionKind kind, std::vector<Region>& regions);
  std::optional<Region> check_grain(const RandomAccessFile& f, const SparseHeader& h,
                                    std::uint64_t g, std::uint32_t gte, const std::string& name);
  void find_overlaps(std::vector<Region>& regions, const std::string& name);
  void count_allocated(std::uint64_t allocated);

  // vmdk_check_vmfs.cpp
  void check_cowd(const RandomAccessFile& f, const std::string& name,
                  std::optional<std::uint64_t> size);
  void check_sesparse(const RandomAccessFile& f, const std::string& name,
                      std::optional<std::uint64_t> size);

  // vmdk_check_lint.cpp
  void lint(const Descriptor& d, std::string_view text, const std::string& name, bool standalone,
            std::uint64_t area_bytes);
  void lint_items(CheckReport& report) const;

  void finish_notes();

  unsigned consumers_;
  bool strict_;
  bool ignore_cid_;
  std::array<std::vector<std::string>, kRuleCount> problems_;
  std::array<std::string, kRuleCount> notes_;
  std::vector<LintedDescriptor> linted_;
  bool regions_capped_ = false;
  std::size_t links_ = 0;
  std::size_t extents_ = 0;
  std::uint64_t allocated_ = 0;
};

}  // namespace vdisk::vmdk::check

#endif  // VDISK_VMDK_VMDK_CHECK_IMPL_H_
