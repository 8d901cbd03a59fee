// The cloud client setup the S3, EBS and Azure clients share (http/service_client.h,
// remote/aws/aws_client.h), without a network: requests sent with the client's retries and stop token,
// signed once for the service and region, service URLs and endpoints, the option checks and
// their messages, one client per thread, and retries counted in the upload's ledger.
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "remote/aws/aws_client.h"
#include "remote/aws/sigv4.h"
#include "http/service_client.h"
#include "http/upload_ledger.h"

using namespace vdisk;

namespace {

// Answers each attempt with the next status of its script (then 200) and keeps every request.
class RecordingConnection final : public http::Connection {
 public:
  RecordingConnection(std::deque<long> statuses, std::vector<http::Request>& seen)
      : statuses_(std::move(statuses)), seen_(seen) {}
  http::Attempt send(const http::Request& request, std::stop_token) override {
    seen_.push_back(request);
    http::Attempt a;
    long status = 200;
    if (!statuses_.empty()) {
      status = statuses_.front();
      statuses_.pop_front();
    }
    a.response = http::Response{status, {}, ""};
    return a;
  }

 private:
  std::deque<long> statuses_;
  std::vector<http::Request>& seen_;
};

HttpOptions fast() {
  HttpOptions o;
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 2;
  return o;
}

std::string header(const http::Request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return "<none>";
}

AwsOptions aws_options() {
  AwsOptions a;
  a.access_key_id = "AKIDEXAMPLE";
  a.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  a.region = "eu-west-1";
  return a;
}

}  // namespace

TEST_CASE("service client: requests go out with the client's retries and stop token", "[cloud]") {
  std::vector<http::Request> seen;
  int retries = 0;
  HttpOptions o = fast();
  o.on_retry = [&](std::string_view) { ++retries; };
  http::ServiceClient c(o, std::make_unique<RecordingConnection>(std::deque<long>{503, 500}, seen),
                        {});
  auto r = c.send({"PUT", "https://example.com/a", {}, {}, "op"});
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(seen.size() == 3);
  CHECK(retries == 2);
  CHECK(c.options().initial_backoff_ms == 1);

  std::stop_source stop;
  stop.request_stop();
  std::vector<http::Request> none;
  http::ServiceClient stopped(
      fast(), std::make_unique<RecordingConnection>(std::deque<long>{503}, none), stop.get_token());
  auto s = stopped.send({"PUT", "https://example.com/a", {}, {}, "op"});
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Errc::cancelled);
}

TEST_CASE("service client: service URLs, endpoints and connection counts", "[cloud]") {
  CHECK(http::parse_service_url("https://acct.blob.core.windows.net/c/b?sv=1").ok());
  CHECK(http::parse_service_url("http://127.0.0.1:10000/devstoreaccount1/c/b").ok());
  const auto plain = http::parse_service_url("http://example.com/c/b");
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.status().code() == Errc::invalid_argument);
  CHECK_FALSE(http::parse_service_url("not a url").ok());

  CHECK(http::trim_endpoint("http://127.0.0.1:5000///") == "http://127.0.0.1:5000");
  CHECK(http::trim_endpoint("https://s3.example") == "https://s3.example");
  CHECK(http::trim_endpoint("") == "");

  CHECK(http::check_connections("s3", 1).ok());
  CHECK(http::check_connections("s3", 64).ok());
  CHECK(http::check_connections("azure", 0).message() == "azure: 0 connections: expected 1..64");
  CHECK(http::check_connections("ebs", 65).message() == "ebs: 65 connections: expected 1..64");
}

TEST_CASE("service client: one client per thread, the first error stops", "[cloud]") {
  int made = 0;
  auto ok = http::open_clients<int>(
      5, [&]() -> Result<std::unique_ptr<int>> { return std::make_unique<int>(made++); });
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 5);
  CHECK(*ok->back() == 4);
  made = 0;
  auto bad = http::open_clients<int>(5, [&]() -> Result<std::unique_ptr<int>> {
    if (++made == 3) return io_error("test: no connection");
    return std::make_unique<int>(made);
  });
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "test: no connection");
  CHECK(made == 3);
}

TEST_CASE("aws client: requests are signed for the service and region, then sent", "[cloud]") {
  std::vector<http::Request> seen;
  AwsOptions a = aws_options();
  a.session_token = "TOKEN";
  aws::AwsClient client(
      a, http::ServiceClient(
             fast(), std::make_unique<RecordingConnection>(std::deque<long>{503}, seen), {}));
  auto u = http::parse_url("https://ebs.eu-west-1.amazonaws.com/snapshots");
  REQUIRE(u.ok());
  const std::string body = "{}";
  const auto bytes = std::as_bytes(std::span(body.data(), body.size()));
  auto r = client.send({"POST", u->full(), {{"content-type", "application/json"}}, bytes, "start"},
                       *u, "ebs", aws::sha256_hex(bytes));
  REQUIRE(r.ok());
  REQUIRE(seen.size() == 2);  // the retry re-sends the request as signed
  const http::Request& sent = seen.back();
  CHECK(sent.url == u->full());
  CHECK(sent.method == "POST");
  CHECK(header(sent, "content-type") == "application/json");
  CHECK(header(sent, "x-amz-security-token") == "TOKEN");
  CHECK(header(sent, "x-amz-content-sha256") == "<none>");  // S3 only
  const std::string auth = header(sent, "Authorization");
  CHECK(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
  CHECK(auth.find("/eu-west-1/ebs/aws4_request") != std::string::npos);
  CHECK(header(seen.front(), "Authorization") == auth);
  CHECK(header(sent, "x-amz-date").size() == 16);
  CHECK(client.options().region == "eu-west-1");
}

TEST_CASE("aws client: endpoints, credential and region checks, counted retries", "[cloud]") {
  AwsOptions a = aws_options();
  CHECK(aws::aws_endpoint(a, "https://ebs.eu-west-1.amazonaws.com") ==
        "https://ebs.eu-west-1.amazonaws.com");
  a.endpoint_url = "http://127.0.0.1:5000/";
  CHECK(aws::aws_endpoint(a, "https://ebs.eu-west-1.amazonaws.com") == "http://127.0.0.1:5000");

  CHECK(aws::check_credentials(a, "ebs").ok());
  CHECK(aws::check_region(a, "ebs").ok());
  AwsOptions empty;
  CHECK(aws::check_credentials(empty, "s3: s3://b/k").message() ==
        "s3: s3://b/k: no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a "
        "profile in the shared credentials file)");
  empty.access_key_id = "AKID";
  CHECK(aws::check_credentials(empty, "ebs").code() == Errc::invalid_argument);  // no secret
  CHECK(aws::check_region(empty, "ebs").message() == "ebs: no region (--region or AWS_REGION)");

  http::UploadLedger ledger;
  int user_calls = 0;
  a.http.on_retry = [&](std::string_view) { ++user_calls; };
  const AwsOptions counted = aws::counting_retries(a, ledger);
  CHECK(counted.region == a.region);
  counted.http.on_retry("retry 1");
  counted.http.on_retry("retry 2");
  CHECK(ledger.snapshot().retries == 2);
  CHECK(user_calls == 2);
}
