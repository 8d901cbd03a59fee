// RandomAccessFile views over an ISO file's content: plain (possibly multi-extent) files and
// zisofs-compressed files (multi-extent: ECMA-119 §9.1.6, file flags; zisofs: libisofs's
// doc/zisofs_format.txt).
#ifndef VDISK_ISO9660_FILE_VIEWS_H_
#define VDISK_ISO9660_FILE_VIEWS_H_

#include <memory>
#include <string>
#include <vector>

#include "vdisk/io.h"
#include "vdisk/iso9660.h"

namespace vdisk::iso9660::detail {

// The concatenation of `extents` of `image` (each inside the image; the caller checked).
std::unique_ptr<RandomAccessFile> extent_view(std::shared_ptr<const RandomAccessFile> image,
                                              std::vector<DataExtent> extents, std::string name);

// A decompressing view over zisofs data `stored` whose Rock Ridge ZF entry states `size` bytes
// and block size 2^log2. Checks the header, block size (2^15..2^17) and the block pointer table
// (monotonic, inside the stored data, each block bounded).
Result<std::unique_ptr<RandomAccessFile>> zisofs_view(std::unique_ptr<RandomAccessFile> stored,
                                                      std::uint64_t size, std::uint8_t log2,
                                                      std::string name);

inline constexpr std::byte kZisofsMagic[8] = {std::byte{0x37}, std::byte{0xE4}, std::byte{0x53},
                                              std::byte{0x96}, std::byte{0xC9}, std::byte{0xDB},
                                              std::byte{0xD6}, std::byte{0x07}};

}  // namespace vdisk::iso9660::detail

#endif  // VDISK_ISO9660_FILE_VIEWS_H_
