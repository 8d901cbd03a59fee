// EBS direct API and EC2 requests, signed with SigV4 (services "ebs" and "ec2").
#include "remote/ebs/ebs_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "http/upload_ledger.h"
#include "http/url.h"
#include "remote/aws/sigv4.h"

namespace vdisk::aws {
namespace {

Status expect(const http::Response& r, long status, const std::string& what) {
  return http::reply_status(what, r, status,
                            "check the credentials, the region and ebs: permissions");
}

// A JSON string literal for text we send (description, tags).
std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

void LinearChecksum::add(const std::array<std::uint8_t, 32>& block_digest) {
  h_.update(std::as_bytes(std::span(block_digest)));
}

std::string LinearChecksum::finish_base64() {
  const auto out = h_.finish();
  return checksum::to_base64(out);
}

std::string linear_checksum(std::span<const std::array<std::uint8_t, 32>> digests) {
  LinearChecksum l;
  for (const auto& d : digests) l.add(d);
  return l.finish_base64();
}

Result<StartedSnapshot> parse_start_reply(std::string_view json) {
  StartedSnapshot s;
  auto id = http::json_string(json, "SnapshotId");
  auto block = http::json_uint(json, "BlockSize");
  if (!id || id->empty() || id->size() > 128)
    return corrupt("ebs: StartSnapshot reply: no SnapshotId");
  for (char c : *id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      return corrupt(fmt::format("ebs: StartSnapshot reply: SnapshotId '{}' holds '{}'", *id, c));
  if (!block || *block < 512 || *block > (16u << 20) || (*block & (*block - 1)))
    return corrupt(fmt::format(
        "ebs: StartSnapshot reply: BlockSize expected a power of two from 512 to 16 MiB, found {}",
        block ? std::to_string(*block) : std::string("none")));
  s.id = *id;
  s.block_bytes = *block;
  if (auto kms = http::json_string(json, "KmsKeyArn"); kms && !kms->empty()) {
    s.encrypted = true;
    s.encryption = "KmsKeyArn " + *kms;
  } else if (auto sse = http::json_string(json, "SseType");
             sse && !sse->empty() && *sse != "none") {
    s.encrypted = true;
    s.encryption = "SseType " + *sse;
  } else if (http::json_bool(json, "Encrypted") == true) {
    s.encrypted = true;
    s.encryption = "Encrypted true";
  }
  return s;
}

Result<std::unique_ptr<EbsClient>> EbsClient::create(const AwsOptions& aws, std::stop_token stop) {
  VDISK_RETURN_IF_ERROR(check_region(aws, "ebs"));
  VDISK_ASSIGN_OR_RETURN(AwsClient c, AwsClient::open(aws, stop));
  return std::unique_ptr<EbsClient>(new EbsClient(std::move(c)));
}

Result<http::Response> EbsClient::send(const std::string& service, const std::string& method,
                                       const std::string& path, std::vector<http::Header> headers,
                                       std::span<const std::byte> body,
                                       const std::string& body_sha256, std::string what) {
  const AwsOptions& aws = client_.options();
  const std::string base =
      aws_endpoint(aws, fmt::format("https://{}.{}.amazonaws.com", service, aws.region));
  VDISK_ASSIGN_OR_RETURN(http::Url u, http::parse_service_url(base + path));
  return client_.send({method, u.full(), std::move(headers), body, std::move(what)}, u, service,
                      body_sha256);
}

Result<StartedSnapshot> EbsClient::start(std::uint64_t volume_gib, const EbsSnapshotOptions& o,
                                         const std::string& client_token) {
  std::string body = fmt::format("{{\"VolumeSize\":{},\"Timeout\":{},\"ClientToken\":{}",
                                 volume_gib, o.timeout_minutes, json_quote(client_token));
  if (!o.description.empty()) body += ",\"Description\":" + json_quote(o.description);
  if (!o.parent_snapshot_id.empty())
    body += ",\"ParentSnapshotId\":" + json_quote(o.parent_snapshot_id);
  if (!o.tags.empty()) {
    body += ",\"Tags\":[";
    for (std::size_t i = 0; i < o.tags.size(); ++i)
      body += fmt::format("{}{{\"Key\":{},\"Value\":{}}}", i ? "," : "",
                          json_quote(o.tags[i].first), json_quote(o.tags[i].second));
    body += "]";
  }
  body += "}";
  const auto bytes = std::as_bytes(std::span(body.data(), body.size()));
  const std::string what = fmt::format("ebs: StartSnapshot ({} GiB)", volume_gib);
  VDISK_ASSIGN_OR_RETURN(http::Response r,
                         send("ebs", "POST", "/snapshots", {{"content-type", "application/json"}},
                              bytes, sha256_hex(bytes), what));
  // AWS answers 201; moto 200.
  if (r.status != 200) VDISK_RETURN_IF_ERROR(expect(r, 201, what));
  return parse_start_reply(r.body);
}

Status EbsClient::put_block(const std::string& id, std::uint64_t index,
                            std::span<const std::byte> data, const std::string& sha256_base64,
                            const std::string& sha256_hex) {
  const std::string what = fmt::format("ebs: PutSnapshotBlock {} of {}", index, id);
  VDISK_ASSIGN_OR_RETURN(http::Response r,
                         send("ebs", "PUT", fmt::format("/snapshots/{}/blocks/{}", id, index),
                              {{"content-type", "application/octet-stream"},
                               {"x-amz-Data-Length", std::to_string(data.size())},
                               {"x-amz-Checksum", sha256_base64},
                               {"x-amz-Checksum-Algorithm", "SHA256"}},
                              data, sha256_hex, what));
  if (r.status != 200) return expect(r, 201, what);
  return {};
}

Status EbsClient::complete(const std::string& id, std::uint64_t changed_blocks,
                           const std::string& linear_checksum_base64) {
  const std::string what = fmt::format("ebs: CompleteSnapshot {} ({} blocks)", id, changed_blocks);
  VDISK_ASSIGN_OR_RETURN(http::Response r,
                         send("ebs", "POST", fmt::format("/snapshots/completion/{}", id),
                              {{"x-amz-ChangedBlocksCount", std::to_string(changed_blocks)},
                               {"x-amz-Checksum", linear_checksum_base64},
                               {"x-amz-Checksum-Algorithm", "SHA256"},
                               {"x-amz-Checksum-Aggregation-Method", "LINEAR"}},
                              {}, sha256_hex({}), what));
  if (r.status != 200) VDISK_RETURN_IF_ERROR(expect(r, 202, what));
  if (auto status = http::json_string(r.body, "Status"); status && *status == "error")
    return io_error(fmt::format("{}: the snapshot's status is error", what));
  return {};
}

std::optional<std::string> SnapshotFacts::tag(std::string_view key) const {
  for (const auto& [k, v] : tags)
    if (k == key) return v;
  return std::nullopt;
}

Result<SnapshotFacts> parse_describe_snapshots(std::string_view xml, const std::string& id) {
  const std::string what = fmt::format("ec2: DescribeSnapshots {}", id);
  std::size_t set_end = 0;
  const std::size_t set = xml.find("<snapshotSet>");
  const auto listed = http::xml_text(xml, "snapshotId");
  if (set == std::string_view::npos || !listed)
    return not_found(fmt::format("{}: the reply lists no such snapshot", what));
  if (*listed != id)
    return corrupt(fmt::format("{}: the reply lists snapshot '{}'", what,
                               listed->substr(0, std::min<std::size_t>(listed->size(), 64))));
  SnapshotFacts f;
  auto state = http::xml_text(xml, "status");
  if (!state || state->empty() || state->size() > 32)
    return corrupt(fmt::format("{}: the reply's status is not a state", what));
  f.state = *state;
  // Tags: <tagSet><item><key>K</key><value>V</value></item>...</tagSet>, at most 50 (EC2's
  // limit per resource) of at most 128 and 256 characters.
  const std::size_t tags_at = xml.find("<tagSet>", set);
  if (tags_at != std::string_view::npos) {
    set_end = xml.find("</tagSet>", tags_at);
    if (set_end == std::string_view::npos)
      return corrupt(fmt::format("{}: the reply's tagSet does not end", what));
    const std::string_view tag_set = xml.substr(tags_at, set_end - tags_at);
    std::size_t at = 0;
    for (;;) {
      std::size_t end = 0;
      auto key = http::xml_text(tag_set, "key", at, &end);
      if (!key) break;
      auto value = http::xml_text(tag_set, "value", end, &end);
      if (!value || key->size() > 128 || value->size() > 256 || f.tags.size() >= 50)
        return corrupt(fmt::format("{}: the reply's tag {} is malformed", what, f.tags.size()));
      f.tags.emplace_back(std::move(*key), std::move(*value));
      at = end;
    }
  }
  return f;
}

Result<SnapshotFacts> EbsClient::describe_snapshot(const std::string& id) {
  const std::string form =
      fmt::format("Action=DescribeSnapshots&SnapshotId.1={}&Version=2016-11-15",
                  http::percent_encode(id, false));
  const auto bytes = std::as_bytes(std::span(form.data(), form.size()));
  const std::string what = fmt::format("ec2: DescribeSnapshots {}", id);
  VDISK_ASSIGN_OR_RETURN(
      http::Response r, send("ec2", "POST", "/",
                             {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}},
                             bytes, sha256_hex(bytes), what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  return parse_describe_snapshots(r.body, id);
}

Result<std::string> EbsClient::snapshot_state(const std::string& id) {
  VDISK_ASSIGN_OR_RETURN(SnapshotFacts f, describe_snapshot(id));
  return std::move(f.state);
}

Result<BlockList> EbsClient::list_blocks(const std::string& id, const std::string& next_token,
                                         std::size_t max_results) {
  std::string path = fmt::format("/snapshots/{}/blocks?maxResults={}", id, max_results);
  if (!next_token.empty()) path += "&pageToken=" + http::percent_encode(next_token, false);
  const std::string what = fmt::format("ebs: ListSnapshotBlocks {}", id);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("ebs", "GET", path, {}, {}, sha256_hex({}), what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  auto list = parse_block_list(r.body, max_results);
  if (!list.ok()) return corrupt(fmt::format("{}: {}", id, list.status().message()));
  return list;
}

Result<ChangedList> EbsClient::list_changed_blocks(const std::string& first,
                                                   const std::string& second,
                                                   const std::string& next_token) {
  std::string path = fmt::format("/snapshots/{}/changedblocks?firstSnapshotId={}&maxResults={}",
                                 second, http::percent_encode(first, false), kMaxListResults);
  if (!next_token.empty()) path += "&pageToken=" + http::percent_encode(next_token, false);
  const std::string what = fmt::format("ebs: ListChangedBlocks {} since {}", second, first);
  VDISK_ASSIGN_OR_RETURN(http::Response r, send("ebs", "GET", path, {}, {}, sha256_hex({}), what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  auto list = parse_changed_blocks(r.body);
  if (!list.ok())
    return corrupt(fmt::format("{} since {}: {}", second, first, list.status().message()));
  return list;
}

Result<http::Response> EbsClient::get_block_reply(const std::string& id, std::uint64_t index,
                                                  const std::string& token) {
  const std::string what = fmt::format("ebs: GetSnapshotBlock {} of {}", index, id);
  VDISK_ASSIGN_OR_RETURN(http::Response r,
                         send("ebs", "GET",
                              fmt::format("/snapshots/{}/blocks/{}?blockToken={}", id, index,
                                          http::percent_encode(token, false)),
                              {}, {}, sha256_hex({}), what));
  VDISK_RETURN_IF_ERROR(expect(r, 200, what));
  return r;
}

std::string block_reply_problem(const http::Response& r, std::uint64_t block_bytes) {
  const std::string_view length = r.header("x-amz-data-length");
  if (length != std::to_string(block_bytes))
    return fmt::format("x-amz-Data-Length expected {}, found '{}'", block_bytes,
                       length.substr(0, 24));
  if (r.body.size() != block_bytes)
    return fmt::format("the body expected {} bytes, found {}", block_bytes, r.body.size());
  const std::string_view algorithm = r.header("x-amz-checksum-algorithm");
  if (algorithm != "SHA256")
    return fmt::format("x-amz-Checksum-Algorithm expected SHA256, found '{}'",
                       algorithm.substr(0, 24));
  checksum::Sha256 h;
  h.update(std::as_bytes(std::span(r.body.data(), r.body.size())));
  const std::string got = checksum::to_base64(h.finish());
  const std::string_view said = r.header("x-amz-checksum");
  if (said != got)
    return fmt::format("x-amz-Checksum expected {} (the SHA-256 of the bytes received), found '{}'",
                       got, said.substr(0, 64));
  return {};
}

Result<std::string> EbsClient::get_block(const std::string& id, std::uint64_t index,
                                         const std::string& token, std::uint64_t block_bytes) {
  VDISK_ASSIGN_OR_RETURN(http::Response r, get_block_reply(id, index, token));
  const std::string problem = block_reply_problem(r, block_bytes);
  if (!problem.empty())
    return io_error(fmt::format("ebs: GetSnapshotBlock {} of {}: {}", index, id, problem));
  return std::move(r.body);
}

Status EbsClient::delete_snapshot(const std::string& id) {
  const std::string form = fmt::format("Action=DeleteSnapshot&SnapshotId={}&Version=2016-11-15",
                                       http::percent_encode(id, false));
  const auto bytes = std::as_bytes(std::span(form.data(), form.size()));
  const std::string what = fmt::format("ec2: DeleteSnapshot {}", id);
  VDISK_ASSIGN_OR_RETURN(
      http::Response r, send("ec2", "POST", "/",
                             {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}},
                             bytes, sha256_hex(bytes), what));
  return expect(r, 200, what);
}

}  // namespace vdisk::aws
