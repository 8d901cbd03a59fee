// See upload.h.
#include "upload.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "aws_config.h"
#include "progress.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

vdisk::Result<unsigned> parse_count(std::string_view option, std::string_view value, unsigned lo,
                                    unsigned hi) {
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size() || v < lo || v > hi)
    return invalid_argument(
        fmt::format("{}: '{}' is not a whole number from {} to {}", option, value, lo, hi));
  return v;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The proxy the usual variables name for `url`, unless NO_PROXY lists its host.
std::string proxy_for(const std::string& url) {
  const bool https = url.starts_with("https://") || url.starts_with("HTTPS://");
  std::string proxy = https ? env("https_proxy") : env("http_proxy");
  if (proxy.empty()) proxy = https ? env("HTTPS_PROXY") : env("HTTP_PROXY");
  if (proxy.empty()) return {};
  std::string no_proxy = env("no_proxy");
  if (no_proxy.empty()) no_proxy = env("NO_PROXY");
  const std::size_t s = url.find("://") + 3;
  const std::size_t e = url.find_first_of(":/?", s);
  const std::string host = url.substr(s, e == std::string::npos ? std::string::npos : e - s);
  std::size_t i = 0;
  while (i <= no_proxy.size()) {
    std::size_t j = no_proxy.find(',', i);
    if (j == std::string::npos) j = no_proxy.size();
    std::string item = no_proxy.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item == "*" || (!item.empty() &&
                        (host == item || host.ends_with(item.front() == '.' ? item : "." + item))))
      return {};
    i = j + 1;
  }
  return proxy;
}

// What identifies the conversion, for --resume: the input (path, size, mtime), the target
// and every option that changes the output's bytes.
std::string fingerprint(const ConvertArgs& args) {
  const std::string& src = args.src();
  std::string in = "stdin";
  struct stat st {};
  if (src != "-" && ::stat(src.c_str(), &st) == 0) {
    std::error_code ec;
    const auto canon = std::filesystem::weakly_canonical(src, ec);
    in = fmt::format("{}|{}|{}.{}", ec ? src : canon.string(), st.st_size, st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec);
  }
  std::string settings;
  for (const auto& [key, value] : args.target.settings)
    settings += fmt::format("{}={};", key, value);
  return fmt::format("vdconvert-upload-1|{}|{}|{}|{}|{}|{}|{}", in, args.target.name,
                     args.input.format, settings, args.keep_gpt, args.input.disk,
                     env("SOURCE_DATE_EPOCH"));
}

}  // namespace

Status set_resume(ConvertArgs& a, std::string_view) {
  a.upload.resume = true;
  return {};
}
Status set_put_md5(ConvertArgs& a, std::string_view) {
  a.upload.put_md5 = true;
  return {};
}
Status set_verify(ConvertArgs& a, std::string_view) {
  a.upload.verify = true;
  return {};
}
Status set_connections(ConvertArgs& a, std::string_view v) {
  VDISK_ASSIGN_OR_RETURN(a.upload.http.connections, parse_count("--connections", v, 1, 64));
  return {};
}
Status set_http_timeout(ConvertArgs& a, std::string_view v) {
  VDISK_ASSIGN_OR_RETURN(a.upload.http.http_timeout, parse_count("--http-timeout", v, 1, 3600));
  return {};
}
Status set_retries(ConvertArgs& a, std::string_view v) {
  VDISK_ASSIGN_OR_RETURN(const unsigned retries, parse_count("--retries", v, 1, 100));
  a.upload.http.attempts = retries + 1;  // "--retries 0" is refused above (use 1)
  return {};
}

Status set_region(ConvertArgs& a, std::string_view v) {
  if (v.empty()) return invalid_argument("--region: give a region, e.g. eu-west-1");
  a.upload.region = std::string(v);
  return {};
}
Status set_endpoint_url(ConvertArgs& a, std::string_view v) {
  if (!vdisk::is_remote_url(v))
    return invalid_argument("--endpoint-url: give an http(s) URL, e.g. http://127.0.0.1:5000");
  a.upload.endpoint_url = std::string(v);
  return {};
}
Status set_profile(ConvertArgs& a, std::string_view v) {
  if (v.empty()) return invalid_argument("--profile: give a profile name");
  a.upload.profile = std::string(v);
  return {};
}

Status set_description(ConvertArgs& a, std::string_view v) {
  if (v.size() > 255) return invalid_argument("--description: at most 255 characters");
  a.upload.description = std::string(v);
  return {};
}
Status add_tag(ConvertArgs& a, std::string_view v) {
  const std::size_t eq = v.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq > 128 || v.size() - eq - 1 > 256)
    return invalid_argument(fmt::format("--tag: '{}' is not KEY=VALUE", v));
  if (a.upload.tags.size() >= 50) return invalid_argument("--tag: at most 50 tags");
  a.upload.tags.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
  return {};
}

void HttpArgs::apply_to(vdisk::HttpOptions& http) const {
  if (connections) http.connections = connections;
  if (http_timeout) http.stall_seconds = http_timeout;
  if (attempts) http.max_attempts = attempts;
}

bool is_ebs_dst(const std::string& dst) { return dst == "ebs:" || dst == "ebs://"; }

bool is_upload(const std::string& dst) {
  return vdisk::is_remote_url(dst) || vdisk::is_s3_url(dst) || is_ebs_dst(dst);
}

Status validate_upload(const ConvertArgs& args) {
  const std::string& dst = args.dst();
  const UploadArgs& up = args.upload;
  const bool upload = is_upload(dst);
  const bool ebs = is_ebs_dst(dst);
  const bool aws = vdisk::is_s3_url(dst) || ebs;
  if (!aws && (!up.region.empty() || !up.endpoint_url.empty() || !up.profile.empty()))
    return invalid_argument(
        "convert: --region, --endpoint-url and --profile apply to an s3:// or ebs: DST");
  if (!ebs && (!up.description.empty() || !up.tags.empty()))
    return invalid_argument("convert: --description and --tag apply to --to aws-snapshot");
  // The Azure-only flags, in the order the messages name them.
  const std::pair<bool, std::string_view> azure_flags[] = {{up.resume, "resume"},
                                                           {up.put_md5, "put-md5"}};
  if (aws) {
    for (const auto& [given, name] : azure_flags)
      if (given)
        return invalid_argument(
            fmt::format("convert: --{} applies to an Azure page blob DST", name));
    return {};
  }
  if (!upload) {
    for (const auto& [given, name] : azure_flags)
      if (given)
        return invalid_argument(
            fmt::format("convert: --{} applies to an upload (DST a URL)", name));
    if (up.verify)
      return invalid_argument(
          "convert: --verify reads an upload back and applies to an upload (DST a URL, "
          "s3://BUCKET/KEY or ebs:)");
    if (up.http.any())
      return invalid_argument(
          "convert: --connections, --http-timeout and --retries apply to an upload (DST a URL)");
    return {};
  }
  if (args.checksums && !args.checksums_file.empty() && args.checksums_file == "-")
    return invalid_argument("convert: --checksums-file needs a file");
  return {};
}

vdisk::Result<std::unique_ptr<vdisk::RemoteOutput>> make_remote_output(const ConvertArgs& args,
                                                                       RunContext& ctx) {
  const std::string& dst = args.dst();
  const UploadArgs& up = args.upload;
  Console* console = &ctx.console;
  const auto on_retry = [console](std::string_view line) { console->note(line); };
  if (is_ebs_dst(dst)) {
    vdisk::EbsSnapshotOptions e;
    e.description = up.description;
    e.tags = up.tags;
    VDISK_RETURN_IF_ERROR(load_aws_config(e.aws, up.profile, up.region));
    e.aws.endpoint_url = up.endpoint_url;
    up.http.apply_to(e.aws.http);
    e.aws.http.proxy = proxy_for(up.endpoint_url.empty()
                                     ? fmt::format("https://ebs.{}.amazonaws.com", e.aws.region)
                                     : up.endpoint_url);
    e.aws.http.on_retry = on_retry;
    return vdisk::ebs_snapshot(std::move(e));
  }
  if (vdisk::is_s3_url(dst)) {
    vdisk::S3ObjectOptions s;
    s.url = dst;
    s.overwrite = args.force;
    VDISK_RETURN_IF_ERROR(load_aws_config(s.aws, up.profile, up.region));
    s.aws.endpoint_url = up.endpoint_url;
    up.http.apply_to(s.aws.http);
    const std::string endpoint =
        up.endpoint_url.empty() ? "https://s3.amazonaws.com" : up.endpoint_url;
    s.aws.http.proxy = proxy_for(endpoint);
    s.aws.http.on_retry = on_retry;
    return vdisk::s3_object(std::move(s));
  }
  vdisk::AzureBlobOptions o;
  o.url = dst;
  o.overwrite = args.force;
  o.resume = up.resume;
  o.put_md5 = up.put_md5;
  o.job_fingerprint = fingerprint(args);
  up.http.apply_to(o.http);
  o.http.proxy = proxy_for(dst);
  o.http.on_retry = on_retry;
  return vdisk::azure_page_blob(std::move(o));
}

void add_upload_properties(vdisk::Properties& p, const vdisk::UploadStats& s) {
  vdisk::Properties& u = p.add_object("upload");
  u.add("object", s.object)
      .add("created", s.created)
      .add("resumed", s.resumed)
      .add("requests", s.requests)
      .add("retries", s.retries)
      .add("bytes_sent", s.bytes_sent)
      .add("bytes_skipped", s.bytes_skipped)
      .add("ranges_cleared", s.ranges_cleared);
  if (!s.object_id.empty())
    u.add("object_id", s.object_id)
        .add("block_bytes", s.block_bytes)
        .add("blocks_sent", s.blocks_sent)
        .add("zero_blocks_sent", s.zero_blocks_sent);
  if (s.verified) u.add("verified", true).add("verify_bytes_read", s.verify_bytes_read);
}

std::string upload_summary(const vdisk::UploadStats& s) {
  std::string line = fmt::format("{} sent in {} requests", format_bytes(s.bytes_sent), s.requests);
  if (!s.object_id.empty())
    line += fmt::format(" ({} blocks, {} of them zero blocks)", s.blocks_sent, s.zero_blocks_sent);
  if (s.retries) line += fmt::format(", {} retries", s.retries);
  if (s.bytes_skipped) line += fmt::format(", {} already there", format_bytes(s.bytes_skipped));
  if (s.ranges_cleared) line += fmt::format(", {} stale ranges cleared", s.ranges_cleared);
  if (s.verified)
    line += fmt::format(", verified ({} read back)", format_bytes(s.verify_bytes_read));
  return line;
}

}  // namespace vdconvert
