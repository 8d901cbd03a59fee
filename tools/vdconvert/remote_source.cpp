// See remote_source.h.
#include "remote_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "aws_config.h"
#include "console.h"
#include "progress.h"
#include "vdisk/cloud.h"

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

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Status parse_connections(NetArgs& n, std::string_view v) {
  VDISK_ASSIGN_OR_RETURN(n.http.connections, parse_count("--connections", v, 1, 64));
  return {};
}
Status parse_http_timeout(NetArgs& n, std::string_view v) {
  VDISK_ASSIGN_OR_RETURN(n.http.http_timeout, parse_count("--http-timeout", v, 1, 3600));
  return {};
}
Status parse_retries(NetArgs& n, std::string_view v) {
  VDISK_ASSIGN_OR_RETURN(const unsigned retries, parse_count("--retries", v, 1, 100));
  n.http.attempts = retries + 1;  // "--retries 0" is refused above (use 1)
  return {};
}
Status parse_region(NetArgs& n, std::string_view v) {
  if (v.empty()) return invalid_argument("--region: give a region, e.g. eu-west-1");
  n.region = std::string(v);
  return {};
}
Status parse_endpoint_url(NetArgs& n, std::string_view v) {
  if (!vdisk::is_remote_url(v))
    return invalid_argument("--endpoint-url: give an http(s) URL, e.g. http://127.0.0.1:5000");
  n.endpoint_url = std::string(v);
  return {};
}
Status parse_profile(NetArgs& n, std::string_view v) {
  if (v.empty()) return invalid_argument("--profile: give a profile name");
  n.profile = std::string(v);
  return {};
}
Status parse_ca_file(NetArgs& n, std::string_view v) {
  std::error_code ec;
  if (v.empty() || !std::filesystem::is_regular_file(std::filesystem::path(v), ec))
    return invalid_argument(fmt::format("--ca-file: '{}' is not a file", v));
  n.ca_file = std::string(v);
  return {};
}
Status parse_header(NetArgs& n, std::string_view v) {
  // "NAME: VALUE" as curl takes it; the value is a secret: never echoed in a message.
  auto header = vdisk::parse_source_header(v);
  if (!header.ok()) return Status(header.status().code(), "--header: " + header.status().message());
  if (n.headers.size() >= 32) return invalid_argument("--header: at most 32 headers");
  n.headers.push_back(std::move(*header));
  return {};
}
Status parse_since(std::string& since, std::string_view v) {
  const std::string id = vdisk::snapshot_id_of(v);
  if (id.empty())
    return invalid_argument(fmt::format("--since: '{}' is not an EBS snapshot id (snap-...)", v));
  since = id;
  return {};
}

std::string proxy_for(const std::string& url) {
  const bool https = url.starts_with("https://") || url.starts_with("HTTPS://");
  std::string proxy = https ? env("https_proxy") : env("http_proxy");
  if (proxy.empty()) proxy = https ? env("HTTPS_PROXY") : env("HTTP_PROXY");
  if (proxy.empty()) return {};
  std::string no_proxy = env("no_proxy");
  if (no_proxy.empty()) no_proxy = env("NO_PROXY");
  const std::string host = vdisk::remote_url_host(url);
  std::size_t i = 0;
  while (i <= no_proxy.size()) {
    std::size_t j = no_proxy.find(',', i);
    if (j == std::string::npos) j = no_proxy.size();
    std::string entry = lower(no_proxy.substr(i, j - i));
    entry.erase(0, entry.find_first_not_of(' '));
    entry.erase(entry.find_last_not_of(' ') + 1);
    if (entry == "*") return {};
    if (!entry.empty()) {
      if (entry.front() == '.') entry.erase(0, 1);
      if (host == entry || (host.size() > entry.size() && host.ends_with("." + entry))) return {};
    }
    i = j + 1;
  }
  return proxy;
}

Status validate_source_args(const InputArgs& input, std::string_view src,
                            std::string_view dst_kind_for_aws) {
  using vdisk::RemoteSourceKind;
  const RemoteSourceKind kind = vdisk::remote_source_kind(src);
  const bool aws_src = kind == RemoteSourceKind::s3 || kind == RemoteSourceKind::ebs;
  if (!input.net.headers.empty() && kind != RemoteSourceKind::http)
    return invalid_argument(
        "--header applies to an http(s) SRC (not an Azure blob: its SAS "
        "is in the URL)");
  if (!input.since.empty() && kind != RemoteSourceKind::ebs)
    return invalid_argument("--since applies to an EBS snapshot SRC (ebs:snap-...)");
  if (input.net.aws_given() && !aws_src && dst_kind_for_aws.empty())
    return invalid_argument(
        "--region, --endpoint-url and --profile apply to an s3:// or ebs: SRC or DST");
  if (kind == RemoteSourceKind::none && dst_kind_for_aws.empty()) {
    if (input.net.http.any())
      return invalid_argument(
          "--connections, --http-timeout and --retries apply to a remote SRC or an upload DST");
    if (!input.net.ca_file.empty())
      return invalid_argument("--ca-file applies to a remote SRC or an upload DST");
  }
  return {};
}

vdisk::HttpOptions net_http_options(const NetArgs& net, const std::string& url, RunContext& ctx) {
  vdisk::HttpOptions h;
  net.http.apply_to(h);
  h.ca_file = net.ca_file;
  h.proxy = proxy_for(url);
  Console* console = &ctx.console;
  h.on_retry = [console](std::string_view line) { console->note(line); };
  return h;
}

vdisk::Result<vdisk::AwsOptions> net_aws_options(const NetArgs& net, std::string_view service,
                                                 RunContext& ctx) {
  vdisk::AwsOptions aws;
  VDISK_RETURN_IF_ERROR(load_aws_config(aws, net.profile, net.region));
  aws.endpoint_url = net.endpoint_url;
  const std::string endpoint = net.endpoint_url.empty()
                                   ? fmt::format("https://{}.{}.amazonaws.com", service, aws.region)
                                   : net.endpoint_url;
  aws.http = net_http_options(net, endpoint, ctx);
  return aws;
}

vdisk::Result<OpenedSource> open_remote_source(const InputArgs& input, const std::string& src,
                                               RunContext& ctx) {
  OpenedSource out;
  out.display = vdisk::redact_secrets(src);
  vdisk::RemoteSourceOptions o;
  o.source = src;
  o.since = input.since;
  switch (vdisk::remote_source_kind(src)) {
    case vdisk::RemoteSourceKind::ebs: {
      VDISK_ASSIGN_OR_RETURN(o.aws, net_aws_options(input.net, "ebs", ctx));
      break;
    }
    case vdisk::RemoteSourceKind::s3: {
      VDISK_ASSIGN_OR_RETURN(o.aws, net_aws_options(input.net, "s3", ctx));
      break;
    }
    case vdisk::RemoteSourceKind::http:
      o.headers = input.net.headers;
      o.http = net_http_options(input.net, src, ctx);
      break;
    case vdisk::RemoteSourceKind::azure_blob:
      o.http = net_http_options(input.net, src, ctx);
      break;
    case vdisk::RemoteSourceKind::none:
      return invalid_argument(fmt::format("{}: not a remote object", out.display));
  }
  VDISK_ASSIGN_OR_RETURN(vdisk::RemoteSource opened, vdisk::open_remote_source(o, ctx.stop));
  out.file = std::move(opened.file);
  out.stream = std::move(opened.stream);
  if (out.stream)
    ctx.console.note(fmt::format(
        "{}: the server does not answer ranged requests; reading it front to back", out.display));
  return out;
}

std::string source_summary(const vdisk::SourceStats& s) {
  std::string line =
      fmt::format("{} received in {} requests", format_bytes(s.bytes_received), s.requests);
  if (s.retries) line += fmt::format(", {} retries", s.retries);
  return line;
}

}  // namespace vdconvert
