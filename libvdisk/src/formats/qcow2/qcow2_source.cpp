// The QCOW2 cluster reader: guest offsets through the active L1 table and cached L2 tables to
// host clusters (qemu docs/interop/qcow2.txt "Cluster mapping" and "Extended L2 Entries";
// docs/qcow2.md).
//
// Both read() and map() walk the range as pieces (base/mapped_source.h): runs of guest bytes of
// one kind (stored data at consecutive host offsets, one compressed cluster as a special piece,
// zeros, or "below": the backing file's bytes or zeros). map() reports them from metadata alone;
// read() reads each data piece with one read_at, so contiguous clusters cost one system call.
// The object's only mutable state is the L2 cache (base/table_cache.h), which locks itself, so
// concurrent calls are safe.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "formats/qcow2/qcow2_reader.h"
#include "base/checked.h"
#include "base/endian.h"
#include "base/mapped_source.h"
#include "base/table_cache.h"

namespace vdisk::qcow2 {
namespace {

// Pieces: data (host: byte of `guest` in the data file), special (one compressed cluster or
// part of one: host is the stream's offset, extra its window bytes), zero, below.
using Piece = detail::MappedSource::Piece;

// The L2 entry of one cluster: the standard word and, with extended L2, the subcluster bitmap.
struct Entry {
  std::uint64_t word = 0;
  std::uint64_t bitmap = 0;
  std::uint64_t table_offset = 0;  // where it lives, for messages (0: no L2 table)
};

class Qcow2Source final : public detail::MappedSource {
 public:
  Qcow2Source(std::unique_ptr<RandomAccessFile> file, Header h, std::vector<std::uint64_t> l1,
              Links links, std::vector<Snapshot> snapshots)
      : file_(std::move(file)),
        h_(std::move(h)),
        l1_(std::move(l1)),
        links_(std::move(links)),
        snapshots_(std::move(snapshots)),
        cs_(h_.cluster_size()),
        cache_(std::max<std::size_t>(kMinCachedTables,
                                     static_cast<std::size_t>(kL2CacheBytes / cs_))) {
    data_ = links_.data_file ? links_.data_file.get() : file_.get();
  }

  std::uint64_t size() const override { return h_.size; }
  std::string_view format() const override { return kFormat; }

  void describe(Properties& out) const override;

 private:
  // ---- metadata ----

  Result<std::shared_ptr<const L2Table>> l2_table(std::uint64_t offset) const {
    return cache_.get(offset, [&]() -> Result<std::shared_ptr<const L2Table>> {
      std::vector<std::byte> raw(static_cast<std::size_t>(cs_));
      VDISK_RETURN_IF_ERROR(file_->read_at(offset, raw));
      auto t = std::make_shared<L2Table>(static_cast<std::size_t>(cs_ / 8));
      for (std::size_t i = 0; i < t->size(); ++i)
        (*t)[i] = detail::load_be64(std::span<const std::byte>(raw).subspan(i * 8));
      return std::shared_ptr<const L2Table>(std::move(t));
    });
  }

  // The entry of guest cluster `ci`; `table` keeps the last L2 table used, so a walk looks up
  // each table once.
  Result<Entry> entry(std::uint64_t ci, std::shared_ptr<const L2Table>& table,
                      std::uint64_t& table_offset) const {
    const std::uint64_t l1_index = ci / h_.l2_entries();
    const std::uint64_t l2_index = ci % h_.l2_entries();
    const std::uint64_t l2_offset = l1_[static_cast<std::size_t>(l1_index)] & kL1OffsetMask;
    if (l2_offset == 0) return Entry{};
    if (!table || table_offset != l2_offset) {
      VDISK_ASSIGN_OR_RETURN(table, l2_table(l2_offset));
      table_offset = l2_offset;
    }
    const std::size_t i = static_cast<std::size_t>(l2_index * (h_.extended_l2() ? 2 : 1));
    return Entry{(*table)[i], h_.extended_l2() ? (*table)[i + 1] : 0, l2_offset + i * 8};
  }

  Status entry_error(const Entry& e, std::uint64_t ci, std::string_view detail) const {
    return corrupt_at(kFormat, "L2 entry", e.table_offset,
                      fmt::format("guest cluster {} (0x{:016x}): {}", ci, e.word, detail));
  }

  // Splits the bytes [a, b) of guest cluster `ci` (cluster-relative) into pieces.
  template <class Emit>
  Status classify(std::uint64_t ci, const Entry& e, std::uint64_t a, std::uint64_t b,
                  Emit&& emit) const {
    const std::uint64_t base = ci * cs_;
    if (e.word & kL2Compressed) return classify_compressed(ci, e, a, b, emit);
    const std::uint64_t host = e.word & kL2OffsetMask;
    if (host % cs_ != 0)
      return entry_error(e, ci, fmt::format("host offset 0x{:x} expected cluster-aligned", host));
    // Offset 0 is a real offset only in an external data file, marked by the COPIED bit.
    const bool mapped = host != 0 || (links_.data_file && (e.word & kL2Copied));
    if (mapped && host >= data_->size())
      return entry_error(e, ci,
                         fmt::format("host offset 0x{:x} expected inside the {}-byte {}", host,
                                     data_->size(), links_.data_file ? "data file" : "file"));
    if (!h_.extended_l2()) {
      Piece p{Piece::Kind::below, base + a, b - a, host + a};
      if (h_.version >= 3 && (e.word & kL2ZeroFlag))
        p.kind = Piece::Kind::zero;
      else if (mapped)
        p.kind = Piece::Kind::data;
      return emit(p);
    }
    return classify_subclusters(ci, e, host, mapped, a, b, emit);
  }

  template <class Emit>
  Status classify_subclusters(std::uint64_t ci, const Entry& e, std::uint64_t host, bool mapped,
                              std::uint64_t a, std::uint64_t b, Emit&& emit) const {
    const std::uint64_t sc = cs_ / kSubclusters;
    const std::uint64_t alloc = e.bitmap & 0xffffffffu, zero = e.bitmap >> 32;
    if (alloc & zero)
      return entry_error(e, ci,
                         fmt::format("subcluster bitmap 0x{:016x} marks a subcluster both "
                                     "allocated and zero",
                                     e.bitmap));
    if (alloc != 0 && !mapped)
      return entry_error(e, ci,
                         fmt::format("subcluster bitmap 0x{:016x} allocates subclusters "
                                     "of an unallocated cluster",
                                     e.bitmap));
    for (std::uint64_t pos = a; pos < b;) {
      const unsigned i = static_cast<unsigned>(pos / sc);
      const std::uint64_t end = std::min(b, (i + 1) * sc);
      Piece p{Piece::Kind::below, ci * cs_ + pos, end - pos, host + pos};
      if ((alloc >> i) & 1)
        p.kind = Piece::Kind::data;
      else if ((zero >> i) & 1)
        p.kind = Piece::Kind::zero;
      VDISK_RETURN_IF_ERROR(emit(p));
      pos = end;
    }
    return {};
  }

  template <class Emit>
  Status classify_compressed(std::uint64_t ci, const Entry& e, std::uint64_t a, std::uint64_t b,
                             Emit&& emit) const {
    if (links_.data_file)
      return entry_error(e, ci, "compressed clusters are not allowed with an external data file");
    const unsigned shift = 62 - (h_.cluster_bits - 8);
    const std::uint64_t offset = e.word & ((std::uint64_t{1} << shift) - 1);
    const std::uint64_t sectors =
        ((e.word >> shift) & ((std::uint64_t{1} << (h_.cluster_bits - 8)) - 1)) + 1;
    const std::uint64_t csize = sectors * 512 - (offset & 511);
    // The window is rounded up to a sector, so the last cluster's may end up to 511 bytes past
    // the end of the file; anything more lies.
    if (offset >= file_->size() || csize > file_->size() - offset + 511)
      return entry_error(e, ci,
                         fmt::format("compressed data of {} bytes at 0x{:x} expected inside "
                                     "the {}-byte file",
                                     csize, offset, file_->size()));
    return emit(Piece{Piece::Kind::special, ci * cs_ + a, b - a, offset, csize});
  }

  // The pieces of [offset, offset + length), cluster by cluster (a whole L1 entry's range at
  // once when it has no L2 table).
  Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const override {
    std::shared_ptr<const L2Table> table;
    std::uint64_t table_offset = 0;
    auto emit = [&](const Piece& p) { return out.emit(p); };
    const std::uint64_t end = offset + length;
    const std::uint64_t l1_span = h_.l2_entries() * cs_;  // guest bytes one L1 entry maps
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint64_t ci = pos / cs_;
      // No L2 table: the whole range of the L1 entry is below, in one step.
      if ((l1_[static_cast<std::size_t>(pos / l1_span)] & kL1OffsetMask) == 0) {
        const std::uint64_t stop = std::min(end, (pos / l1_span + 1) * l1_span);
        VDISK_RETURN_IF_ERROR(emit(Piece{Piece::Kind::below, pos, stop - pos, 0}));
        pos = stop;
        continue;
      }
      const std::uint64_t cluster_end = std::min(end, (ci + 1) * cs_);
      VDISK_ASSIGN_OR_RETURN(const Entry e, entry(ci, table, table_offset));
      VDISK_RETURN_IF_ERROR(classify(ci, e, pos - ci * cs_, cluster_end - ci * cs_, emit));
      pos = cluster_end;
    }
    return {};
  }

  // ---- data ----

  // Stored bytes; those past the end of the file read as zeros, as qemu reads them.
  Status read_data(std::uint64_t host, std::span<std::byte> dst) const override {
    const std::uint64_t in_file =
        host >= data_->size() ? 0 : std::min<std::uint64_t>(dst.size(), data_->size() - host);
    if (in_file > 0)
      VDISK_RETURN_IF_ERROR(data_->read_at(host, dst.first(static_cast<std::size_t>(in_file))));
    std::memset(dst.data() + in_file, 0, dst.size() - static_cast<std::size_t>(in_file));
    return {};
  }

  // A compressed cluster, or the part of it `p` covers.
  Status read_special(const Piece& p, std::span<std::byte> dst) const override {
    const std::uint64_t window = std::min(p.extra, file_->size() - p.host);
    std::vector<std::byte> in(static_cast<std::size_t>(window));
    VDISK_RETURN_IF_ERROR(file_->read_at(p.host, in));
    // The last cluster of a disk whose size is not a whole cluster is still stored whole.
    if (p.length == cs_) return decompress_cluster(h_.compression, in, dst, p.host);
    std::vector<std::byte> cluster(static_cast<std::size_t>(cs_));
    VDISK_RETURN_IF_ERROR(decompress_cluster(h_.compression, in, cluster, p.host));
    std::memcpy(dst.data(), cluster.data() + p.guest % cs_, dst.size());
    return {};
  }

  // Bytes the image does not store: the backing file's, zeros past its end or without one
  // (mapped as unallocated).
  const BlockSource* below() const override { return links_.backing.get(); }

  std::unique_ptr<RandomAccessFile> file_;
  Header h_;
  std::vector<std::uint64_t> l1_;
  Links links_;
  std::vector<Snapshot> snapshots_;
  std::uint64_t cs_;
  const RandomAccessFile* data_ = nullptr;  // where data clusters live
  detail::TableCache<L2Table> cache_;       // by file offset
};

void Qcow2Source::describe(Properties& out) const {
  out.add("version", std::uint64_t{h_.version});
  out.add("cluster_size", cs_);
  out.add("compression_type", h_.compression == Compression::zstd ? "zstd" : "zlib");
  out.add("extended_l2", h_.extended_l2());
  out.add("dirty", (h_.incompatible & kIncompatDirty) != 0);
  out.add("lazy_refcounts", (h_.compatible & kCompatLazyRefcounts) != 0);
  out.add("refcount_order", std::uint64_t{h_.refcount_order});
  out.add("refcount_bits", std::uint64_t{1} << h_.refcount_order);
  out.add("l1_entries", std::uint64_t{h_.l1_size});
  if (!h_.backing_file.empty()) {
    out.add("backing_file", h_.backing_file);
    if (!h_.backing_format.empty()) out.add("backing_format", h_.backing_format);
    // The backing image's own facts, recursively (as VMDK reports its parent).
    Properties& b = out.add_object("backing");
    b.add("path", links_.backing_path);
    b.append(vdisk::describe(*links_.backing));
  }
  if (h_.has_data_file()) {
    out.add("data_file", h_.data_file);
    out.add("data_file_path", links_.data_file_path);
    out.add("data_file_raw", (h_.autoclear & kAutoclearRawData) != 0);
  }
  out.add_list("snapshots");
  for (const Snapshot& s : snapshots_) {
    Properties& p = out.add_list_item("snapshots");
    p.add("id", s.id);
    p.add("name", s.name);
    if (s.virtual_size) p.add("virtual_size", *s.virtual_size);
    p.add("vm_state_size", std::uint64_t{s.vm_state_size});
    p.add("date_sec", std::uint64_t{s.date_sec});
    p.add("vm_clock_ns", s.vm_clock_ns);
  }
}

}  // namespace

std::unique_ptr<BlockSource> make_source(std::unique_ptr<RandomAccessFile> file, Header header,
                                         std::vector<std::uint64_t> l1, Links links,
                                         std::vector<Snapshot> snapshots) {
  return std::make_unique<Qcow2Source>(std::move(file), std::move(header), std::move(l1),
                                       std::move(links), std::move(snapshots));
}

}  // namespace vdisk::qcow2
