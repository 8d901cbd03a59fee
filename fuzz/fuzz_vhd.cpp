// Fuzz target: the VHD driver on hostile bytes (footer choice, dynamic header, BAT, bitmaps,
// parent lookup without a path), then map and read window by window, and the stream reader.
#include "source_walk.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "vhd";
  auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
  if (source.ok()) vdisk::fuzz::walk_source(**source);
  auto stream = vdisk::open_image_stream(
      vdisk::memory_stream(std::vector<std::byte>(bytes.begin(), bytes.end())), options);
  if (stream.ok()) {
    std::vector<std::byte> buf(1000);
    for (int i = 0; i < 100000; ++i) {
      auto r = (*stream)->read(buf);
      if (!r.ok() || *r == 0) break;
    }
  }
  return 0;
}
