// Uploads from the command line: a DST that is a URL becomes a vdisk::RemoteOutput, with the
// credentials and proxy only a command line reads (the library reads no environment).
#ifndef VDCONVERT_UPLOAD_H_
#define VDCONVERT_UPLOAD_H_

#include <memory>
#include <string>

#include "cli.h"
#include "command_args.h"
#include "commands.h"
#include "vdisk/cloud.h"

namespace vdconvert {

// The options of convert that only uploads take (ConvertArgs::upload): --resume, --put-md5,
// --update (Azure), --verify, --description, --tag and --parent-snapshot (aws-snapshot). Their
// store functions check each value. The network options (--connections, --region, ...) are
// remote_source.h's, shared with a remote SRC.
vdisk::Status set_description(ConvertArgs& a, std::string_view value);
vdisk::Status add_tag(ConvertArgs& a, std::string_view value);
vdisk::Status set_resume(ConvertArgs& a, std::string_view value);
vdisk::Status set_put_md5(ConvertArgs& a, std::string_view value);
vdisk::Status set_verify(ConvertArgs& a, std::string_view value);
vdisk::Status set_update(ConvertArgs& a, std::string_view value);
vdisk::Status set_parent_snapshot(ConvertArgs& a, std::string_view value);
inline constexpr OptionSpec kResumeOption{
    "--resume", "", "", "upload: continue an interrupted upload of the same conversion",
    store<set_resume>};
inline constexpr OptionSpec kPutMd5Option{
    "--put-md5", "", "", "upload: set the blob's Content-MD5 at the end (hashes the whole disk)",
    store<set_put_md5>};
inline constexpr OptionSpec kVerifyOption{
    "--verify", "", "",
    "upload: read the object back once uploaded and compare (a difference: exit 3)",
    store<set_verify>};
inline constexpr OptionSpec kUpdateOption{
    "--update", "", "",
    "azure: bring the blob DST up to date with an incremental SRC (--since): changes only",
    store<set_update>};
inline constexpr OptionSpec kParentSnapshotOption{
    "--parent-snapshot", "", "SNAPSHOT",
    "aws-snapshot: the new snapshot continues this one (with --since: changed blocks only)",
    store<set_parent_snapshot>};
inline constexpr OptionSpec kDescriptionOption{"--description", "", "TEXT",
                                               "aws-snapshot: the snapshot's description",
                                               store<set_description>};
inline constexpr OptionSpec kTagOption{"--tag",
                                       "",
                                       "KEY=VALUE",
                                       "aws-snapshot: a tag on the snapshot (repeatable)",
                                       store<add_tag>,
                                       false,
                                       nullptr,
                                       {},
                                       {},
                                       true};

// True when DST names an upload (vdisk::remote_destination_kind): an http(s) URL (an Azure page
// blob), s3://BUCKET/KEY, or ebs: (a new EBS snapshot, --to aws-snapshot).
bool is_upload(const std::string& dst);

// Refuses upload options without an upload DST, and an upload DST for a target it cannot take.
vdisk::Status validate_upload(const ConvertArgs& args);

// The destination for an upload DST, made by vdisk::open_remote_output with the credentials,
// proxy and fingerprint only a command line reads. Retry notes go to the console.
vdisk::Result<std::unique_ptr<vdisk::RemoteOutput>> make_remote_output(const ConvertArgs& args,
                                                                       RunContext& ctx);

// True for DST "ebs:" / "ebs://".
bool is_ebs_dst(const std::string& dst);

// "... 1.5 GiB sent in 380 requests, 2 retries" for the summary line; for an EBS snapshot
// "1 GiB sent in 2048 requests (2048 blocks, 2040 of them zero blocks)".
std::string upload_summary(const vdisk::UploadStats& s);

}  // namespace vdconvert

#endif  // VDCONVERT_UPLOAD_H_
