// What each vdconvert command takes, typed: one arguments struct per command, filled by the
// parser from that command's option table (cmd_*.cpp) and read by its handler. A struct holds
// only the options its command accepts; the blocks several commands share (the input, the
// target and its settings, the upload options, the VMDK consumer) are small structs of their
// own. Defaults are the values an absent option means; the option rows' store functions check
// every value before storing it, so a handler never re-parses text.
#ifndef VDCONVERT_COMMAND_ARGS_H_
#define VDCONVERT_COMMAND_ARGS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/iso9660.h"

namespace vdconvert {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// The HTTP options of every request to a cloud or web server (a remote SRC, an upload DST); 0 =
// the library's default.
struct HttpArgs {
  unsigned connections = 0;   // --connections N: requests in flight
  unsigned http_timeout = 0;  // --http-timeout SECONDS: a stalled request is abandoned
  unsigned attempts = 0;      // --retries N, stored as N + 1 tries per request

  // Overrides the fields of `http` that were given.
  void apply_to(vdisk::HttpOptions& http) const;
  bool any() const { return connections != 0 || http_timeout != 0 || attempts != 0; }
};

// Where a remote SRC or an upload DST lives and how to talk to it (docs/cloud.md): one set of
// flags for both ends of a conversion.
struct NetArgs {
  HttpArgs http;
  std::string region;        // --region (AWS)
  std::string endpoint_url;  // --endpoint-url (AWS): an emulator or S3-compatible store
  std::string profile;       // --profile (AWS shared credentials file)
  std::string ca_file;       // --ca-file FILE: CA bundle for https (default: the system's)
  KeyValues headers;         // --header 'NAME: VALUE' (an http(s) SRC), in order
  bool aws_given() const { return !region.empty() || !endpoint_url.empty() || !profile.empty(); }
};

// The image input of convert, info and measure.
struct InputArgs {
  std::string format;       // -f/--from FMT, one of vdisk::input_formats() ("" = probe)
  bool ignore_cid = false;  // --ignore-cid: read a chain whose parentCID does not match
  std::size_t disk = 0;     // --disk N: OVA/OVF disk, 1-based (0 = absent: the first)
  bool no_verify = false;   // --no-verify: OVA/OVF, skip the manifest's digests
  std::string since;        // --since snap-...: an EBS SRC read as the changes since then
  NetArgs net;              // a remote SRC (and convert's upload DST)

  // Sets the OpenOptions these fields stand for (format, parent identity, package disk, manifest).
  void apply_to(vdisk::OpenOptions& options) const;
};

// The output target of convert and measure, and the drivers' own options.
struct TargetArgs {
  std::string name;  // -O/--to TARGET, one of vdisk::target_names() ("" = none given)
  // --KEY [VALUE] and -o KEY=VALUE,... in command-line order (a flag's value is empty): keys of
  // the targets' and the input formats' option tables, checked by validate_target_options().
  KeyValues settings;
};

// The upload options of convert (DST a URL, s3://BUCKET/KEY or ebs:).
struct UploadArgs {
  bool resume = false;          // --resume (Azure): continue an interrupted upload
  bool put_md5 = false;         // --put-md5 (Azure): set the blob's Content-MD5 at the end
  bool verify = false;          // --verify: read the object back once uploaded and compare
  bool update = false;          // --update (Azure): write only an incremental SRC's changes
  std::string parent_snapshot;  // --parent-snapshot snap-... (aws-snapshot)
  std::string description;      // --description (aws-snapshot)
  KeyValues tags;               // --tag KEY=VALUE (aws-snapshot), in order
};

// --for CONSUMER of repair and descriptor lint: the name as given and its mask.
struct ConsumerArg {
  std::string name;   // "mvmc", "qemu", "virtualbox", "esxi", "all" ("" = not given)
  unsigned mask = 0;  // vdisk::vmdk::Consumer bits (0 = not given)
  bool given() const { return mask != 0; }
};

// vdconvert convert SRC DST
struct ConvertArgs : CommandArgs {
  InputArgs input;
  TargetArgs target;
  UploadArgs upload;
  bool force = false;                   // --force: replace an existing DST
  bool force_name = false;              // --force-name: gcp DST not ending in .tar.gz
  bool no_sync = false;                 // --no-sync: no fsync before the rename
  bool keep_gpt = false;                // --keep-gpt: pad without relocating a GPT's backup
  bool detect_zeroes = false;           // --detect-zeroes: zero-scan pre-pass (targets that read
                                        // the map)
  bool checksums = false;               // --checksums (also set by --checksums-file)
  std::string checksums_file;           // --checksums-file FILE: the checksums as JSON
  unsigned threads = 0;                 // -j/--threads N (0 = one per CPU)
  std::uint64_t stream_window_mib = 0;  // --stream-window MiB (0 = the library default)
  bool json = false;                    // --json: a JSON report on stdout

  const std::string& src() const { return operands[0]; }
  const std::string& dst() const { return operands[1]; }
};

// vdconvert info SRC
struct InfoArgs : CommandArgs {
  InputArgs input;
  bool json = false;  // --json
  const std::string& src() const { return operands[0]; }
};

// vdconvert measure SRC
struct MeasureArgs : CommandArgs {
  InputArgs input;
  TargetArgs target;  // no --to: every target
  bool json = false;  // --json
  const std::string& src() const { return operands[0]; }
};

// vdconvert check FILE
struct CheckArgs : CommandArgs {
  InputArgs input;          // only its remote options (FILE may be a URL)
  std::string target;       // --for TARGET, one of vdisk::check_targets() ("" = probe: VMDK)
  bool ignore_cid = false;  // --ignore-cid: a parentCID mismatch is a warning
  bool json = false;        // --json
  const std::string& file() const { return operands[0]; }
};

// vdconvert repair SRC [DST]
struct RepairArgs : CommandArgs {
  ConsumerArg consumer;           // --for (required)
  bool dry_run = false;           // -n/--dry-run
  bool delete_lines = false;      // --delete: delete unknown ddb lines (MVMC)
  std::vector<std::string> keep;  // --keep KEY[,KEY...] (MVMC), in order
  bool keep_only = false;         // --keep-only: `keep` replaces the default kept set
  bool no_backup = false;         // --no-backup (in place)
  bool force = false;             // --force: replace an existing DST
  bool add_uuids = false;         // --add-uuids (VirtualBox)
  bool json = false;              // --json
  const std::string& src() const { return operands[0]; }
  // DST, or null for an in-place repair.
  const std::string* dst() const { return operands.size() == 2 ? &operands[1] : nullptr; }
};

// vdconvert descriptor show|lint|extract|replace SRC [FILE]
enum class DescriptorAction : std::uint8_t { show, lint, extract, replace };
std::optional<DescriptorAction> parse_descriptor_action(std::string_view word);

struct DescriptorArgs : CommandArgs {
  ConsumerArg consumer;    // --for (lint; not given: every consumer)
  bool force = false;      // --force (extract)
  bool json = false;       // --json (lint)
  bool no_backup = false;  // --no-backup (replace)
  // The action (operands[0]); the validator has refused any other word.
  DescriptorAction action() const { return *parse_descriptor_action(operands[0]); }
  const std::string& src() const { return operands[1]; }
  const std::string& file() const { return operands[2]; }
};

// vdconvert iso ls|extract ISO ...
enum class IsoAction : std::uint8_t { ls, extract };
std::optional<IsoAction> parse_iso_action(std::string_view word);

struct IsoArgs : CommandArgs {
  bool long_listing = false;                                                 // -l/--long (ls)
  bool recursive = false;                                                    // -R/--recursive (ls)
  bool json = false;                                                         // --json (ls)
  bool force = false;                                                        // --force (extract)
  vdisk::iso9660::NameSource names = vdisk::iso9660::NameSource::automatic;  // --names TREE
  // The action (operands[0]); the parser has refused any other word.
  IsoAction action() const { return *parse_iso_action(operands[0]); }
  const std::string& iso() const { return operands[1]; }
};

}  // namespace vdconvert

#endif  // VDCONVERT_COMMAND_ARGS_H_
