// SigV4 against the worked example of AWS's Signature Version 4 documentation (IAM ListUsers,
// 2015-08-30), plus HMAC-SHA256 against RFC 4231 and the canonical query rules.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <utility>

#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "remote/aws/sigv4.h"
#include "remote/ebs/ebs_client.h"

using namespace vdisk;
using namespace vdisk::aws;

TEST_CASE("sigv4: HMAC-SHA256 (RFC 4231 test cases 1 and 6)", "[aws]") {
  std::vector<std::uint8_t> key1(20, 0x0b);
  CHECK(checksum::to_hex(hmac_sha256(key1, "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  std::vector<std::uint8_t> key6(131, 0xaa);
  CHECK(checksum::to_hex(
            hmac_sha256(key6, "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("sigv4: the documented example signs to the documented signature", "[aws]") {
  SigningInput in;
  in.method = "GET";
  in.host = "iam.amazonaws.com";
  in.path = "/";
  in.query = "Version=2010-05-08&Action=ListUsers";  // sorted by the signer
  in.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                {"X-Amz-Date", "20150830T123600Z"}};
  in.payload_hash = sha256_hex({});
  Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  Signature s = sign(in, c, "us-east-1", "iam", "20150830T123600Z");
  CHECK(s.canonical_request ==
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
        "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  CHECK(s.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST_CASE("sigv4: canonical query and headers", "[aws]") {
  SigningInput in;
  in.method = "PUT";
  in.host = "127.0.0.1:5000";
  in.path = "/bucket/disk%20one.vmdk";
  in.query = "uploadId=a%2Fb+c&partNumber=2&uploads";
  in.headers = {{"X-Amz-Date", "20261202T000000Z"}, {"x-amz-meta-a", "  two   words  "}};
  in.payload_hash = "UNSIGNED-PAYLOAD";
  Signature s = sign(in, {"AK", "SK", ""}, "eu-west-1", "s3", "20261202T000000Z");
  CHECK(s.canonical_request ==
        "PUT\n/bucket/disk%20one.vmdk\npartNumber=2&uploadId=a%2Fb%2Bc&uploads=\n"
        "host:127.0.0.1:5000\nx-amz-date:20261202T000000Z\nx-amz-meta-a:two words\n\n"
        "host;x-amz-date;x-amz-meta-a\nUNSIGNED-PAYLOAD");
  CHECK(amz_date(0) == "19700101T000000Z");
  CHECK(amz_date(1764633600) == "20251202T000000Z");
}

TEST_CASE("ebs: StartSnapshot replies and the LINEAR checksum", "[aws]") {
  auto s = parse_start_reply(
      R"({"SnapshotId": "snap-0abc123", "BlockSize" : 524288, "Status":"pending"})");
  REQUIRE(s.ok());
  CHECK(s->id == "snap-0abc123");
  CHECK(s->block_bytes == 524288);
  CHECK(parse_start_reply(R"({"SnapshotId":"snap-1","BlockSize":512})").ok());  // moto
  for (const char* bad :
       {R"({"BlockSize":524288})", R"({"SnapshotId":"snap-1"})",
        R"({"SnapshotId":"snap-1","BlockSize":1000})", R"({"SnapshotId":"snap-1","BlockSize":256})",
        R"({"SnapshotId":"snap-1","BlockSize":99999999999999999999})",
        R"({"SnapshotId":"../x","BlockSize":512})"}) {
    INFO(bad);
    auto r = parse_start_reply(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
  }
  // Encryption, as the reply states it (moto states none).
  CHECK_FALSE(s->encrypted);
  const std::string id = R"("SnapshotId":"snap-1","BlockSize":524288)";
  for (const auto& [extra, encrypted] : std::initializer_list<std::pair<const char*, bool>>{
           {R"(,"KmsKeyArn":"arn:aws:kms:us-east-1:111122223333:key/k1")", true},
           {R"(,"KmsKeyArn":"")", false},
           {R"(,"SseType":"sse-ebs")", true},
           {R"(,"SseType":"sse-kms")", true},
           {R"(,"SseType":"none")", false},
           {R"(,"Encrypted": true)", true},
           {R"(,"Encrypted":false)", false},
           {R"(,"Encrypted":"yes")", false},
           {"", false}}) {
    INFO(extra);
    auto r = parse_start_reply("{" + id + extra + "}");
    REQUIRE(r.ok());
    CHECK(r->encrypted == encrypted);
    CHECK(r->encryption.empty() == !encrypted);
  }
  CHECK(parse_start_reply(R"({"SnapshotId":"snap-1","BlockSize":512,"KmsKeyArn":"arn:k"})")
            ->encryption == "KmsKeyArn arn:k");
  // SHA-256 over the blocks' raw digests in index order, base64.
  auto sha = [](std::span<const std::uint8_t> bytes) {
    checksum::Sha256 h;
    h.update(std::as_bytes(bytes));
    return h.finish();
  };
  const std::string a = "block a", b = "block b";
  const auto da = sha({reinterpret_cast<const std::uint8_t*>(a.data()), a.size()});
  const auto db = sha({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
  std::vector<std::uint8_t> both(da.begin(), da.end());
  both.insert(both.end(), db.begin(), db.end());
  const std::array<std::array<std::uint8_t, 32>, 2> digests{da, db};
  CHECK(linear_checksum(digests) == checksum::to_base64(sha(both)));
  CHECK(linear_checksum(digests) !=
        linear_checksum(std::array<std::array<std::uint8_t, 32>, 2>{db, da}));
  LinearChecksum one_at_a_time;
  one_at_a_time.add(da);
  one_at_a_time.add(db);
  CHECK(one_at_a_time.finish_base64() == linear_checksum(digests));
  CHECK(linear_checksum(std::span<const std::array<std::uint8_t, 32>>{}) ==
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");  // SHA-256 of nothing
}
