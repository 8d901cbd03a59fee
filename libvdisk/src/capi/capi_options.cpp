// vdisk_options_t: the key=value settings of the C API (the table in vdisk_c.h), checked with
// the library's own option rows (options.h) so flags and numbers parse as vdconvert's do.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "capi/capi_internal.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/options.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"

namespace vdisk::capi {
namespace {

constexpr std::string_view kOwner = "vdisk_options";
constexpr std::int64_t kMaxThreads = 1024;
// RFC 3339 years 0000..9999 (format_time_utc clamps there anyway).
constexpr std::int64_t kMinTime = -62167219200;
constexpr std::int64_t kMaxTime = 253402300799;
constexpr std::int64_t kMaxDiskIndex = 1 << 20;

// The general keys; "format.KEY" and "target.KEY" are handled apart.
constexpr OptionSpec kTable[] = {
    {"target", OptionKind::text, "TARGET", "output target", "raw", {}, 0, 0},
    {"format", OptionKind::text, "FMT", "input format (empty: probe)", "", {}, 0, 0},
    {"threads",
     OptionKind::number,
     "N",
     "pipeline threads (0: one per core)",
     "0",
     {},
     0,
     kMaxThreads},
    {"compress-threads",
     OptionKind::number,
     "N",
     "compression threads (0: one per core)",
     "0",
     {},
     0,
     kMaxThreads},
    {"overwrite", OptionKind::flag, "", "replace an existing output", "", {}, 0, 0},
    {"sync", OptionKind::flag, "", "fsync the output before renaming it", "", {}, 0, 0},
    {"checksums", OptionKind::flag, "", "report the output's checksums", "", {}, 0, 0},
    {"any-output-name", OptionKind::flag, "", "ignore a target's name rule", "", {}, 0, 0},
    {"keep-gpt", OptionKind::flag, "", "do not relocate a GPT when padding", "", {}, 0, 0},
    {"detect-zeroes", OptionKind::flag, "", "map zero blocks as holes", "", {}, 0, 0},
    {"timestamp",
     OptionKind::number,
     "SECONDS",
     "Unix time stamped in the output",
     "0",
     {},
     kMinTime,
     kMaxTime},
    {"unique-id", OptionKind::text, "HEX", "16-byte id (32 hex digits)", "", {}, 0, 0},
    {"allow-outside-paths", OptionKind::flag, "", "parents may lie outside", "", {}, 0, 0},
    {"ignore-parent-identity", OptionKind::flag, "", "skip parent id checks", "", {}, 0, 0},
    {"verify-manifest", OptionKind::flag, "", "check OVA manifest digests", "", {}, 0, 0},
    {"disk-index", OptionKind::number, "N", "OVA disk, 0-based", "0", {}, 0, kMaxDiskIndex},
};

// A remote SRC's keys (vdisk/remote.h): "aws.*", "http.*" and "since". Their values are
// never shown in a message (keys, tokens and header values are secrets).
constexpr std::size_t kMaxHeaders = 32;
constexpr std::size_t kMaxCredentialBytes = 4096;
constexpr OptionSpec kRemoteTable[] = {
    {"aws.access-key-id", OptionKind::text, "ID", "s3/ebs: access key id", "", {}, 0, 0},
    {"aws.secret-access-key", OptionKind::text, "KEY", "s3/ebs: secret key", "", {}, 0, 0},
    {"aws.session-token", OptionKind::text, "TOKEN", "s3/ebs: session token", "", {}, 0, 0},
    {"aws.region", OptionKind::text, "REGION", "s3/ebs: region", "", {}, 0, 0},
    {"aws.endpoint-url", OptionKind::text, "URL", "s3/ebs: another endpoint", "", {}, 0, 0},
    {"http.connections", OptionKind::number, "N", "requests in flight", "8", {}, 1, 64},
    {"http.timeout", OptionKind::number, "SECONDS", "abandon a stalled request", "60", {}, 1, 3600},
    {"http.retries", OptionKind::number, "N", "retries per request", "7", {}, 0, 100},
    {"http.ca-file", OptionKind::text, "FILE", "https: CA certificates", "", {}, 0, 0},
    {"http.header", OptionKind::text, "'NAME: VALUE'", "http(s) SRC: a header", "", {}, 0, 0},
    {"since", OptionKind::text, "SNAPSHOT", "ebs SRC: changes since", "", {}, 0, 0},
};

bool is_remote_key(std::string_view key) {
  return key.starts_with("aws.") || key.starts_with("http.") || key == "since";
}

std::string remote_keys() {
  std::string out;
  for (const OptionSpec& row : kRemoteTable) {
    if (!out.empty()) out += ", ";
    out += row.key;
  }
  return out;
}

Status set_remote_key(vdisk_options_t& o, std::string_view key, std::string_view value) {
  const std::span<const OptionSpec> table(kRemoteTable);
  const OptionSpec* row = find_option(table, key);
  if (row == nullptr)
    return invalid_argument(std::string(kOwner) + ": unknown option '" + std::string(key) +
                            "' (known: " + remote_keys() + ")");
  const std::string where = std::string(kOwner) + ": " + std::string(key) + ": ";
  RemoteSourceOptions& r = o.remote;
  if (row->kind == OptionKind::number) {
    OptionValues values;
    VDISK_RETURN_IF_ERROR(vdisk::set_option(table, kOwner, values, key, value));
    VDISK_ASSIGN_OR_RETURN(const std::int64_t n, option_number(table, values, key));
    if (key == "http.connections") r.http.connections = static_cast<unsigned>(n);
    if (key == "http.timeout") r.http.stall_seconds = static_cast<unsigned>(n);
    if (key == "http.retries") r.http.max_attempts = static_cast<unsigned>(n) + 1;
    return ok_status();
  }
  if (key == "http.header") {
    auto header = parse_source_header(value);
    if (!header.ok()) return Status(header.status().code(), where + header.status().message());
    if (r.headers.size() >= kMaxHeaders)
      return invalid_argument(where + "at most " + std::to_string(kMaxHeaders) + " headers");
    r.headers.push_back(std::move(*header));
    return ok_status();
  }
  // Text: an empty value sets the default back (none).
  if (value.size() > kMaxCredentialBytes)
    return invalid_argument(where + "a value of " + std::to_string(value.size()) +
                            " bytes is longer than " + std::to_string(kMaxCredentialBytes));
  const std::string text(value);
  if (key == "aws.access-key-id") r.aws.access_key_id = text;
  if (key == "aws.secret-access-key") r.aws.secret_access_key = text;
  if (key == "aws.session-token") r.aws.session_token = text;
  if (key == "aws.region") {
    for (const char c : text)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        return invalid_argument(where + "'" + text + "' is not a region (e.g. eu-west-1)");
    r.aws.region = text;
  }
  if (key == "aws.endpoint-url") {
    if (!text.empty() && !is_remote_url(text))
      return invalid_argument(where + "give an http(s) URL, e.g. http://127.0.0.1:5000");
    r.aws.endpoint_url = text;
  }
  if (key == "http.ca-file") {
    std::error_code ec;
    if (!text.empty() && !std::filesystem::is_regular_file(std::filesystem::path(text), ec))
      return invalid_argument(where + "'" + text + "' is not a file");
    r.http.ca_file = text;
  }
  if (key == "since") {
    if (text.empty()) {
      r.since.clear();
      return ok_status();
    }
    const std::string id = snapshot_id_of(text);
    if (id.empty())
      return invalid_argument(where + "'" + text + "' is not an EBS snapshot id (snap-...)");
    r.since = id;
  }
  return ok_status();
}

// A cloud DST's keys (vdisk/remote.h, RemoteOutputOptions), named as vdconvert's options.
constexpr std::size_t kMaxTags = 50;
constexpr OptionSpec kDestinationTable[] = {
    {"resume", OptionKind::flag, "", "azure DST: continue an interrupted upload", "", {}, 0, 0},
    {"put-md5", OptionKind::flag, "", "azure DST: set the blob's Content-MD5", "", {}, 0, 0},
    {"update", OptionKind::flag, "", "azure DST: write the changes only (since)", "", {}, 0, 0},
    {"managed-disk", OptionKind::text, "auto|on|off", "azure DST: a managed disk", "", {}, 0, 0},
    {"verify", OptionKind::flag, "", "cloud DST: read the upload back", "", {}, 0, 0},
    {"parent-snapshot", OptionKind::text, "SNAPSHOT", "ebs DST: the parent", "", {}, 0, 0},
    {"tag", OptionKind::text, "KEY=VALUE", "ebs DST: a tag (repeatable)", "", {}, 0, 0},
    {"description", OptionKind::text, "TEXT", "ebs DST: the description", "", {}, 0, 0},
};

Status set_destination_key(vdisk_options_t& o, const OptionSpec& row, std::string_view value) {
  const std::span<const OptionSpec> table(kDestinationTable);
  const std::string_view key = row.key;
  const std::string where = std::string(kOwner) + ": " + std::string(key) + ": ";
  RemoteOutputOptions& d = o.destination;
  if (row.kind == OptionKind::flag) {
    OptionValues values;
    VDISK_RETURN_IF_ERROR(vdisk::set_option(table, kOwner, values, key, value));
    VDISK_ASSIGN_OR_RETURN(const bool on, option_flag(table, values, key));
    if (key == "resume") d.resume = on;
    if (key == "put-md5") d.put_md5 = on;
    if (key == "update") d.update = on;
    if (key == "verify") o.convert.verify_upload = on;
    return ok_status();
  }
  const std::string text(value);
  if (key == "managed-disk") {
    if (text.empty() || text == "auto") {
      d.managed_disk.reset();
      return ok_status();
    }
    // on|off as a flag's value is read.
    constexpr OptionSpec kFlag[] = {{"managed-disk", OptionKind::flag, "", "", "", {}, 0, 0}};
    OptionValues values;
    VDISK_RETURN_IF_ERROR(vdisk::set_option(kFlag, kOwner, values, key, value));
    VDISK_ASSIGN_OR_RETURN(const bool on, option_flag(kFlag, values, key));
    d.managed_disk = on;
    return ok_status();
  }
  if (key == "parent-snapshot") {
    if (text.empty()) {
      d.parent_snapshot_id.clear();
      return ok_status();
    }
    const std::string id = snapshot_id_of(text);
    if (id.empty())
      return invalid_argument(where + "'" + text + "' is not an EBS snapshot id (snap-...)");
    d.parent_snapshot_id = id;
    return ok_status();
  }
  if (key == "description") {
    if (text.size() > 255) return invalid_argument(where + "at most 255 characters");
    d.description = text;
    return ok_status();
  }
  // tag: KEY=VALUE, appended (an empty value clears the tags given).
  if (text.empty()) {
    d.tags.clear();
    return ok_status();
  }
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq > 128 || text.size() - eq - 1 > 256)
    return invalid_argument(where + "'" + text +
                            "' is not KEY=VALUE (a key of 1..128, a value of at most 256)");
  if (d.tags.size() >= kMaxTags)
    return invalid_argument(where + "at most " + std::to_string(kMaxTags) + " tags");
  d.tags.emplace_back(text.substr(0, eq), text.substr(eq + 1));
  return ok_status();
}

Result<std::array<std::uint8_t, 16>> parse_unique_id(std::string_view text) {
  std::array<std::uint8_t, 16> id{};
  std::size_t digits = 0;
  for (const char c : text) {
    if (c == '-') continue;
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0 || digits == 32)
      return invalid_argument(std::string(kOwner) + ": unique-id: expected 32 hex digits " +
                              "(dashes allowed), found '" + std::string(text) + "'");
    const std::size_t byte = digits / 2;
    id[byte] = static_cast<std::uint8_t>(id[byte] | (digits % 2 == 0 ? v << 4 : v));
    ++digits;
  }
  if (digits != 32)
    return invalid_argument(std::string(kOwner) + ": unique-id: expected 32 hex digits, found " +
                            std::to_string(digits));
  return id;
}

// Applies a general key whose value `values` has checked against its row.
Status apply(vdisk_options_t& o, std::string_view key, const OptionValues& values) {
  const std::span<const OptionSpec> table(kTable);
  auto flag = [&]() { return option_flag(table, values, key); };
  auto number = [&]() { return option_number(table, values, key); };
  const std::string text = std::string(*values.given(key));
  ConvertOptions& c = o.convert;
  if (key == "target") {
    VDISK_RETURN_IF_ERROR(target_info(text).status());
    // The target options already given must fit the new target.
    VDISK_RETURN_IF_ERROR(target_options_for(o, text).status());
    c.target = text;
    o.target_set = true;
    return ok_status();
  }
  if (key == "format") {
    if (!text.empty()) VDISK_RETURN_IF_ERROR(input_format_options(text).status());
    c.open.format = text;
    return ok_status();
  }
  if (key == "unique-id") {
    VDISK_ASSIGN_OR_RETURN(c.output.unique_id, parse_unique_id(text));
    return ok_status();
  }
  if (key == "threads" || key == "compress-threads" || key == "timestamp" || key == "disk-index") {
    VDISK_ASSIGN_OR_RETURN(const std::int64_t n, number());
    if (key == "threads") c.pipeline.threads = static_cast<unsigned>(n);
    if (key == "compress-threads") c.output.compress_threads = static_cast<unsigned>(n);
    if (key == "timestamp") c.output.timestamp_unix = n;
    if (key == "disk-index") c.open.disk_index = static_cast<std::size_t>(n);
    return ok_status();
  }
  VDISK_ASSIGN_OR_RETURN(const bool on, flag());
  if (key == "overwrite") c.overwrite = on;
  if (key == "sync") c.sync = on;
  if (key == "checksums") c.checksums = on;
  if (key == "any-output-name") c.any_output_name = on;
  if (key == "keep-gpt") c.output.keep_gpt = on;
  if (key == "detect-zeroes") c.output.detect_zeroes = on;
  if (key == "allow-outside-paths") c.open.allow_outside_paths = on;
  if (key == "ignore-parent-identity") c.open.ignore_parent_identity = on;
  if (key == "verify-manifest") c.open.verify_manifest = on;
  return ok_status();
}

}  // namespace

Result<TargetOptions> target_options_for(const vdisk_options_t& options, std::string_view target) {
  TargetOptions out = options.convert.output;
  for (const auto& [key, value] : options.target_settings)
    VDISK_RETURN_IF_ERROR(set_target_option(target, out, key, value));
  VDISK_RETURN_IF_ERROR(check_target_options(target, out));
  return out;
}

RemoteSourceOptions remote_options_for(const vdisk_options_t& options, std::string_view src) {
  RemoteSourceOptions r = options.remote;
  r.source = std::string(src);
  // One set of http.* settings for every kind: the AWS services' requests take them too.
  r.aws.http = r.http;
  return r;
}

RemoteOutputOptions output_options_for(const vdisk_options_t& options, std::string_view src,
                                       std::string_view dst) {
  RemoteOutputOptions d = options.destination;
  d.destination = std::string(dst);
  d.aws = options.remote.aws;
  d.aws.http = options.remote.http;
  d.http = options.remote.http;
  const RemoteDestinationKind kind = remote_destination_kind(dst);
  // An EBS snapshot is new each time: overwrite is a file's and an object's.
  d.overwrite = options.convert.overwrite && kind != RemoteDestinationKind::ebs;
  if (kind == RemoteDestinationKind::azure_page_blob) {
    // What identifies the conversion for `resume`: the input, the target and every setting
    // that changes the output's bytes.
    const ConvertOptions& c = options.convert;
    d.job_fingerprint = upload_fingerprint(
        "vdisk-capi-upload-1", src, c.target, c.open.format, options.target_settings,
        std::to_string(c.output.keep_gpt) + "|" + std::to_string(c.open.disk_index) + "|" +
            std::to_string(c.output.timestamp_unix.value_or(-1)));
  }
  return d;
}

Status set_key(vdisk_options_t& options, std::string_view key, std::string_view value) {
  constexpr std::string_view kFormatPrefix = "format.";
  if (is_remote_key(key)) return set_remote_key(options, key, value);
  if (const OptionSpec* row = find_option(std::span<const OptionSpec>(kDestinationTable), key))
    return set_destination_key(options, *row, value);
  constexpr std::string_view kTargetPrefix = "target.";
  if (key.starts_with(kFormatPrefix))
    return set_format_option(options.convert.open, key.substr(kFormatPrefix.size()), value);
  const std::span<const OptionSpec> table(kTable);
  const bool general = find_option(table, key) != nullptr;
  if (general) {
    OptionValues values;
    VDISK_RETURN_IF_ERROR(vdisk::set_option(table, kOwner, values, key, value));
    return apply(options, key, values);
  }
  // A target option: "target.KEY", or a KEY that is no general key.
  const std::string_view target_key =
      key.starts_with(kTargetPrefix) ? key.substr(kTargetPrefix.size()) : key;
  if (target_key.empty()) return invalid_argument(std::string(kOwner) + ": empty option key");
  if (options.target_set) {
    TargetOptions scratch;
    VDISK_RETURN_IF_ERROR(set_target_option(options.convert.target, scratch, target_key, value));
  }
  // A key set twice keeps the last value (OptionValues does the same).
  std::erase_if(options.target_settings, [&](const auto& kv) { return kv.first == target_key; });
  options.target_settings.emplace_back(std::string(target_key), std::string(value));
  return ok_status();
}

}  // namespace vdisk::capi

extern "C" {

vdisk_options_t* vdisk_options_create(void) {
  try {
    return new vdisk_options_t();
  } catch (...) {
    return nullptr;
  }
}

void vdisk_options_destroy(vdisk_options_t* options) { delete options; }

int vdisk_options_set(vdisk_options_t* options, const char* key, const char* value, char** errptr) {
  return vdisk::capi::guarded(errptr, [&]() -> vdisk::Status {
    if (options == nullptr || key == nullptr)
      return vdisk::invalid_argument("vdisk_options_set: options and key must not be NULL");
    return vdisk::capi::set_key(*options, key, value == nullptr ? "" : value);
  });
}

}  // extern "C"
