// S3 multipart upload requests: CreateMultipartUpload, UploadPart, CompleteMultipartUpload
// (whose 200 may still carry an <Error>), AbortMultipartUpload, HeadObject, and the ranged
// GetObject of a read-back.
#include "remote/s3/s3_client.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "http/upload_ledger.h"
#include "remote/aws/sigv4.h"

namespace vdisk::aws {
namespace {

Status expect(const http::Response& r, long status, const std::string& what) {
  return http::reply_status(what, r, status, "check the credentials and the region");
}

bool valid_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

}  // namespace

Result<S3Object> parse_s3_url(std::string_view text, const AwsOptions& aws) {
  if (!text.starts_with("s3://"))
    return invalid_argument(fmt::format("s3: {}: expected s3://BUCKET/KEY", text));
  const std::string_view rest = text.substr(5);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size())
    return invalid_argument(fmt::format("s3: {}: expected s3://BUCKET/KEY (no key)", text));
  S3Object o;
  o.bucket = std::string(rest.substr(0, slash));
  o.key = std::string(rest.substr(slash + 1));
  o.display = fmt::format("s3://{}/{}", o.bucket, o.key);
  if (!valid_bucket(o.bucket))
    return invalid_argument(
        fmt::format("s3: {}: '{}' is not a valid bucket name", o.display, o.bucket));
  if (o.key.size() > 1024)
    return invalid_argument(fmt::format("s3: {}: the key is longer than 1024 bytes", o.display));
  for (char c : o.key)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return invalid_argument(fmt::format("s3: {}: the key holds a control character", o.display));
  VDISK_RETURN_IF_ERROR(check_region(aws, fmt::format("s3: {}", o.display)));
  const std::string key_path = http::percent_encode(o.key, true);
  // Path-style on an endpoint and for bucket names with a dot; virtual-hosted otherwise.
  const bool path_style = !aws.endpoint_url.empty() || o.bucket.find('.') != std::string::npos;
  const std::string base = aws_endpoint(
      aws, path_style ? fmt::format("https://s3.{}.amazonaws.com", aws.region)
                      : fmt::format("https://{}.s3.{}.amazonaws.com", o.bucket, aws.region));
  const std::string url = path_style ? fmt::format("{}/{}/{}", base, o.bucket, key_path)
                                     : fmt::format("{}/{}", base, key_path);
  VDISK_ASSIGN_OR_RETURN(o.url, http::parse_service_url(url));
  if (!o.url.query.empty())
    return invalid_argument(fmt::format("s3: --endpoint-url {}: a query is not allowed",
                                        http::redact_url(aws.endpoint_url)));
  return o;
}

std::uint64_t part_bytes(std::optional<std::uint64_t> object_bytes, std::uint32_t part_number) {
  if (object_bytes) {
    const std::uint64_t need = (*object_bytes + kMaxParts - 1) / kMaxParts;
    const std::uint64_t mib = 1u << 20;
    return std::max(kMinPartBytes, (need + mib - 1) / mib * mib);
  }
  const std::uint32_t doublings = std::min<std::uint32_t>((part_number - 1) / 1000, 9);
  return kMinPartBytes << doublings;
}

Result<std::unique_ptr<S3Client>> S3Client::create(const S3Object& object, const AwsOptions& aws,
                                                   std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(AwsClient c, AwsClient::open(aws, stop));
  return std::unique_ptr<S3Client>(new S3Client(object, std::move(c)));
}

Result<http::Response> S3Client::send(const std::string& method, const std::string& query,
                                      std::vector<http::Header> headers,
                                      std::span<const std::byte> body, std::string what,
                                      const http::ResponseCheck& check) {
  http::Url u = object_.url;
  u.query = query;
  return client_.send({method, u.full(), std::move(headers), body, std::move(what)}, u, "s3",
                      sha256_hex(body), check);
}

Result<S3Client::Head> S3Client::head() {
  const std::string what = fmt::format("s3: HeadObject {}", object_.display);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("HEAD", "", {}, {}, what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  const std::string_view text = r.header("content-length");
  Head h;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), h.bytes);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    return corrupt(fmt::format("{}: no valid Content-Length in the reply", what));
  h.validator = http::validator_of(r);
  return h;
}

Status S3Client::read_range(std::uint64_t offset, std::span<std::byte> dst,
                            std::uint64_t object_bytes, const http::Validator& pinned) {
  const std::string range = http::range_header(offset, dst.size());
  const std::string what = fmt::format("s3: GetObject {} of {}", range, object_.display);
  std::vector<http::Header> headers{{"range", range}};
  if (auto p = http::precondition(pinned)) headers.push_back(*p);
  const http::ResponseCheck check = [&](const http::Response& r) {
    return http::check_range_reply(r, offset, dst.size(), object_bytes, pinned, what,
                                   "check the credentials and the region");
  };
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("GET", "", std::move(headers), {}, what, check));
  std::memcpy(dst.data(), r.body.data(), dst.size());
  return {};
}

Result<bool> S3Client::exists() {
  const std::string what = fmt::format("s3: HeadObject {}", object_.display);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("HEAD", "", {}, {}, what));
  if (r.status == 404) return false;
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  return true;
}

Result<std::uint64_t> S3Client::size() {
  const std::string what = fmt::format("s3: HeadObject {}", object_.display);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("HEAD", "", {}, {}, what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  const std::string_view text = r.header("content-length");
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    return corrupt(fmt::format("{}: no valid Content-Length in the reply", what));
  return n;
}

Result<std::string> S3Client::get_range(std::uint64_t offset, std::uint64_t length) {
  const std::string range = fmt::format("bytes={}-{}", offset, offset + length - 1);
  const std::string what = fmt::format("s3: GetObject {} of {}", range, object_.display);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("GET", "", {{"range", range}}, {}, what));
  VDISK_RETURN_IF_ERROR(expect(r, 206, what));
  if (r.body.size() != length)
    return io_error(
        fmt::format("{}: the reply holds {} bytes, expected {}", what, r.body.size(), length));
  return std::move(r.body);
}

Result<std::string> S3Client::initiate() {
  const std::string what = fmt::format("s3: CreateMultipartUpload {}", object_.display);
  VDISK_ASSIGN_OR_RETURN(
      http::Response r,
      send("POST", "uploads=", {{"content-type", "application/octet-stream"}}, {}, what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  auto id = http::xml_text(r.body, "UploadId");
  if (!id || id->empty() || id->size() > 1024)
    return corrupt(fmt::format("{}: the reply has no UploadId", what));
  return *id;
}

Result<std::string> S3Client::upload_part(const std::string& upload_id, std::uint32_t number,
                                          std::span<const std::byte> body) {
  const std::string what =
      fmt::format("s3: UploadPart {} ({} bytes) of {}", number, body.size(), object_.display);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("PUT",
                                                fmt::format("partNumber={}&uploadId={}", number,
                                                            http::percent_encode(upload_id, false)),
                                                {}, body, what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  const std::string_view etag = r.header("etag");
  if (etag.empty()) return corrupt(fmt::format("{}: the reply has no ETag", what));
  return std::string(etag);
}

Status S3Client::complete(const std::string& upload_id, const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    std::string tag;
    for (char c : etags[i]) tag += c == '"' ? std::string("&quot;") : std::string(1, c);
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, tag);
  }
  xml += "</CompleteMultipartUpload>";
  const std::string what =
      fmt::format("s3: CompleteMultipartUpload ({} parts) {}", etags.size(), object_.display);
  VDISK_ASSIGN_OR_RETURN(http::Response r,
                         send("POST", "uploadId=" + http::percent_encode(upload_id, false),
                              {{"content-type", "application/xml"}},
                              std::as_bytes(std::span(xml.data(), xml.size())), what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  // A 200 can still carry an error (S3 answers early and reports the failure in the body).
  if (r.body.find("<Error>") != std::string::npos)
    return io_error(http::describe_failure({"", "", {}, {}, what}, r));
  return {};
}

Status S3Client::abort(const std::string& upload_id) {
  const std::string what = fmt::format("s3: AbortMultipartUpload {}", object_.display);
  VDISK_ASSIGN_OR_RETURN(
      http::Response r,
      send("DELETE", "uploadId=" + http::percent_encode(upload_id, false), {}, {}, what));
  if (r.status == 404) return {};
  return expect(r, 204, what);
}

}  // namespace vdisk::aws
