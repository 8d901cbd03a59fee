// The one entry point for a remote DST (vdisk/remote.h): remote_destination_kind() classifies
// the text, open_remote_output() hands the settings to the destination of that kind, and
// add_upload_properties() is the "upload" object of a convert report. vdconvert
// (tools/vdconvert/upload.cpp) and the C API (capi/) both go through here.
#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "vdisk/cloud.h"
#include "vdisk/properties.h"
#include "vdisk/remote.h"

namespace vdisk {

RemoteDestinationKind remote_destination_kind(std::string_view dst) {
  if (dst == "ebs:" || dst == "ebs://") return RemoteDestinationKind::ebs;
  if (is_s3_url(dst)) return RemoteDestinationKind::s3;
  if (is_remote_url(dst)) return RemoteDestinationKind::azure_page_blob;
  return RemoteDestinationKind::none;
}

Result<std::unique_ptr<RemoteOutput>> open_remote_output(const RemoteOutputOptions& options) {
  const RemoteDestinationKind kind = remote_destination_kind(options.destination);
  if (kind == RemoteDestinationKind::none)
    return invalid_argument(fmt::format(
        "{}: not a cloud destination (an Azure page blob URL with a SAS, s3://BUCKET/KEY or ebs:)",
        redact_secrets(options.destination)));
  const bool azure = kind == RemoteDestinationKind::azure_page_blob;
  const bool ebs = kind == RemoteDestinationKind::ebs;
  // The Azure-only settings, in the order the messages name them.
  const std::pair<bool, std::string_view> azure_only[] = {
      {options.resume, "resume"},
      {options.put_md5, "put-md5"},
      {options.update, "update"},
      {options.managed_disk.has_value(), "managed-disk"}};
  for (const auto& [given, name] : azure_only)
    if (given && !azure)
      return invalid_argument(fmt::format("{} applies to an Azure page blob DST (a URL)", name));
  if (!ebs && (!options.description.empty() || !options.tags.empty() ||
               !options.parent_snapshot_id.empty()))
    return invalid_argument(
        "description, tags and parent-snapshot apply to an EBS snapshot DST (ebs:)");
  if (ebs && options.overwrite)
    return invalid_argument("overwrite does not apply to an EBS snapshot DST (ebs:): each is new");
  switch (kind) {
    case RemoteDestinationKind::ebs: {
      EbsSnapshotOptions e;
      e.description = options.description;
      e.tags = options.tags;
      if (!options.parent_snapshot_id.empty()) {
        const std::string& p = options.parent_snapshot_id;
        e.parent_snapshot_id = snapshot_id_of(p);
        if (e.parent_snapshot_id.empty())
          return invalid_argument(
              fmt::format("parent-snapshot: '{}' is not an EBS snapshot id (snap-...)", p));
      }
      e.aws = options.aws;
      return ebs_snapshot(std::move(e));
    }
    case RemoteDestinationKind::s3: {
      S3ObjectOptions s;
      s.url = options.destination;
      s.overwrite = options.overwrite;
      s.aws = options.aws;
      return s3_object(std::move(s));
    }
    case RemoteDestinationKind::azure_page_blob: {
      AzureBlobOptions o;
      o.url = options.destination;
      o.overwrite = options.overwrite;
      o.resume = options.resume;
      o.put_md5 = options.put_md5;
      o.update = options.update;
      o.managed_disk = options.managed_disk;
      o.job_fingerprint = options.job_fingerprint;
      o.http = options.http;
      return azure_page_blob(std::move(o));
    }
    case RemoteDestinationKind::none:
      break;
  }
  return internal_error("open_remote_output: unhandled destination kind");
}

std::string remote_output_name(const RemoteOutput& out) {
  const std::string& shown = out.display_name();
  return std::filesystem::path(shown.substr(0, shown.find('?'))).filename().string();
}

std::string upload_fingerprint(std::string_view scheme, std::string_view src,
                               std::string_view target, std::string_view format,
                               const std::vector<std::pair<std::string, std::string>>& settings,
                               std::string_view extra) {
  std::string in = "stdin";
  struct stat st {};
  if (remote_source_kind(src) != RemoteSourceKind::none) {
    in = "remote|" + redact_secrets(src);
  } else if (src != "-") {
    const std::string path(src);
    in = path;
    if (::stat(path.c_str(), &st) == 0) {
      std::error_code ec;
      const auto canon = std::filesystem::weakly_canonical(path, ec);
      in = fmt::format("{}|{}|{}.{}", ec ? path : canon.string(), st.st_size, st.st_mtim.tv_sec,
                       st.st_mtim.tv_nsec);
    }
  }
  std::string joined;
  for (const auto& [key, value] : settings) joined += fmt::format("{}={};", key, value);
  return fmt::format("{}|{}|{}|{}|{}|{}", scheme, in, target, format, joined, extra);
}

void add_upload_properties(Properties& out, const UploadStats& s) {
  Properties& u = out.add_object("upload");
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

}  // namespace vdisk
