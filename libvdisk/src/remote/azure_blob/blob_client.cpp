// Blob service requests (Put Blob, Put Page, Get Page Ranges, Get Blob Properties, Get Blob,
// Set Blob Properties, Set Blob Metadata, Delete Blob) as docs/cloud.md lists them, authorised
// by the SAS in the URL.
#include "remote/azure_blob/blob_client.h"

#include "checksum/checksum_sinks.h"
#include "checksum/md5.h"
#include "http/upload_ledger.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace vdisk::azure {
namespace {

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::string BlobUrl::with(std::string_view params) const {
  std::string q(params);
  if (!url.query.empty()) q += (q.empty() ? "" : "&") + url.query;
  return q.empty() ? url.without_query() : url.without_query() + "?" + q;
}

Result<BlobUrl> parse_blob_url(std::string_view text, std::optional<bool> managed,
                               bool for_reading) {
  VDISK_ASSIGN_OR_RETURN(http::Url u, http::parse_service_url(text));
  BlobUrl b;
  b.display = http::redact_url(u.full());
  // /container/blob, or /account/container/blob on an emulator: at least two segments.
  std::string_view path = u.path;
  path.remove_prefix(1);
  const std::size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= path.size())
    return invalid_argument(
        fmt::format("azure: {}: expected a blob URL, https://ACCOUNT.blob.core.windows.net/"
                    "CONTAINER/BLOB?SAS",
                    b.display));
  if (u.query.empty())
    return invalid_argument(fmt::format(
        "azure: {}: no SAS token in the URL ({})", b.display,
        for_reading ? "reading is authorised by a SAS with read permission, or a managed disk's "
                      "export URL from az disk grant-access --access-level Read"
                    : "the upload is authorised by a SAS with write permission"));
  b.managed = managed.value_or(u.host.starts_with("md-"));
  b.url = std::move(u);
  return b;
}

Result<std::string> parse_page_list(std::string_view xml, std::uint64_t length,
                                    std::vector<PageRange>& out) {
  std::size_t pos = 0;
  const auto bad = [&](std::string_view what) {
    return corrupt(fmt::format("azure: Get Page Ranges reply at byte {}: {}", pos, what));
  };
  if (xml.find("<PageList") == std::string_view::npos) return bad("no <PageList> element");
  std::uint64_t prev_end = out.empty() ? 0 : out.back().end;
  for (;;) {
    std::size_t range_end = 0;
    auto range = http::xml_text(xml, "PageRange", pos, &range_end);
    if (!range) break;
    auto start = http::xml_text(*range, "Start");
    auto end = http::xml_text(*range, "End");
    if (!start || !end) return bad("a <PageRange> without <Start> and <End>");
    auto s = to_u64(*start);
    auto e = to_u64(*end);
    if (!s || !e) return bad("a page range bound is not a number");
    if (*s % kPageBytes || (*e + 1) % kPageBytes || *e < *s)
      return bad(fmt::format("page range {}-{} is not 512-byte aligned", *s, *e));
    if (*e >= length)
      return bad(fmt::format("page range {}-{} ends past the blob's {} bytes", *s, *e, length));
    if (*s < prev_end)
      return bad(fmt::format("page range {}-{} is out of order or overlaps", *s, *e));
    out.push_back({*s, *e + 1});
    prev_end = *e + 1;
    pos = range_end;
  }
  return http::xml_text(xml, "NextMarker").value_or("");
}

std::vector<PageRange> subtract_ranges(const std::vector<PageRange>& have, std::uint64_t start,
                                       std::uint64_t end) {
  std::vector<PageRange> out;
  auto it = std::upper_bound(have.begin(), have.end(), start,
                             [](std::uint64_t v, const PageRange& r) { return v < r.end; });
  std::uint64_t cur = start;
  for (; it != have.end() && it->start < end && cur < end; ++it) {
    if (it->start > cur) out.push_back({cur, std::min(it->start, end)});
    cur = std::max(cur, it->end);
  }
  if (cur < end) out.push_back({cur, end});
  return out;
}

std::vector<PageRange> covered_pieces(const std::vector<PageRange>& ranges, std::uint64_t start,
                                      std::uint64_t end, std::uint64_t merge_gap) {
  std::vector<PageRange> out;
  auto it = std::upper_bound(ranges.begin(), ranges.end(), start,
                             [](std::uint64_t v, const PageRange& r) { return v < r.end; });
  for (; it != ranges.end() && it->start < end; ++it) {
    const PageRange p{std::max(start, it->start), std::min(end, it->end)};
    if (!out.empty() && p.start - out.back().end < merge_gap)
      out.back().end = p.end;
    else
      out.push_back(p);
  }
  return out;
}

Result<std::unique_ptr<BlobClient>> BlobClient::create(const BlobUrl& blob, HttpOptions options,
                                                       std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(http::ServiceClient c,
                         http::ServiceClient::open(std::move(options), stop));
  return std::unique_ptr<BlobClient>(new BlobClient(blob, std::move(c)));
}

Result<http::Response> BlobClient::send(http::Request request) {
  request.headers.push_back({"x-ms-version", kApiVersion});
  return client_.send(request);
}

namespace {
Status expect(const http::Request& request, const http::Response& response, long status) {
  return http::reply_status(request.what, response, status,
                            "the SAS does not allow this, or has expired");
}
}  // namespace

Result<BlobProperties> BlobClient::properties() {
  http::Request r{"HEAD",
                  blob_.with(""),
                  {},
                  {},
                  fmt::format("azure: Get Blob Properties of {}", blob_.display)};
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  BlobProperties p;
  if (resp.status == 404) return p;
  VDISK_RETURN_IF_ERROR(expect(r, resp, 200));
  p.exists = true;
  auto len = to_u64(resp.header("content-length"));
  if (!len) return corrupt(fmt::format("{}: no valid Content-Length in the reply", r.what));
  p.length = *len;
  p.blob_type = std::string(resp.header("x-ms-blob-type"));
  p.content_type = std::string(resp.header("content-type"));
  p.etag = std::string(resp.header("etag"));
  for (const http::Header& h : resp.headers)
    if (h.name.starts_with("x-ms-meta-")) p.metadata[h.name.substr(10)] = h.value;
  return p;
}

Status BlobClient::create_page_blob(std::uint64_t length,
                                    const std::map<std::string, std::string>& metadata) {
  http::Request r{
      "PUT",
      blob_.with(""),
      {},
      {},
      fmt::format("azure: Put Blob (page blob of {} bytes) at {}", length, blob_.display)};
  r.headers = {{"x-ms-blob-type", "PageBlob"},
               {"x-ms-blob-content-length", std::to_string(length)},
               {"x-ms-blob-content-type", "application/octet-stream"}};
  for (const auto& [k, v] : metadata) r.headers.push_back({"x-ms-meta-" + k, v});
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  return expect(r, resp, 201);
}

Status BlobClient::put_pages(std::uint64_t offset, std::span<const std::byte> data) {
  if (offset % kPageBytes || data.size() % kPageBytes || data.empty() ||
      data.size() > kMaxPutPageBytes)
    return internal_error(fmt::format(
        "azure: Put Page of {} bytes at {}: not 512-aligned or over 4 MiB", data.size(), offset));
  const std::string range = fmt::format("bytes={}-{}", offset, offset + data.size() - 1);
  http::Request r{"PUT",
                  blob_.with("comp=page"),
                  {},
                  data,
                  fmt::format("azure: Put Page {} of {}", range, blob_.display)};
  r.headers = {{"x-ms-page-write", "update"}, {"x-ms-range", range}};
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  return expect(r, resp, 201);
}

Status BlobClient::clear_pages(std::uint64_t offset, std::uint64_t length) {
  const std::string range = fmt::format("bytes={}-{}", offset, offset + length - 1);
  http::Request r{"PUT",
                  blob_.with("comp=page"),
                  {},
                  {},
                  fmt::format("azure: Put Page (clear) {} of {}", range, blob_.display)};
  r.headers = {{"x-ms-page-write", "clear"}, {"x-ms-range", range}};
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  return expect(r, resp, 201);
}

Result<std::vector<PageRange>> BlobClient::page_ranges(std::uint64_t length,
                                                       std::uint64_t* requests) {
  std::vector<PageRange> out;
  std::string marker;
  for (int page = 0;; ++page) {
    if (page > 100000)
      return corrupt(
          fmt::format("azure: Get Page Ranges of {}: the continuation never ends", blob_.display));
    std::string params = "comp=pagelist";
    if (!marker.empty()) params += "&marker=" + http::percent_encode(marker, false);
    http::Request r{"GET",
                    blob_.with(params),
                    {},
                    {},
                    fmt::format("azure: Get Page Ranges of {}", blob_.display)};
    VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
    VDISK_RETURN_IF_ERROR(expect(r, resp, 200));
    if (requests) ++*requests;
    VDISK_ASSIGN_OR_RETURN(marker, parse_page_list(resp.body, length, out));
    if (marker.empty()) return out;
  }
}

namespace {

// "bytes S-E/T" naming exactly [offset, offset + length) of a blob of `total` (0: any).
bool content_range_is(std::string_view v, std::uint64_t offset, std::uint64_t length,
                      std::uint64_t total) {
  if (!v.starts_with("bytes ")) return false;
  v.remove_prefix(6);
  const std::size_t dash = v.find('-');
  const std::size_t slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
    return false;
  auto s = to_u64(v.substr(0, dash));
  auto e = to_u64(v.substr(dash + 1, slash - dash - 1));
  auto t = to_u64(v.substr(slash + 1));
  if (!s || !e || !t) return false;
  return *s == offset && *e == offset + length - 1 && (total == 0 || *t == total);
}

}  // namespace

Result<std::string> BlobClient::get_range(std::uint64_t offset, std::uint64_t length,
                                          const RangeChecks& checks) {
  if (length == 0 || offset + length < offset)
    return internal_error(
        fmt::format("azure: Get Blob of {} bytes at {} of {}", length, offset, blob_.display));
  const std::string range = fmt::format("bytes={}-{}", offset, offset + length - 1);
  http::Request r{
      "GET", blob_.with(""), {}, {}, fmt::format("azure: Get Blob {} of {}", range, blob_.display)};
  r.headers = {{"x-ms-range", range}};
  if (!checks.etag.empty()) r.headers.push_back({"If-Match", std::string(checks.etag)});
  const bool md5 = checks.md5 && length <= (4u << 20);
  if (md5) r.headers.push_back({"x-ms-range-get-content-md5", "true"});
  const unsigned attempts = std::max(1u, client_.options().max_attempts);
  for (unsigned attempt = 1;; ++attempt) {
    VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
    if (resp.status == 412 && !checks.etag.empty())
      return io_error(fmt::format(
          "{}: the blob changed while it was read (it no longer has ETag {}; HTTP 412): read it "
          "again",
          r.what, checks.etag));
    const bool whole = resp.status == 200 && offset == 0 &&
                       (checks.blob_length == 0 || checks.blob_length == length);
    if (!whole) VDISK_RETURN_IF_ERROR(expect(r, resp, 206));
    const std::string_view etag = resp.header("etag");
    if (!checks.etag.empty() && !etag.empty() && etag != checks.etag)
      return io_error(
          fmt::format("{}: the blob changed while it was read (ETag {}, now {}): read it again",
                      r.what, checks.etag, etag));
    if (resp.status == 206 &&
        !content_range_is(resp.header("content-range"), offset, length, checks.blob_length))
      return io_error(fmt::format("{}: the reply is for another range (Content-Range: {})", r.what,
                                  resp.header("content-range").substr(0, 100)));
    if (resp.body.size() != length)
      return io_error(fmt::format("{}: the reply holds {} bytes, expected {}", r.what,
                                  resp.body.size(), length));
    const std::string_view sent_md5 = md5 ? resp.header("content-md5") : std::string_view();
    if (sent_md5.empty()) return std::move(resp.body);
    checksum::Md5 h;
    h.update(std::as_bytes(std::span(resp.body.data(), resp.body.size())));
    const auto digest = h.finish();
    const std::string got = checksum::to_base64(digest);
    if (got == sent_md5) return std::move(resp.body);
    const std::string line = fmt::format("{}: the body's MD5 is {}, the reply's Content-MD5 {}",
                                         r.what, got, sent_md5.substr(0, 64));
    if (attempt >= attempts) return io_error(fmt::format("{} ({} attempts)", line, attempt));
    if (client_.options().on_retry) client_.options().on_retry(line + "; retrying");
  }
}

Status BlobClient::set_metadata(const std::map<std::string, std::string>& metadata) {
  http::Request r{"PUT",
                  blob_.with("comp=metadata"),
                  {},
                  {},
                  fmt::format("azure: Set Blob Metadata of {}", blob_.display)};
  for (const auto& [k, v] : metadata) r.headers.push_back({"x-ms-meta-" + k, v});
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  return expect(r, resp, 200);
}

Status BlobClient::set_content_md5(std::string_view md5_base64, std::string_view content_type) {
  http::Request r{"PUT",
                  blob_.with("comp=properties"),
                  {},
                  {},
                  fmt::format("azure: Set Blob Properties (Content-MD5) of {}", blob_.display)};
  // Properties not sent are cleared: send the content type again.
  r.headers = {{"x-ms-blob-content-md5", std::string(md5_base64)}};
  if (!content_type.empty())
    r.headers.push_back({"x-ms-blob-content-type", std::string(content_type)});
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  return expect(r, resp, 200);
}

Status BlobClient::remove() {
  http::Request r{
      "DELETE", blob_.with(""), {}, {}, fmt::format("azure: Delete Blob {}", blob_.display)};
  VDISK_ASSIGN_OR_RETURN(http::Response resp, send(r));
  if (resp.status == 404) return {};
  return expect(r, resp, 202);
}

ClientMaker default_client_maker() {
  return [](const BlobUrl& blob, const HttpOptions& options, std::stop_token stop) {
    return BlobClient::create(blob, options, stop);
  };
}

}  // namespace vdisk::azure
