// Raw images: the virtual disk's bytes, nothing else.
#ifndef VDISK_RAW_RAW_H_
#define VDISK_RAW_RAW_H_

#include <memory>

#include "vdisk/block.h"
#include "vdisk/io.h"

namespace vdisk::raw {

// A BlockSource over a whole file; holes in the file are reported as unallocated.
std::unique_ptr<BlockSource> open_source(std::unique_ptr<RandomAccessFile> file);

// A StreamSource over a stream whose length is the disk size.
std::unique_ptr<StreamSource> open_stream(std::unique_ptr<InputStream> in);

// A BlockSink writing the bytes as they are; zero runs become holes where `out` allows.
std::unique_ptr<BlockSink> make_sink(std::unique_ptr<ByteSink> out);

}  // namespace vdisk::raw

#endif  // VDISK_RAW_RAW_H_
