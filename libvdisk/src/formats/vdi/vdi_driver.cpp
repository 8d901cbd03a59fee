// VDI input driver: probing, opening (header, block map) and the driver's registration. Reading
// is vdi_source.cpp's.
//
// Any file with the VDI signature at 0x40 is claimed with kCertain, so a damaged header gets this
// driver's precise error (the vdi recogniser in signatures/ steps aside). Differencing and undo
// images are refused: VirtualBox records their parent only in the VM's .vbox file, never in the VDI
// (docs/vdi.md, "Differencing and undo images"). VDI needs random access (the block map may send
// any block anywhere): there is no stream reader, so the registry refuses stdin with "vdi: this
// format cannot be read from a stream (it needs random access)".
#include <algorithm>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "base/endian.h"
#include "formats/vdi/vdi_format.h"

namespace vdisk::vdi {
namespace {

int probe(const detail::ProbeData& d) {
  return d.head.size() >= 0x44 && detail::load_le32(d.head.subspan(0x40)) == kSignature
             ? detail::kCertain
             : 0;
}

Status refuse_child(const Header& h) {
  return unsupported(fmt::format(
      "vdi: {} image (parent UUID {}): VirtualBox records its parent only in the VM's .vbox "
      "file, so it cannot be found from the VDI; flatten it with its parents first (VBoxManage "
      "clonemedium disk SRC merged.vdi) and convert merged.vdi",
      h.type == ImageType::undo ? "an undo" : "a differencing", uuid_string(h.uuid_linkage)));
}

void notes(const Header& h, const OpenOptions& o) {
  if (h.disk_size != h.virtual_size())
    detail::diagnose(o, Diagnostic::Level::note,
                     fmt::format("vdi: disk size {} is not a multiple of 512; read as {} bytes, "
                                 "as qemu reads it",
                                 h.disk_size, h.virtual_size()));
  if (!is_nil(h.uuid_linkage))
    detail::diagnose(o, Diagnostic::Level::warning,
                     fmt::format("vdi: the {} image records a parent UUID {}; VirtualBox reads "
                                 "it as a standalone image and so does libvdisk (qemu refuses it)",
                                 type_name(h.type), uuid_string(h.uuid_linkage)));
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path&,
                                          const OpenOptions& options) {
  std::vector<std::byte> head(
      static_cast<std::size_t>(std::min<std::uint64_t>(file->size(), kHeaderReadBytes)));
  VDISK_RETURN_IF_ERROR(file->read_at(0, head));
  VDISK_ASSIGN_OR_RETURN(Header h, decode_header(head, file->size()));
  if (h.type == ImageType::differencing || h.type == ImageType::undo) return refuse_child(h);
  VDISK_ASSIGN_OR_RETURN(std::vector<std::uint32_t> map, read_block_map(*file, h));
  notes(h, options);
  return make_source(std::move(file), std::move(h), std::move(map));
}

}  // namespace
}  // namespace vdisk::vdi

namespace vdisk::detail {
const FormatDriver& vdi_driver() {
  static constexpr FormatDriver kDriver{"vdi", &vdi::probe, &vdi::open, nullptr};
  return kDriver;
}
}  // namespace vdisk::detail
