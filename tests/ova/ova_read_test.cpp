// OVA packages read from memory files and streams: the chosen disk's bytes come out exactly
// (raw images inside the package, so the expected bytes are the ones that went in), with and
// without manifests (SHA-1, SHA-256, before and after the disk), chunked and gzip'd files, and
// `info`'s facts.
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

OvaDisk disk(std::string href, std::size_t n, std::uint32_t seed) {
  OvaDisk d;
  d.href = std::move(href);
  d.data = pattern(n, seed);
  return d;
}

Result<Bytes> read_file_mode(const Bytes& ova, const OpenOptions& o = {}) {
  VDISK_ASSIGN_OR_RETURN(auto src, open_image(memory_file(ova, "<t.ova>"), {}, o));
  if ((*src).format() != "ova") return internal_error("not read as ova");
  Bytes out(static_cast<std::size_t>(src->size()));
  VDISK_RETURN_IF_ERROR(src->read(0, out));
  return out;
}

Result<Bytes> read_stream_mode(const Bytes& ova, const OpenOptions& o = {}) {
  VDISK_ASSIGN_OR_RETURN(auto s, open_image_stream(memory_stream(ova, "<stdin>"), o));
  if (s->format() != "ova") return internal_error("not read as ova");
  Bytes out;
  std::vector<std::byte> buf(100000);
  for (;;) {
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, s->read(buf));
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

void expect_both(const Bytes& ova, const Bytes& want, const OpenOptions& o = {}) {
  auto f = read_file_mode(ova, o);
  INFO(f.status().to_string());
  REQUIRE(f.ok());
  CHECK(*f == want);
  auto s = read_stream_mode(ova, o);
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  CHECK(*s == want);
}

}  // namespace

TEST_CASE("ova: one disk, no manifest, file and stream", "[ova]") {
  OvaSpec spec;
  spec.disks.push_back(disk("disk1.img", 300000, 1));
  expect_both(test::make_ova(spec), spec.disks[0].data);
}

TEST_CASE("ova: manifests with SHA-1 and SHA-256, before and after the disk", "[ova]") {
  for (const char* alg : {"SHA1", "SHA256"})
    for (bool last : {false, true}) {
      OvaSpec spec;
      spec.manifest = alg;
      spec.manifest_last = last;
      spec.disks.push_back(disk("disk1.img", 70000, 2));
      INFO(alg << " last=" << last);
      expect_both(test::make_ova(spec), spec.disks[0].data);
    }
}

TEST_CASE("ova: --disk picks the second disk, info lists both", "[ova]") {
  OvaSpec spec;
  spec.manifest = "SHA256";
  spec.disks.push_back(disk("a.img", 5000, 3));
  spec.disks.push_back(disk("b.img", 9000, 4));
  const Bytes ova = test::make_ova(spec);
  OpenOptions o;
  o.disk_index = 1;
  expect_both(ova, spec.disks[1].data, o);
  auto src = open_image(memory_file(ova), {}, o);
  REQUIRE(src.ok());
  const Properties p = describe(**src);
  const std::string json = p.to_json();
  INFO(json);
  CHECK(p.get("disk") == "2");
  CHECK(json.find("\"file\": \"b.img\"") != std::string::npos);
  CHECK(json.find("\"verified\": true") != std::string::npos);
  CHECK(json.find("\"capacity\": 9000") != std::string::npos);
}

TEST_CASE("ova: chunked and gzip'd files", "[ova]") {
  OvaSpec spec;
  spec.manifest = "SHA256";
  OvaDisk d = disk("disk1.img", 250000, 5);
  d.chunk = 100000;
  spec.disks.push_back(d);
  expect_both(test::make_ova(spec), d.data);

  OvaSpec gz;
  gz.manifest = "SHA1";
  OvaDisk g = disk("disk1.img", 200000, 6);
  const Bytes plain = g.data;
  g.data = test::gzip_bytes(plain);
  g.gzip = true;
  g.chunk = 40000;
  gz.disks.push_back(g);
  const Bytes ova = test::make_ova(gz);
  auto s = read_stream_mode(ova);
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  CHECK(*s == plain);
  // In place too: inflated once, then read through restart points.
  auto f = read_file_mode(ova);
  INFO(f.status().to_string());
  REQUIRE(f.ok());
  CHECK(*f == plain);
  // Not chunked, and a gzip'd file that is corrupt.
  g.chunk.reset();
  gz.disks = {g};
  expect_both(test::make_ova(gz), plain);
  g.data[g.data.size() / 2] ^= std::byte{0x55};
  gz.disks = {g};
  gz.manifest.clear();
  const Bytes bad = test::make_ova(gz);
  CHECK(read_file_mode(bad).status().code() == Errc::corrupt);
  CHECK(read_stream_mode(bad).status().code() == Errc::corrupt);
}

TEST_CASE("ova: a manifest mismatch fails both ways unless verification is off", "[ova]") {
  for (bool last : {false, true}) {
    OvaSpec spec;
    spec.manifest = "SHA256";
    spec.manifest_last = last;
    spec.corrupt_digest = true;
    spec.disks.push_back(disk("disk1.img", 20000, 7));
    const Bytes ova = test::make_ova(spec);
    auto f = read_file_mode(ova);
    CHECK(f.status().code() == Errc::corrupt);
    CHECK(f.status().message().find("disk1.img does not match manifest vm.mf: SHA256 expected") !=
          std::string::npos);
    auto s = read_stream_mode(ova);
    CHECK(s.status().code() == Errc::corrupt);
    CHECK(s.status().message().find("does not match manifest") != std::string::npos);
    OpenOptions o;
    o.verify_manifest = false;
    expect_both(ova, spec.disks[0].data, o);
  }
}

namespace {

// The package's files with `extra` manifest lines appended to its manifest.
std::vector<std::pair<std::string, Bytes>> with_extra_entries(const OvaSpec& spec,
                                                              const std::string& extra) {
  auto files = test::ova_files(spec);
  for (auto& [name, data] : files)
    if (name == spec.name + ".mf") {
      const Bytes more = test::bytes_of(extra);
      data.insert(data.end(), more.begin(), more.end());
    }
  return files;
}

std::vector<std::string> warnings_of(const std::vector<Diagnostic>& d) {
  std::vector<std::string> out;
  for (const Diagnostic& x : d)
    if (x.level == Diagnostic::Level::warning) out.push_back(x.message);
  return out;
}

}  // namespace

// A manifest that lists a file the package does not hold cannot be fully checked: the entries
// are named (info's manifest.unchecked, one warning each) and verified is false, while the
// files that are there are still checked and a mismatch still fails.
TEST_CASE("ova: manifest entries for files the package does not hold are named and not verified",
          "[ova]") {
  const std::string gone = "SHA256(disk2.img)= " + std::string(64, 'a') +
                           "\nSHA256(notes.txt)= " + std::string(64, 'b') + "\n";
  for (bool last : {false, true}) {
    INFO("manifest last: " << last);
    OvaSpec spec;
    spec.manifest = "SHA256";
    spec.manifest_last = last;
    spec.disks.push_back(disk("disk1.img", 30000, 8));
    const Bytes ova = test::make_tar(with_extra_entries(spec, gone));
    std::vector<Diagnostic> seen;
    OpenOptions o;
    o.on_diagnostic = [&seen](const Diagnostic& d) { seen.push_back(d); };

    auto src = open_image(memory_file(ova, "<t.ova>"), {}, o);
    INFO(src.status().to_string());
    REQUIRE(src.ok());
    const Properties p = describe(**src);
    const Properties* m = p.get_object("manifest");
    REQUIRE(m != nullptr);
    CHECK(m->get("verified") == "false");
    const std::string json = p.to_json();
    INFO(json);
    CHECK(json.find("\"verified\": false") != std::string::npos);
    CHECK(json.find("\"unchecked\": [\n      \"disk2.img\",\n      \"notes.txt\"\n    ]") !=
          std::string::npos);
    auto w = warnings_of(seen);
    REQUIRE(w.size() == 2);
    CHECK(w[0] ==
          "ova: manifest vm.mf lists disk2.img, which is not in the package <t.ova>; its "
          "digest could not be checked");
    CHECK(w[1].find("lists notes.txt") != std::string::npos);

    // The stream says the same once it has read the whole archive.
    seen.clear();
    auto s = read_stream_mode(ova, o);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    CHECK(*s == spec.disks[0].data);
    w = warnings_of(seen);
    REQUIRE(w.size() == 2);
    CHECK(w[0].find("lists disk2.img, which is not in the package <stdin>") != std::string::npos);

    // The files that are there are still checked.
    spec.corrupt_digest = true;
    const Bytes bad = test::make_tar(with_extra_entries(spec, gone));
    CHECK(read_file_mode(bad).status().code() == Errc::corrupt);
    CHECK(read_stream_mode(bad).status().code() == Errc::corrupt);
  }
  // A complete package: verified, no unchecked list, no warning.
  OvaSpec spec;
  spec.manifest = "SHA256";
  spec.disks.push_back(disk("disk1.img", 30000, 8));
  std::vector<Diagnostic> seen;
  OpenOptions o;
  o.on_diagnostic = [&seen](const Diagnostic& d) { seen.push_back(d); };
  auto src = open_image(memory_file(test::make_ova(spec), "<t.ova>"), {}, o);
  REQUIRE(src.ok());
  const std::string json = describe(**src).to_json();
  CHECK(json.find("\"verified\": true") != std::string::npos);
  CHECK(json.find("unchecked") == std::string::npos);
  CHECK(warnings_of(seen).empty());
}

// A descriptor on disk: the package is its directory; a sibling that is missing, or a name that
// leaves the directory (never looked up), cannot be checked.
TEST_CASE("ova: a descriptor's manifest naming missing siblings", "[ova]") {
  test::TempDir dir;
  OvaSpec spec;
  spec.manifest = "SHA256";
  spec.disks.push_back(disk("disk1.img", 20000, 9));
  test::write_file(dir / "elsewhere.img", pattern(10, 1));
  std::filesystem::create_directory(dir / "pkg");
  for (const auto& [name, data] :
       with_extra_entries(spec, "SHA256(disk2.img)= " + std::string(64, 'c') +
                                    "\nSHA256(../elsewhere.img)= " + std::string(64, 'd') + "\n"))
    test::write_file(dir / "pkg" / name, data);
  std::vector<Diagnostic> seen;
  OpenOptions o;
  o.on_diagnostic = [&seen](const Diagnostic& d) { seen.push_back(d); };
  auto src = open_image(dir / "pkg" / "vm.ovf", o);
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  const std::string json = describe(**src).to_json();
  INFO(json);
  CHECK(json.find("\"verified\": false") != std::string::npos);
  CHECK(json.find("\"disk2.img\",\n      \"../elsewhere.img\"") != std::string::npos);
  CHECK(warnings_of(seen).size() == 2);
}
