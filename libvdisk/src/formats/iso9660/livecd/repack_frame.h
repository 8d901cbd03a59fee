// The GRUB repack's generated sectors (repack.h), shared by its two forms: the disk view over
// an ISO file (repack.cpp) and the stream (repack_stream.cpp). The frame is everything that
// depends on the ISO's primary volume descriptor and size only: the MBR, both GPTs, the core
// image and the ESP's place and size. The ESP's content (the FAT with BOOTX64.EFI and a
// grub.cfg made from the ISO's boot entry) is built separately, once the entry is known: from a
// stream that is after the whole ISO has passed, which is why the ESP follows the ISO.
#ifndef VDISK_LIVECD_REPACK_FRAME_H_
#define VDISK_LIVECD_REPACK_FRAME_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/iso9660/livecd/piece_image.h"
#include "formats/iso9660/livecd/repack.h"

namespace vdisk::livecd::repack_detail {

// What the repack takes from the ISO, checked.
struct IsoFacts {
  std::uint64_t size = 0;
  std::string volume_id;                // trailing spaces removed, control characters as '_'
  std::array<std::uint8_t, 32> seed{};  // of every derived identity: the PVD and the size
  std::optional<std::int64_t> created;  // the PVD creation time, when a valid date
};

// `pvd`: the 2048 bytes at offset 32768 of an ISO of `iso_size` bytes. The errors of
// make_repack() about the ISO.
Result<IsoFacts> iso_facts(std::span<const std::byte> pvd, std::uint64_t iso_size);

struct Frame {
  RepackLayout layout;  // all but grub_cfg
  // MBR, primary GPT and core image (before the ISO); backup GPT (after the ESP).
  std::vector<ImagePiece> head, tail;
  std::vector<std::byte> efi_image;  // a copy, for the ESP
};

// Checks the images (make_repack()'s invalid_argument cases) and lays out the disk.
Result<Frame> make_frame(const IsoFacts& iso, const RepackImages& images,
                         const RepackOptions& options);

// The ESP for `entry`: the grub.cfg text (stored into frame.layout.grub_cfg) and the FAT's
// pieces at their disk offsets. Errors: grub_config()'s, a grub.cfg longer than
// kMaxGrubCfgBytes, build_fat32()'s.
Result<std::vector<ImagePiece>> make_esp(Frame& frame, const BootEntry& entry,
                                         const RepackOptions& options);

// p3's unique GUID as text (lower case), from the facts alone.
std::string iso_partuuid(const IsoFacts& iso);

}  // namespace vdisk::livecd::repack_detail

#endif  // VDISK_LIVECD_REPACK_FRAME_H_
