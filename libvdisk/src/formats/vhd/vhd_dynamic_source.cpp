// Dynamic and differencing VHD reader.
//
// Open reads and checks the footer, the dynamic header and the BAT (bounded by the header
// checks), nothing else; sector bitmaps are read per request, only the bytes covering the
// requested sectors, so map() and read() cost one small bitmap read per allocated block they
// touch. Both walk the range as pieces (base/mapped_source.h): stored sectors, zeros (clear bits
// of a dynamic disk) or "below" (unused blocks; clear bits of a differencing disk: the parent's
// bytes). The object holds no mutable state, so concurrent read()/map() calls are safe (the file
// is read with pread).
#include <algorithm>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "base/checked.h"
#include "base/mapped_source.h"
#include "formats/vhd/vhd_reader.h"

namespace vdisk::vhd {
namespace {

using Piece = detail::MappedSource::Piece;

class DynamicVhdSource final : public detail::MappedSource, public ChainedSource {
 public:
  DynamicVhdSource(std::unique_ptr<RandomAccessFile> file, const Footer& footer,
                   const DynamicHeader& header, const DynamicLayout& layout,
                   std::vector<std::uint32_t> bat, OpenedParent parent)
      : file_(std::move(file)),
        footer_(footer),
        header_(header),
        layout_(layout),
        bat_(std::move(bat)),
        parent_(std::move(parent.source)),
        chain_(std::move(parent.chain)) {
    allocated_ = static_cast<std::uint64_t>(
        std::count_if(bat_.begin(), bat_.end(), [](std::uint32_t e) { return e != kBatUnused; }));
  }

  std::uint64_t size() const override { return layout_.virtual_size; }
  std::string_view format() const override { return "vhd"; }
  const std::vector<ParentLink>& parent_chain() const override { return chain_; }

  void describe(Properties& out) const override {
    out.add("subformat", parent_ ? "differencing" : "dynamic");
    out.add("block_size", std::uint64_t{layout_.block_size});
    out.add("bat_entries", std::uint64_t{header_.max_table_entries});
    out.add("allocated_blocks", allocated_);
    describe_footer(footer_, out);
    if (parent_) {
      out.add("parent_unique_id", uuid_text(header_.parent_unique_id));
      for (const ParentLink& link : chain_) {
        Properties& p = out.add_list_item("parents");
        p.add("path", link.path);
        p.add("format", link.format);
        if (!link.unique_id.empty()) p.add("unique_id", link.unique_id);
      }
    }
  }

 private:
  // Reads the bitmap bytes covering bytes [in, in + len) of block `block`; `first_sector` is
  // the block-relative sector of the first bit of the returned bytes.
  Status read_bitmap(std::uint64_t block, std::uint64_t in, std::uint64_t len,
                     std::vector<std::byte>& bits, std::uint64_t& first_sector) const {
    const std::uint64_t s0 = in / 512, s1 = (in + len - 1) / 512;
    first_sector = s0 / 8 * 8;
    bits.resize(static_cast<std::size_t>(s1 / 8 - s0 / 8 + 1));
    return file_->read_at(std::uint64_t{bat_[block]} * 512 + s0 / 8, bits);
  }

  // Calls fn(present, start, length) for each run of sectors with the same bitmap bit within
  // bytes [in, in + len) of a block, in block-relative bytes.
  template <class Fn>
  static Status for_each_run(std::span<const std::byte> bits, std::uint64_t first_sector,
                             std::uint64_t in, std::uint64_t len, Fn&& fn) {
    const std::uint64_t end = in + len;
    std::uint64_t pos = in;
    while (pos < end) {
      const bool present = bitmap_bit(bits, pos / 512 - first_sector);
      std::uint64_t next = (pos / 512 + 1) * 512;
      while (next < end && bitmap_bit(bits, next / 512 - first_sector) == present) next += 512;
      next = std::min(next, end);
      VDISK_RETURN_IF_ERROR(fn(present, pos, next - pos));
      pos = next;
    }
    return {};
  }

  // The pieces of [offset, offset + length), block by block: an unused block is below, a used
  // one is cut at its bitmap's runs.
  Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const override {
    const std::uint64_t end = offset + length;
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint64_t block = pos / layout_.block_size;
      const std::uint64_t in = pos % layout_.block_size;
      const std::uint64_t n = std::min<std::uint64_t>(end - pos, layout_.block_size - in);
      VDISK_RETURN_IF_ERROR(walk_block(block, in, n, out));
      pos += n;
    }
    return {};
  }

  Status walk_block(std::uint64_t block, std::uint64_t in, std::uint64_t len,
                    PieceSink& out) const {
    const std::uint64_t vbase = block * layout_.block_size;
    if (bat_[block] == kBatUnused)
      return out.emit(Piece{Piece::Kind::below, vbase + in, len, 0, 0});
    std::vector<std::byte> bits;
    std::uint64_t first = 0;
    VDISK_RETURN_IF_ERROR(read_bitmap(block, in, len, bits, first));
    const std::uint64_t data = std::uint64_t{bat_[block]} * 512 + layout_.bitmap_bytes;
    return for_each_run(bits, first, in, len,
                        [&](bool present, std::uint64_t start, std::uint64_t n) -> Status {
                          // A clear bit: zeros in a dynamic disk, the parent's bytes in a
                          // differencing one.
                          const Piece::Kind kind = present   ? Piece::Kind::data
                                                   : parent_ ? Piece::Kind::below
                                                             : Piece::Kind::zero;
                          return out.emit(Piece{kind, vbase + start, n, data + start, 0});
                        });
  }

  Status read_data(std::uint64_t host, std::span<std::byte> dst) const override {
    return file_->read_at(host, dst);
  }

  // Bytes the disk does not store itself: the parent's (differencing) or zeros; unallocated
  // in the map.
  const BlockSource* below() const override { return parent_.get(); }

  std::unique_ptr<RandomAccessFile> file_;
  Footer footer_;
  DynamicHeader header_;
  DynamicLayout layout_;
  std::vector<std::uint32_t> bat_;
  std::unique_ptr<BlockSource> parent_;
  std::vector<ParentLink> chain_;
  std::uint64_t allocated_ = 0;
};

}  // namespace

Result<std::unique_ptr<BlockSource>> open_dynamic(std::unique_ptr<RandomAccessFile> file,
                                                  const std::filesystem::path& path,
                                                  const OpenOptions& options, const Footer& footer,
                                                  bool end_footer) {
  const std::uint64_t file_size = file->size();
  if (footer.data_offset < kFooterSize ||
      !detail::range_inside(footer.data_offset, kDynHeaderSize, file_size))
    return corrupt_at("vhd", "footer", end_footer ? file_size - kFooterSize : 0,
                      fmt::format("data offset expected a {}-byte dynamic header inside [512, "
                                  "{}), found {}",
                                  kDynHeaderSize, file_size, footer.data_offset));
  std::array<std::byte, kDynHeaderSize> raw{};
  VDISK_RETURN_IF_ERROR(file->read_at(footer.data_offset, raw));
  VDISK_ASSIGN_OR_RETURN(DynamicHeader header, decode_dynamic_header(raw, footer.data_offset));
  VDISK_ASSIGN_OR_RETURN(DynamicLayout layout, plan_layout(footer, header, file_size, end_footer));
  // Only the entries covering the disk are read; plan_layout bounded their count.
  std::vector<std::byte> table(static_cast<std::size_t>(layout.used_entries * 4));
  VDISK_RETURN_IF_ERROR(file->read_at(layout.table_offset, table));
  VDISK_ASSIGN_OR_RETURN(std::vector<std::uint32_t> bat, decode_bat(layout, table));

  OpenedParent parent;
  if (footer.disk_type == static_cast<std::uint32_t>(DiskType::differencing)) {
    VDISK_ASSIGN_OR_RETURN(parent, open_parent(*file, path, options, header));
    if (parent.source->size() != layout.virtual_size)
      detail::diagnose(
          options, Diagnostic::Level::note,
          fmt::format("vhd: parent '{}' is {} bytes, the differencing disk {}; "
                      "bytes past the parent's end read as zeros",
                      parent.chain.front().path, parent.source->size(), layout.virtual_size));
  }
  return std::unique_ptr<BlockSource>(new DynamicVhdSource(std::move(file), footer, header, layout,
                                                           std::move(bat), std::move(parent)));
}

}  // namespace vdisk::vhd
