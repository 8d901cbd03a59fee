// Descriptor parser and serializer.
#include <catch2/catch.hpp>

#include "vdisk/vmdk.h"

using namespace vdisk;
using namespace vdisk::vmdk;

namespace {

const char* kVmware =
    "# Disk DescriptorFile\n"
    "version=1\n"
    "encoding=\"UTF-8\"\n"
    "CID=fffffffe\n"
    "parentCID=ffffffff\n"
    "isNativeSnapshot=\"no\"\n"
    "createType=\"twoGbMaxExtentSparse\"\n"
    "\n"
    "# Extent description\n"
    "RW 4192256 SPARSE \"disk-s001.vmdk\"\n"
    "RW 1000 FLAT \"my disk-flat.vmdk\" 2048\n"
    "RDONLY 64 ZERO\n"
    "NOACCESS 8 VMFSRDM \"rdm.vmdk\" 0 naa.1 dev2\n"
    "\n"
    "# The Disk Data Base\n"
    "#DDB\n"
    "\n"
    "ddb.adapterType = \"lsilogic\"\n"
    "ddb.geometry.cylinders = \"261\"\n"
    "ddb.uuid = \"60 00 C2 9c\"\n"
    "ddb.longContentID = \"1bd5e2bb1fe0dd5f1b8d0e6ffffffffe\"\n";

}  // namespace

TEST_CASE("vmdk: descriptor parses header keys, extents and ddb entries", "[vmdk][descriptor]") {
  auto r = parse_descriptor(kVmware);
  REQUIRE(r.ok());
  const Descriptor& d = *r;
  CHECK(d.lines.size() == 21);
  CHECK(d.get("createType") == "twoGbMaxExtentSparse");
  CHECK(d.get("cid") == "fffffffe");
  CHECK(parse_cid(*d.get("CID")) == 0xfffffffeu);
  CHECK(d.find("CID")->number == 4);
  CHECK_FALSE(d.find("CID")->quoted);
  CHECK(d.find("encoding")->quoted);
  const auto e = d.extents();
  REQUIRE(e.size() == 4);
  CHECK(e[0].access == Access::rw);
  CHECK(e[0].sectors == 4192256);
  CHECK(e[0].type == ExtentType::sparse);
  CHECK(e[0].file == "disk-s001.vmdk");
  CHECK_FALSE(e[0].offset);
  CHECK(e[1].file == "my disk-flat.vmdk");
  CHECK(e[1].offset == 2048u);
  CHECK(e[2].access == Access::rdonly);
  CHECK(e[2].type == ExtentType::zero);
  CHECK_FALSE(e[2].file);
  CHECK(e[3].access == Access::noaccess);
  CHECK(e[3].type == ExtentType::vmfs_rdm);
  CHECK(e[3].extra == std::vector<std::string>{"naa.1", "dev2"});
  const auto ddb = d.ddb();
  REQUIRE(ddb.size() == 4);
  CHECK(ddb[0]->key == "ddb.adapterType");
  CHECK(ddb[0]->value == "lsilogic");
  CHECK(ddb[3]->number == 21);
}

TEST_CASE("vmdk: descriptor parser tolerates CRLF, case, spaces and comments", "[vmdk][descriptor]") {
  auto r = parse_descriptor(
      "\r\n  # comment\r\nVERSION = 1\r\ncreatetype = \"vmfs\"\r\n\t cid=0000abcd  \r\n"
      "rw 100 flat \"a.img\" 0\r\nRdOnly 5 Zero\r\nddb.adapterType=\"ide\"\r\n");
  REQUIRE(r.ok());
  CHECK(r->get("version") == "1");
  CHECK(r->get("createType") == "vmfs");
  CHECK(parse_cid(*r->get("CID")) == 0xabcdu);
  CHECK(r->extents().size() == 2);
  CHECK(r->extents()[0].type == ExtentType::flat);
  CHECK(r->lines[1].kind == DescriptorLine::Kind::comment);
  CHECK(r->lines[1].text == "  # comment");
  CHECK(r->ddb().size() == 1);
}

TEST_CASE("vmdk: descriptor keeps unknown keys in order with line numbers", "[vmdk][descriptor]") {
  auto r = parse_descriptor("version=1\nfoo.bar=\"x\"\ncreateType=\"custom\"\nzzz=1=2\n");
  REQUIRE(r.ok());
  REQUIRE(r->lines.size() == 4);
  CHECK(r->lines[1].key == "foo.bar");
  CHECK(r->lines[1].number == 2);
  CHECK(r->lines[3].key == "zzz");
  CHECK(r->lines[3].value == "1=2");
}

TEST_CASE("vmdk: descriptor parse -> serialize -> parse is identical", "[vmdk][descriptor]") {
  for (const char* text :
       {kVmware, "version = 2\r\n#c\r\n\r\nCID= 1 \nRW 5 FLAT x.img\nddb.a=\"\"\nk=\"a\"b\"\n",
        "", "\n\n", "  \t\n# x\r\r\n"}) {
    auto a = parse_descriptor(text);
    REQUIRE(a.ok());
    const std::string s = serialize_descriptor(*a);
    auto b = parse_descriptor(s);
    REQUIRE(b.ok());
    CHECK(*a == *b);
    CHECK(serialize_descriptor(*b) == s);
  }
  // VMware's own text serializes to itself.
  auto v = parse_descriptor(kVmware);
  REQUIRE(v.ok());
  CHECK(serialize_descriptor(*v) == kVmware);
}

TEST_CASE("vmdk: descriptor syntax errors name the line", "[vmdk][descriptor]") {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"version=1\nthis is not valid\n", "line 2"},
      {"version=1\n\nRW 12x SPARSE \"a\"\n", "line 3: extent size '12x'"},
      {"RW 99999999999999999999999 FLAT \"a\" 0\n", "line 1"},
      {"RW 1 BOGUS \"a\"\n", "unknown extent type 'BOGUS'"},
      {"RW 1 FLAT \"a\n", "no closing quote"},
      {"RW 1 FLAT \"a\" x\n", "offset 'x'"},
      {"k=\"abc\n", "line 1: value of 'k' has no closing quote"},
      {"=5\n", "empty key"},
  };
  for (const Case& c : cases) {
    auto r = parse_descriptor(c.text);
    INFO(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
    CHECK_THAT(r.status().message(), Catch::Contains(c.needle));
  }
}

TEST_CASE("vmdk: descriptor text ends at the first NUL", "[vmdk][descriptor]") {
  std::string t = "version=1\nCID=1\n";
  t += std::string(100, '\0');
  t += "garbage without equals\n";
  auto r = parse_descriptor(t);
  REQUIRE(r.ok());
  CHECK(r->lines.size() == 2);
}

TEST_CASE("vmdk: CID parsing", "[vmdk][descriptor]") {
  CHECK(parse_cid("ffffffff") == 0xffffffffu);
  CHECK(parse_cid("1") == 1u);
  CHECK_FALSE(parse_cid(""));
  CHECK_FALSE(parse_cid("123456789"));
  CHECK_FALSE(parse_cid("xyz"));
}
