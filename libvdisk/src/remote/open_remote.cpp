// The one entry point for a remote SRC (vdisk/remote.h): remote_source_kind() classifies the
// text, open_remote_source() hands it to the source of that kind, and
// add_remote_source_properties() is the "remote_source" object of an info report. vdconvert
// (tools/vdconvert/remote_source.cpp) and the C API (capi/) both go through here.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>

#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"

namespace vdisk {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// True when the query of `url` has a parameter `name` (name=...).
bool has_query_param(std::string_view url, std::string_view name) {
  const std::size_t q = url.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = url.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (param.starts_with(name) && param.size() > name.size() && param[name.size()] == '=')
      return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

std::string remote_url_host(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (const std::size_t at = url.rfind('@'); at != std::string_view::npos)
    url.remove_prefix(at + 1);
  if (url.starts_with('[')) return lower(url.substr(0, url.find(']') + 1));
  return lower(url.substr(0, url.find(':')));
}

RemoteSourceKind remote_source_kind(std::string_view src) {
  if (is_ebs_source(src)) return RemoteSourceKind::ebs;
  if (is_s3_url(src)) return RemoteSourceKind::s3;
  if (!is_remote_url(src)) return RemoteSourceKind::none;
  // Azure: a blob endpoint's host, or a SAS (its version and signature parameters; Azurite's
  // loopback URLs carry one too). Any other URL is a plain web object.
  const std::string host = remote_url_host(src);
  if (host.ends_with(".blob.core.windows.net") || host.ends_with(".blob.storage.azure.net") ||
      (has_query_param(src, "sv") && has_query_param(src, "sig")))
    return RemoteSourceKind::azure_blob;
  return RemoteSourceKind::http;
}

Result<RemoteSource> open_remote_source(const RemoteSourceOptions& options, std::stop_token stop) {
  const RemoteSourceKind kind = remote_source_kind(options.source);
  if (kind == RemoteSourceKind::none)
    return invalid_argument(
        fmt::format("{}: not a remote object (ebs:snap-..., s3://BUCKET/KEY or an http(s) URL)",
                    redact_secrets(options.source)));
  if (!options.headers.empty() && kind != RemoteSourceKind::http)
    return invalid_argument(
        "headers apply to an http(s) SRC (not an Azure blob: its SAS is in the URL)");
  if (!options.since.empty() && kind != RemoteSourceKind::ebs)
    return invalid_argument("since applies to an EBS snapshot SRC (ebs:snap-...)");
  RemoteSource out;
  switch (kind) {
    case RemoteSourceKind::ebs: {
      EbsSourceOptions o;
      o.snapshot_id = ebs_snapshot_id(options.source);
      if (!options.since.empty()) {
        o.since = snapshot_id_of(options.since);
        if (o.since.empty())
          return invalid_argument(
              fmt::format("since: '{}' is not an EBS snapshot id (snap-...)", options.since));
      }
      o.aws = options.aws;
      o.cache = options.cache;
      VDISK_ASSIGN_OR_RETURN(out.file, open_ebs_source(o, std::move(stop)));
      return out;
    }
    case RemoteSourceKind::s3: {
      S3SourceOptions o;
      o.url = options.source;
      o.aws = options.aws;
      o.cache = options.cache;
      VDISK_ASSIGN_OR_RETURN(out.file, open_s3_source(o, std::move(stop)));
      return out;
    }
    case RemoteSourceKind::azure_blob: {
      AzureBlobSourceOptions o;
      o.url = options.source;
      o.http = options.http;
      o.cache = options.cache;
      VDISK_ASSIGN_OR_RETURN(out.file, open_azure_blob_source(o, std::move(stop)));
      return out;
    }
    case RemoteSourceKind::http: {
      HttpSourceOptions o;
      o.url = options.source;
      o.headers = options.headers;
      o.http = options.http;
      o.cache = options.cache;
      VDISK_ASSIGN_OR_RETURN(HttpSource s, open_http_source(o, std::move(stop)));
      out.file = std::move(s.file);
      out.stream = std::move(s.stream);
      return out;
    }
    case RemoteSourceKind::none:
      break;
  }
  return internal_error("open_remote_source: unhandled source kind");
}

Result<std::pair<std::string, std::string>> parse_source_header(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return invalid_argument("expected 'NAME: VALUE' (a header name, a colon, a value)");
  const std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  VDISK_RETURN_IF_ERROR(check_source_header(name, value));
  return std::pair<std::string, std::string>(name, value);
}

void add_remote_source_properties(Properties& out, const RemoteFile& file) {
  Properties& s = out.add_object("remote_source");
  file.describe(s);
  if (const std::string id = file.identity(); !id.empty()) s.add("identity", id);
  if (const ChangeSet* c = file.changes()) {
    std::uint64_t changed = 0;
    for (const auto& e : c->ranges) changed += e.length;
    s.add("since", c->base)
        .add("changed_ranges", std::uint64_t{c->ranges.size()})
        .add("changed_bytes", changed);
  }
  const SourceStats st = file.stats();
  s.add("requests", st.requests)
      .add("retries", st.retries)
      .add("bytes_received", st.bytes_received)
      .add("blocks_fetched", st.blocks_fetched)
      .add("cache_hits", st.cache_hits);
}

}  // namespace vdisk
