// The Azure layer without a network: blob URLs, Get Page Ranges replies (hostile ones too) and
// the range arithmetic a resumed upload relies on.
#include <catch2/catch.hpp>

#include "remote/azure_blob/blob_client.h"

using namespace vdisk;
using namespace vdisk::azure;

TEST_CASE("azure: blob URLs", "[azure]") {
  auto b = parse_blob_url("https://acct.blob.core.windows.net/disks/a.vhd?sv=2021-12-02&sig=x", {});
  REQUIRE(b.ok());
  CHECK_FALSE(b->managed);
  CHECK(b->display == "https://acct.blob.core.windows.net/disks/a.vhd?sv=2021-12-02&sig=REDACTED");
  CHECK(b->with("comp=page") ==
        "https://acct.blob.core.windows.net/disks/a.vhd?comp=page&sv=2021-12-02&sig=x");
  CHECK(b->with("") == "https://acct.blob.core.windows.net/disks/a.vhd?sv=2021-12-02&sig=x");
  auto m =
      parse_blob_url("https://md-impexp-abc.z1.blob.storage.azure.net/c/abcd?sv=1&si=p&sig=y", {});
  REQUIRE(m.ok());
  CHECK(m->managed);
  auto forced = parse_blob_url("http://127.0.0.1:1/devstoreaccount1/c/b?sig=z", true);
  REQUIRE(forced.ok());
  CHECK(forced->managed);
  for (const char* bad : {"https://acct.blob.core.windows.net/disks?sig=x",
                          "https://acct.blob.core.windows.net/disks/a.vhd",
                          "http://acct.blob.core.windows.net/disks/a.vhd?sig=x",
                          "https://acct.blob.core.windows.net//a.vhd?sig=x"}) {
    INFO(bad);
    auto r = parse_blob_url(bad, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK(r.status().message().find("sig=x") == std::string::npos);
  }
}

TEST_CASE("azure: Get Page Ranges replies", "[azure]") {
  const std::uint64_t len = 1 << 20;
  SECTION("ranges and a continuation marker") {
    std::vector<PageRange> out;
    auto m = parse_page_list(
        "<?xml version=\"1.0\"?><PageList><PageRange><Start>0</Start><End>511</End></PageRange>"
        "<PageRange><Start>4096</Start><End>8191</End></PageRange>"
        "<NextMarker>2!a&amp;b</NextMarker></PageList>",
        len, out);
    REQUIRE(m.ok());
    CHECK(*m == "2!a&b");
    REQUIRE(out.size() == 2);
    CHECK(out[1].start == 4096);
    CHECK(out[1].end == 8192);
    // The next page continues after the last range.
    auto n = parse_page_list(
        "<PageList><PageRange><Start>8192</Start><End>9215</End>"
        "</PageRange></PageList>",
        len, out);
    REQUIRE(n.ok());
    CHECK(n->empty());
    CHECK(out.size() == 3);
  }
  SECTION("empty") {
    std::vector<PageRange> out;
    auto m = parse_page_list("<?xml version=\"1.0\"?><PageList />", len, out);
    REQUIRE(m.ok());
    CHECK(out.empty());
  }
  SECTION("hostile replies are refused") {
    for (const char* bad :
         {"<Error/>", "<PageList><PageRange><Start>1</Start><End>511</End></PageRange></PageList>",
          "<PageList><PageRange><Start>0</Start><End>510</End></PageRange></PageList>",
          "<PageList><PageRange><Start>512</Start><End>511</End></PageRange></PageList>",
          "<PageList><PageRange><Start>0</Start><End>1048576</End></PageRange></PageList>",
          "<PageList><PageRange><Start>0</Start><End>18446744073709551615</End></PageRange>"
          "</PageList>",
          "<PageList><PageRange><Start>x</Start><End>511</End></PageRange></PageList>",
          "<PageList><PageRange><Start>0</Start></PageRange></PageList>",
          "<PageList><PageRange><Start>1024</Start><End>2047</End></PageRange>"
          "<PageRange><Start>0</Start><End>511</End></PageRange></PageList>"}) {
      INFO(bad);
      std::vector<PageRange> out;
      auto m = parse_page_list(bad, len, out);
      REQUIRE_FALSE(m.ok());
      CHECK(m.status().code() == Errc::corrupt);
      CHECK(m.status().message().starts_with("azure: Get Page Ranges reply at byte"));
    }
  }
}

TEST_CASE("azure: what a resumed upload still sends", "[azure]") {
  const std::vector<PageRange> have{{512, 1024}, {2048, 4096}, {8192, 8704}};
  auto pieces = [&](std::uint64_t s, std::uint64_t e) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> v;
    for (auto r : subtract_ranges(have, s, e)) v.emplace_back(r.start, r.end);
    return v;
  };
  using V = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  CHECK(pieces(0, 8704) == V{{0, 512}, {1024, 2048}, {4096, 8192}});
  CHECK(pieces(512, 1024).empty());
  CHECK(pieces(2560, 3072).empty());
  CHECK(pieces(3584, 5120) == V{{4096, 5120}});
  CHECK(pieces(9216, 10240) == V{{9216, 10240}});
  CHECK(subtract_ranges({}, 0, 512).size() == 1);
}
