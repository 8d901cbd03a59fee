// A scripted Azure Blob service for the unit tests (azure_source_test.cpp,
// azure_update_test.cpp): one blob held in memory (its bytes, written pages, type, ETag and
// metadata) answering the requests BlobClient makes, with the requests kept and faults of the
// Get Blob replies on demand; clients over it come from maker().
#ifndef VDISK_TESTS_CLOUD_FAKE_BLOB_SERVICE_H_
#define VDISK_TESTS_CLOUD_FAKE_BLOB_SERVICE_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "checksum/checksum_sinks.h"
#include "checksum/md5.h"
#include "http/service_client.h"
#include "remote/azure_blob/blob_client.h"
#include "vdisk/remote.h"

namespace vdisk::azure::testing {

inline constexpr std::uint64_t MiB = 1u << 20;
inline const char* const kUrl =
    "http://127.0.0.1:1/devstoreaccount1/c/disk.vhd?sv=2021-12-02&sig=SECRET";

inline std::string query_param(std::string_view url, std::string_view name) {
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

inline std::string header(const http::Request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

inline std::pair<std::uint64_t, std::uint64_t> range_of(const http::Request& r) {
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

inline ClientMaker maker(FakeBlobService& service) {
  return [&service](const BlobUrl& blob, const HttpOptions& o,
                    std::stop_token stop) -> Result<std::unique_ptr<BlobClient>> {
    return BlobClient::over(
        blob, http::ServiceClient(o, std::make_unique<FakeConnection>(service), stop));
  };
}

inline HttpOptions fast(unsigned connections = 2) {
  HttpOptions o;
  o.connections = connections;
  o.max_attempts = 3;
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 2;
  return o;
}

inline std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte((i * 131 + seed * 7 + (i >> 9)) % 251 + 1);
  return v;
}

inline AzureBlobSourceOptions source_options(unsigned connections = 2) {
  AzureBlobSourceOptions o;
  o.url = kUrl;
  o.http = fast(connections);
  return o;
}

}  // namespace vdisk::azure::testing

#endif  // VDISK_TESTS_CLOUD_FAKE_BLOB_SERVICE_H_
