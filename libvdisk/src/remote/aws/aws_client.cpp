// The AWS client setup shared by S3 and EBS (see aws_client.h).
#include "remote/aws/aws_client.h"

#include <fmt/format.h>

#include "remote/aws/sigv4.h"

namespace vdisk::aws {

Result<AwsClient> AwsClient::open(const AwsOptions& aws, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(http::ServiceClient c, http::ServiceClient::open(aws.http, stop));
  return AwsClient(aws, std::move(c));
}

Result<http::Response> AwsClient::send(http::Request request, const http::Url& url,
                                       std::string_view service, std::string_view payload_hash,
                                       const http::ResponseCheck& check) {
  sign_request(request, url, {aws_.access_key_id, aws_.secret_access_key, aws_.session_token},
               aws_.region, service, payload_hash, unix_now());
  return http_.send(request, check);
}

std::string aws_endpoint(const AwsOptions& aws, std::string_view aws_default) {
  return http::trim_endpoint(aws.endpoint_url.empty() ? std::string(aws_default)
                                                      : aws.endpoint_url);
}

Status check_credentials(const AwsOptions& aws, std::string_view who) {
  if (aws.access_key_id.empty() || aws.secret_access_key.empty())
    return invalid_argument(fmt::format(
        "{}: no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in the "
        "shared credentials file)",
        who));
  return {};
}

Status check_region(const AwsOptions& aws, std::string_view who) {
  if (aws.region.empty())
    return invalid_argument(fmt::format("{}: no region (--region or AWS_REGION)", who));
  return {};
}

AwsOptions counting_retries(const AwsOptions& aws, http::UploadLedger& ledger) {
  AwsOptions a = aws;
  a.http = ledger.counting(a.http);
  return a;
}

}  // namespace vdisk::aws
