// The OVF XML reader and envelope: namespaces by URI whatever the prefix, entities, capacity
// units, and the refusals (DOCTYPE, depth, malformed markup), plus SHA-1 test vectors.
#include <catch2/catch.hpp>

#include "checksum/sha1.h"
#include "formats/ova/ova_manifest.h"
#include "formats/ova/ovf_envelope.h"
#include "formats/ova/ovf_xml.h"

using namespace vdisk;
using namespace vdisk::ova;

TEST_CASE("ovf xml: prefixes are resolved by namespace URI", "[ova]") {
  const std::string text =
      "<?xml version='1.0'?><!-- c --><e:Envelope xmlns:e='http://schemas.dmtf.org/ovf/envelope/2'"
      " xmlns:x='urn:other'><e:References><e:File e:id='f1' e:href='a&amp;b.vmdk' e:size='10'/>"
      "<x:File e:id='ignored' e:href='x'/></e:References><e:DiskSection><![CDATA[<not markup>]]>"
      "<e:Disk e:diskId='d1' e:fileRef='f1' e:capacity='4' "
      "e:capacityAllocationUnits='byte * 2^30'/></e:DiskSection></e:Envelope>";
  auto env = parse_envelope(text, "t.ovf");
  INFO(env.status().to_string());
  REQUIRE(env.ok());
  CHECK(env->version == "2");
  REQUIRE(env->files.size() == 1);
  CHECK(env->files[0].href == "a&b.vmdk");
  CHECK(env->files[0].size == 10u);
  REQUIRE(env->disks.size() == 1);
  CHECK(env->disks[0].capacity == (4ull << 30));
}

TEST_CASE("ovf xml: refusals", "[ova]") {
  const char* bad[] = {
      "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><Envelope/>",
      "<Envelope><a></b></Envelope>",
      "<Envelope a='1' a='2'/>",
      "<p:Envelope/>",
      "<Envelope>&bogus;</Envelope>",
      "<Envelope>&#0;</Envelope>",
      "<Envelope/><second/>",
      "<Envelope",
      "",
  };
  for (const char* t : bad) {
    auto r = parse_xml(t, "t.ovf");
    INFO(t);
    CHECK(r.status().code() == Errc::corrupt);
    CHECK(r.status().message().rfind("ovf: t.ovf: XML at offset", 0) == 0);
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  auto r = parse_xml(deep, "t.ovf");
  CHECK(r.status().message().find("deeper than 64") != std::string::npos);
  auto not_ovf = parse_envelope("<Envelope xmlns='urn:x'/>", "t.ovf");
  CHECK(not_ovf.status().message().find("expected an OVF Envelope") != std::string::npos);
}

TEST_CASE("ovf: allocation units and format names", "[ova]") {
  CHECK(allocation_unit("byte") == 1u);
  CHECK(allocation_unit("byte * 2^20") == (1ull << 20));
  CHECK(allocation_unit("byte*2^40") == (1ull << 40));
  CHECK_FALSE(allocation_unit("byte * 2^64"));
  CHECK_FALSE(allocation_unit("MegaBytes"));
  CHECK(format_short_name(
            "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized") ==
        "streamOptimized");
}

TEST_CASE("ova manifest: lines and digests", "[ova]") {
  auto m = parse_manifest(
      "SHA1(a.ovf)= A9993E364706816ABA3E25717850C26C9CD0D89D\r\n\n"
      "SHA256 (b.vmdk) = " +
          std::string(64, 'f') + "\n",
      "t.mf");
  REQUIRE(m.ok());
  REQUIRE(m->size() == 2);
  CHECK((*m)[0].digest == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK((*m)[1].name == "b.vmdk");
  CHECK(parse_manifest("SHA256(x)= abc\n", "t.mf").status().code() == Errc::corrupt);
  CHECK(parse_manifest("MD5(x)= " + std::string(32, '0'), "t.mf").status().code() == Errc::corrupt);
  checksum::Sha1 h;
  const std::string abc = "abc";
  h.update(std::as_bytes(std::span(abc)));
  CHECK(h.hex() == "a9993e364706816aba3e25717850c26c9cd0d89d");
  checksum::Sha1 big;
  const std::string a(1000000, 'a');
  big.update(std::as_bytes(std::span(a)));
  CHECK(big.hex() == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}
