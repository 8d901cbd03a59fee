// A VMDK link opened for reading: its extents in order, its descriptor, and its parent.
#ifndef VDISK_VMDK_VMDK_SOURCE_H_
#define VDISK_VMDK_VMDK_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/vmdk.h"
#include "formats/vmdk/vmdk_extent.h"

namespace vdisk::vmdk {

struct Piece {
  std::uint64_t start = 0;  // virtual byte offset of the extent
  std::unique_ptr<ExtentReader> reader;
  ExtentLine line;          // as described (synthesised for a monolithic sparse file)
};

struct LinkInfo {
  std::optional<Descriptor> descriptor;
  std::optional<SparseHeader> sparse;  // header of the first sparse extent, if any
  bool footer_used = false;
  std::string file;                    // the file the link was opened from
};

class VmdkSource final : public BlockSource {
 public:
  VmdkSource(std::vector<Piece> pieces, LinkInfo info, std::unique_ptr<BlockSource> parent);

  std::uint64_t size() const override { return size_; }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override;
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override;
  std::string_view format() const override { return "vmdk"; }
  void describe(Properties& out) const override;

  // CID from the descriptor, if it has a valid one.
  std::optional<std::uint32_t> cid() const;

 private:
  Status fill_from_parent(std::uint64_t offset, std::span<std::byte> dst) const;
  Status map_parent(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const;

  std::vector<Piece> pieces_;
  LinkInfo info_;
  std::unique_ptr<BlockSource> parent_;
  std::uint64_t size_ = 0;
};

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_SOURCE_H_
