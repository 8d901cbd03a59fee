// check --for qcow2 (qcow2_check.cpp through check_image): qemu-img-made images pass
// every rule; damaged ones fail the rule they break, naming the offset.
#include <catch2/catch.hpp>

#include "vdisk/check.h"

#include <fmt/format.h>

#include "base/endian.h"
#include "formats/qcow2/qcow2_check.h"
#include "qcow2_builder.h"
#include "test_support.h"

using namespace vdisk;
using vdisk::test::run;
using Bytes = std::vector<std::byte>;

namespace {

const CheckItem* find(const CheckReport& r, std::string_view id) {
  for (const CheckItem& i : r.items)
    if (i.id == id) return &i;
  return nullptr;
}

void make(const test::TempDir& dir, const std::string& name, const std::string& options,
          const std::string& writes) {
  REQUIRE(run(fmt::format("cd '{}' && qemu-img create -q -f qcow2 -o {} {} 4M && qemu-io -f "
                          "qcow2 {} {} > /dev/null",
                          dir.path().string(), options, name, writes, name)) == 0);
}

}  // namespace

TEST_CASE("qcow2 check: qemu-img images pass every rule", "[qcow2][check][qemu]") {
  test::TempDir dir;
  const std::string writes =
      "-c 'write -P 1 0 64k' -c 'write -z 1M 64k' -c 'write -P 2 3M 4k' -c 'write -P 3 5k 512'";
  for (const std::string opts :
       {"compat=0.10", "compat=1.1,cluster_size=512", "extended_l2=on,cluster_size=128k",
        "refcount_bits=1", "refcount_bits=64,cluster_size=4k", "lazy_refcounts=on"}) {
    make(dir, "a.qcow2", opts, writes);
    auto r = check_image(dir / "a.qcow2", "qcow2");
    REQUIRE(r.ok());
    INFO(opts << ": " << r->to_properties().to_text());
    CHECK(r->passed());
    CHECK(r->items.size() == 6);
  }
  REQUIRE(run(fmt::format("cd '{}' && head -c 3000000 /dev/urandom > r.raw && qemu-img convert -c "
                          "-O qcow2 -o compression_type=zstd r.raw z.qcow2",
                          dir.path().string())) == 0);
  auto z = check_image(dir / "z.qcow2", "qcow2");
  REQUIRE(z.ok());
  INFO(z->to_properties().to_text());
  CHECK(z->passed());
}

TEST_CASE("qcow2 check: damage fails the rule it breaks", "[qcow2][check][qemu]") {
  test::TempDir dir;
  make(dir, "a.qcow2", "cluster_size=64k", "-c 'write -P 1 0 128k'");
  Bytes img = test::read_file(dir / "a.qcow2");
  // Where qemu-img 7.2 put the metadata of the image made above (the REQUIRE below checks the L1
  // offset of this very file): refcount table 0x10000, refcount block 0x20000,
  // L1 0x30000, L2 0x40000, data from 0x50000.
  REQUIRE(detail::load_be64(std::span(img).subspan(40)) == 0x30000);
  Bytes overlap = img;  // guest cluster 1 now points at the L1 table
  detail::store_be64(std::span(overlap).subspan(0x40008), 0x30000 | (1ull << 63));
  auto r = qcow2::check_qcow2_file(*memory_file(overlap), "overlap");
  REQUIRE(find(r, "qcow2.overlap"));
  CHECK_FALSE(find(r, "qcow2.overlap")->passed);
  CHECK(find(r, "qcow2.overlap")->detail.find("0x30000") != std::string::npos);

  Bytes zero = img;  // the refcount block says nothing is used
  std::fill(zero.begin() + 0x20000, zero.begin() + 0x30000, std::byte{0});
  r = qcow2::check_qcow2_file(*memory_file(zero), "zero");
  REQUIRE(find(r, "qcow2.refcount_zero"));
  CHECK_FALSE(find(r, "qcow2.refcount_zero")->passed);

  Bytes past = img;  // guest cluster 2 points past the end
  detail::store_be64(std::span(past).subspan(0x40010), (1ull << 40) | (1ull << 63));
  r = qcow2::check_qcow2_file(*memory_file(past), "past");
  REQUIRE(find(r, "qcow2.l2_entries"));
  CHECK_FALSE(find(r, "qcow2.l2_entries")->passed);
  CHECK(find(r, "qcow2.l2_entries")->detail.find("past the end") != std::string::npos);

  Bytes l1 = img;  // L1 past the end: only the header and L1 items
  detail::store_be64(std::span(l1).subspan(0x30000), (1ull << 40) | (1ull << 63));
  r = qcow2::check_qcow2_file(*memory_file(l1), "l1");
  CHECK_FALSE(r.passed());
  REQUIRE(find(r, "qcow2.l1_table"));
  CHECK_FALSE(find(r, "qcow2.l1_table")->passed);

  // A builder image has no refcount table at all.
  test::Qcow2Builder b(test::Qcow2Spec{});
  b.add_data(0, Bytes(4096, std::byte{1}));
  r = qcow2::check_qcow2_file(*memory_file(b.bytes()), "builder");
  CHECK_FALSE(find(r, "qcow2.tables")->passed);
}
