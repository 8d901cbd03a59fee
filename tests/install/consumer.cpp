// Converts a small in-memory raw disk to an Azure VHD through the installed library.
#include <cstdio>
#include <vector>

#include <vdisk/vdisk.h>

int main() {
  std::vector<std::byte> disk(3 << 20, std::byte{0x42});
  std::vector<std::byte> out;
  vdisk::ConvertOptions o;
  o.target = "azure";
  auto r =
      vdisk::convert({"<mem>", vdisk::memory_stream(disk)}, {"<mem>", vdisk::memory_sink(&out)}, o);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    return 1;
  }
  std::printf("vdisk %s: %zu bytes\n", vdisk::version(), out.size());
  return out.size() == (20u << 20) + 512 ? 0 : 1;
}
