// See upload.h.
#include "upload.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <mutex>

#include "progress.h"
#include "remote_source.h"
#include "vdisk/remote.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// What identifies the conversion, for --resume (vdisk::upload_fingerprint): the input, the
// target and every option that changes the output's bytes.
std::string fingerprint(const ConvertArgs& args) {
  return vdisk::upload_fingerprint(
      "vdconvert-upload-1", args.src(), args.target.name, args.input.format, args.target.settings,
      fmt::format("{}|{}|{}", args.keep_gpt, args.input.disk, env("SOURCE_DATE_EPOCH")));
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
Status set_update(ConvertArgs& a, std::string_view) {
  a.upload.update = true;
  return {};
}
Status set_parent_snapshot(ConvertArgs& a, std::string_view v) {
  const std::string id = vdisk::snapshot_id_of(v);
  if (id.empty())
    return invalid_argument(
        fmt::format("--parent-snapshot: '{}' is not an EBS snapshot id (snap-...)", v));
  a.upload.parent_snapshot = id;
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

bool is_ebs_dst(const std::string& dst) {
  return vdisk::remote_destination_kind(dst) == vdisk::RemoteDestinationKind::ebs;
}

bool is_upload(const std::string& dst) {
  return vdisk::remote_destination_kind(dst) != vdisk::RemoteDestinationKind::none;
}

Status validate_upload(const ConvertArgs& args) {
  const std::string& dst = args.dst();
  const UploadArgs& up = args.upload;
  const bool upload = is_upload(dst);
  const bool ebs = is_ebs_dst(dst);
  const bool aws = vdisk::is_s3_url(dst) || ebs;
  const bool azure = upload && !aws;
  VDISK_RETURN_IF_ERROR(validate_source_args(args.input, args.src(),
                                             aws      ? "aws"
                                             : upload ? "azure"
                                                      : ""));
  if (!ebs && (!up.description.empty() || !up.tags.empty() || !up.parent_snapshot.empty()))
    return invalid_argument(
        "convert: --description, --tag and --parent-snapshot apply to --to aws-snapshot (DST "
        "ebs:)");
  // The Azure-only flags, in the order the messages name them.
  const std::pair<bool, std::string_view> azure_flags[] = {
      {up.resume, "resume"}, {up.put_md5, "put-md5"}, {up.update, "update"}};
  for (const auto& [given, name] : azure_flags)
    if (given && !azure)
      return invalid_argument(
          fmt::format("convert: --{} applies to an Azure page blob DST (a URL)", name));
  if (up.verify && !upload)
    return invalid_argument(
        "convert: --verify reads an upload back and applies to an upload (DST a URL, "
        "s3://BUCKET/KEY or ebs:)");
  // An incremental move: the source's changes, and a destination that takes them.
  const bool incremental_dst = up.update || !up.parent_snapshot.empty();
  if (!args.input.since.empty() && !incremental_dst)
    return invalid_argument(
        "convert: --since reads only the changes, which only an incremental DST takes: --update "
        "(an Azure page blob) or --parent-snapshot (DST ebs:)");
  if (up.update && args.input.since.empty())
    return invalid_argument("convert: --update needs an incremental SRC (ebs:snap-... --since)");
  if (up.update && (up.resume || up.put_md5))
    return invalid_argument("convert: --update takes neither --resume nor --put-md5");
  if (args.checksums && !args.checksums_file.empty() && args.checksums_file == "-")
    return invalid_argument("convert: --checksums-file needs a file");
  return {};
}

vdisk::Result<std::unique_ptr<vdisk::RemoteOutput>> make_remote_output(const ConvertArgs& args,
                                                                       RunContext& ctx) {
  const std::string& dst = args.dst();
  const UploadArgs& up = args.upload;
  const NetArgs& net = args.input.net;
  // The library makes the destination (vdisk::open_remote_output); only what a command line
  // reads is done here: the AWS configuration, the proxy of the environment, the fingerprint.
  vdisk::RemoteOutputOptions o;
  o.destination = dst;
  switch (vdisk::remote_destination_kind(dst)) {
    case vdisk::RemoteDestinationKind::ebs: {
      o.description = up.description;
      o.tags = up.tags;
      o.parent_snapshot_id = up.parent_snapshot;
      VDISK_ASSIGN_OR_RETURN(o.aws, net_aws_options(net, "ebs", ctx));
      break;
    }
    case vdisk::RemoteDestinationKind::s3: {
      o.overwrite = args.force;
      VDISK_ASSIGN_OR_RETURN(o.aws, net_aws_options(net, "s3", ctx));
      break;
    }
    case vdisk::RemoteDestinationKind::azure_page_blob:
      o.overwrite = args.force;
      o.resume = up.resume;
      o.put_md5 = up.put_md5;
      o.update = up.update;
      o.job_fingerprint = fingerprint(args);
      o.http = net_http_options(net, dst, ctx);
      break;
    case vdisk::RemoteDestinationKind::none:
      break;
  }
  return vdisk::open_remote_output(o);
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
