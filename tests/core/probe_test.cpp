// Probing: every signature is recognised before anything else; formats libvdisk does not read
// are refused (unsupported) naming what they are, damaged headers of a known signature are
// corrupt, raw is what is left, `format` forces a driver with a note, a fixed VHD on a stream
// is found by its footer, and the destination is checked before the input is read.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"
#include "formats/vhd/vhd_footer.h"

using namespace vdisk;
using vdisk::test::TempDir;

namespace {

using Bytes = std::vector<std::byte>;

Bytes text(std::string_view s, std::size_t size = 0) {
  Bytes b(std::max(size, s.size()));
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

Status open_status(const Bytes& b, OpenOptions o = {}) {
  return open_image(memory_file(b), {}, o).status();
}

Result<Identification> id_of(const Bytes& b) { return identify(*memory_file(b)); }

Bytes qcow2_header(std::uint32_t version, std::uint64_t size, std::uint32_t cluster_bits = 16) {
  Bytes b(512);
  std::memcpy(b.data(), "QFI\xfb", 4);
  detail::store_be<std::uint32_t>(std::span(b).subspan(4), version);
  detail::store_be<std::uint32_t>(std::span(b).subspan(20), cluster_bits);
  detail::store_be<std::uint64_t>(std::span(b).subspan(24), size);
  detail::store_be<std::uint32_t>(std::span(b).subspan(100), 112);
  return b;
}

// A whole, empty qcow2 image of `size` bytes (64 KiB clusters): header, and one zeroed L1
// table at 64 KiB (enough for up to 512 MiB).
Bytes qcow2_image(std::uint32_t version, std::uint64_t size) {
  Bytes b = qcow2_header(version, size);
  b.resize(128 * 1024);
  detail::store_be<std::uint32_t>(std::span(b).subspan(36), 1);          // l1_size
  detail::store_be<std::uint64_t>(std::span(b).subspan(40), 64 * 1024);  // l1_table_offset
  return b;
}

Bytes gzip_of(const Bytes& data) { return test::zlib_compress(data, 16 + MAX_WBITS); }

// One ustar member header (checksum filled in) followed by `size` bytes of zeros, padded.
Bytes tar_member(std::string_view name, std::size_t size) {
  Bytes h(512);
  std::memcpy(h.data(), name.data(), name.size());
  std::snprintf(reinterpret_cast<char*>(h.data() + 100), 8, "%07o", 0644);
  std::snprintf(reinterpret_cast<char*>(h.data() + 124), 12, "%011zo", size);
  h[156] = std::byte{'0'};
  std::memcpy(h.data() + 257,
              "ustar\0"
              "00",
              8);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (std::byte c : h) sum += std::to_integer<unsigned>(c);
  std::snprintf(reinterpret_cast<char*>(h.data() + 148), 8, "%06o", sum);
  h.resize(512 + (size + 511) / 512 * 512);
  return h;
}

}  // namespace

TEST_CASE("probe: qcow2 v2 and v3 are read, qcow (v1) is recognised and refused", "[probe]") {
  for (std::uint32_t version : {2u, 3u}) {
    const auto b = qcow2_image(version, 10u << 20);
    auto id = id_of(b);
    REQUIRE(id.ok());
    CHECK(id->format == "qcow2");
    CHECK(id->readable);
    CHECK(*probe_format(*memory_file(b)) == "qcow2");
    auto src = open_image(memory_file(b), {}, {});
    REQUIRE(src.ok());
    CHECK((*src)->format() == "qcow2");
    CHECK((*src)->size() == (10u << 20));
  }
  // qcow (v1) keeps cluster_bits and l2_bits in bytes 32 and 33 (qemu's block/qcow.c layout).
  auto v1 = qcow2_header(1, 1 << 20);
  v1[32] = std::byte{12};
  v1[33] = std::byte{9};
  CHECK(id_of(v1)->format == "qcow");
  CHECK_FALSE(id_of(v1)->readable);
  const Status s = open_status(v1);
  CHECK(s.code() == Errc::unsupported);
  CHECK(s.message().find("qcow: QEMU copy-on-write image (version 1") == 0);
  CHECK(s.message().find("qemu-img convert -O raw") != std::string::npos);
}

TEST_CASE("probe: damaged qcow2 headers are corrupt, not raw", "[probe]") {
  auto b = qcow2_header(3, 1 << 20);
  b.resize(50);
  CHECK(open_status(b).code() == Errc::corrupt);
  CHECK(open_status(qcow2_header(3, 1 << 20, 40)).code() == Errc::corrupt);  // cluster_bits 40
  CHECK(open_status(qcow2_header(9, 1 << 20)).code() == Errc::corrupt);      // version 9
  // qcow (v1) keeps cluster_bits and l2_bits in bytes 32 and 33 (qemu's block/qcow.c layout).
  auto v1 = qcow2_header(1, 1 << 20);
  v1[32] = std::byte{12};
  v1[33] = std::byte{9};
  CHECK(id_of(v1)->format == "qcow");
}

TEST_CASE("probe: compressed files name their tool", "[probe]") {
  const struct {
    std::string_view magic, format, tool;
  } cases[] = {
      {std::string_view("\xfd"
                        "7zXZ\0",
                        6),
       "xz", "xz -dc"},
      {"\x28\xb5\x2f\xfd", "zstd", "zstd -dc"},
      {"\x04\x22\x4d\x18", "lz4", "lz4 -dc"},
      {"BZh91AY&SY", "bzip2", "bzip2 -dc"},
  };
  for (const auto& c : cases) {
    INFO(c.format);
    const Status s = open_status(text(c.magic, 4096));
    CHECK(s.code() == Errc::unsupported);
    CHECK(s.message().find(std::string(c.format) + ":") == 0);
    CHECK(s.message().find(c.tool) != std::string::npos);
  }
  // "BZh" without the block magic is not bzip2: raw.
  CHECK(*probe_format(*memory_file(text("BZh9hello", 4096))) == "raw");
}

TEST_CASE("probe: gzip, a gzip'd tar and a GCP tarball are told apart", "[probe]") {
  CHECK(id_of(gzip_of(Bytes(100000)))->format == "gzip");
  Bytes tar = tar_member("disk.raw", 1 << 20);
  tar.resize(tar.size() + 1024);
  auto gcp = id_of(gzip_of(tar));
  CHECK(gcp->format == "gcp-tarball");
  CHECK(gcp->virtual_size == (1u << 20));
  Bytes other = tar_member("notes.txt", 10);
  other.resize(other.size() + 1024);
  CHECK(id_of(gzip_of(other))->format == "tar");
  Bytes truncated = gzip_of(Bytes(100));
  truncated.resize(6);
  CHECK(open_status(truncated).code() == Errc::corrupt);
}

TEST_CASE("probe: an OVA names its disk, a plain tar its members", "[probe]") {
  Bytes ova = tar_member("vm.ovf", 700);
  const Bytes disk = tar_member("vm-disk1.vmdk", 2048);
  ova.insert(ova.end(), disk.begin(), disk.end());
  ova.resize(ova.size() + 1024);
  auto id = id_of(ova);
  REQUIRE(id.ok());
  CHECK(id->format == "ova");
  CHECK(id->advice.find("tar -xf SRC vm-disk1.vmdk") != std::string::npos);
  CHECK(id->status.code() == Errc::unsupported);
  Bytes bad = tar_member("x.img", 10);
  bad[148] = std::byte{'7'};  // checksum no longer matches, magic still there
  CHECK(open_status(bad).code() == Errc::corrupt);
}

TEST_CASE("probe: the other disk formats", "[probe]") {
  Bytes vdi(512);
  std::memcpy(vdi.data(), "<<< QEMU VM Virtual Disk Image >>>\n", 35);
  detail::store_le<std::uint32_t>(std::span(vdi).subspan(0x40), 0xBEDA107F);
  detail::store_le<std::uint32_t>(std::span(vdi).subspan(0x44), 0x00010001);
  detail::store_le<std::uint32_t>(std::span(vdi).subspan(0x4C), 1);
  detail::store_le<std::uint64_t>(std::span(vdi).subspan(0x170), 5ull << 20);
  detail::store_le<std::uint32_t>(std::span(vdi).subspan(0x178), 1 << 20);
  auto v = id_of(vdi);  // read by the vdi driver (tests/vdi), which reports damage itself
  CHECK(v->format == "vdi");
  CHECK(v->readable);
  detail::store_le<std::uint32_t>(std::span(vdi).subspan(0x4C), 9);
  CHECK(open_status(vdi).code() == Errc::corrupt);

  Bytes qed = text(std::string_view("QED\0", 4), 512);
  detail::store_le<std::uint32_t>(std::span(qed).subspan(4), 65536);
  detail::store_le<std::uint32_t>(std::span(qed).subspan(8), 4);
  detail::store_le<std::uint64_t>(std::span(qed).subspan(48), 3ull << 30);
  CHECK(id_of(qed)->virtual_size == (3ull << 30));
  detail::store_le<std::uint32_t>(std::span(qed).subspan(4), 3);  // not a power of two
  CHECK(open_status(qed).code() == Errc::corrupt);

  CHECK(id_of(text("vhdxfile", 1 << 20))->format == "vhdx");
  CHECK(open_status(text("vhdxfile", 4096)).code() == Errc::corrupt);  // no room for headers

  Bytes prl = text("WithoutFreeSpace", 512);
  detail::store_le<std::uint32_t>(std::span(prl).subspan(16), 2);
  detail::store_le<std::uint32_t>(std::span(prl).subspan(28), 2048);
  detail::store_le<std::uint64_t>(std::span(prl).subspan(36), 4096);
  CHECK(id_of(prl)->virtual_size == 4096u * 512);

  Bytes dmg(8192);
  std::memcpy(dmg.data() + dmg.size() - 512, "koly", 4);
  detail::store_be<std::uint32_t>(std::span(dmg).subspan(dmg.size() - 512 + 8), 512);
  CHECK(id_of(dmg)->format == "dmg");
  CHECK(id_of(text("LUKS\xba\xbe\0\x02", 4096))->format == "luks");
  CHECK(id_of(text("Bochs Virtual HD Image", 512))->format == "bochs");
}

TEST_CASE("probe: damaged signatures of readable formats are never raw", "[probe]") {
  // A VMDK cut inside its sparse header, a VHD footer copy cut short.
  CHECK(open_status(text("KDMV", 300)).code() == Errc::corrupt);
  CHECK(open_status(text("conectix", 300)).code() == Errc::corrupt);
  CHECK(*probe_format(*memory_file(text("KDMV", 300))) == "vmdk");
}

TEST_CASE("probe: raw is what is left, a named format reads anything with a note", "[probe]") {
  Bytes mbr(4096);
  mbr[510] = std::byte{0x55};
  mbr[511] = std::byte{0xaa};
  CHECK(*probe_format(*memory_file(mbr)) == "raw");
  CHECK(open_status(mbr).ok());
  std::vector<std::string> notes;
  OpenOptions o;
  o.format = "raw";
  o.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
  auto src = open_image(memory_file(qcow2_header(2, 1 << 20)), {}, o);
  REQUIRE(src.ok());
  CHECK((*src)->size() == 512);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("qcow2 signature") != std::string::npos);
  notes.clear();
  REQUIRE(open_image(memory_file(mbr), {}, o).ok());
  CHECK(notes.empty());
}

TEST_CASE("probe: streams get the same probe, a fixed VHD is found by its footer", "[probe]") {
  const Status qs = open_image_stream(memory_stream(qcow2_image(3, 1 << 20))).status();
  CHECK(qs.code() == Errc::unsupported);
  CHECK(qs.message().find("qcow2: this format cannot be read from a stream (it needs random "
                          "access)") == 0);
  CHECK(open_image_stream(memory_stream(gzip_of(Bytes(5000)))).status().code() ==
        Errc::unsupported);

  // 3000 bytes of data + a fixed footer for 3000 bytes: the stream yields the 3000 bytes, in
  // reads of any size.
  Bytes data = vdisk::test::pattern(3000, 7);
  vhd::Footer f;
  f.current_size = f.original_size = data.size();
  f.disk_type = static_cast<std::uint32_t>(vhd::DiskType::fixed);
  Bytes image = data;
  const auto footer = vhd::encode_footer(f);
  image.insert(image.end(), footer.begin(), footer.end());
  for (std::size_t chunk :
       {std::size_t{100}, std::size_t{512}, std::size_t{1000}, std::size_t{4096}}) {
    INFO(chunk);
    auto s = open_image_stream(memory_stream(image));
    REQUIRE(s.ok());
    Bytes got, buf(chunk);
    for (;;) {
      auto n = (*s)->read(buf);
      REQUIRE(n.ok());
      if (*n == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    CHECK(got == data);
    CHECK((*s)->format() == "vhd");
  }
  // The same bytes with a wrong current size are a raw disk, every byte kept.
  f.current_size = 2999;
  Bytes raw = data;
  const auto wrong = vhd::encode_footer(f);
  raw.insert(raw.end(), wrong.begin(), wrong.end());
  auto s = open_image_stream(memory_stream(raw));
  REQUIRE(s.ok());
  Bytes got(8192);
  auto n = (*s)->read(got);
  REQUIRE(n.ok());
  CHECK(*n == raw.size());
  CHECK((*s)->format() == "raw");
  // Shorter than a footer: raw.
  auto tiny = open_image_stream(memory_stream(Bytes(100, std::byte{1})));
  REQUIRE(tiny.ok());
  CHECK(*(*tiny)->read(got) == 100);
}

TEST_CASE("convert: the destination is checked before the input is read", "[probe][convert]") {
  TempDir dir;
  const auto missing = dir.path() / "no-such-input";
  ConvertOptions o;
  o.target = "raw";
  int notes = 0;
  o.open.on_diagnostic = [&](const Diagnostic&) { ++notes; };
  // The input does not even exist: each destination error comes first.
  test::write_file(dir.path() / "exists.raw", Bytes(10));
  CHECK(convert({missing}, {dir.path() / "exists.raw"}, o).status().code() == Errc::already_exists);
  CHECK(convert({missing}, {dir.path()}, o).status().code() == Errc::invalid_argument);
  CHECK(convert({missing}, {dir.path() / "nodir" / "x.raw"}, o).status().code() == Errc::not_found);
  o.target = "gcp";
  CHECK(convert({missing}, {dir.path() / "x.tgz"}, o).status().code() == Errc::invalid_argument);
  CHECK(convert({missing}, {dir.path() / "x.tar.gz"}, o).status().code() == Errc::not_found);
  CHECK(notes == 0);
  FileSinkOptions fo;
  fo.overwrite = true;
  CHECK(check_output_path(dir.path() / "exists.raw", fo).ok());
}
