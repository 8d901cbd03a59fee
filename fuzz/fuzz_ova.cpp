// Fuzz target: OVA/OVF packages on hostile bytes. The bytes are opened as a file (probed, then
// forced to "ova") and read window by window, then as a stream read to its end; the descriptor
// XML reader and the manifest parser get the same bytes as text. Sibling files cannot be opened
// (no path), so a bare descriptor only reaches its refusals.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "formats/ova/ova_manifest.h"
#include "formats/ova/ovf_envelope.h"
#include "vdisk/image.h"

namespace {

// Reads what the map calls data in the first 4 MiB, at most 64 KiB per read.
void read_source(const vdisk::BlockSource& s) {
  (void)vdisk::describe(s);
  std::vector<vdisk::Extent> map;
  if (!s.map(0, std::min<std::uint64_t>(s.size(), 4 << 20), map).ok()) return;
  std::vector<std::byte> buf(64 * 1024);
  for (const vdisk::Extent& e : map) {
    if (e.reads_as_zero()) continue;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(e.length, buf.size()));
    (void)s.read(e.offset, std::span(buf).first(n));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)vdisk::ova::parse_envelope(text, "<fuzz.ovf>");
  (void)vdisk::ova::parse_manifest(text, "<fuzz.mf>");
  for (const char* format : {"", "ova"}) {
    vdisk::OpenOptions options;
    options.format = format;
    auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
    if (source.ok()) read_source(**source);
  }
  vdisk::OpenOptions options;
  options.format = "ova";
  auto stream = vdisk::open_image_stream(
      vdisk::memory_stream(std::vector<std::byte>(bytes.begin(), bytes.end())), options);
  if (!stream.ok()) return 0;
  std::vector<std::byte> buf(64 * 1024);
  for (int i = 0; i < 4096; ++i) {
    auto n = (*stream)->read(buf);
    if (!n.ok() || *n == 0) break;
  }
  return 0;
}
