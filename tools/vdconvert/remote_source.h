// Remote inputs on the command line (docs/cloud.md, "Reading from the cloud"): a SRC that is an
// EBS snapshot (ebs:snap-...), an S3 object (s3://BUCKET/KEY), an Azure blob (a URL with a SAS:
// sv= and sig=, or a blob host) or any other http(s) URL, opened with vdisk/remote.h; and the
// network options both a remote SRC and an upload DST take (one set for both ends).
#ifndef VDCONVERT_REMOTE_SOURCE_H_
#define VDCONVERT_REMOTE_SOURCE_H_

#include <memory>
#include <string>
#include <string_view>

#include "cli.h"
#include "command_args.h"
#include "commands.h"
#include "vdisk/image.h"
#include "vdisk/properties.h"
#include "vdisk/remote.h"

namespace vdconvert {

// Checked stores of the network options into a NetArgs (or InputArgs::since).
vdisk::Status parse_connections(NetArgs& n, std::string_view value);
vdisk::Status parse_http_timeout(NetArgs& n, std::string_view value);
vdisk::Status parse_retries(NetArgs& n, std::string_view value);
vdisk::Status parse_region(NetArgs& n, std::string_view value);
vdisk::Status parse_endpoint_url(NetArgs& n, std::string_view value);
vdisk::Status parse_profile(NetArgs& n, std::string_view value);
vdisk::Status parse_ca_file(NetArgs& n, std::string_view value);
vdisk::Status parse_header(NetArgs& n, std::string_view value);
vdisk::Status parse_since(std::string& since, std::string_view value);

// The store of a network option of any command whose Args has an InputArgs `input`: Parse
// checks the value into the input's NetArgs.
template <vdisk::Status (*Parse)(NetArgs&, std::string_view), class Args>
vdisk::Status set_net(Args& a, std::string_view v) {
  return Parse(a.input.net, v);
}
template <class Args>
vdisk::Status set_since(Args& a, std::string_view v) {
  return parse_since(a.input.since, v);
}

template <class Args>
inline constexpr OptionSpec kConnectionsOption{"--connections", "", "N",
                                               "network: requests in flight at once (default 8)",
                                               store<set_net<parse_connections, Args>>};
template <class Args>
inline constexpr OptionSpec kHttpTimeoutOption{
    "--http-timeout", "", "SECONDS",
    "network: abandon and retry a request that moves no byte this long (default 60)",
    store<set_net<parse_http_timeout, Args>>};
template <class Args>
inline constexpr OptionSpec kRetriesOption{
    "--retries", "", "N", "network: retries per request before giving up (default 7)",
    store<set_net<parse_retries, Args>>};
template <class Args>
inline constexpr OptionSpec kRegionOption{
    "--region", "", "REGION", "s3/ebs: the AWS region (default: AWS_REGION, the profile's)",
    store<set_net<parse_region, Args>>};
template <class Args>
inline constexpr OptionSpec kEndpointUrlOption{
    "--endpoint-url", "", "URL", "s3/ebs: another endpoint (an emulator, an S3-compatible store)",
    store<set_net<parse_endpoint_url, Args>>};
template <class Args>
inline constexpr OptionSpec kProfileOption{
    "--profile", "", "NAME", "s3/ebs: the profile of the shared credentials file (AWS_PROFILE)",
    store<set_net<parse_profile, Args>>};
template <class Args>
inline constexpr OptionSpec kCaFileOption{
    "--ca-file", "", "FILE", "https: trust the CA certificates in FILE (default: the system's)",
    store<set_net<parse_ca_file, Args>>};
template <class Args>
inline constexpr OptionSpec kHeaderOption{"--header",
                                          "-H",
                                          "'NAME: VALUE'",
                                          "http(s) SRC: send this header (a cookie, basic auth; "
                                          "never shown; repeatable)",
                                          store<set_net<parse_header, Args>>,
                                          false,
                                          nullptr,
                                          {},
                                          {},
                                          true};
template <class Args>
inline constexpr OptionSpec kSinceOption{
    "--since", "", "SNAPSHOT",
    "ebs SRC: read only what changed since this earlier snapshot (incremental; docs/cloud.md)",
    store<set_since<Args>>};

// The proxy the usual variables (https_proxy, HTTPS_PROXY, http_proxy, NO_PROXY...) name for
// `url`, or "".
std::string proxy_for(const std::string& url);

// The network options of the command line for requests to `url`: --connections, --http-timeout,
// --retries, --ca-file, the proxy of the environment (proxy_for), retry notes to the console.
vdisk::HttpOptions net_http_options(const NetArgs& net, const std::string& url, RunContext& ctx);
// The AWS options for `service` ("s3", "ebs"): the configuration and environment
// (load_aws_config, --profile, --region), --endpoint-url, and net_http_options for the
// endpoint.
vdisk::Result<vdisk::AwsOptions> net_aws_options(const NetArgs& net, std::string_view service,
                                                 RunContext& ctx);

// True when SRC names a remote object (vdisk::remote_source_kind: not a path, not '-').
inline bool is_remote_source(std::string_view src) {
  return vdisk::remote_source_kind(src) != vdisk::RemoteSourceKind::none;
}

// Usage errors: network options without a remote SRC or upload DST (`upload_dst`), --header
// without an http(s) SRC, --since without an EBS SRC, AWS options without an AWS end.
vdisk::Status validate_source_args(const InputArgs& input, std::string_view src,
                                   std::string_view dst_kind_for_aws);

// A remote SRC, opened: `file` (random access), or `stream` (a server without Range support).
struct OpenedSource {
  std::unique_ptr<vdisk::RemoteFile> file;
  std::unique_ptr<vdisk::InputStream> stream;
  std::string display;  // SRC for messages, secrets redacted
};
// Opens SRC (is_remote_source) with the command line's network options through
// vdisk::open_remote_source: the AWS configuration and environment loaded here, the proxy of
// the environment (proxy_for); retry notes and the note that a server gives a stream go to the
// console.
vdisk::Result<OpenedSource> open_remote_source(const InputArgs& input, const std::string& src,
                                               RunContext& ctx);

// "1.2 GiB received in 310 requests, 2 retries" for the summary line.
std::string source_summary(const vdisk::SourceStats& s);

}  // namespace vdconvert

#endif  // VDCONVERT_REMOTE_SOURCE_H_
