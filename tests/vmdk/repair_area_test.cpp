// The descriptor area of real files: in-place repair changes only the area (size, content and
// every other byte kept), the backup holds the original, copies differ only in the area, and
// hostile headers are refused before anything is written.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "repair_samples.h"
#include "test_support.h"
#include "vdisk/image.h"
#include "vdisk/vmdk_repair.h"
#include "formats/vmdk/vmdk_format.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk;
using namespace vdisk::vmdk::test;
using vdisk::test::TempDir;

namespace {

constexpr std::size_t kDisk = 3u << 20;

std::vector<std::byte> content() {
  std::vector<std::byte> c = vdisk::test::pattern(kDisk, 7);
  std::fill(c.begin() + (1 << 20), c.begin() + (2 << 20), std::byte{0});  // a hole
  return c;
}

std::vector<std::byte> virtual_disk(const std::filesystem::path& p) {
  auto src = open_image(p);
  REQUIRE(src.ok());
  std::vector<std::byte> out((*src)->size());
  REQUIRE((*src)->read(0, out).ok());
  return out;
}

std::string extent_line(const std::string& file) {
  return "RW " + std::to_string(kDisk / 512) + " SPARSE \"" + file + "\"";
}

void check_only_area_changed(const std::vector<std::byte>& a, const std::vector<std::byte>& b,
                             std::size_t off, std::size_t len) {
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), off) == 0);
  CHECK(std::memcmp(a.data() + off + len, b.data() + off + len, a.size() - off - len) == 0);
}

std::vector<std::byte> sparse_with(const std::string& descriptor) {
  SparseBuild b;
  b.content = content();
  b.descriptor = descriptor;
  return build_sparse(b);
}

std::vector<std::byte> stream_with(const std::string& descriptor) {
  StreamBuild b;
  b.content = content();
  b.descriptor = descriptor;
  return build_stream(b);
}

}  // namespace

TEST_CASE("area: in-place MVMC repair of sparse and stream images", "[vmdk][repair][area]") {
  TempDir dir;
  const auto p = dir / "disk.vmdk";
  struct Case {
    std::string name;
    std::vector<std::byte> image;
  };
  const std::vector<Case> cases = {
      {"vmware sparse ti=0", sparse_with(vmware_descriptor("0", "monolithicSparse", extent_line("disk.vmdk")))},
      {"vmware stream ti=1", stream_with(vmware_descriptor("1", "streamOptimized", extent_line("disk.vmdk")))},
      {"kiwi sparse ti=2", sparse_with(kiwi_descriptor("2"))},
      {"kiwi stream ti=4", stream_with(kiwi_descriptor("4"))},
      {"virtualbox sparse", sparse_with(kVirtualBoxDescriptor)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    vdisk::test::write_file(p, c.image);
    const auto before_disk = virtual_disk(p);
    auto area = read_descriptor_area(p);
    REQUIRE(area.ok());
    CHECK(area->embedded);
    CHECK(area->offset == 512);
    CHECK(area->size == 20 * 512);
    RepairOptions o;
    o.consumers = kMvmc;
    o.area_bytes = area->size;
    auto plan = plan_repair(area->text(), o);
    REQUIRE(plan.ok());
    REQUIRE_FALSE(plan->edits.empty());
    auto backup = write_descriptor_in_place(p, *area, plan->text, {});
    REQUIRE(backup.ok());
    const auto after = vdisk::test::read_file(p);
    check_only_area_changed(c.image, after, 512, 10240);
    // The area holds the new text, NUL-padded to its full size.
    CHECK(std::memcmp(after.data() + 512, plan->text.data(), plan->text.size()) == 0);
    for (std::size_t i = 512 + plan->text.size(); i < 512 + 10240; ++i)
      REQUIRE(after[i] == std::byte{0});
    CHECK(virtual_disk(p) == before_disk);
    // The backup holds the original area, byte for byte.
    const auto saved = vdisk::test::read_file(*backup);
    CHECK(saved == std::vector<std::byte>(c.image.begin() + 512, c.image.begin() + 512 + 10240));
    std::filesystem::remove(*backup);
    // Nothing left for MVMC.
    auto again = read_descriptor_area(p);
    REQUIRE(again.ok());
    LintOptions lo;
    auto findings = lint_descriptor_text(again->text(), lo);
    REQUIRE(findings.ok());
    for (const auto& f : *findings) CHECK((f.consumers & kMvmc) == 0);
  }
}

TEST_CASE("area: a second backup does not overwrite the first", "[vmdk][repair][area]") {
  TempDir dir;
  const auto p = dir / "d.vmdk";
  vdisk::test::write_file(p, sparse_with(kiwi_descriptor("1")));
  auto area = read_descriptor_area(p);
  REQUIRE(area.ok());
  auto b1 = write_descriptor_in_place(p, *area, std::string(kQemuMonolithicSparse), {});
  REQUIRE(b1.ok());
  auto area2 = read_descriptor_area(p);
  REQUIRE(area2.ok());
  auto b2 = write_descriptor_in_place(p, *area2, kiwi_descriptor("1"), {});
  REQUIRE(b2.ok());
  CHECK(*b1 != *b2);
  CHECK(std::filesystem::exists(*b1));
  // No backup asked: none made.
  auto area3 = read_descriptor_area(p);
  REQUIRE(area3.ok());
  WriteDescriptorOptions wo;
  wo.backup = false;
  auto b3 = write_descriptor_in_place(p, *area3, std::string(kQemuMonolithicSparse), wo);
  REQUIRE(b3.ok());
  CHECK(b3->empty());
}

TEST_CASE("area: a changed file is not written", "[vmdk][repair][area]") {
  TempDir dir;
  const auto p = dir / "d.vmdk";
  auto image = sparse_with(kiwi_descriptor("1"));
  vdisk::test::write_file(p, image);
  auto area = read_descriptor_area(p);
  REQUIRE(area.ok());
  image[600] = std::byte{'X'};  // someone else edits the descriptor
  vdisk::test::write_file(p, image);
  auto r = write_descriptor_in_place(p, *area, std::string(kQemuMonolithicSparse), {});
  REQUIRE_FALSE(r.ok());
  CHECK(vdisk::test::read_file(p) == image);
  CHECK_FALSE(std::filesystem::exists(dir / "d.vmdk.descriptor-backup"));
}

TEST_CASE("area: text that does not fit or parse is refused", "[vmdk][repair][area]") {
  TempDir dir;
  const auto p = dir / "d.vmdk";
  const auto image = sparse_with(kiwi_descriptor("1"));
  vdisk::test::write_file(p, image);
  auto area = read_descriptor_area(p);
  REQUIRE(area.ok());
  std::string big = kQemuMonolithicSparse;
  while (big.size() <= 10240) big += "# padding comment line to overflow the area\n";
  for (const std::string& bad : {big, std::string("version=1\nthis is not a descriptor\n"),
                                 std::string("version=1\n\0x", 12)}) {
    auto r = write_descriptor_in_place(p, *area, bad, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
  }
  CHECK(vdisk::test::read_file(p) == image);
  // Exactly full is fine.
  std::string full = kQemuMonolithicSparse;
  full += "#";
  full.append(10240 - full.size() - 1, 'x');
  full += "\n";
  REQUIRE(full.size() == 10240);
  REQUIRE(write_descriptor_in_place(p, *area, full, {}).ok());
  auto again = read_descriptor_area(p);
  REQUIRE(again.ok());
  CHECK(again->text() == full);
}

TEST_CASE("area: hostile descriptor offsets and sizes", "[vmdk][repair][area]") {
  TempDir dir;
  const auto p = dir / "d.vmdk";
  const auto good = sparse_with(kiwi_descriptor("1"));
  auto with = [&](std::uint64_t off, std::uint64_t size, std::uint64_t overhead = 0) {
    auto img = good;
    auto h = decode_sparse_header(std::span<const std::byte>(img).first(512), 0);
    REQUIRE(h.ok());
    h->descriptor_offset = off;
    h->descriptor_size = size;
    if (overhead) h->overhead = overhead;
    encode_sparse_header(*h, std::span<std::byte>(img).first(512));
    vdisk::test::write_file(p, img);
    return read_descriptor_area(p);
  };
  CHECK(with(1, 20).ok());
  CHECK(with(0, 20).status().code() == Errc::unsupported);
  CHECK(with(1, 0).status().code() == Errc::corrupt);
  CHECK(with(1, ~0ull).status().code() == Errc::corrupt);
  CHECK(with(~0ull - 3, 20).status().code() == Errc::corrupt);
  CHECK(with(good.size() / 512 - 2, 20).status().code() == Errc::corrupt);
  auto overlap = with(1, 25);  // runs into the grain directory at sector 21
  REQUIRE_FALSE(overlap.ok());
  CHECK(overlap.status().message().find("grain directory") != std::string::npos);
  auto grains = with(1, 20, 16);
  REQUIRE_FALSE(grains.ok());
  CHECK(grains.status().message().find("overHead") != std::string::npos);
}

TEST_CASE("area: text descriptors of split and flat disks", "[vmdk][repair][area]") {
  TempDir dir;
  const auto p = dir / "disk.vmdk";
  const std::string text = vmware_descriptor(
      "2", "twoGbMaxExtentFlat", "RW 4096 FLAT \"disk-f001.vmdk\" 0\nRW 2048 FLAT \"disk-f002.vmdk\" 0");
  vdisk::test::write_file(dir / "disk-f001.vmdk", vdisk::test::pattern(4096 * 512, 1));
  vdisk::test::write_file(dir / "disk-f002.vmdk", vdisk::test::pattern(2048 * 512, 2));
  vdisk::test::write_file(p, vdisk::test::bytes_of(text));
  const auto before_disk = virtual_disk(p);
  auto area = read_descriptor_area(p);
  REQUIRE(area.ok());
  CHECK_FALSE(area->embedded);
  RepairOptions o;
  o.standalone = true;
  auto plan = plan_repair(area->text(), o);
  REQUIRE(plan.ok());
  auto backup = write_descriptor_in_place(p, *area, plan->text, {});
  REQUIRE(backup.ok());
  CHECK(vdisk::test::read_file(*backup) == vdisk::test::bytes_of(text));
  CHECK(virtual_disk(p) == before_disk);
  const auto now = vdisk::test::read_file(p);
  CHECK(std::string(reinterpret_cast<const char*>(now.data()), now.size()) == plan->text);

  // A NUL-padded text descriptor (qemu-img pads them to 512 bytes) keeps its size.
  {
    auto padded = vdisk::test::bytes_of(kiwi_descriptor("1"));
    padded.resize(1024, std::byte{0});
    vdisk::test::write_file(dir / "padded.vmdk", padded);
    auto pa = read_descriptor_area(dir / "padded.vmdk");
    REQUIRE(pa.ok());
    CHECK(pa->text() == kiwi_descriptor("1"));
    RepairOptions mo;
    mo.consumers = kMvmc;
    mo.standalone = true;
    auto pp = plan_repair(pa->text(), mo);
    REQUIRE(pp.ok());
    REQUIRE(write_descriptor_in_place(dir / "padded.vmdk", *pa, pp->text, {}).ok());
    const auto after = vdisk::test::read_file(dir / "padded.vmdk");
    REQUIRE(after.size() == 1024);
    CHECK(std::string(reinterpret_cast<const char*>(after.data())) == pp->text);
    auto junk = padded;
    junk[1000] = std::byte{'x'};
    vdisk::test::write_file(dir / "junk.vmdk", junk);
    CHECK(read_descriptor_area(dir / "junk.vmdk").status().code() == Errc::invalid_argument);
  }

  // Not descriptors.
  vdisk::test::write_file(dir / "raw.img", vdisk::test::pattern(4096, 3));
  CHECK(read_descriptor_area(dir / "raw.img").status().code() == Errc::invalid_argument);
  vdisk::test::write_file(dir / "big.txt", std::vector<std::byte>((2u << 20), std::byte{'#'}));
  CHECK(read_descriptor_area(dir / "big.txt").status().code() == Errc::invalid_argument);
  vdisk::test::write_file(dir / "notes.txt", vdisk::test::bytes_of("# just a comment\n"));
  CHECK(read_descriptor_area(dir / "notes.txt").status().code() == Errc::invalid_argument);
}

TEST_CASE("area: a repaired copy differs only in the area", "[vmdk][repair][area]") {
  TempDir dir;
  const auto src = dir / "in.vmdk";
  const auto dst = dir / "out.vmdk";
  const auto image = stream_with(vmware_descriptor("4", "streamOptimized", extent_line("in.vmdk")));
  vdisk::test::write_file(src, image);
  auto area = read_descriptor_area(src);
  REQUIRE(area.ok());
  RepairOptions o;
  o.area_bytes = area->size;
  auto plan = plan_repair(area->text(), o);
  REQUIRE(plan.ok());
  REQUIRE(write_descriptor_copy(src, *area, plan->text, dst, false).ok());
  CHECK(vdisk::test::read_file(src) == image);
  check_only_area_changed(image, vdisk::test::read_file(dst), 512, 10240);
  CHECK(virtual_disk(dst) == virtual_disk(src));
  // DST exists: refused without overwrite; SRC as DST refused.
  CHECK(write_descriptor_copy(src, *area, plan->text, dst, false).code() == Errc::already_exists);
  CHECK(write_descriptor_copy(src, *area, plan->text, src, true).code() == Errc::invalid_argument);
}
