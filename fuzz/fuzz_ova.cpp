// Fuzz target: OVA/OVF packages on hostile bytes. The bytes are opened as a file (probed, then
// forced to "ova") and read window by window, then as a stream read to its end; the descriptor
// XML reader and the manifest parser get the same bytes as text. Sibling files cannot be opened
// (no path), so a bare descriptor only reaches its refusals.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ova/ova_manifest.h"
#include "ova/ovf_envelope.h"
#include "vdisk/image.h"

namespace {

void read_source(const vdisk::BlockSource& s) {
  (void)vdisk::describe(s);
  const std::uint64_t n = std::min<std::uint64_t>(s.size(), 4 << 20);
  constexpr std::uint64_t kWindow = 64 * 1024;
  std::vector<std::byte> buf(kWindow);
  for (std::uint64_t off = 0; off < n; off += kWindow) {
    const std::uint64_t len = std::min(kWindow, n - off);
    std::vector<vdisk::Extent> map;
    (void)s.map(off, len, map);
    (void)s.read(off, std::span(buf).first(static_cast<std::size_t>(len)));
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
