// The EBS snapshot API as the snapshot output and an incremental move use it, without a network
// (remote/ebs/ebs_client.h, vdisk/cloud.h): DescribeSnapshots' state and tags, StartSnapshot's
// parent and tags, and the output's pairing of --parent-snapshot with an incremental source.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "http/service_client.h"
#include "remote/ebs/ebs_client.h"
#include "vdisk/cloud.h"
#include "vdisk/remote.h"

using namespace vdisk;
using namespace vdisk::aws;

namespace {

AwsOptions aws_options() {
  AwsOptions aws;
  aws.access_key_id = "AKIDEXAMPLE";
  aws.secret_access_key = "secret";
  aws.region = "eu-west-1";
  aws.http.max_attempts = 1;
  return aws;
}

}  // namespace

TEST_CASE("ebs: DescribeSnapshots gives the state and the tags", "[cloud][ebs]") {
  const std::string xml =
      R"(<DescribeSnapshotsResponse><snapshotSet><item><tagSet><item><key>vdconvert:source</key>)"
      R"(<value>ebs:snap-1&amp;2</value></item><item><key>k</key><value></value></item></tagSet>)"
      R"(<snapshotId>snap-0a</snapshotId><status>completed</status></item></snapshotSet>)"
      R"(</DescribeSnapshotsResponse>)";
  auto f = parse_describe_snapshots(xml, "snap-0a");
  REQUIRE(f.ok());
  CHECK(f->state == "completed");
  CHECK(f->tag("vdconvert:source") == "ebs:snap-1&2");
  CHECK(f->tag("k") == "");
  CHECK(!f->tag("other"));
  CHECK(parse_describe_snapshots(xml, "snap-0b").status().code() == Errc::corrupt);
  CHECK(parse_describe_snapshots(
            "<DescribeSnapshotsResponse><snapshotSet/></DescribeSnapshotsResponse>", "snap-0a")
            .status()
            .code() == Errc::not_found);
}

namespace {

// Answers every request with `reply` and keeps the requests' bodies.
class CapturingConnection final : public http::Connection {
 public:
  CapturingConnection(http::Response reply, std::vector<std::string>& bodies)
      : reply_(std::move(reply)), bodies_(bodies) {}
  http::Attempt send(const http::Request& r, std::stop_token) override {
    bodies_.emplace_back(reinterpret_cast<const char*>(r.body.data()), r.body.size());
    http::Attempt a;
    a.response = reply_;
    return a;
  }

 private:
  http::Response reply_;
  std::vector<std::string>& bodies_;
};

}  // namespace

TEST_CASE("ebs: StartSnapshot names the parent and the tags", "[cloud][ebs]") {
  std::vector<std::string> bodies;
  AwsOptions aws = aws_options();
  auto client = EbsClient::over(AwsClient(
      aws,
      http::ServiceClient(
          aws.http,
          std::make_unique<CapturingConnection>(
              http::Response{201, {}, R"({"SnapshotId":"snap-1","BlockSize":524288})"}, bodies),
          {})));
  EbsSnapshotOptions o;
  o.parent_snapshot_id = "snap-0p";
  o.tags = {{"vdconvert:source", "ebs:snap-0a"}};
  auto started = client->start(1, o, "token");
  REQUIRE(started.ok());
  CHECK(started->id == "snap-1");
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].find(R"("ParentSnapshotId":"snap-0p")") != std::string::npos);
  CHECK(bodies[0].find(R"({"Key":"vdconvert:source","Value":"ebs:snap-0a"})") != std::string::npos);
  o.parent_snapshot_id.clear();
  REQUIRE(client->start(1, o, "token").ok());
  CHECK(bodies[1].find("ParentSnapshotId") == std::string::npos);
}

TEST_CASE("ebs output: changes need a parent, a parent needs changes", "[cloud][ebs]") {
  EbsSnapshotOptions o;
  o.aws = aws_options();
  ChangeSet cs;
  cs.base = "ebs:snap-0a";
  cs.identity = "ebs:snap-0b";
  cs.disk_bytes = 1ull << 30;
  cs.ranges = {{0, 524288, ExtentKind::data}};
  {
    auto out = ebs_snapshot(o);
    REQUIRE(out.ok());
    CHECK((*out)->set_source("ebs:snap-0b", nullptr).ok());  // a full copy
    const Status s = (*out)->set_source("ebs:snap-0b", &cs);
    REQUIRE(!s.ok());
    CHECK(std::string(s.message()).find("an incremental source needs --parent-snapshot") !=
          std::string::npos);
    CHECK(std::string(s.message()).find("ebs:snap-0a") != std::string::npos);
  }
  o.parent_snapshot_id = "snap-0p";
  {
    auto out = ebs_snapshot(o);
    REQUIRE(out.ok());
    const Status s = (*out)->set_source("ebs:snap-0b", nullptr);
    REQUIRE(s.code() == Errc::invalid_argument);
    CHECK(std::string(s.message()).find("--parent-snapshot snap-0p takes an incremental source") !=
          std::string::npos);
    // Without set_source, open() refuses the same way (before any request).
    auto sink = (*out)->open(1ull << 30, {});
    REQUIRE(sink.status().code() == Errc::invalid_argument);
    CHECK((*out)->set_source("ebs:snap-0b", &cs).ok());
  }
}
