// The one entry point for a remote SRC without a network (vdisk/remote.h,
// remote/open_remote.cpp): the classification of a SRC's text (remote_source_kind, the rule
// vdconvert and the C API share), the host it reads (remote_url_host), a header line
// (parse_source_header), and what open_remote_source refuses before any request: a SRC that is
// not remote, headers for a kind that takes none, `since` for a kind that is not an EBS snapshot
// or that names no snapshot; none of those messages shows a secret. The same for a remote DST
// (remote/open_output.cpp): remote_destination_kind's table of forms, and what
// open_remote_output refuses before any request (settings its kind does not take).
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "vdisk/remote.h"

using namespace vdisk;

namespace {

constexpr std::string_view kSig = "c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";

}  // namespace

TEST_CASE("remote_source_kind: the forms of a SRC") {
  struct Row {
    std::string src;
    RemoteSourceKind kind;
  };
  const std::string sas = "sv=2021-08-06&sr=b&sp=r&sig=" + std::string(kSig);
  const Row rows[] = {
      {"ebs:snap-0123", RemoteSourceKind::ebs},
      {"ebs://snap-0123456789abcdef0", RemoteSourceKind::ebs},
      {"ebs:", RemoteSourceKind::none},  // a destination, not a snapshot
      {"ebs:vol-0123", RemoteSourceKind::none},
      {"s3://b/k", RemoteSourceKind::s3},
      {"s3://bucket/dir/disk.vmdk", RemoteSourceKind::s3},
      {"https://acct.blob.core.windows.net/c/disk.vhd?" + sas, RemoteSourceKind::azure_blob},
      // A blob host without a SAS (a public container) is still a blob.
      {"https://ACCT.Blob.Core.Windows.Net/c/disk.vhd", RemoteSourceKind::azure_blob},
      {"https://md-abc.z1.blob.storage.azure.net/x/abcd?" + sas, RemoteSourceKind::azure_blob},
      // Azurite on loopback: only the SAS says it is a blob.
      {"http://127.0.0.1:10000/devstoreaccount1/disks/disk.vhd?" + sas,
       RemoteSourceKind::azure_blob},
      // sv= without sig= (or a parameter merely ending in "sv") is no SAS.
      {"http://127.0.0.1:10000/devstoreaccount1/disks/disk.vhd?sv=2021-08-06",
       RemoteSourceKind::http},
      {"https://example.com/d.raw?xsv=1&sig=2", RemoteSourceKind::http},
      {"https://example.com/images/disk.qcow2", RemoteSourceKind::http},
      {"HTTPS://EXAMPLE.COM/disk.raw", RemoteSourceKind::http},
      {"http://[::1]:8080/disk.raw", RemoteSourceKind::http},
      // A host that merely contains the blob suffix elsewhere in the URL.
      {"https://example.com/x.blob.core.windows.net/disk.vhd", RemoteSourceKind::http},
      {"disk.vmdk", RemoteSourceKind::none},
      {"/var/lib/images/disk.qcow2", RemoteSourceKind::none},
      {"./s3://not-a-url", RemoteSourceKind::none},
      {"-", RemoteSourceKind::none},
      {"", RemoteSourceKind::none},
      {"ftp://example.com/disk.raw", RemoteSourceKind::none},
  };
  for (const Row& row : rows) {
    INFO(row.src);
    CHECK(remote_source_kind(row.src) == row.kind);
  }
}

TEST_CASE("remote_url_host: lowercase, without user info or port") {
  CHECK(remote_url_host("https://Acct.Blob.Core.Windows.Net/c/b?sig=x") ==
        "acct.blob.core.windows.net");
  CHECK(remote_url_host("http://user:pw@Host.Example:8443/p") == "host.example");
  CHECK(remote_url_host("http://[::1]:10000/a") == "[::1]");
  CHECK(remote_url_host("https://h?q=1") == "h");
  CHECK(remote_url_host("disk.raw").empty());
}

TEST_CASE("parse_source_header: NAME: VALUE, the value never shown") {
  auto h = parse_source_header("Cookie:   session=abc");
  REQUIRE(h.ok());
  CHECK(h->first == "Cookie");
  CHECK(h->second == "session=abc");
  for (const std::string bad :
       {"no colon secretvalue", ": secretvalue", "Bad Name: secretvalue", "Host: secretvalue",
        "Range: secretvalue", "X-A: secret\r\nX-B: value"}) {
    INFO(bad);
    auto r = parse_source_header(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK(r.status().message().find("secret") == std::string::npos);
  }
}

TEST_CASE("open_remote_source: refusals before any request, without secrets") {
  RemoteSourceOptions o;
  o.aws.secret_access_key = "aws-secret-never-shown";
  SECTION("a path is not remote") {
    o.source = "disk.vmdk";
    auto r = open_remote_source(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK(r.status().message().find("not a remote object") != std::string::npos);
  }
  SECTION("headers for an S3 object or an Azure blob") {
    o.headers = {{"Cookie", "cookie-never-shown"}};
    for (const std::string& src :
         {std::string("s3://b/k"),
          "https://acct.blob.core.windows.net/c/d.vhd?sv=1&sig=" + std::string(kSig)}) {
      o.source = src;
      auto r = open_remote_source(o);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().message().find("http(s) SRC") != std::string::npos);
      CHECK(r.status().message().find("never-shown") == std::string::npos);
      CHECK(r.status().message().find(std::string(kSig)) == std::string::npos);
    }
  }
  SECTION("since for another kind, or naming no snapshot") {
    o.since = "snap-0123456789abcdef0";
    o.source = "s3://b/k";
    auto r = open_remote_source(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("EBS snapshot") != std::string::npos);
    o.source = "ebs:snap-0123456789abcdef1";
    o.since = "vol-0123";
    r = open_remote_source(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK(r.status().message().find("vol-0123") != std::string::npos);
    CHECK(r.status().message().find("never-shown") == std::string::npos);
  }
}

TEST_CASE("remote_destination_kind: the forms of a DST") {
  struct Row {
    std::string dst;
    RemoteDestinationKind kind;
  };
  const std::string sas = "sv=2021-08-06&sr=b&sp=racwd&sig=" + std::string(kSig);
  const Row rows[] = {
      {"ebs:", RemoteDestinationKind::ebs},
      {"ebs://", RemoteDestinationKind::ebs},
      // A snapshot id names a source; a new snapshot gets its id when it is made.
      {"ebs:snap-0123456789abcdef0", RemoteDestinationKind::none},
      {"ebs", RemoteDestinationKind::none},
      {"EBS:", RemoteDestinationKind::none},
      {"s3://bucket/disk.vmdk", RemoteDestinationKind::s3},
      {"s3://b/k", RemoteDestinationKind::s3},
      // An S3 URL without a key is still S3: s3_object refuses it (no key).
      {"s3://bucket", RemoteDestinationKind::s3},
      {"https://acct.blob.core.windows.net/c/disk.vhd?" + sas,
       RemoteDestinationKind::azure_page_blob},
      // A managed disk's upload URL.
      {"https://md-impexp-abc.z1.blob.storage.azure.net/x/abcd?" + sas,
       RemoteDestinationKind::azure_page_blob},
      // Azurite on loopback.
      {"http://127.0.0.1:10000/devstoreaccount1/disks/disk.vhd?" + sas,
       RemoteDestinationKind::azure_page_blob},
      // Any other http(s) URL is taken as a blob too: the page blob says what it refuses.
      {"https://example.com/upload/disk.vhd", RemoteDestinationKind::azure_page_blob},
      {"disk.vhd", RemoteDestinationKind::none},
      {"/var/lib/images/disk.vhd", RemoteDestinationKind::none},
      {"./s3://not-a-url", RemoteDestinationKind::none},
      {"-", RemoteDestinationKind::none},
      {"", RemoteDestinationKind::none},
      {"ftp://example.com/disk.raw", RemoteDestinationKind::none},
  };
  for (const Row& row : rows) {
    INFO(row.dst);
    CHECK(remote_destination_kind(row.dst) == row.kind);
  }
}

TEST_CASE("open_remote_output: refusals before any request, without secrets") {
  RemoteOutputOptions o;
  o.aws.secret_access_key = "aws-secret-never-shown";
  const std::string az = "https://acct.blob.core.windows.net/c/d.vhd?sv=1&sig=" + std::string(kSig);
  const auto refused = [&](std::string_view word) {
    auto r = open_remote_output(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK(r.status().message().find(word) != std::string::npos);
    CHECK(r.status().message().find("never-shown") == std::string::npos);
    CHECK(r.status().message().find(std::string(kSig)) == std::string::npos);
  };
  SECTION("a path is no cloud destination; an S3 URL without a key no object") {
    o.destination = "disk.vhd";
    refused("not a cloud destination");
    o.destination = "s3://bucket";
    o.aws.region = "us-east-1";
    refused("s3://bucket");
  }
  SECTION("Azure-only settings for S3 or EBS") {
    for (const std::string dst : {"s3://bucket/k", "ebs:"}) {
      o.destination = dst;
      o.resume = true;
      refused("resume");
      o.resume = false;
      o.update = true;
      refused("update");
      o.update = false;
      o.managed_disk = false;
      refused("managed-disk");
      o.managed_disk.reset();
    }
  }
  SECTION("EBS-only settings for S3 or Azure") {
    for (const std::string& dst : {std::string("s3://bucket/k"), az}) {
      o.destination = dst;
      o.tags = {{"k", "v"}};
      refused("EBS snapshot");
    }
  }
  SECTION("overwrite for EBS, a parent that is no snapshot") {
    o.destination = "ebs:";
    o.overwrite = true;
    refused("overwrite");
    o.overwrite = false;
    o.parent_snapshot_id = "vol-0123";
    refused("vol-0123");
  }
  SECTION("each kind is made (no request yet)") {
    o.aws.region = "us-east-1";
    for (const std::string& dst : {std::string("s3://bucket/k"), az, std::string("ebs:")}) {
      o.destination = dst;
      auto r = open_remote_output(o);
      REQUIRE(r.ok());
      CHECK((*r)->display_name().find(std::string(kSig)) == std::string::npos);
    }
    o.destination = az;
    auto r = open_remote_output(o);
    REQUIRE(r.ok());
    CHECK((*r)->caps().kind == "azure-page-blob");
  }
}
