// Hostile VDI images: each broken field gives a one-line error naming the format, structure and
// offset with what was expected and found (corrupt; unsupported for another header version;
// resource_exhausted past the block map cap); damaged files are never read as raw; nothing
// crashes, hangs or allocates without bound.
#include <catch2/catch.hpp>

#include <cstring>

#include "test_support.h"
#include "base/endian.h"
#include "vdi_builder.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::pattern;
using Bytes = std::vector<std::byte>;

namespace {

constexpr std::uint64_t kBs = 4096;

Status open_status(const Bytes& b, std::string format = {}) {
  OpenOptions o;
  o.format = std::move(format);
  auto r = open_image(memory_file(b, "<hostile.vdi>"), {}, o);
  if (!r.ok()) return r.status();
  Bytes all(static_cast<std::size_t>((*r)->size()));
  std::vector<Extent> map;
  VDISK_RETURN_IF_ERROR((*r)->map(0, all.size(), map));
  return (*r)->read(0, all);
}

void expect(const Status& st, Errc code, std::initializer_list<const char*> words) {
  INFO(st.to_string());
  CHECK(st.code() == code);
  CHECK(st.message().find('\n') == std::string::npos);
  CHECK(st.message().rfind("vdi: ", 0) == 0);
  for (const char* w : words) CHECK(st.message().find(w) != std::string::npos);
}

// A dynamic image with blocks 0 and 2 allocated (slots 0 and 1).
test::VdiBuilder two_blocks(test::VdiSpec spec = {}) {
  test::VdiBuilder b(spec);
  b.add_block(0, pattern(kBs, 1));
  b.add_block(2, pattern(kBs, 2));
  return b;
}

Bytes with32(Bytes b, std::size_t off, std::uint32_t v) {
  detail::store_le32(std::span(b).subspan(off), v);
  return b;
}

Bytes with64(Bytes b, std::size_t off, std::uint64_t v) {
  detail::store_le64(std::span(b).subspan(off), v);
  return b;
}

}  // namespace

TEST_CASE("vdi hostile: the unmodified image opens", "[vdi][hostile]") {
  CHECK(open_status(two_blocks().bytes()).ok());
}

TEST_CASE("vdi hostile: truncated headers are corrupt, never raw", "[vdi][hostile]") {
  Bytes b = two_blocks().bytes();
  b.resize(0x100);
  expect(open_status(b), Errc::corrupt, {"header at offset 0", "at least 456 bytes, found 256"});
  b.resize(0x46);
  expect(open_status(b), Errc::corrupt, {"at least 72 bytes, found 70"});
  b.resize(0x30);  // no signature left: only a forced open says vdi
  expect(open_status(b, "vdi"), Errc::corrupt, {"at least 68 bytes, found 48"});
  test::VdiSpec plus;
  plus.header_size = 0x190;
  b = two_blocks(plus).bytes();
  b.resize(0x1D0);
  expect(open_status(b), Errc::corrupt, {"at least 472 bytes, found 464"});
}

TEST_CASE("vdi hostile: signature and version", "[vdi][hostile]") {
  const Bytes b = two_blocks().bytes();
  expect(open_status(with32(b, 0x40, 0xBEDA1070), "vdi"), Errc::corrupt,
         {"header at offset 64", "signature expected 0xbeda107f, found 0xbeda1070"});
  // Without -f the file is raw: no signature, no claim.
  CHECK(open_status(with32(b, 0x40, 0)).ok());
  expect(open_status(with32(b, 0x44, 0x00010000)), Errc::unsupported,
         {"header at offset 68", "version 1.0 is not supported", "VBoxManage clonemedium"});
  expect(open_status(with32(b, 0x44, 0x00000001)), Errc::unsupported, {"version 0.1"});
}

TEST_CASE("vdi hostile: header size, type, flags and geometry", "[vdi][hostile]") {
  const Bytes b = two_blocks().bytes();
  expect(open_status(with32(b, 0x48, 0x17F)), Errc::corrupt,
         {"header at offset 72", "header size expected at least 384", "found 383"});
  for (std::uint32_t t : {0u, 5u})
    expect(
        open_status(with32(b, 0x4C, t)), Errc::corrupt,
        {"header at offset 76", "image type expected 1 (dynamic)", t == 0 ? "found 0" : "found 5"});
  expect(open_status(with32(b, 0x50, 0x1)), Errc::corrupt,
         {"header at offset 80", "flags expected within 0x00030100, found 0x00000001"});
  CHECK(open_status(with32(b, 0x50, 0x100)).ok());  // zero-expand is known
  expect(open_status(with32(b, 0x168, 4096)), Errc::corrupt,
         {"header at offset 360", "legacy geometry sector size expected 512, found 4096"});
  test::VdiSpec plus;
  plus.header_size = 0x190;
  expect(open_status(with32(two_blocks(plus).bytes(), 0x1D4, 0)), Errc::corrupt,
         {"header at offset 468", "LCHS geometry sector size expected 512, found 0"});
}

TEST_CASE("vdi hostile: block size, extra data and counts", "[vdi][hostile]") {
  const Bytes b = two_blocks().bytes();
  for (std::uint32_t bs : {0u, 3000u, 256u, 512u << 20})
    expect(open_status(with32(b, 0x178, bs)), Errc::corrupt,
           {"header at offset 376", "block size expected a power of two from 512 to 268435456",
            ("found " + std::to_string(bs)).c_str()});
  expect(open_status(with32(b, 0x17C, 3)), Errc::corrupt,
         {"header at offset 380", "block extra data expected 0 or a power of two, found 3"});
  expect(open_status(with32(b, 0x180, 0xFFFFFFF0)), Errc::resource_exhausted,
         {"header at offset 384", "4294967280 blocks exceed"});
  expect(open_status(with64(b, 0x170, 8 * kBs + 1)), Errc::corrupt,
         {"header at offset 368", "disk size expected at most 8 blocks x 4096 bytes = 32768",
          "found 32769"});
  expect(open_status(with32(b, 0x184, 9)), Errc::corrupt,
         {"header at offset 388", "blocks allocated expected at most the 8 blocks", "found 9"});
}

TEST_CASE("vdi hostile: block map and data offsets", "[vdi][hostile]") {
  const Bytes b = two_blocks().bytes();
  expect(open_status(with32(b, 0x154, 0x201)), Errc::corrupt,
         {"header at offset 340", "block map offset expected a multiple of 512",
          "after the header's end 456, found 513"});
  expect(open_status(with32(b, 0x154, 0)), Errc::corrupt, {"found 0"});
  expect(open_status(with32(b, 0x154, 0x7FFFFE00)), Errc::corrupt,
         {"block map of 8 entries at 2147483136 expected inside the", "truncated"});
  expect(open_status(with32(b, 0x158, 0x401)), Errc::corrupt,
         {"header at offset 344", "data offset expected a multiple of 512",
          "block map's end 544, found 1025"});
  expect(open_status(with32(b, 0x158, 0x200)), Errc::corrupt, {"found 512"});
  // A map that ends past the file: many blocks, a file that stops after the header.
  test::VdiSpec big;
  big.disk_size = 4096 * kBs;
  Bytes cut = test::VdiBuilder(big).bytes();
  cut.resize(0x400);
  expect(open_status(cut), Errc::corrupt, {"block map of 4096 entries at 512", "1024-byte file"});
}

TEST_CASE("vdi hostile: UUIDs", "[vdi][hostile]") {
  Bytes b = two_blocks().bytes();
  Bytes nil = b;
  std::memset(nil.data() + 0x188, 0, 16);
  expect(open_status(nil), Errc::corrupt,
         {"header at offset 392", "image UUID expected non-nil, found the nil UUID"});
  nil = b;
  std::memset(nil.data() + 0x198, 0, 16);
  expect(open_status(nil), Errc::corrupt,
         {"header at offset 408", "last modification UUID expected non-nil"});
  test::VdiSpec diff;
  diff.type = 4;
  expect(open_status(test::VdiBuilder(diff).bytes()), Errc::corrupt,
         {"header at offset 424", "parent UUID of a differencing image expected non-nil"});
}

TEST_CASE("vdi hostile: block map entries", "[vdi][hostile]") {
  test::VdiBuilder b = two_blocks();
  const Bytes img = b.bytes();
  expect(open_status(with32(img, b.entry_offset(5), 2)), Errc::corrupt,
         {"block map at offset 532", "entry 5: block slot expected below the 2 allocated blocks",
          "found 2"});
  expect(open_status(with32(img, b.entry_offset(5), 0xFFFFFFFD)), Errc::corrupt,
         {"entry 5", "found 4294967293"});
  expect(open_status(with32(img, b.entry_offset(7), 1)), Errc::corrupt,
         {"block map at offset 540", "entry 7: block slot 1 expected to be used once",
          "also in entry 2"});
  Bytes cut = img;
  cut.resize(cut.size() - 1);  // the last slot (block 2) loses a byte
  expect(open_status(cut), Errc::corrupt,
         {"block map at offset 520", "entry 2: block slot 1 (4096 bytes at file offset 5120)",
          "inside the 9215-byte file (truncated?)"});
  // A slot the header counts as allocated but no entry uses may lie past the end.
  CHECK(open_status(with32(img, 0x184, 3)).ok());
}

TEST_CASE("vdi hostile: a damaged VDI is the vdi driver's error, never raw", "[vdi][hostile]") {
  const Bytes bad = with32(two_blocks().bytes(), 0x4C, 9);
  auto id = identify(*memory_file(bad));
  REQUIRE(id.ok());
  CHECK(id->format == "vdi");
  expect(open_status(bad), Errc::corrupt, {"image type"});
}
