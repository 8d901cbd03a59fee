// `check --for qcow2` (see qcow2_check.h). Refcounts: qemu docs/interop/qcow2.txt "Host cluster
// management"; docs/qcow2.md.
#include "formats/qcow2/qcow2_check.h"
#include "contract/check_rules.h"

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "formats/qcow2/qcow2_reader.h"

namespace vdisk::qcow2 {
namespace {

constexpr std::size_t kMaxListed = 5;
// Host clusters tracked for overlaps and refcounts (one byte each).
constexpr std::uint64_t kMaxTrackedClusters = 256u << 20;
constexpr std::uint64_t kMaxRefcountTableBytes = 8u << 20;  // qemu QCOW_MAX_REFTABLE_SIZE
constexpr std::uint64_t kRefcountOffsetMask = 0xFFFFFFFFFFFFFE00ull;

// The first few problems of one rule, and how many there were.
struct Findings {
  std::vector<std::string> list;
  std::uint64_t count = 0;
  void add(std::string s) {
    if (list.size() < kMaxListed) list.push_back(std::move(s));
    ++count;
  }
  CheckItem item(std::string id, std::string rule, std::string ok_text,
                 CheckSeverity sev = CheckSeverity::error) const {
    std::string detail = ok_text;
    if (count != 0) {
      detail = fmt::format("{} problem{}: {}", count, count == 1 ? "" : "s", fmt::join(list, "; "));
      if (count > list.size()) detail += "; ...";
    }
    CheckItem it(std::move(rule), count == 0, std::move(detail), sev);
    it.id = std::move(id);
    return it;
  }
};

enum class Owner : std::uint8_t { none, metadata, data, compressed };

std::string_view owner_name(Owner o) {
  switch (o) {
    case Owner::metadata:
      return "metadata";
    case Owner::data:
      return "data";
    case Owner::compressed:
      return "compressed data";
    case Owner::none:
      break;
  }
  return "nothing";
}

CheckItem untracked_item(std::string id, std::string rule, std::string detail) {
  CheckItem it(std::move(rule), false, std::move(detail), CheckSeverity::warning);
  it.id = std::move(id);
  return it;
}

class Checker {
 public:
  Checker(const RandomAccessFile& f, const Header& h)
      : f_(f), h_(h), cs_(h.cluster_size()), clusters_(detail::div_ceil(f.size(), cs_)) {
    tracked_ = clusters_ <= kMaxTrackedClusters;
    if (tracked_) owner_.assign(static_cast<std::size_t>(clusters_), Owner::none);
  }

  void run(const std::vector<std::uint64_t>& l1) {
    claim(0, cs_, Owner::metadata, "header");
    claim(h_.l1_table_offset, std::uint64_t{h_.l1_size} * 8, Owner::metadata, "L1 table");
    if (h_.nb_snapshots != 0) claim(h_.snapshots_offset, 40, Owner::metadata, "snapshot table");
    read_refcount_table();
    for (std::size_t i = 0; i < l1.size(); ++i)
      if (const std::uint64_t off = l1[i] & kL1OffsetMask; off != 0) walk_l2(i, off);
    if (tracked_) check_refcounts();
  }

  void report(CheckReport& r) const {
    r.items.push_back(tables_.item("qcow2.tables", "refcount tables lie inside the file",
                                   "refcount table and blocks inside the file"));
    r.items.push_back(entries_.item("qcow2.l2_entries",
                                    "every L2 entry is aligned and points inside its file",
                                    fmt::format("{} allocated clusters", allocated_)));
    const std::string untracked = fmt::format("not checked: {} host clusters exceed the {} tracked",
                                              clusters_, kMaxTrackedClusters);
    r.items.push_back(
        tracked_ ? overlaps_.item("qcow2.overlap", "no two clusters overlap", "no overlaps")
                 : untracked_item("qcow2.overlap", "no two clusters overlap", untracked));
    // A dirty image's refcounts may be stale by design: a warning, not a failure.
    const CheckSeverity sev =
        (h_.incompatible & kIncompatDirty) ? CheckSeverity::warning : CheckSeverity::error;
    r.items.push_back(
        tracked_
            ? refcounts_.item("qcow2.refcount_zero", "every used cluster has a non-zero refcount",
                              "all used clusters are referenced", sev)
            : untracked_item("qcow2.refcount_zero", "every used cluster has a non-zero refcount",
                             untracked));
  }

 private:
  // Marks the host clusters of [off, off + len) as used by `what`.
  void claim(std::uint64_t off, std::uint64_t len, Owner o, std::string_view what) {
    if (!tracked_ || len == 0) return;
    const std::uint64_t first = off / cs_, last = (off + len - 1) / cs_;
    for (std::uint64_t c = first; c <= last && c < clusters_; ++c) {
      Owner& slot = owner_[static_cast<std::size_t>(c)];
      // Compressed streams are packed: several share a host cluster by design.
      if (slot != Owner::none && !(slot == Owner::compressed && o == Owner::compressed))
        overlaps_.add(fmt::format("host cluster at 0x{:x} holds {} and {} ({})", c * cs_,
                                  owner_name(slot), owner_name(o), what));
      if (slot == Owner::none) slot = o;
    }
  }

  void read_refcount_table() {
    const std::uint64_t bytes = std::uint64_t{h_.refcount_table_clusters} * cs_;
    if (bytes == 0 || bytes > kMaxRefcountTableBytes || h_.refcount_table_offset % cs_ != 0 ||
        !detail::range_inside(h_.refcount_table_offset, bytes, f_.size())) {
      tables_.add(fmt::format(
          "refcount table of {} clusters at 0x{:x} expected cluster-aligned "
          "inside the {}-byte file, at most {} bytes",
          h_.refcount_table_clusters, h_.refcount_table_offset, f_.size(), kMaxRefcountTableBytes));
      return;
    }
    std::vector<std::byte> raw(static_cast<std::size_t>(bytes));
    if (!f_.read_at(h_.refcount_table_offset, raw).ok())
      return tables_.add("refcount table unreadable");
    claim(h_.refcount_table_offset, bytes, Owner::metadata, "refcount table");
    refcount_table_.resize(raw.size() / 8);
    for (std::size_t i = 0; i < refcount_table_.size(); ++i) {
      const std::uint64_t off =
          detail::load_be64(std::span<const std::byte>(raw).subspan(i * 8)) & kRefcountOffsetMask;
      if (off == 0) continue;  // no block: its clusters are unreferenced
      if (off % cs_ != 0 || !detail::range_inside(off, cs_, f_.size())) {
        tables_.add(
            fmt::format("refcount table entry {} at 0x{:x}: block 0x{:x} expected "
                        "cluster-aligned inside the file",
                        i, h_.refcount_table_offset + i * 8, off));
        continue;  // left 0: its clusters count as unreferenced
      }
      refcount_table_[i] = off;
      claim(off, cs_, Owner::metadata, "refcount block");
    }
  }

  void walk_l2(std::size_t l1_index, std::uint64_t table) {
    claim(table, cs_, Owner::metadata, "L2 table");
    std::vector<std::byte> raw(static_cast<std::size_t>(cs_));
    if (!f_.read_at(table, raw).ok())
      return entries_.add(fmt::format("L2 table at 0x{:x} unreadable", table));
    const std::size_t step = h_.extended_l2() ? 16 : 8;
    for (std::size_t i = 0; i < raw.size(); i += step) {
      const std::uint64_t e = detail::load_be64(std::span<const std::byte>(raw).subspan(i));
      check_entry(e, table + i, l1_index);
    }
  }

  void check_entry(std::uint64_t e, std::uint64_t at, std::size_t l1_index) {
    if (e & kL2Compressed) {
      const unsigned shift = 62 - (h_.cluster_bits - 8);
      const std::uint64_t off = e & ((std::uint64_t{1} << shift) - 1);
      const std::uint64_t csize =
          (((e >> shift) & ((std::uint64_t{1} << (h_.cluster_bits - 8)) - 1)) + 1) * 512 -
          (off & 511);
      ++allocated_;
      if (h_.has_data_file())
        return entries_.add(
            fmt::format("L2 entry at 0x{:x}: compressed cluster with an "
                        "external data file",
                        at));
      if (off >= f_.size() || csize > f_.size() - off + 511)
        return entries_.add(
            fmt::format("L2 entry at 0x{:x}: compressed data of {} bytes at "
                        "0x{:x} past the end of the file",
                        at, csize, off));
      if (e & kL2Copied)
        entries_.add(fmt::format("L2 entry at 0x{:x}: compressed cluster with the COPIED bit", at));
      return claim(off, csize, Owner::compressed, "compressed cluster");
    }
    const std::uint64_t off = e & kL2OffsetMask;
    if (off == 0) return;
    ++allocated_;
    if (off % cs_ != 0)
      return entries_.add(
          fmt::format("L2 entry at 0x{:x} (L1 entry {}): host offset 0x{:x} not "
                      "cluster-aligned",
                      at, l1_index, off));
    if (h_.has_data_file()) return;  // data clusters live in the data file, not refcounted
    if (off >= f_.size())
      return entries_.add(
          fmt::format("L2 entry at 0x{:x} (L1 entry {}): host cluster 0x{:x} "
                      "past the end of the {}-byte file",
                      at, l1_index, off, f_.size()));
    claim(off, cs_, Owner::data, "data cluster");
  }

  // The refcount of host cluster `c`, reading refcount blocks in cluster order.
  std::uint64_t refcount(std::uint64_t c) {
    const unsigned bits = 1u << h_.refcount_order;
    const std::uint64_t per_block = cs_ * 8 / bits;
    const std::uint64_t ti = c / per_block, bi = c % per_block;
    if (ti >= refcount_table_.size() || refcount_table_[ti] == 0) return 0;
    if (block_index_ != ti) {
      block_.assign(static_cast<std::size_t>(cs_), std::byte{0});
      if (!f_.read_at(refcount_table_[ti], block_).ok()) return 0;
      block_index_ = ti;
    }
    const std::span<const std::byte> b(block_);
    if (bits >= 8) {
      std::uint64_t v = 0;
      for (unsigned k = 0; k < bits / 8; ++k)
        v = (v << 8) | std::to_integer<std::uint64_t>(b[bi * (bits / 8) + k]);
      return v;
    }
    const std::uint64_t bit = bi * bits;
    return (std::to_integer<unsigned>(b[bit / 8]) >> (bit % 8)) & ((1u << bits) - 1);
  }

  void check_refcounts() {
    for (std::uint64_t c = 0; c < clusters_; ++c) {
      const Owner o = owner_[static_cast<std::size_t>(c)];
      if (o != Owner::none && refcount(c) == 0)
        refcounts_.add(
            fmt::format("host cluster at 0x{:x} ({}) has refcount 0", c * cs_, owner_name(o)));
    }
  }

  const RandomAccessFile& f_;
  const Header& h_;
  std::uint64_t cs_;
  std::uint64_t clusters_;
  bool tracked_ = false;
  std::vector<Owner> owner_;
  std::vector<std::uint64_t> refcount_table_;
  std::vector<std::byte> block_;
  std::uint64_t block_index_ = ~std::uint64_t{0};
  std::uint64_t allocated_ = 0;
  Findings tables_, entries_, overlaps_, refcounts_;
};

}  // namespace

CheckReport check_qcow2_file(const RandomAccessFile& file, const std::string& name) {
  CheckReport r;
  r.target = "qcow2";
  r.path = name;
  auto header = read_header(file);
  CheckItem head("header is a readable qcow2 v2/v3 header", header.ok(),
                 header.ok() ? fmt::format("version {}, {}-byte clusters, virtual size {}",
                                           header->version, header->cluster_size(), header->size)
                             : header.status().message());
  head.id = "qcow2.header";
  r.items.push_back(std::move(head));
  if (!header.ok()) return r;
  auto l1 = read_l1(file, *header);
  CheckItem l1_item("L1 table and L2 tables lie inside the file", l1.ok(),
                    l1.ok() ? fmt::format("{} L1 entries", l1->size()) : l1.status().message());
  l1_item.id = "qcow2.l1_table";
  r.items.push_back(std::move(l1_item));
  if (!l1.ok()) return r;
  Checker c(file, *header);
  c.run(*l1);
  c.report(r);
  return r;
}

}  // namespace vdisk::qcow2

namespace vdisk::detail {
namespace {
Result<CheckReport> run_qcow2(std::unique_ptr<RandomAccessFile> file, const std::filesystem::path&,
                              const std::string& display, std::string_view, const CheckOptions&) {
  return qcow2::check_qcow2_file(*file, display);
}
}  // namespace

const CheckRuleSet& qcow2_rules() {
  static const CheckRuleSet r{"qcow2", "qcow2", run_qcow2};
  return r;
}
}  // namespace vdisk::detail
