// Hostile inputs: every damaged structure is reported as an error, never a crash or a hang.
#include <catch2/catch.hpp>

#include <cstring>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"
#include "formats/vmdk/vmdk_format.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;
using vdisk::test::TempDir;
using vdisk::test::write_file;

namespace {

constexpr std::uint64_t kG = 64 * 1024;

// Opens and reads everything; returns the first error (ok when all succeeded).
Status open_and_read(std::vector<std::byte> bytes) {
  OpenOptions o;
  o.format = "vmdk";
  auto r = open_image(memory_file(std::move(bytes)), {}, o);
  if (!r.ok()) return r.status();
  std::vector<Extent> m;
  VDISK_RETURN_IF_ERROR((*r)->map(0, (*r)->size(), m));
  std::vector<std::byte> buf(static_cast<std::size_t>((*r)->size()));
  return (*r)->read(0, buf);
}

std::vector<std::byte> sparse() {
  SparseBuild b;
  b.content = pattern(4 * kG, 9);
  return build_sparse(b);
}

std::vector<std::byte> stream(bool vmware) {
  StreamBuild b;
  b.content = pattern(4 * kG + 1536, 9);
  b.vmware_layout = vmware;
  return build_stream(b);
}

void set_header_u64(std::vector<std::byte>& f, std::size_t off, std::uint64_t v) {
  detail::store_le64(std::span(f).subspan(off), v);
}

}  // namespace

TEST_CASE("vmdk: truncated images are corrupt at every cut", "[vmdk][hostile]") {
  for (auto full : {sparse(), stream(true), stream(false)}) {
    for (std::size_t cut : {std::size_t{0}, std::size_t{100}, std::size_t{512}, std::size_t{11000},
                            full.size() / 2, full.size() - 600, full.size() - 513}) {
      auto f = full;
      f.resize(cut);
      INFO(cut);
      const Status s = open_and_read(f);
      CHECK_FALSE(s.ok());
    }
  }
}

TEST_CASE("vmdk: grain directory past the end of the file", "[vmdk][hostile]") {
  auto f = sparse();
  set_header_u64(f, kOffGdOffset, 1u << 30);
  const Status s = open_and_read(f);
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("grain directory"));
}

TEST_CASE("vmdk: grain table and grain entries past the end of the file", "[vmdk][hostile]") {
  auto f = sparse();
  detail::store_le32(std::span(f).subspan(kBuiltGdSector * 512), 0x7fffffff);
  Status s = open_and_read(f);
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("grain table"));
  f = sparse();
  const std::uint64_t gt = (kBuiltGdSector + 1) * 512;  // one GD sector, then the GT
  detail::store_le32(std::span(f).subspan(gt + 4), 0x7fffff00);
  s = open_and_read(f);
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("past the end"));
}

TEST_CASE("vmdk: grain size 0, huge, and numGTEsPerGT huge are refused", "[vmdk][hostile]") {
  for (std::uint64_t gs : {std::uint64_t{0}, std::uint64_t{1} << 40}) {
    auto f = sparse();
    set_header_u64(f, kOffGrainSize, gs);
    CHECK(open_and_read(f).code() == Errc::corrupt);
  }
  auto f = sparse();
  detail::store_le32(std::span(f).subspan(kOffNumGtesPerGt), 0x40000000);
  CHECK(open_and_read(f).code() == Errc::corrupt);
  // Tiny tables and grains over a huge capacity: the directory would be enormous.
  f = sparse();
  set_header_u64(f, kOffGrainSize, 1);
  detail::store_le32(std::span(f).subspan(kOffNumGtesPerGt), 1);
  set_header_u64(f, kOffCapacity, kMaxCapacitySectors);
  CHECK(open_and_read(f).code() == Errc::resource_exhausted);
}

TEST_CASE("vmdk: grain marker with a huge size or a wrong LBA", "[vmdk][hostile]") {
  auto f = stream(true);
  const std::size_t first_marker = 128 * 512;
  detail::store_le32(std::span(f).subspan(first_marker + 8), 0xffffffffu);
  Status s = open_and_read(f);
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("compressed size"));
  f = stream(true);
  detail::store_le64(std::span(f).subspan(first_marker), 128 * 7);
  s = open_and_read(f);
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("LBA"));
}

TEST_CASE("vmdk: a compressed grain that inflates past a whole grain is corrupt",
          "[vmdk][hostile]") {
  // The last (partial) grain may inflate up to a whole grain (vmdk_last_grain_test.cpp): shrinking
  // the capacity by one sector only drops a sector. Past a whole grain it is corrupt.
  auto f = stream(false);
  const std::uint64_t cap = detail::load_le64(std::span<const std::byte>(f).subspan(kOffCapacity));
  set_header_u64(f, kOffCapacity, cap - 1);
  CHECK(open_and_read(f).ok());
  StreamBuild b;
  b.content = pattern(4 * kG + 1536, 9);
  b.vmware_layout = false;
  b.last_grain_bytes = kG + 512;
  const Status s = open_and_read(build_stream(b));
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("inflates to more"));
}

TEST_CASE("vmdk: damaged footer of a GD_AT_END stream", "[vmdk][hostile]") {
  auto f = stream(true);
  f[f.size() - 1024] = std::byte{0};  // footer magic
  CHECK(open_and_read(f).code() == Errc::corrupt);
  f = stream(true);
  f.resize(f.size() - 512);  // no EOS
  CHECK(open_and_read(f).code() == Errc::corrupt);
}

TEST_CASE("vmdk: descriptor extent sizes that overflow", "[vmdk][hostile]") {
  TempDir dir;
  write_file(dir / "f.img", pattern(512, 1));
  for (std::string ext :
       {"RW 18446744073709551615 ZERO\n", "RW 36028797018963968 ZERO\nRW 36028797018963968 ZERO\n",
        "RW 1 FLAT \"f.img\" 18446744073709551615\n", "RW 2 FLAT \"f.img\" 0\n"}) {
    const std::string d = "version=1\ncreateType=\"custom\"\n" + ext;
    write_file(dir / "d.vmdk", std::as_bytes(std::span(d)));
    auto r = open_image(dir / "d.vmdk");
    INFO(ext);
    CHECK(r.status().code() == Errc::corrupt);
  }
  const std::string none = "version=1\ncreateType=\"custom\"\n";
  write_file(dir / "d.vmdk", std::as_bytes(std::span(none)));
  CHECK(open_image(dir / "d.vmdk").status().code() == Errc::corrupt);
}

TEST_CASE("vmdk: snapshot chain loops are detected", "[vmdk][hostile][chain]") {
  TempDir dir;
  write_file(dir / "f.img", pattern(512, 1));
  auto desc = [](const char* parent) {
    return std::string(
               "version=1\nCID=1\nparentCID=1\ncreateType=\"monolithicFlat\"\n"
               "parentFileNameHint=\"") +
           parent + "\"\nRW 1 FLAT \"f.img\" 0\n";
  };
  const std::string a = desc("b.vmdk"), b = desc("./a.vmdk"), self = desc("s.vmdk");
  write_file(dir / "a.vmdk", std::as_bytes(std::span(a)));
  write_file(dir / "b.vmdk", std::as_bytes(std::span(b)));
  auto r = open_image(dir / "a.vmdk");
  CHECK(r.status().code() == Errc::corrupt);
  CHECK_THAT(r.status().message(), Catch::Contains("loops"));
  write_file(dir / "s.vmdk", std::as_bytes(std::span(self)));
  CHECK(open_image(dir / "s.vmdk").status().code() == Errc::corrupt);
}

TEST_CASE("vmdk: extents of the wrong kind and NOACCESS are reported", "[vmdk][hostile]") {
  TempDir dir;
  write_file(dir / "f.img", pattern(512, 1));
  std::string d = "version=1\ncreateType=\"seSparse\"\nRW 1 SESPARSE \"f.img\"\n";
  write_file(dir / "d.vmdk", std::as_bytes(std::span(d)));
  CHECK(open_image(dir / "d.vmdk").status().code() == Errc::corrupt);  // not a SESparse file
  d = "version=1\ncreateType=\"vmfsSparse\"\nRW 1 VMFSSPARSE \"f.img\"\n";
  write_file(dir / "d.vmdk", std::as_bytes(std::span(d)));
  CHECK(open_image(dir / "d.vmdk").status().code() == Errc::corrupt);  // not a COWD file
  d = "version=1\ncreateType=\"custom\"\nNOACCESS 1 FLAT \"f.img\" 0\n";
  write_file(dir / "d.vmdk", std::as_bytes(std::span(d)));
  auto r = open_image(dir / "d.vmdk");
  REQUIRE(r.ok());
  std::vector<std::byte> buf(512);
  CHECK((*r)->read(0, buf).code() == Errc::unsupported);
}
