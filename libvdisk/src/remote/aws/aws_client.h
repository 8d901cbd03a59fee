// What the S3 and EBS clients share on top of http/service_client.h: the AWS endpoint of a
// service, the checks of the credentials and region, and requests signed with SigV4
// (remote/aws/sigv4.h) with the options' credentials and region.
//
//   S3Client / EbsClient --> AwsClient::send (SigV4: x-amz-date, token, Authorization)
//     --> ServiceClient::send (retries, stop token) --> Connection
//
// Guarantees:
// - Endpoints: aws_endpoint() is AwsOptions::endpoint_url without its trailing '/'s when one is
//   given (an emulator or an S3-compatible store), else the AWS default the caller names.
// - Every request is signed when send() is called (unix_now()) for the region and the service
//   given, with the payload hash the caller computed; its retries re-send it as signed.
// - One AwsClient per thread, as ServiceClient.
#ifndef VDISK_AWS_AWS_CLIENT_H_
#define VDISK_AWS_AWS_CLIENT_H_

#include <stop_token>
#include <string>
#include <string_view>

#include "http/service_client.h"
#include "http/upload_ledger.h"
#include "vdisk/cloud.h"

namespace vdisk::aws {

class AwsClient {
 public:
  static Result<AwsClient> open(const AwsOptions& aws, std::stop_token stop);
  // Over a service client the caller made (a test's scripted connection), whose options the
  // requests use instead of aws.http.
  AwsClient(const AwsOptions& aws, http::ServiceClient http) : aws_(aws), http_(std::move(http)) {}

  // Signs `request` (whose url is `url.full()`) for `service` ("s3", "ebs", "ec2") with
  // `payload_hash` (hex SHA-256 of the body) and sends it; with `check`, as
  // ServiceClient::send.
  Result<http::Response> send(http::Request request, const http::Url& url, std::string_view service,
                              std::string_view payload_hash, const http::ResponseCheck& check = {});
  const AwsOptions& options() const { return aws_; }

 private:
  AwsOptions aws_;
  http::ServiceClient http_;
};

// The base URL of a service's requests: aws.endpoint_url trimmed of trailing '/'s, or
// `aws_default` without one.
std::string aws_endpoint(const AwsOptions& aws, std::string_view aws_default);

// invalid_argument "<who>: no AWS credentials (...)" without an access key id and secret.
Status check_credentials(const AwsOptions& aws, std::string_view who);
// invalid_argument "<who>: no region (--region or AWS_REGION)" without a region.
Status check_region(const AwsOptions& aws, std::string_view who);

// `aws` whose HTTP retries are also counted in `ledger` (UploadLedger::counting).
AwsOptions counting_retries(const AwsOptions& aws, http::UploadLedger& ledger);

}  // namespace vdisk::aws

#endif  // VDISK_AWS_AWS_CLIENT_H_
