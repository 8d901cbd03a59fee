// Fuzz target: the GRUB repack's builders (formats/iso9660/livecd/repack.h, grub_cfg.h, fat_writer.h) over
// arbitrary boot-entry strings, ISO sizes and descriptor bytes, and boot/core/EFI images that
// are the recognised layouts or damaged ones. Whatever the inputs, building either fails with
// one error or gives a disk whose whole range reads and maps without a crash, whose map covers
// it exactly, and whose grub.cfg quoting gives every word back (checked with an sh-style
// unquoter, GRUB's rules for '...' and \).
//
// Input: fields separated by 0x1E (so that fields may hold newlines): kernel, initrds
// (comma-separated), append, label, config_file, volume id, FAT paths for a second, free-form FAT
// volume (';'-separated; a trailing '/' makes a directory), then the rest as parameter bytes (ISO
// blocks, core sectors, EFI size, flags that damage one image or the ISO, timeout).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/fat_writer.h"
#include "formats/iso9660/livecd/grub_cfg.h"
#include "formats/iso9660/livecd/repack.h"
#include "base/endian.h"

namespace {

using namespace vdisk;
using namespace vdisk::livecd;

class BytesSource final : public BlockSource {
 public:
  explicit BytesSource(std::vector<std::byte> b) : b_(std::move(b)) {}
  std::uint64_t size() const override { return b_.size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (offset > b_.size() || dst.size() > b_.size() - offset) return out_of_range("past end");
    if (!dst.empty()) std::memcpy(dst.data(), b_.data() + offset, dst.size());
    return ok_status();
  }
  std::string_view format() const override { return "fuzz"; }

 private:
  std::vector<std::byte> b_;
};

std::vector<std::string_view> split(std::string_view s, char sep, std::size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    const auto at = s.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s = s.substr(at + 1);
  }
  out.push_back(s);
  return out;
}

// sh/GRUB unquoting of one word made of '...' runs and \x escapes and plain characters.
std::string unquote(std::string_view q) {
  std::string out;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i] == '\'') {
      const auto end = q.find('\'', i + 1);
      if (end == std::string_view::npos) std::abort();  // unterminated: the quoting is broken
      out.append(q.substr(i + 1, end - i - 1));
      i = end;
    } else if (q[i] == '\\') {
      if (i + 1 >= q.size()) std::abort();
      out += q[++i];
    } else {
      out += q[i];
    }
  }
  return out;
}

std::uint8_t param(std::string_view p, std::size_t i) {
  return i < p.size() ? static_cast<std::uint8_t>(p[i]) : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto f = split(in, '\x1e', 8);
  f.resize(8);

  BootEntry entry;
  entry.kernel = f[0];
  for (auto i : split(f[1], ',', 80)) {
    if (!i.empty()) entry.initrds.emplace_back(i);
  }
  entry.append = f[2];
  entry.label = f[3];
  entry.config_file = f[4];
  const std::string_view volid = f[5].substr(0, 32);
  const std::string_view p = f[7];
  const std::uint8_t flags = param(p, 4);

  // Quoting round trip and the config writer on their own.
  for (const auto& w : {entry.kernel, entry.append, entry.label}) {
    if (unquote(grub_quote(w)) != w) std::abort();
  }
  GrubConfigOptions go;
  go.timeout_seconds = param(p, 5);
  go.serial_unit = param(p, 6) % 5;  // 4 is out of range
  auto cfg = grub_config(entry, volid, 3, go);
  if (cfg.ok()) {
    // One menu entry and no line an input could have added: every input newline was refused
    // or tamed, so the config has exactly its fixed number of lines.
    std::size_t lines = 0;
    for (char c : *cfg) lines += c == '\n';
    const std::size_t expect = std::size_t{13} + (entry.config_file.empty() ? 0u : 1u) +
                               (volid.empty() ? 0u : 2u) + (entry.initrds.empty() ? 0u : 1u);
    if (lines != expect) std::abort();
  }

  // A free-form FAT volume from the paths.
  {
    std::vector<FatEntry> entries;
    for (auto path : split(f[6], ';', 40)) {
      const bool dir = !path.empty() && path.back() == '/';
      if (dir) path.remove_suffix(1);
      entries.push_back({std::string(path), dir, {}});
      if (!dir) entries.back().data.assign(path.size() * 37, std::byte{0x41});
    }
    FatOptions fo;
    fo.label = std::string(volid.substr(0, 11));
    fo.timestamp = 315532800 + std::int64_t{param(p, 7)} * 100000000;
    auto fat = build_fat32(std::move(entries), fo);
    if (fat.ok()) {
      std::vector<Extent> map;
      fat->image.map(0, fat->image.size(), map);
      std::uint64_t at = 0;
      for (const auto& e : map) {
        if (e.offset != at) std::abort();
        at = e.end();
      }
      if (at != fat->image.size()) std::abort();
    }
  }

  // The images: the recognised layouts, then damaged as the flags say.
  std::vector<std::byte> boot(512);
  const std::uint8_t boot_bytes[][2] = {{0, 0xEB}, {1, 0x63},    {2, 0x90},    {0x5B, 0x80},
                                        {0x5C, 1}, {0x64, 0xFF}, {0x66, 0xEB}, {0x67, 0x05}};
  for (const auto& b : boot_bytes) boot[b[0]] = std::byte{b[1]};
  boot[510] = std::byte{0x55};
  boot[511] = std::byte{0xAA};
  const std::size_t core_sectors = 2 + param(p, 2) * 9u;  // up to 2297: past the 1 MiB limit
  std::vector<std::byte> core(core_sectors * 512 - param(p, 3) % 512);
  detail::store_le64(std::span(core).subspan(0x1F4), 2);
  detail::store_le16(std::span(core).subspan(0x1FC), static_cast<std::uint16_t>(core_sectors - 1));
  detail::store_le16(std::span(core).subspan(0x1FE), 0x0820);
  std::vector<std::byte> efi(256 + std::size_t{param(p, 8)} * 64);
  efi[0] = std::byte{'M'};
  efi[1] = std::byte{'Z'};
  efi[0x3C] = std::byte{0x40};
  std::memcpy(efi.data() + 0x40, "PE\0\0\x64\x86", 6);
  const std::size_t poke = param(p, 9);
  if (flags & 1) boot[poke % boot.size()] ^= std::byte{0x5A};
  if (flags & 2) core[0x1E0 + poke % 32] ^= std::byte{0x01};
  if (flags & 4) efi[poke % 0x48] ^= std::byte{0x10};

  // The ISO: a descriptor at 32 KiB with the fuzzed volume id and creation date.
  const std::size_t blocks = 17 + (param(p, 0) | std::size_t{param(p, 1)} << 8) % 1024;
  std::vector<std::byte> iso(blocks * 2048 + ((flags & 8) ? 100 : 0));
  auto pvd = std::span(iso).subspan(32768, 2048);
  pvd[0] = std::byte{1};
  std::memcpy(pvd.data() + 1, "CD001\x01", 6);
  std::memset(pvd.data() + 40, ' ', 32);
  if (!volid.empty()) std::memcpy(pvd.data() + 40, volid.data(), volid.size());
  detail::store_le32(pvd.subspan(80), static_cast<std::uint32_t>(blocks + ((flags & 16) ? 1 : 0)));
  detail::store_le16(pvd.subspan(128), 2048);
  for (std::size_t i = 0; i < 17; ++i) pvd[813 + i] = std::byte{param(p, 10 + i)};
  const BytesSource source(std::move(iso));

  RepackOptions ro;
  ro.grub = go;
  ro.active_flag = (flags & 32) != 0;
  auto disk = make_repack(source, entry, {boot, core, efi}, ro);
  if (!disk.ok()) return 0;
  const auto& d = **disk;
  if (d.size() % (1u << 20) != 0 || d.layout().iso_size != source.size()) std::abort();
  std::vector<Extent> map;
  if (!d.map(0, d.size(), map).ok()) std::abort();
  std::uint64_t at = 0;
  for (const auto& e : map) {
    if (e.offset != at || e.length == 0) std::abort();
    at = e.end();
  }
  if (at != d.size()) std::abort();
  std::vector<std::byte> buf(4u << 20);
  for (std::uint64_t off = 0; off < d.size(); off += buf.size()) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), d.size() - off));
    if (!d.read(off, std::span(buf).first(n)).ok()) std::abort();
  }
  // The ISO is p3, byte for byte (its last byte and the PVD's identifier).
  std::vector<std::byte> check(6);
  if (!d.read(d.layout().iso_first_lba * 512 + 32769, check).ok() ||
      std::memcmp(check.data(), "CD001", 5) != 0) {
    std::abort();
  }
  return 0;
}
