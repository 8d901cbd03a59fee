// The EBS snapshot source without a network (remote/ebs/ebs_source.h, ebs_lists.h): a scripted
// EBS direct API that answers as AWS documents it (integer indexes in ascending order, pages of
// at most `page` blocks with a NextToken, block tokens checked, x-amz-Checksum per block), the
// map and reads through every page, a bad checksum retried then failed naming the block, hostile
// list replies refused, and ListChangedBlocks mapped into a ChangeSet.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "remote/ebs/ebs_client.h"
#include "remote/ebs/ebs_lists.h"
#include "remote/ebs/ebs_source.h"
#include "vdisk/cloud.h"
#include "vdisk/remote.h"

using namespace vdisk;
using namespace vdisk::aws;

namespace {

constexpr std::uint64_t kBs = 4096;

struct Snap {
  std::uint64_t gib = 1;
  std::uint64_t bs = kBs;
  std::map<std::uint64_t, std::string> blocks;  // index -> bytes
};

std::string token_of(const std::string& snap, std::uint64_t index) {
  return "tok/" + snap + "/" + std::to_string(index) + "+=";
}

std::string checksum_of(const std::string& data) {
  checksum::Sha256 h;
  h.update(std::as_bytes(std::span(data.data(), data.size())));
  return checksum::to_base64(h.finish());
}

std::string query(std::string_view url, std::string_view name) {
  const std::string key = std::string(name) + "=";
  std::size_t q = url.find('?');
  while (q != std::string_view::npos) {
    const std::size_t from = q + 1;
    if (url.substr(from, key.size()) == key) {
      const std::size_t end = url.find('&', from);
      std::string v(url.substr(from + key.size(), end == std::string_view::npos
                                                      ? std::string_view::npos
                                                      : end - from - key.size()));
      std::string out;  // %XX decoding
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size()) {
          out += static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          out += v[i];
        }
      }
      return out;
    }
    q = url.find('&', from);
  }
  return {};
}

// The EBS direct API, scripted: the replies AWS documents, with hooks for faults.
struct FakeEbs {
  std::mutex mu;
  std::map<std::string, Snap> snaps;
  std::size_t page = 3;                       // blocks per page
  std::map<std::uint64_t, int> bad_checksum;  // block -> replies still to corrupt (-1: always)
  std::optional<std::string> length_header;   // replaces x-amz-Data-Length
  // Replaces the body of the list replies (ListSnapshotBlocks, ListChangedBlocks) in turn.
  std::vector<std::string> list_bodies;
  std::vector<std::string> seen;  // "GET <path>" of every request

  http::Response answer(const http::Request& r) {
    std::lock_guard lock(mu);
    const std::string_view url = r.url;
    const std::size_t p = url.find("/snapshots/");
    const std::string path(url.substr(
        p, url.find('?') == std::string_view::npos ? std::string_view::npos : url.find('?') - p));
    seen.push_back(r.method + " " + std::string(url.substr(p)));
    // /snapshots/ID/blocks, /snapshots/ID/blocks/N, /snapshots/ID/changedblocks
    const std::size_t s2 = path.find('/', 11);
    const std::string id = path.substr(11, s2 - 11);
    const std::string rest = path.substr(s2);
    if (!snaps.count(id)) return {404, {}, R"({"Message":"no such snapshot"})"};
    Snap& snap = snaps[id];
    if ((rest == "/blocks" || rest == "/changedblocks") && !list_bodies.empty()) {
      std::string body = list_bodies.front();
      list_bodies.erase(list_bodies.begin());
      return {200, {}, body};
    }
    const std::uint64_t from =
        query(url, "pageToken").empty() ? 0 : std::stoull(query(url, "pageToken").substr(5));
    auto page_reply = [&](const std::string& member, const std::vector<std::string>& items,
                          std::optional<std::uint64_t> next) {
      std::string body = "{\"" + member + "\": [";
      for (std::size_t i = 0; i < items.size(); ++i) body += (i ? "," : "") + items[i];
      body += "], \"ExpiryTime\": 1.7e9, \"VolumeSize\": " + std::to_string(snap.gib) +
              ", \"BlockSize\": " + std::to_string(snap.bs);
      if (next) body += ", \"NextToken\": \"page-" + std::to_string(*next) + "\"";
      return http::Response{200, {}, body + "}"};
    };
    if (rest == "/blocks") {
      std::vector<std::string> items;
      for (auto it = snap.blocks.lower_bound(from); it != snap.blocks.end(); ++it) {
        if (items.size() == page) return page_reply("Blocks", items, it->first);
        items.push_back("{\"BlockIndex\": " + std::to_string(it->first) + ", \"BlockToken\": \"" +
                        token_of(id, it->first) + "\"}");
      }
      return page_reply("Blocks", items, std::nullopt);
    }
    if (rest == "/changedblocks") {
      const std::string first_id = query(url, "firstSnapshotId");
      const Snap& first = snaps.at(first_id);
      std::map<std::uint64_t, std::pair<std::string, std::string>> changed;
      for (const auto& [i, d] : first.blocks) {
        auto other = snap.blocks.find(i);
        if (other == snap.blocks.end() || other->second != d)
          changed[i] = {token_of(first_id, i), other == snap.blocks.end() ? "" : token_of(id, i)};
      }
      for (const auto& [i, d] : snap.blocks)
        if (!first.blocks.count(i)) changed[i] = {"", token_of(id, i)};
      std::vector<std::string> items;
      for (auto it = changed.lower_bound(from); it != changed.end(); ++it) {
        if (items.size() == page) return page_reply("ChangedBlocks", items, it->first);
        std::string item = "{\"BlockIndex\": " + std::to_string(it->first);
        if (!it->second.first.empty())
          item += ", \"FirstBlockToken\": \"" + it->second.first + "\"";
        if (!it->second.second.empty())
          item += ", \"SecondBlockToken\": \"" + it->second.second + "\"";
        items.push_back(item + "}");
      }
      return page_reply("ChangedBlocks", items, std::nullopt);
    }
    // GetSnapshotBlock
    const std::uint64_t index = std::stoull(rest.substr(8));
    auto block = snap.blocks.find(index);
    if (block == snap.blocks.end() || query(url, "blockToken") != token_of(id, index))
      return {400, {}, R"({"__type":"ValidationException","Message":"bad block token"})"};
    std::string sum = checksum_of(block->second);
    if (auto bad = bad_checksum.find(index); bad != bad_checksum.end() && bad->second != 0) {
      sum = checksum_of("not the block");
      if (bad->second > 0) --bad->second;
    }
    return {200,
            {{"x-amz-data-length", length_header.value_or(std::to_string(block->second.size()))},
             {"x-amz-checksum", sum},
             {"x-amz-checksum-algorithm", "SHA256"}},
            block->second};
  }

  std::size_t count(std::string_view what) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& s : seen) n += s.find(what) != std::string::npos;
    return n;
  }
};

class FakeConnection final : public http::Connection {
 public:
  explicit FakeConnection(FakeEbs& ebs) : ebs_(ebs) {}
  http::Attempt send(const http::Request& r, std::stop_token) override {
    http::Attempt a;
    a.response = ebs_.answer(r);
    return a;
  }

 private:
  FakeEbs& ebs_;
};

std::string block_bytes(std::uint64_t index, std::uint64_t bs = kBs) {
  std::string b(bs, '\0');
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<char>((index * 131 + i * 7) % 251 + 1);
  return b;
}

EbsSourceOptions options(const std::string& id, const std::string& since = {}) {
  EbsSourceOptions o;
  o.snapshot_id = id;
  o.since = since;
  o.aws.access_key_id = "AKIDEXAMPLE";
  o.aws.secret_access_key = "secret";
  o.aws.region = "eu-west-1";
  o.aws.http.connections = 3;
  o.aws.http.max_attempts = 3;
  o.aws.http.initial_backoff_ms = 1;
  o.aws.http.max_backoff_ms = 2;
  return o;
}

Result<std::unique_ptr<RemoteFile>> open(FakeEbs& ebs, const EbsSourceOptions& o,
                                         std::stop_token stop = {}) {
  return open_ebs_source_with(
      o,
      [&](const AwsOptions& aws, std::stop_token token) -> Result<std::unique_ptr<EbsClient>> {
        return EbsClient::over(AwsClient(
            aws, http::ServiceClient(aws.http, std::make_unique<FakeConnection>(ebs), token)));
      },
      stop);
}

// A snapshot with data blocks 0, 1, 2, 7, 8, 100 and the volume's last.
FakeEbs& with_snapshot(FakeEbs& ebs) {
  Snap s;
  for (std::uint64_t i : {0ull, 1ull, 2ull, 7ull, 8ull, 100ull, (1ull << 30) / kBs - 1})
    s.blocks[i] = block_bytes(i);
  ebs.snaps["snap-0a"] = s;
  return ebs;
}

}  // namespace

TEST_CASE("ebs source: the map and the bytes come from every page", "[cloud][ebs]") {
  FakeEbs ebs;
  with_snapshot(ebs);
  auto f = open(ebs, options("snap-0a"));
  REQUIRE(f.ok());
  RemoteFile& file = **f;
  CHECK(file.size() == 1ull << 30);
  CHECK(file.kind() == "ebs-snapshot");
  CHECK(file.identity() == "ebs:snap-0a");
  CHECK(file.changes() == nullptr);
  // 7 blocks in pages of 3: three ListSnapshotBlocks, the later ones with the page token.
  CHECK(ebs.count("/blocks?maxResults=10000") == 3);
  CHECK(ebs.count("pageToken=page-7") == 1);
  CHECK(ebs.count("pageToken=page-262143") == 1);

  std::vector<Extent> map;
  REQUIRE(file.allocation(0, 12 * kBs, map).ok());
  const std::vector<Extent> want{{0, 3 * kBs, ExtentKind::data},
                                 {3 * kBs, 4 * kBs, ExtentKind::unallocated},
                                 {7 * kBs, 2 * kBs, ExtentKind::data},
                                 {9 * kBs, 3 * kBs, ExtentKind::unallocated}};
  CHECK(map == want);
  map.clear();
  REQUIRE(file.allocation(100 * kBs + 10, 100, map).ok());
  CHECK(map == std::vector<Extent>{{100 * kBs + 10, 100, ExtentKind::data}});

  // Bytes across data and a hole; the last block of the volume.
  std::vector<std::byte> got(6 * kBs);
  REQUIRE(file.read_at(kBs + 5, got).ok());
  std::string expect = block_bytes(1).substr(5) + block_bytes(2) + std::string(4 * kBs, '\0') +
                       block_bytes(7).substr(0, 5);
  CHECK(std::memcmp(got.data(), expect.data(), got.size()) == 0);
  std::vector<std::byte> last(kBs);
  REQUIRE(file.read_at((1ull << 30) - kBs, last).ok());
  CHECK(std::memcmp(last.data(), block_bytes((1ull << 30) / kBs - 1).data(), kBs) == 0);
  // Holes are never fetched.
  CHECK(ebs.count("/blocks/3?") + ebs.count("/blocks/4?") == 0);
  Properties p;
  file.describe(p);
  CHECK(p.get("blocks_listed") == "7");
  CHECK(p.get("block_bytes") == "4096");
}

TEST_CASE("ebs source: a block whose checksum is wrong is fetched again, then fails naming it",
          "[cloud][ebs]") {
  FakeEbs ebs;
  with_snapshot(ebs);
  ebs.bad_checksum[7] = 1;  // once: the retry reads it
  auto f = open(ebs, options("snap-0a"));
  REQUIRE(f.ok());
  std::vector<std::byte> got(kBs);
  REQUIRE((*f)->read_at(7 * kBs, got).ok());
  CHECK(std::memcmp(got.data(), block_bytes(7).data(), kBs) == 0);
  CHECK((*f)->stats().retries == 1);
  CHECK(ebs.count("/blocks/7?") == 2);

  ebs.bad_checksum[8] = -1;  // always
  const Status s = (*f)->read_at(8 * kBs + 100, std::span(got).first(10));
  REQUIRE(s.code() == Errc::io_error);
  const std::string m(s.message());
  CHECK(m.find("ebs:snap-0a") != std::string::npos);
  CHECK(m.find("GetSnapshotBlock 8 (offset 32768)") != std::string::npos);
  CHECK(m.find("x-amz-Checksum expected " + checksum_of(block_bytes(8))) != std::string::npos);
  CHECK(m.find("found '" + checksum_of("not the block") + "'") != std::string::npos);
  CHECK(ebs.count("/blocks/8?") == 3);  // max_attempts

  ebs.bad_checksum.clear();
  ebs.length_header = "512";
  const Status l = (*f)->read_at(100 * kBs, got);
  REQUIRE(l.code() == Errc::io_error);
  CHECK(std::string(l.message()).find("x-amz-Data-Length expected 4096, found '512'") !=
        std::string::npos);
}

TEST_CASE("ebs source: hostile ListSnapshotBlocks replies are refused", "[cloud][ebs]") {
  const std::string tail = R"(], "VolumeSize": 1, "BlockSize": 512})";
  auto parse = [&](const std::string& blocks) {
    return parse_block_list(R"({"Blocks": [)" + blocks + tail);
  };
  REQUIRE(
      parse(R"({"BlockIndex": 1, "BlockToken": "a"}, {"BlockIndex": 5, "BlockToken": "b"})").ok());
  CHECK(parse(R"({"BlockIndex": 1, "BlockToken": "a"}, {"BlockIndex": 5, "BlockToken": "b"})")
            ->blocks[1]
            .token == "b");
  struct Case {
    std::string blocks, says;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"BlockIndex": "1", "BlockToken": "a"})", "BlockIndex is not a number"},
           {R"({"BlockIndex": 5, "BlockToken": "a"}, {"BlockIndex": 1, "BlockToken": "b"})",
            "block 1 follows block 5"},
           {R"({"BlockIndex": 5, "BlockToken": "a"}, {"BlockIndex": 5, "BlockToken": "b"})",
            "block 5 follows block 5"},
           {R"({"BlockIndex": 2097152, "BlockToken": "a"})", "past the volume's 2097152 blocks"},
           {R"({"BlockIndex": 1})", "no BlockIndex or BlockToken"},
           {R"({"BlockIndex": 1, "BlockToken": ""})", "BlockToken is empty"},
           {R"({"BlockIndex": 1.5, "BlockToken": "a"})", "not an integer"},
           {R"({"BlockIndex": 99999999999999999999, "BlockToken": "a"})", "more than 19 digits"},
           {R"({"BlockIndex": 1, "BlockIndex": 2, "BlockToken": "a"})", "BlockIndex twice"},
           {R"({"BlockIndex": 1, "BlockToken": ")" + std::string(1025, 'x') + "\"}",
            "longer than 1024"},
           {R"({"BlockIndex": 1, "BlockToken": "a)", "expected '}'"},
       }) {
    auto r = parse(c.blocks);
    INFO(c.blocks.substr(0, 80));
    REQUIRE(r.status().code() == Errc::corrupt);
    CHECK(std::string(r.status().message()).find(c.says) != std::string::npos);
  }
  for (const auto& [body, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"Blocks": [], "VolumeSize": 1, "BlockSize": 1000})",
            "BlockSize expected a power of two"},
           {R"({"Blocks": [], "VolumeSize": 1, "BlockSize": 2097152})", "found 2097152"},
           {R"({"Blocks": [], "VolumeSize": 0, "BlockSize": 512})", "VolumeSize expected"},
           {R"({"Blocks": [], "VolumeSize": 65537, "BlockSize": 512})", "VolumeSize expected"},
           {R"({"Blocks": [], "BlockSize": 512})", "no BlockSize or VolumeSize"},
           {R"({"Blocks": [], "VolumeSize": 1, "BlockSize": 512, "BlockSize": 512})", "twice"},
           {R"({"Blocks": [], "VolumeSize": 1, "BlockSize": 512} x)", "bytes after"},
           {R"({"Blocks": [], "VolumeSize": 1, "BlockSize": 512, "X": )" + std::string(40, '[') +
                std::string(40, ']') + "}",
            "nested deeper"},
           {R"([1])", "expected '{'"},
           {"", "expected '{'"},
       }) {
    auto r = parse_block_list(body);
    INFO(body.substr(0, 80));
    REQUIRE(r.status().code() == Errc::corrupt);
    CHECK(std::string(r.status().message()).find(says) != std::string::npos);
  }
  // More than the page asked for.
  std::string many;
  for (int i = 0; i < 101; ++i)
    many += (i ? "," : "") + fmt::format(R"({{"BlockIndex": {}, "BlockToken": "t"}})", i);
  CHECK(parse_block_list(R"({"Blocks": [)" + many + tail, 100).status().code() == Errc::corrupt);
  CHECK(parse_block_list(R"({"Blocks": [)" + many + tail, 101).ok());
  // Escapes are decoded; null NextToken is the last page; unknown members are skipped.
  auto ok = parse_block_list(
      R"({"Blocks":[{"BlockIndex":0,"BlockToken":"a\/b\u00e9","X":{"y":[1,-2.5e3,true,null]}}],)"
      R"("NextToken":null,"VolumeSize":1,"BlockSize":524288})");
  REQUIRE(ok.ok());
  CHECK(ok->blocks[0].token == "a/b\xc3\xa9");
  CHECK(ok->next_token.empty());
}

TEST_CASE("ebs source: pages that disagree or never end are refused", "[cloud][ebs]") {
  FakeEbs ebs;
  with_snapshot(ebs);
  SECTION("an index of a later page not above the earlier page's") {
    ebs.list_bodies = {
        R"({"Blocks":[{"BlockIndex":5,"BlockToken":"a"}],"NextToken":"n","VolumeSize":1,"BlockSize":4096})",
        R"({"Blocks":[{"BlockIndex":5,"BlockToken":"b"}],"VolumeSize":1,"BlockSize":4096})"};
    auto f = open(ebs, options("snap-0a"));
    REQUIRE(f.status().code() == Errc::corrupt);
    CHECK(std::string(f.status().message()).find("block 5 follows block 5 of an earlier page") !=
          std::string::npos);
  }
  SECTION("a page of another block size") {
    ebs.list_bodies = {R"({"Blocks":[],"NextToken":"n","VolumeSize":1,"BlockSize":4096})",
                       R"({"Blocks":[],"VolumeSize":1,"BlockSize":512})"};
    auto f = open(ebs, options("snap-0a"));
    REQUIRE(f.status().code() == Errc::corrupt);
  }
  SECTION("the same NextToken again") {
    ebs.list_bodies = {R"({"Blocks":[],"NextToken":"n","VolumeSize":1,"BlockSize":4096})",
                       R"({"Blocks":[],"NextToken":"n","VolumeSize":1,"BlockSize":4096})"};
    auto f = open(ebs, options("snap-0a"));
    REQUIRE(f.status().code() == Errc::corrupt);
    CHECK(std::string(f.status().message()).find("same page again") != std::string::npos);
  }
  SECTION("ids") {
    CHECK(open(ebs, options("snap-0a!")).status().code() == Errc::invalid_argument);
    CHECK(open(ebs, options("vol-0a")).status().code() == Errc::invalid_argument);
    CHECK(open(ebs, options("snap-0a", "snap-0a")).status().code() == Errc::invalid_argument);
    CHECK(is_ebs_source("ebs:snap-0123abc"));
    CHECK(is_ebs_source("ebs://snap-0123abc"));
    CHECK(!is_ebs_source("ebs:"));
    CHECK(!is_ebs_source("snap-0123"));
    CHECK(ebs_snapshot_id("ebs:snap-0123abc") == "snap-0123abc");
    CHECK(ebs_snapshot_id("s3://b/k").empty());
  }
}

TEST_CASE("ebs source: since an earlier snapshot, the changed blocks become a ChangeSet",
          "[cloud][ebs]") {
  FakeEbs ebs;
  with_snapshot(ebs);
  Snap b = ebs.snaps["snap-0a"];
  b.blocks[1] = block_bytes(1001);  // data changed
  b.blocks.erase(7);                // data -> zeros
  b.blocks.erase(8);                //   (adjacent: one range)
  b.blocks[50] = block_bytes(50);   // new data in a hole
  b.blocks[51] = block_bytes(51);   //   (adjacent to it)
  ebs.snaps["snap-0b"] = b;
  ebs.page = 2;
  auto f = open(ebs, options("snap-0b", "snap-0a"));
  REQUIRE(f.ok());
  const ChangeSet* cs = (*f)->changes();
  REQUIRE(cs != nullptr);
  CHECK(cs->base == "ebs:snap-0a");
  CHECK(cs->identity == "ebs:snap-0b");
  CHECK(cs->disk_bytes == 1ull << 30);
  const std::vector<Extent> want{{1 * kBs, kBs, ExtentKind::data},
                                 {7 * kBs, 2 * kBs, ExtentKind::unallocated},
                                 {50 * kBs, 2 * kBs, ExtentKind::data}};
  CHECK(cs->ranges == want);
  // 5 changed blocks in pages of 2.
  CHECK(ebs.count("/changedblocks?firstSnapshotId=snap-0a&maxResults=10000") == 3);
  // The changed blocks read with their SecondBlockToken (the fake checks it).
  std::vector<std::byte> got(2 * kBs);
  REQUIRE((*f)->read_at(50 * kBs, got).ok());
  CHECK(std::memcmp(got.data(), (block_bytes(50) + block_bytes(51)).data(), got.size()) == 0);
  REQUIRE((*f)->read_at(kBs, std::span(got).first(kBs)).ok());
  CHECK(std::memcmp(got.data(), block_bytes(1001).data(), kBs) == 0);
  Properties p;
  (*f)->describe(p);
  CHECK(p.get("changed_blocks") == "5");

  SECTION("snapshots of other sizes") {
    ebs.snaps["snap-0c"] = b;
    ebs.snaps["snap-0c"].gib = 2;
    auto g = open(ebs, options("snap-0c", "snap-0a"));
    REQUIRE(!g.ok());
    const std::string m(g.status().message());
    CHECK(m.find("ebs:snap-0a is a 1 GiB volume of 4096-byte blocks and ebs:snap-0c a 2 GiB") !=
          std::string::npos);
  }
  SECTION("a block said to be gone that the snapshot lists") {
    ebs.list_bodies = {
        R"({"Blocks":[{"BlockIndex":7,"BlockToken":"a"}],"VolumeSize":1,"BlockSize":4096})",
        R"({"Blocks":[],"VolumeSize":1,"BlockSize":4096})",
        R"({"ChangedBlocks":[{"BlockIndex":7,"FirstBlockToken":"f"}],"VolumeSize":1,"BlockSize":4096})"};
    auto g = open(ebs, options("snap-0b", "snap-0a"));
    REQUIRE(g.status().code() == Errc::corrupt);
    CHECK(std::string(g.status().message()).find("block 7 is not in the snapshot") !=
          std::string::npos);
  }
  SECTION("hostile ListChangedBlocks replies") {
    const std::string tail = R"(], "VolumeSize": 1, "BlockSize": 4096})";
    CHECK(parse_changed_blocks(R"({"ChangedBlocks": [{"BlockIndex": 3})" + tail)
              .status()
              .message()
              .find("neither") != std::string::npos);
    CHECK(
        parse_changed_blocks(
            R"({"ChangedBlocks": [{"BlockIndex": 3, "FirstBlockToken": null, "SecondBlockToken": null})" +
            tail)
            .status()
            .code() == Errc::corrupt);
    CHECK(
        parse_changed_blocks(
            R"({"ChangedBlocks": [{"BlockIndex": 4, "SecondBlockToken": "s"}, {"BlockIndex": 3, "SecondBlockToken": "s"})" +
            tail)
            .status()
            .code() == Errc::corrupt);
    CHECK(parse_changed_blocks(
              R"({"ChangedBlocks": [{"BlockIndex": "3", "SecondBlockToken": "s"})" + tail)
              .status()
              .code() == Errc::corrupt);
    auto ok = parse_changed_blocks(
        R"({"ChangedBlocks": [{"BlockIndex": 3, "FirstBlockToken": "f", "SecondBlockToken": null}, {"BlockIndex": 9, "SecondBlockToken": "s"})" +
        tail);
    REQUIRE(ok.ok());
    CHECK(ok->blocks[0].first_token == "f");
    CHECK(ok->blocks[0].second_token.empty());
    CHECK(ok->blocks[1].second_token == "s");
  }
}

namespace {

// Waits up to 5 s for `what` to have been requested `n` times.
bool requested(FakeEbs& ebs, std::string_view what, std::size_t n) {
  for (int i = 0; i < 500 && ebs.count(what) < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return ebs.count(what) == n;
}

}  // namespace

TEST_CASE("ebs source: read-ahead fetches listed blocks, and with since changed ones only",
          "[cloud][ebs]") {
  FakeEbs ebs;
  with_snapshot(ebs);
  Snap b = ebs.snaps["snap-0a"];
  b.blocks[9] = block_bytes(9);  // new data
  b.blocks[50] = block_bytes(50);
  ebs.snaps["snap-0b"] = b;
  std::vector<std::byte> got(kBs);
  SECTION("a snapshot: the next listed blocks, the holes skipped by search") {
    auto f = open(ebs, options("snap-0a"));
    REQUIRE(f.ok());
    REQUIRE((*f)->read_at(0, got).ok());
    REQUIRE((*f)->read_at(kBs, got).ok());  // sequential: read-ahead from block 2
    CHECK(requested(ebs, "/blocks/2?", 1));
    CHECK(requested(ebs, "/blocks/7?", 1));
    CHECK(requested(ebs, "/blocks/100?", 1));
    CHECK(ebs.count("/blocks/3?") == 0);
  }
  SECTION("since: only the changed blocks") {
    auto f = open(ebs, options("snap-0b", "snap-0a"));
    REQUIRE(f.ok());
    REQUIRE((*f)->read_at(0, got).ok());
    REQUIRE((*f)->read_at(kBs, got).ok());
    CHECK(requested(ebs, "/blocks/9?", 1));
    CHECK(requested(ebs, "/blocks/50?", 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(ebs.count("/blocks/2?") == 0);  // listed, unchanged: never fetched ahead
    CHECK(ebs.count("/blocks/7?") == 0);
    CHECK(ebs.count("/blocks/100?") == 0);
  }
}

TEST_CASE("ebs source: the caller's stop token ends a fetch between its attempts", "[cloud][ebs]") {
  FakeEbs ebs;
  with_snapshot(ebs);
  ebs.bad_checksum[7] = -1;
  EbsSourceOptions o = options("snap-0a");
  o.aws.http.initial_backoff_ms = 20000;  // a pause that would hold the read for long
  o.aws.http.max_backoff_ms = 20000;
  std::stop_source stop;
  auto f = open(ebs, o, stop.get_token());
  REQUIRE(f.ok());
  std::jthread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::byte> got(kBs);
  const Status s = (*f)->read_at(7 * kBs, got);
  CHECK(s.code() == Errc::cancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
