// Hostile OVA packages: every broken rule is a one-line error naming the format and what broke,
// from a file and from a stream; nothing crashes or reads out of bounds.
#include <catch2/catch.hpp>

#include "ova_builder.h"
#include "test_support.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::Bytes;
using vdisk::test::OvaDisk;
using vdisk::test::OvaSpec;
using vdisk::test::pattern;

namespace {

OvaSpec one_disk(std::size_t n = 4096) {
  OvaSpec spec;
  OvaDisk d;
  d.data = pattern(n, 9);
  spec.disks.push_back(d);
  return spec;
}

Status file_status(const Bytes& ova, const OpenOptions& o = {}) {
  auto src = open_image(memory_file(ova, "<h.ova>"), {}, o);
  return src.ok() ? Status() : src.status();
}

Status stream_status(const Bytes& ova, const OpenOptions& o = {}) {
  auto s = open_image_stream(memory_stream(ova, "<stdin>"), o);
  if (!s.ok()) return s.status();
  std::vector<std::byte> buf(65536);
  for (;;) {
    auto n = (*s)->read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return {};
  }
}

void expect(const Status& st, Errc code, const char* word) {
  INFO(st.to_string());
  CHECK(st.code() == code);
  CHECK(st.message().find('\n') == std::string::npos);
  CHECK(st.message().find(word) != std::string::npos);
}

OpenOptions forced() {
  OpenOptions o;
  o.format = "ova";
  return o;
}

}  // namespace

TEST_CASE("ova hostile: tar members whose sizes lie", "[ova]") {
  Bytes ova = test::make_ova(one_disk(100000));
  Bytes cut(ova.begin(), ova.begin() + 60000);
  expect(file_status(cut), Errc::corrupt, "runs past the end of the archive");
  expect(stream_status(cut), Errc::corrupt, "the archive ends");
  OvaSpec lie = one_disk();
  lie.disks[0].stated_size = 5000;
  expect(file_status(test::make_ova(lie)), Errc::corrupt, "ovf:size is 5000");
  expect(stream_status(test::make_ova(lie)), Errc::corrupt, "ovf:size is 5000");
}

TEST_CASE("ova hostile: a bad checksum on a member header", "[ova]") {
  Bytes ova = test::make_ova(one_disk());
  // The second header follows the descriptor's data.
  const std::size_t ovf = test::ovf_text(one_disk()).size();
  const std::size_t second = 512 + (ovf + 511) / 512 * 512;
  ova[second + 10] = std::byte{'Z'};
  expect(file_status(ova), Errc::corrupt, "checksum expected");
  expect(stream_status(ova), Errc::corrupt, "checksum expected");
}

TEST_CASE("ova hostile: descriptors that are not OVF XML", "[ova]") {
  const char* texts[] = {
      "not xml at all",
      ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
       "'&lol;&lol;&lol;'>]><Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1'/>"),
      "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1'><References>",
  };
  for (const char* t : texts) {
    OvaSpec spec = one_disk();
    spec.ovf_override = t;
    const Bytes ova = test::make_ova(spec);
    INFO(t);
    // Probed: recognised as an OVA and refused as before (not an Envelope the reader opens).
    CHECK_FALSE(file_status(ova).ok());
    expect(file_status(ova, forced()), Errc::corrupt, "ovf: vm.ovf: XML at offset");
  }
  std::string deep = "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1'>";
  for (int i = 0; i < 200; ++i) deep += "<a>";
  OvaSpec spec = one_disk();
  spec.ovf_override = deep;
  expect(file_status(test::make_ova(spec)), Errc::corrupt, "deeper than 64");
  expect(stream_status(test::make_ova(spec)), Errc::corrupt, "deeper than 64");
}

TEST_CASE("ova hostile: hrefs outside the package, missing files, bad indexes", "[ova]") {
  for (const char* href : {"../disk.img", "/etc/passwd", "C:\\disk.img", "sub/../../disk.img",
                           "http://example.com/d.vmdk"}) {
    OvaSpec spec = one_disk();
    spec.disks[0].href = href;
    const Bytes ova = test::make_ova(spec);
    INFO(href);
    // Leaving the package is invalid input (corrupt: vdconvert exit 2); a URL is unsupported.
    const Errc want =
        std::string_view(href).starts_with("http") ? Errc::unsupported : Errc::corrupt;
    CHECK(file_status(ova).code() == want);
    CHECK(file_status(ova).message().find("ova: ") == 0);
    CHECK(stream_status(ova).code() == want);
  }
  OvaSpec spec = one_disk();
  auto files = test::ova_files(spec);
  files.pop_back();  // the disk
  const Bytes missing = test::make_tar(files);
  expect(file_status(missing), Errc::corrupt, "is not in the archive");
  expect(stream_status(missing), Errc::corrupt, "is not in the archive");
  OpenOptions o;
  o.disk_index = 1;
  expect(file_status(test::make_ova(one_disk()), o), Errc::invalid_argument, "there is no disk 2");
  expect(stream_status(test::make_ova(one_disk()), o), Errc::invalid_argument,
         "there is no disk 2");
}

TEST_CASE("ova hostile: a disk without a file and an OVA inside an OVA", "[ova]") {
  OvaSpec spec = one_disk();
  spec.ovf_override =
      "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1' "
      "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'><DiskSection><Disk ovf:diskId='d' "
      "ovf:capacity='1024'/></DiskSection></Envelope>";
  expect(file_status(test::make_ova(spec)), Errc::unsupported, "has no file");
  OvaSpec outer = one_disk();
  outer.disks[0].data = test::make_ova(one_disk());
  expect(file_status(test::make_ova(outer)), Errc::unsupported, "inside an OVA");
  expect(stream_status(test::make_ova(outer)), Errc::unsupported, "inside an OVA");
}
