// The S3 requests a multipart upload makes (docs/cloud.md, "AWS"), signed with SigV4, against
// one object. One S3Client per thread.
#ifndef VDISK_AWS_S3_CLIENT_H_
#define VDISK_AWS_S3_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "http/client.h"
#include "http/content_range.h"
#include "http/url.h"
#include "remote/aws/aws_client.h"
#include "vdisk/cloud.h"

namespace vdisk::aws {

struct S3Object {
  std::string bucket;
  std::string key;
  http::Url url;        // the object's URL (virtual-hosted on AWS, path-style on an endpoint)
  std::string display;  // s3://bucket/key
};

// s3://BUCKET/KEY, with the endpoint: AWS's (https://BUCKET.s3.REGION.amazonaws.com/KEY, or
// path-style when the bucket name holds a dot) or `endpoint_url`/BUCKET/KEY.
Result<S3Object> parse_s3_url(std::string_view text, const AwsOptions& aws);

// Part sizes: at least 5 MiB (S3's minimum for every part but the last); for a known size, whole
// MiB large enough that 10,000 parts hold it; for an unknown one, doubling every 1,000 parts
// (5 MiB .. 2.5 GiB: about 4.9 TiB in all, near S3's 5 TiB object limit).
inline constexpr std::uint64_t kMinPartBytes = 5u << 20;
inline constexpr std::uint32_t kMaxParts = 10000;
std::uint64_t part_bytes(std::optional<std::uint64_t> object_bytes, std::uint32_t part_number);

class S3Client {
 public:
  static Result<std::unique_ptr<S3Client>> create(const S3Object& object, const AwsOptions& aws,
                                                  std::stop_token stop);
  // Over an AwsClient the caller made (a test's scripted connection).
  static std::unique_ptr<S3Client> over(const S3Object& object, AwsClient client) {
    return std::unique_ptr<S3Client>(new S3Client(object, std::move(client)));
  }
  // HEAD: whether the object exists.
  Result<bool> exists();
  // HEAD: the object's Content-Length (not_found when there is no object).
  Result<std::uint64_t> size();
  // GetObject of bytes [offset, offset + length) (length > 0): exactly those bytes, else
  // io_error.
  Result<std::string> get_range(std::uint64_t offset, std::uint64_t length);
  // HEAD for a reader: the size and the validator (ETag) it pins.
  struct Head {
    std::uint64_t bytes = 0;
    http::Validator validator;
  };
  Result<Head> head();
  // GetObject of bytes [offset, offset + dst.size()) of the version `pinned` (If-Match) of an
  // object of `object_bytes`, checked by http::check_range_reply and retried as the options
  // say, into `dst` (not empty).
  Status read_range(std::uint64_t offset, std::span<std::byte> dst, std::uint64_t object_bytes,
                    const http::Validator& pinned);
  Result<std::string> initiate();  // the UploadId
  // The part's ETag (quotes kept).
  Result<std::string> upload_part(const std::string& upload_id, std::uint32_t number,
                                  std::span<const std::byte> body);
  Status complete(const std::string& upload_id, const std::vector<std::string>& etags);
  Status abort(const std::string& upload_id);

 private:
  S3Client(const S3Object& o, AwsClient client) : object_(o), client_(std::move(client)) {}
  Result<http::Response> send(const std::string& method, const std::string& query,
                              std::vector<http::Header> headers, std::span<const std::byte> body,
                              std::string what, const http::ResponseCheck& check = {});

  S3Object object_;
  AwsClient client_;
};

}  // namespace vdisk::aws

#endif  // VDISK_AWS_S3_CLIENT_H_
