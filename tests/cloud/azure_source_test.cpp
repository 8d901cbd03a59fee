// Azure blobs as a source and a page blob brought up to date (--update), without a network:
// every client talks to a scripted Blob service (one page blob held in memory, the requests
// kept, faults on demand) through its Connection.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checksum/checksum_sinks.h"
#include "checksum/md5.h"
#include "http/service_client.h"
#include "remote/azure_blob/blob_client.h"
#include "remote/azure_blob/blob_source.h"
#include "remote/azure_blob/page_blob_output.h"
#include "remote/reader/block_file.h"
#include "vdisk/remote.h"

using namespace vdisk;
using namespace vdisk::azure;

namespace {

constexpr std::uint64_t MiB = 1u << 20;
const char* const kUrl = "http://127.0.0.1:1/devstoreaccount1/c/disk.vhd?sv=2021-12-02&sig=SECRET";

std::string query_param(std::string_view url, std::string_view name) {
  const std::size_t q = url.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = url.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    if (kv.substr(0, kv.find('=')) == name)
      return std::string(kv.find('=') == std::string_view::npos ? "" : kv.substr(kv.find('=') + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

std::string header(const http::Request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

std::pair<std::uint64_t, std::uint64_t> range_of(const http::Request& r) {
  const std::string v = header(r, "x-ms-range");  // bytes=S-E
  const std::size_t dash = v.find('-');
  return {std::stoull(v.substr(6, dash - 6)), std::stoull(v.substr(dash + 1)) + 1};
}

// One blob of the Blob service: its bytes, written pages, type, ETag and metadata.
struct FakeBlobService {
  std::mutex mu;
  bool exists = false;
  std::string type = "PageBlob";
  std::vector<std::byte> bytes;
  std::set<std::uint64_t> pages;  // 512-byte pages written (not cleared)
  std::map<std::string, std::string> metadata;
  int etag = 1;
  std::string head_length;  // Get Blob Properties' Content-Length when set (a hostile reply)
  // Get Page Ranges answers at most this many ranges a reply (NextMarker for the rest).
  std::size_t ranges_per_reply = 1000;
  // Faults of the next Get Blob replies: "content-range", "short", "200", "md5", "etag".
  std::vector<std::string> get_faults;
  struct Seen {
    std::string method, comp, page_write;
    std::uint64_t start = 0, end = 0;  // x-ms-range
  };
  std::vector<Seen> seen;

  void put(std::uint64_t offset, const std::vector<std::byte>& data) {
    std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
    for (std::uint64_t p = offset / 512; p < (offset + data.size() + 511) / 512; ++p)
      pages.insert(p);
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges() const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::uint64_t p : pages) {
      if (!out.empty() && out.back().second == p * 512)
        out.back().second += 512;
      else
        out.push_back({p * 512, p * 512 + 512});
    }
    return out;
  }
  std::string etag_value() const { return "\"0x" + std::to_string(etag) + "\""; }

  http::Response serve(const http::Request& r) {
    std::lock_guard lock(mu);
    const std::string comp = query_param(r.url, "comp");
    Seen s{r.method, comp, header(r, "x-ms-page-write")};
    if (!header(r, "x-ms-range").empty()) std::tie(s.start, s.end) = range_of(r);
    seen.push_back(s);
    http::Response resp;
    resp.status = 200;
    auto meta_headers = [&] {
      for (const auto& [k, v] : metadata) resp.headers.push_back({"x-ms-meta-" + k, v});
    };
    if (r.method == "HEAD") {
      if (!exists) return {404, {}, ""};
      resp.headers = {
          {"content-length", head_length.empty() ? std::to_string(bytes.size()) : head_length},
          {"x-ms-blob-type", type},
          {"etag", etag_value()}};
      meta_headers();
      return resp;
    }
    if (r.method == "GET" && comp == "pagelist") {
      const auto all = ranges();
      const std::string marker = query_param(r.url, "marker");
      std::size_t from = marker.empty() ? 0 : std::stoul(marker);
      std::string xml = "<?xml version=\"1.0\"?><PageList>";
      std::size_t i = from;
      for (; i < all.size() && i < from + ranges_per_reply; ++i)
        xml += "<PageRange><Start>" + std::to_string(all[i].first) + "</Start><End>" +
               std::to_string(all[i].second - 1) + "</End></PageRange>";
      if (i < all.size()) xml += "<NextMarker>" + std::to_string(i) + "</NextMarker>";
      resp.body = xml + "</PageList>";
      return resp;
    }
    if (r.method == "GET") {
      const std::string fault = get_faults.empty() ? "" : get_faults.front();
      if (!get_faults.empty()) get_faults.erase(get_faults.begin());
      if (fault == "etag") ++etag;  // written meanwhile
      const std::string if_match = header(r, "If-Match");
      if (!if_match.empty() && if_match != etag_value())
        return {412, {{"x-ms-error-code", "ConditionNotMet"}}, ""};
      auto [start, end] = range_of(r);
      resp.status = fault == "200" ? 200 : 206;
      resp.body.assign(reinterpret_cast<const char*>(bytes.data()) + start, end - start);
      resp.headers = {{"etag", etag_value()}};
      const std::uint64_t cr_start = fault == "content-range" ? start + 512 : start;
      resp.headers.push_back({"content-range", "bytes " + std::to_string(cr_start) + "-" +
                                                   std::to_string(end - 1) + "/" +
                                                   std::to_string(bytes.size())});
      if (header(r, "x-ms-range-get-content-md5") == "true") {
        checksum::Md5 h;
        h.update(std::as_bytes(std::span(resp.body.data(), resp.body.size())));
        const auto d = h.finish();
        resp.headers.push_back({"content-md5", checksum::to_base64(d)});
      }
      if (fault == "md5") resp.body[resp.body.size() / 2] ^= 1;
      if (fault == "short") resp.body.pop_back();
      return resp;
    }
    if (r.method == "PUT" && comp == "page") {
      auto [start, end] = range_of(r);
      if (s.page_write == "clear") {
        std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(start),
                  bytes.begin() + static_cast<std::ptrdiff_t>(end), std::byte{0});
        for (std::uint64_t p = start / 512; p < end / 512; ++p) pages.erase(p);
      } else {
        REQUIRE(r.body.size() == end - start);
        put(start, std::vector<std::byte>(r.body.begin(), r.body.end()));
      }
      ++etag;
      return {201, {}, ""};
    }
    if (r.method == "PUT" && comp == "metadata") {
      metadata.clear();
      for (const auto& h : r.headers)
        if (h.name.starts_with("x-ms-meta-")) metadata[h.name.substr(10)] = h.value;
      ++etag;
      return resp;
    }
    if (r.method == "PUT" && comp.empty()) {  // Put Blob
      exists = true;
      type = header(r, "x-ms-blob-type");
      bytes.assign(std::stoull(header(r, "x-ms-blob-content-length")), std::byte{0});
      pages.clear();
      metadata.clear();
      for (const auto& h : r.headers)
        if (h.name.starts_with("x-ms-meta-")) metadata[h.name.substr(10)] = h.value;
      ++etag;
      return {201, {}, ""};
    }
    if (r.method == "DELETE") {
      exists = false;
      return {202, {}, ""};
    }
    return {400, {}, "unexpected request"};
  }

  std::size_t count(std::string_view method, std::string_view comp,
                    std::string_view page_write = {}) {
    std::lock_guard lock(mu);
    return static_cast<std::size_t>(std::count_if(seen.begin(), seen.end(), [&](const Seen& s) {
      return s.method == method && s.comp == comp && s.page_write == page_write;
    }));
  }
};

class FakeConnection final : public http::Connection {
 public:
  explicit FakeConnection(FakeBlobService& service) : service_(service) {}
  http::Attempt send(const http::Request& r, std::stop_token) override {
    http::Attempt a;
    a.response = service_.serve(r);
    return a;
  }

 private:
  FakeBlobService& service_;
};

ClientMaker maker(FakeBlobService& service) {
  return [&service](const BlobUrl& blob, const HttpOptions& o,
                    std::stop_token stop) -> Result<std::unique_ptr<BlobClient>> {
    return BlobClient::over(
        blob, http::ServiceClient(o, std::make_unique<FakeConnection>(service), stop));
  };
}

HttpOptions fast(unsigned connections = 2) {
  HttpOptions o;
  o.connections = connections;
  o.max_attempts = 3;
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 2;
  return o;
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte((i * 131 + seed * 7 + (i >> 9)) % 251 + 1);
  return v;
}

AzureBlobSourceOptions source_options(unsigned connections = 2) {
  AzureBlobSourceOptions o;
  o.url = kUrl;
  o.http = fast(connections);
  return o;
}

}  // namespace

TEST_CASE("azure source: the page ranges are the map, and only they are fetched",
          "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.bytes.assign(8 * MiB, std::byte{0});
  svc.put(0, pattern(4096, 1));
  svc.put(3 * MiB + 512, pattern(512, 2));
  svc.put(3 * MiB + 512 * 200, pattern(1024, 3));  // 100 KiB on: a second piece of block 3
  svc.put(7 * MiB, pattern(MiB, 4));
  svc.ranges_per_reply = 1;  // Get Page Ranges follows NextMarker

  auto f = open_blob_source(source_options(), maker(svc), {});
  REQUIRE(f.ok());
  RemoteFile& file = **f;
  CHECK(file.size() == 8 * MiB);
  CHECK(file.kind() == "azure-page-blob");
  CHECK(svc.count("GET", "pagelist") == 4);

  std::vector<Extent> map;
  REQUIRE(file.allocation(0, 8 * MiB, map).ok());
  const std::vector<Extent> want{
      {0, 4096, ExtentKind::data},
      {4096, 3 * MiB + 512 - 4096, ExtentKind::unallocated},
      {3 * MiB + 512, 512, ExtentKind::data},
      {3 * MiB + 1024, 512 * 198, ExtentKind::unallocated},
      {3 * MiB + 512 * 200, 1024, ExtentKind::data},
      {3 * MiB + 512 * 202, 4 * MiB - 512 * 202, ExtentKind::unallocated},
      {7 * MiB, MiB, ExtentKind::data}};
  CHECK(map == want);
  map.clear();
  REQUIRE(file.allocation(4 * MiB, MiB, map).ok());
  CHECK(map == std::vector<Extent>{{4 * MiB, MiB, ExtentKind::unallocated}});

  std::vector<std::byte> all(8 * MiB);
  REQUIRE(file.read_at(0, all).ok());
  CHECK(all == svc.bytes);
  // Blocks 0, 3 and 7 only, each piece of its page ranges alone (block 3: two pieces, 100 KiB
  // apart, more than the merge gap).
  CHECK(svc.count("GET", "") == 4);
  const SourceStats st = file.stats();
  CHECK(st.bytes_received == 4096 + 512 + 1024 + MiB);
  CHECK(st.blocks_fetched == 3);
  CHECK(st.requests == 1 + 4 + 4);  // properties, page lists, data
  for (const auto& s : svc.seen)
    if (s.method == "GET" && s.comp.empty()) CHECK(s.end - s.start <= MiB);

  Properties p;
  file.describe(p);
  const std::string text = p.to_json(0);
  CHECK(text.find("\"page_ranges\":4") != std::string::npos);
  CHECK(text.find("\"mapped_bytes\":" + std::to_string(4096 + 512 + 1024 + MiB)) !=
        std::string::npos);
  CHECK(text.find("PageBlob") != std::string::npos);
  CHECK(text.find("SECRET") == std::string::npos);
}

TEST_CASE("azure source: pieces of a block closer than the merge gap are one request",
          "[azure][source]") {
  const std::vector<PageRange> r{{0, 512}, {1024, 2048}, {200000, 200192 + 320}, {MiB, MiB + 512}};
  auto v = covered_pieces(r, 0, MiB, kMergeGapBytes);
  REQUIRE(v.size() == 2);
  CHECK(v[0].start == 0);
  CHECK(v[0].end == 2048);
  CHECK(v[1].start == 200000);
  CHECK(covered_pieces(r, 1500, 1600).size() == 1);
  CHECK(covered_pieces(r, 4096, 8192).empty());
}

TEST_CASE("azure source: other blob types are all data", "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.type = "BlockBlob";
  svc.bytes = pattern(3 * MiB + 100, 5);
  auto f = open_blob_source(source_options(), maker(svc), {});
  REQUIRE(f.ok());
  CHECK((*f)->kind() == "azure-blob");
  std::vector<Extent> map;
  REQUIRE((*f)->allocation(0, (*f)->size(), map).ok());
  CHECK(map == std::vector<Extent>{{0, 3 * MiB + 100, ExtentKind::data}});
  std::vector<std::byte> all((*f)->size());
  REQUIRE((*f)->read_at(0, all).ok());
  CHECK(all == svc.bytes);
  CHECK(svc.count("GET", "pagelist") == 0);
}

TEST_CASE("azure source: each reply is checked", "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.bytes.assign(4 * MiB, std::byte{0});
  svc.put(MiB, pattern(MiB, 6));
  auto fail_with = [&](std::string fault) {
    svc.get_faults = {fault, fault, fault, fault};
    auto f = open_blob_source(source_options(1), maker(svc), {});
    REQUIRE(f.ok());
    std::vector<std::byte> buf(4096);
    return (*f)->read_at(MiB + 8192, buf);
  };
  SECTION("another range") {
    Status s = fail_with("content-range");
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Errc::io_error);
    CHECK(s.message().find("another range") != std::string::npos);
    CHECK(s.message().find("bytes=1048576-2097151") != std::string::npos);
    CHECK(s.message().find("sig=REDACTED") != std::string::npos);
    CHECK(s.message().find("SECRET") == std::string::npos);
  }
  SECTION("a short body") {
    Status s = fail_with("short");
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("holds 1048575 bytes, expected 1048576") != std::string::npos);
  }
  SECTION("a 200 for part of the blob") {
    Status s = fail_with("200");
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("HTTP 200") != std::string::npos);
  }
  SECTION("a body that does not match its Content-MD5, every time") {
    Status s = fail_with("md5");
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Errc::io_error);
    CHECK(s.message().find("Content-MD5") != std::string::npos);
    CHECK(s.message().find("(3 attempts)") != std::string::npos);
  }
  SECTION("a body that does not match its Content-MD5 once is fetched again") {
    svc.get_faults = {"md5"};
    auto f = open_blob_source(source_options(1), maker(svc), {});
    REQUIRE(f.ok());
    std::vector<std::byte> buf(MiB);
    REQUIRE((*f)->read_at(MiB, buf).ok());
    CHECK(std::equal(buf.begin(), buf.end(), svc.bytes.begin() + MiB));
    CHECK((*f)->stats().retries == 1);
  }
}

TEST_CASE("azure source: a blob changed while it is read is an error", "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.bytes.assign(2 * MiB, std::byte{0});
  svc.put(0, pattern(2 * MiB, 7));
  auto f = open_blob_source(source_options(1), maker(svc), {});
  REQUIRE(f.ok());
  std::vector<std::byte> buf(4096);
  REQUIRE((*f)->read_at(0, buf).ok());
  svc.get_faults = {"etag"};
  Status s = (*f)->read_at(MiB, buf);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Errc::io_error);
  CHECK(s.message().find("changed while it was read") != std::string::npos);
  CHECK(s.message().find("bytes=1048576-2097151") != std::string::npos);
  CHECK(s.message().find("SECRET") == std::string::npos);
}

TEST_CASE("azure source: a missing blob and bad options", "[azure][source]") {
  FakeBlobService svc;
  auto f = open_blob_source(source_options(), maker(svc), {});
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == Errc::not_found);
  CHECK(f.status().message().find("SECRET") == std::string::npos);
  AzureBlobSourceOptions o = source_options();
  o.cache.block_bytes = 3000;
  CHECK(open_blob_source(o, maker(svc), {}).status().code() == Errc::invalid_argument);
  o = source_options();
  o.url = "http://127.0.0.1:1/devstoreaccount1/c/disk.vhd";
  auto nosas = open_blob_source(o, maker(svc), {});
  CHECK(nosas.status().message().find("read permission") != std::string::npos);
  svc.exists = true;
  for (const char* bad : {"9895604649984", "1000", "x"}) {  // 9 TiB, not whole pages, no number
    INFO(bad);
    svc.head_length = bad;
    auto r = open_blob_source(source_options(), maker(svc), {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
  }
}

namespace {

// A blob of `disk` bytes + a 512-byte footer, recorded as holding `source`.
void make_updatable(FakeBlobService& svc, std::uint64_t disk, std::string source) {
  svc.exists = true;
  svc.bytes.assign(disk + 512, std::byte{0});
  svc.put(0, pattern(disk, 1));
  svc.put(disk, std::vector<std::byte>(512, std::byte{0x63}));
  svc.metadata = {{kMetaSource, std::move(source)}, {kMetaSize, std::to_string(disk + 512)}};
}

AzureBlobOptions update_options() {
  AzureBlobOptions o;
  o.url = kUrl;
  o.update = true;
  o.http = fast();
  return o;
}

}  // namespace

TEST_CASE("azure update: only the changed ranges are written", "[azure][update]") {
  const std::uint64_t disk = 8 * MiB;
  FakeBlobService svc;
  make_updatable(svc, disk, "ebs:snap-a");
  const std::size_t base_gets = svc.seen.size();
  auto out = page_blob_output(update_options(), maker(svc));
  REQUIRE(out.ok());
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  cs.disk_bytes = disk;
  cs.ranges = {{MiB, 512 * 1024, ExtentKind::data},             // new data
               {3 * MiB, 512 * 1024, ExtentKind::unallocated},  // zeros now (write_zeroes)
               {5 * MiB, 512 * 1024, ExtentKind::data}};        // zeros within data
  REQUIRE((*out)->set_source("ebs:snap-b", &cs).ok());
  auto sink = (*out)->open(disk + 512, {});
  REQUIRE(sink.ok());
  // The new disk: pattern 2 everywhere but [3 MiB, 3.5 MiB) (zeros) and 5 MiB + [128 KiB,
  // 384 KiB) (zeros inside a data buffer); a new footer.
  std::vector<std::byte> disk2 = pattern(disk, 2);
  std::fill_n(disk2.begin() + 5 * MiB + 128 * 1024, 256 * 1024, std::byte{0});
  REQUIRE((*sink)->write(std::span(disk2).first(3 * MiB)).ok());
  for (int i = 0; i < 8; ++i) REQUIRE((*sink)->write_zeroes(64 * 1024).ok());  // one clear
  REQUIRE((*sink)->write(std::span(disk2).subspan(3 * MiB + 512 * 1024)).ok());
  const std::vector<std::byte> footer(512, std::byte{0x64});
  REQUIRE((*sink)->write(footer).ok());
  REQUIRE((*sink)->finish().ok());

  // What the blob holds: the old disk outside the changes, the new inside, the new footer.
  std::vector<std::byte> want = pattern(disk, 1);
  std::copy_n(disk2.begin() + MiB, 512 * 1024, want.begin() + MiB);
  std::fill_n(want.begin() + 3 * MiB, 512 * 1024, std::byte{0});
  std::copy_n(disk2.begin() + 5 * MiB, 512 * 1024, want.begin() + 5 * MiB);
  want.insert(want.end(), footer.begin(), footer.end());
  CHECK(svc.bytes == want);
  // Writes inside the changes (and the footer) only.
  std::uint64_t puts = 0, clears = 0;
  for (std::size_t i = base_gets; i < svc.seen.size(); ++i) {
    const auto& s = svc.seen[i];
    if (s.comp != "page") continue;
    (s.page_write == "clear" ? clears : puts)++;
    const bool inside = (s.start >= MiB && s.end <= MiB + 512 * 1024) ||
                        (s.start >= 3 * MiB && s.end <= 3 * MiB + 512 * 1024) ||
                        (s.start >= 5 * MiB && s.end <= 5 * MiB + 512 * 1024) ||
                        (s.start == disk && s.end == disk + 512);
    INFO(s.page_write << " " << s.start << "-" << s.end);
    CHECK(inside);
  }
  // 1 MiB: one put; 3 MiB: one clear; 5 MiB: put, clear, put; the footer: one put.
  CHECK(puts == 4);
  CHECK(clears == 2);
  CHECK(svc.pages.count((3 * MiB) / 512) == 0);  // cleared, not written with zeros
  const UploadStats st = (*out)->stats();
  CHECK(st.requests == 6);
  CHECK(st.ranges_cleared == 2);
  CHECK(st.bytes_sent == 512 * 1024 + 256 * 1024 + 512);
  CHECK_FALSE(st.created);
  // The new identity, recorded at the end; no update marker left.
  CHECK(svc.metadata[kMetaSource] == "ebs:snap-b");
  CHECK(svc.metadata.count(kMetaUpdating) == 0);
  CHECK(svc.count("PUT", "metadata") == 2);
}

TEST_CASE("azure update: a blob holding another version is refused, untouched", "[azure][update]") {
  const std::uint64_t disk = 2 * MiB;
  FakeBlobService svc;
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  cs.disk_bytes = disk;
  cs.ranges = {{0, 512 * 1024, ExtentKind::data}};
  auto refused = [&](std::uint64_t length) {
    auto out = page_blob_output(update_options(), maker(svc));
    REQUIRE(out.ok());
    REQUIRE((*out)->set_source("ebs:snap-b", &cs).ok());
    const std::vector<std::byte> before = svc.bytes;
    auto sink = (*out)->open(length, {});
    REQUIRE_FALSE(sink.ok());
    CHECK(svc.bytes == before);
    CHECK(svc.count("PUT", "page", "update") + svc.count("PUT", "page", "clear") +
              svc.count("PUT", "metadata") + svc.count("PUT", "") ==
          0);
    CHECK(sink.status().message().find("SECRET") == std::string::npos);
    return sink.status();
  };
  SECTION("another source") {
    make_updatable(svc, disk, "ebs:snap-x");
    Status s = refused(disk + 512);
    CHECK(s.code() == Errc::invalid_argument);
    CHECK(s.message().find("expected the blob to hold ebs:snap-a, found ebs:snap-x") !=
          std::string::npos);
  }
  SECTION("no recorded source") {
    make_updatable(svc, disk, "ebs:snap-a");
    svc.metadata.clear();
    CHECK(refused(disk + 512).message().find("found no recorded source") != std::string::npos);
  }
  SECTION("another length") {
    make_updatable(svc, disk, "ebs:snap-a");
    CHECK(
        refused(disk + 512 + MiB).message().find("the blob has 2097664 bytes, expected 3146240") !=
        std::string::npos);
  }
  SECTION("no blob") {
    CHECK(refused(disk + 512).message().find("does not exist") != std::string::npos);
  }
  SECTION("an interrupted update to another version") {
    make_updatable(svc, disk, "ebs:snap-a");
    svc.metadata[kMetaUpdating] = "ebs:snap-c";
    CHECK(refused(disk + 512).message().find("to ebs:snap-c was interrupted") != std::string::npos);
  }
}

TEST_CASE("azure update: what goes with what", "[azure][update]") {
  FakeBlobService svc;
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  SECTION("--update needs changes") {
    auto out = page_blob_output(update_options(), maker(svc));
    REQUIRE(out.ok());
    Status s = (*out)->set_source("ebs:snap-b", nullptr);
    CHECK(s.code() == Errc::invalid_argument);
    CHECK(s.message().find("--update needs an incremental source (--since)") != std::string::npos);
    CHECK((*out)->open(MiB, {}).status().code() == Errc::invalid_argument);
  }
  SECTION("changes need --update") {
    AzureBlobOptions o = update_options();
    o.update = false;
    auto out = page_blob_output(o, maker(svc));
    REQUIRE(out.ok());
    Status s = (*out)->set_source("ebs:snap-b", &cs);
    CHECK(s.code() == Errc::unsupported);
    CHECK(s.message().find("takes full copies; --update writes only the changes") !=
          std::string::npos);
  }
  SECTION("not into a managed disk") {
    AzureBlobOptions o = update_options();
    o.managed_disk = true;
    auto out = page_blob_output(o, maker(svc));
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == Errc::invalid_argument);
  }
  SECTION("a full copy records its source") {
    AzureBlobOptions o = update_options();
    o.update = false;
    auto out = page_blob_output(o, maker(svc));
    REQUIRE(out.ok());
    REQUIRE((*out)->set_source("ebs:snap-b", nullptr).ok());
    auto sink = (*out)->open(MiB, {});
    REQUIRE(sink.ok());
    REQUIRE((*sink)->write(pattern(MiB, 3)).ok());
    REQUIRE((*sink)->finish().ok());
    CHECK(svc.metadata[kMetaSource] == "ebs:snap-b");
    CHECK(svc.metadata[kMetaSize] == std::to_string(MiB));
    CHECK((*out)->stats().requests == svc.count("PUT", "page", "update"));
  }
}

namespace {

// A fetcher whose fetches of blocks 2 and on wait until cancel().
class WaitingFetcher final : public remote::BlockFetcher {
 public:
  std::uint64_t size() const override { return 4 * MiB; }
  std::uint64_t block_bytes() const override { return MiB; }
  std::size_t slots() const override { return 2; }
  Status fetch(std::size_t, std::uint64_t index, std::span<std::byte> dst) override {
    std::fill(dst.begin(), dst.end(), std::byte{1});
    if (index < 2) return {};
    std::unique_lock lock(mu_);
    ++started_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return cancelled_; });
    return cancelled("test: cancelled");
  }
  std::string_view kind() const override { return "test"; }
  const std::string& name() const override { return name_; }
  remote::SourceCounters& counters() override { return counters_; }
  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  void wait_started() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int started_ = 0;
  bool cancelled_ = false;
  std::string name_ = "test";
  remote::SourceCounters counters_;
};

}  // namespace

TEST_CASE("block_file: destruction cancels the fetches in flight", "[azure][source]") {
  auto fetcher = std::make_unique<WaitingFetcher>();
  WaitingFetcher& w = *fetcher;
  auto file = remote::block_file(std::move(fetcher), {});
  std::vector<std::byte> buf(MiB);
  REQUIRE(file->read_at(0, buf).ok());
  REQUIRE(file->read_at(MiB, buf).ok());  // sequential: blocks 2 and 3 are read ahead
  w.wait_started();
  std::atomic<bool> done{false};
  std::thread closer([&] {
    file.reset();
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool ended = done;
  if (!ended) w.cancel();  // the file did not: let it end, and fail
  closer.join();
  CHECK(ended);
}
