// Opening images by probing their format, creating outputs for a target, and the one-call
// conversion that vdconvert uses.
#ifndef VDISK_IMAGE_H_
#define VDISK_IMAGE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/io.h"
#include "vdisk/options.h"
#include "vdisk/pipeline.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk {

// A recoverable oddity or a fact the user should know (a padded size, a repaired checksum).
struct Diagnostic {
  enum class Level : std::uint8_t { note, warning };
  Level level = Level::note;
  std::string message;
};
// Called from the thread doing the work, or from a worker doing part of it beside the copy (a
// live ISO's boot verdict, upload retries): calls may come from several threads at once, so it
// must be thread-safe; it must not throw. No call comes after the call that started the work
// (convert(), open_image()'s source's destruction) has returned.
using DiagnosticFn = std::function<void(const Diagnostic&)>;

// Boot loader images for the GRUB repack of a live ISO (docs/livecd.md): GRUB's i386-pc boot.img
// (512 bytes), an i386-pc core image and an x86_64-efi image, built to read their grub.cfg from
// the repack's EFI system partition (prefixes "(,gpt2)/EFI/BOOT" and "/EFI/BOOT"). GRUB is GPLv3:
// libvdisk never embeds or builds them; vdconvert runs the machine's grub-mkimage.
struct GrubImages {
  std::vector<std::byte> boot_image;
  std::vector<std::byte> core_image;
  std::vector<std::byte> efi_image;
};

struct OpenOptions {
  // Input format name ("raw", "vhd", ...); empty means probe.
  std::string format;
  // Files an image names (VHD and VHDX parents, VMDK parents and extent files, QCOW2 backing
  // and external data files) must normally lie, symbolic links followed, in the directory of
  // the image that names them or below it (a file elsewhere, or a VMDK name with a Windows
  // drive letter, is refused as corrupt, like the href of an OVF descriptor on disk that leaves
  // its directory); this lifts that restriction. Loops and the depth limit of a chain (32
  // images, whatever their formats) are checked either way.
  bool allow_outside_paths = false;
  // Skip the check that a child's recorded parent identity (VHD parent UUID, VMDK parentCID)
  // matches the parent it opens.
  bool ignore_parent_identity = false;
  // Streams whose pieces may come out of order (streamOptimized VMDK from stdin) and are copied
  // in order (to an output that cannot write anywhere: stdout, gcp): bytes of pieces held ahead
  // of the output at most; 0 = the format's default (64 MiB). A stream that needs more fails
  // with resource_exhausted naming the window.
  std::uint64_t stream_window_bytes = 0;
  // OVA/OVF packages (docs/ova.md): the disk to read, 0-based in the order of the descriptor's
  // DiskSection (`vdconvert --disk N` is 1-based and passes N - 1; `info` numbers disks from 1).
  // An index the package does not have is invalid_argument naming the disks it has.
  std::size_t disk_index = 0;
  // OVA/OVF packages: check the manifest's (.mf) SHA-1/SHA-256 digests of the descriptor and of
  // the chosen disk's files when the package has a manifest. A mismatch is corrupt naming the
  // file, algorithm, expected and found digests, and a stream conversion then leaves no output.
  // false skips the check (`--no-verify`).
  bool verify_manifest = true;
  // The input format's own options (input_format_options() lists each format's; vdconvert
  // --KEY or -o KEY=VALUE): set them with set_format_option(). A key of a format other than the
  // one the input turns out to be is refused with invalid_argument naming both.
  OptionValues settings;
  // The disk is meant to boot a machine: convert() sets it for targets that make boot disks
  // (TargetInfo::boots). A format may then open differently (an ISO becomes a disk that boots,
  // unless its `boot` option says otherwise: docs/livecd.md).
  bool boot_disk = false;
  // The machines that disk is for (TargetInfo::machine: "azure", "gcp"), or empty: an input
  // warns about what would keep it from booting there (a live ISO's initrd without the cloud's
  // disk driver, no serial console).
  std::string boot_machine;
  // Called when an ISO input is repacked with GRUB (its `boot` option, docs/livecd.md), from the
  // opening thread, at most once per open; empty: such a repack is refused (unsupported).
  std::function<Result<GrubImages>()> grub_images;
  DiagnosticFn on_diagnostic;
};

// The options each input format declares (empty for a format with none); invalid_argument for
// an unknown format.
Result<std::span<const OptionSpec>> input_format_options(std::string_view format);
// Sets a format option: `key` must be a row of some format's table (invalid_argument naming the
// keys there are), and the value must fit it.
Status set_format_option(OpenOptions& options, std::string_view key, std::string_view value = {});

// Names of the input formats, in probe order.
std::vector<std::string_view> input_formats();

// Returns the name of the best-matching format for `file`: a readable one ("raw" when nothing
// else fits), or the name of a recognised format libvdisk does not read ("qcow2", "gzip", ...).
Result<std::string> probe_format(const RandomAccessFile& file);

// What the probe recognised in an input. Every input is identified by signature first: a
// readable format, raw when no signature matches, or a format libvdisk recognises but does not
// read (QCOW v1, QED, Parallels, DMG, Bochs, cloop, LUKS; gzip, xz, zstd, bzip2, lz4; tar, a tar
// holding an .ovf the OVA driver does not claim, GCP image tarballs). open_image() and
// open_image_stream() refuse the latter with `status` (unsupported, or corrupt when the signature
// is there but its header is impossible).
struct Identification {
  std::string format;       // "vmdk", "raw", "qcow2", "gzip", "ova", "gcp-tarball", ...
  bool readable = false;    // libvdisk opens it; the fields below are then empty
  std::string description;  // "QEMU copy-on-write image"
  std::string version;      // as the header states it, or empty
  std::optional<std::uint64_t> virtual_size;               // when the header states it
  std::vector<std::pair<std::string, std::string>> facts;  // cluster size, members, ...
  std::string advice;                                      // what to do instead
  Status status;  // ok when readable; the refusal otherwise
  // format, readable, description, version, virtual_size, the facts, damage (when corrupt),
  // advice.
  Properties to_properties() const;
};
Result<Identification> identify(const RandomAccessFile& file);

// Opens an image file, probing its format unless options.format is set (then a note names any
// other format's signature the input carries, which is ignored). `path` also locates
// sibling files (parents, extents).
Result<std::unique_ptr<BlockSource>> open_image(const std::filesystem::path& path,
                                                const OpenOptions& options = {});

// Opens an image from an already open file; `path` locates sibling files (may be empty when the
// format needs none).
Result<std::unique_ptr<BlockSource>> open_image(std::unique_ptr<RandomAccessFile> file,
                                                const std::filesystem::path& path,
                                                const OpenOptions& options = {});

// Opens an image read front to back from a stream (stdin). Probes the first bytes unless
// options.format is set; formats that cannot be read without seeking return unsupported.
Result<std::unique_ptr<StreamSource>> open_image_stream(std::unique_ptr<InputStream> in,
                                                        const OpenOptions& options = {});

// "format", "virtual_size" and the driver's own facts, for `vdconvert info`.
Properties describe(const BlockSource& source);

// ---- Output targets ------------------------------------------------------------------------
//
// One registry names every output target, the same for convert (--to), check (--for) and
// measure: "raw", "vhd", "azure", "gcp", "vmdk", "aws-snapshot" (check --for: the targets with a
// rule set). A conversion is the same straight line for each:
//
//   source = open_image(...)                       (or open_image_stream for stdin)
//   view   = prepare_disk(target, *source, ...)    (prepare_stream for a stream)
//   sink   = create_target(target, bytes, *view.disk, ...)
//   copy(*view.disk, *sink)                        (copy() finishes the sink)
//
// and convert() is exactly these calls (plus the destination checks, checksums and a report).

// What a target's output is, byte for byte: what a destination that stores bytes as they are
// (RemoteOutput::accepts) needs to know.
enum class OutputLayout : std::uint8_t {
  disk,       // the disk's bytes, nothing else (raw)
  fixed_vhd,  // the disk's bytes followed by a 512-byte VHD footer (vhd, azure)
  encoded,    // a stream that is not the disk's bytes (gcp's gzip'd tar, a VMDK)
};
// "disk", "fixed-vhd", "encoded".
std::string_view output_layout_name(OutputLayout layout);

// A target as the registry describes it.
struct TargetInfo {
  std::string name;
  std::string summary;      // one line
  std::string check;        // the check_image() rule set verifying its output, or empty
  bool needs_size = false;  // refuses a stream that states no size up front (raw stdin)
  std::string name_suffix;  // the output file name must end so (".tar.gz" for gcp), or empty
  // Writes only into a cloud object (ImageOutput::remote) of the destination kind `destination`
  // (DestinationCaps::kind in cloud.h; "aws-snapshot": "ebs-snapshot", ebs_snapshot()).
  bool remote_only = false;
  std::string destination;
  // Pads, moving a GPT's backup to the new end (TargetOptions::keep_gpt).
  bool relocates_gpt = false;
  bool reads_map = false;  // walks the map before writing (TargetOptions::detect_zeroes)
  bool boots = false;      // makes a disk a machine boots from (OpenOptions::boot_disk)
  std::string machine;     // the machines it is for ("azure", "gcp"; OpenOptions::boot_machine)
  OutputLayout layout = OutputLayout::disk;
  std::span<const OptionSpec> options;  // the target's own options (TargetOptions::settings)
};
// The target names, in help order.
std::vector<std::string_view> target_names();
// invalid_argument naming the known targets when `name` is not one.
Result<TargetInfo> target_info(std::string_view name);

// The GCP archive's default gzip level: ISA-L level 2 on all cores. Within a few percent of
// `pigz -6`'s size at several times its speed (bench/RESULTS.md, "All paths side by side").
inline constexpr int kDefaultGcpLevel = 2;

struct TargetOptions {
  // VHD footer timestamp, GCP tar mtime, VMDK nothing (its ids come from unique_id), as Unix
  // time; nullopt = now. Set it (vdconvert: SOURCE_DATE_EPOCH) for reproducible output.
  std::optional<std::int64_t> timestamp_unix;
  // VHD unique id and VMDK ddb.uuid (the VMDK CID and longContentID derive from it); nullopt =
  // random. Set it for reproducible output.
  std::optional<std::array<std::uint8_t, 16>> unique_id;
  // Compression threads of the targets that compress (0 = hardware concurrency). The output is
  // byte-identical for any thread count.
  unsigned compress_threads = 0;
  // Targets that pad (TargetInfo::relocates_gpt: azure, gcp): when padding moves the end of a
  // disk with a valid GPT, the backup GPT header and entry array are moved to the new last LBAs
  // and the primary header (alternate LBA, last usable LBA, CRC) and a protective MBR's size are
  // fixed, as `sgdisk -e` would. true keeps the table exactly as the source has it (its backup
  // then sits mid-disk).
  bool keep_gpt = false;
  // Targets that read the disk's map before writing (TargetInfo::reads_map: gcp's sparse tar
  // header): before that, read every data extent once (in parallel) and drop the blocks that
  // hold only zeros from the map, so they become holes instead of stored zeros. Costs one extra
  // read of the allocated data. Ignored by the other targets (vmdk drops zero grains as it
  // writes).
  bool detect_zeroes = false;
  // The output's file name where a format records it (the VMDK extent line); convert() sets it
  // from the output path when empty ("disk.vmdk" for a stream).
  std::string file_name;
  // The target's own options (TargetInfo::options lists them; vdconvert `-o key=value`), e.g.
  // vmdk's subformat, adapter, hw-version, uuid and level, gcp's level. Set them with
  // set_target_option(); convert(), create_target() and measure() refuse unknown keys and bad
  // values with invalid_argument.
  OptionValues settings;
};

// Sets one of `target`'s own options (key=value; an empty value sets a flag): invalid_argument
// naming the target and the keys it has when `key` is not one of them, or the value when it does
// not fit the row.
Status set_target_option(std::string_view target, TargetOptions& options, std::string_view key,
                         std::string_view value = {});
// Checks options.settings against `target`'s table and its rules across options (vmdk: level
// applies to streamOptimized only).
Status check_target_options(std::string_view target, const TargetOptions& options);

// The virtual size `target` gives an image whose source is `source_size` bytes, or
// invalid_argument when the target cannot hold it (Azure above 32 TiB).
Result<std::uint64_t> target_virtual_size(std::string_view target, std::uint64_t source_size);

// What GPT-aware padding did in a conversion (azure and gcp targets).
struct GptReport {
  enum class Action : std::uint8_t {
    not_checked,  // no padding, or a target that keeps the size
    kept,         // TargetOptions::keep_gpt: padded without looking at the table
    absent,       // padded; the disk has no GPT
    invalid,      // padded; the GPT failed validation and was left as it is (see message)
    relocated,    // padded; backup GPT moved to the new end, primary header fixed
    stale,        // padded; a streamed input's GPT that could not be relocated (see message):
                  // its backup is NOT at the new end (a raw stream states no size up front)
  };
  Action action = Action::not_checked;
  std::string message;         // one line for invalid, relocated and stale
  std::uint64_t lba_size = 0;  // relocated: 512 or 4096
  std::uint64_t old_backup_lba = 0;
  std::uint64_t new_backup_lba = 0;
  std::uint64_t partitions = 0;  // used partition entries
};
// "not_checked", "kept", "absent", "invalid", "relocated", "stale".
std::string_view gpt_action_name(GptReport::Action action);

// The disk a target writes for a file source.
struct PreparedDisk {
  // `source` at the target's virtual size: zeros after its end, a GPT relocated to the new end
  // (unless keep_gpt), and, with detect_zeroes for a target that reads the map, zero blocks
  // mapped as holes. Borrows `source`, which must outlive it.
  std::unique_ptr<BlockSource> disk;
  GptReport gpt;
  // detect_zeroes: data bytes the zero scan read, and the bytes it still maps as data.
  std::uint64_t zero_scan_read_bytes = 0;
  std::uint64_t zero_scan_data_bytes = 0;
};
// Prepares `source` for `target`. invalid_argument when the target cannot hold the source.
// `pipeline`, `on_progress` and `stop` serve the zero scan.
Result<PreparedDisk> prepare_disk(std::string_view target, const BlockSource& source,
                                  const TargetOptions& options,
                                  const PipelineOptions& pipeline = {},
                                  const ProgressFn& on_progress = {}, std::stop_token stop = {});

// The same for a stream: `source` padded at its end, its GPT relocated as for a file when the
// stream states its size (the head is held back until the primary GPT is in, the old backup
// until its header is). Borrows `source`. It offers source.placed() (pieces in any order) only
// when no byte needs patching: no padding, or keep_gpt.
class PreparedStream : public StreamSource {
 public:
  // What padding did to the GPT; complete once the stream has ended.
  virtual const GptReport& gpt() const = 0;
  // Bytes of `source` consumed so far: its size once the stream has ended.
  virtual std::uint64_t source_bytes() const = 0;
};
Result<std::unique_ptr<PreparedStream>> prepare_stream(std::string_view target,
                                                       StreamSource& source,
                                                       const TargetOptions& options);

// Wraps `out` in the sink that writes `target`. `disk` is prepare_disk()'s view: a target may
// walk its map before the first byte (the GCP sparse header), and the sink must then be given
// exactly that disk. The stream form takes the prepared stream's size() (nullopt: a raw stream,
// refused by targets that need the size up front). invalid_argument when the size is not one the
// target's rule gives (a disk that was not prepared), before any byte is written.
Result<std::unique_ptr<BlockSink>> create_target(std::string_view target,
                                                 std::unique_ptr<ByteSink> out,
                                                 const BlockSource& disk,
                                                 const TargetOptions& options = {});
Result<std::unique_ptr<BlockSink>> create_target(std::string_view target,
                                                 std::unique_ptr<ByteSink> out,
                                                 std::optional<std::uint64_t> disk_size,
                                                 const TargetOptions& options = {});

// How large a target's output will be (`vdconvert measure`, qemu-img measure's job).
struct OutputSize {
  bool exact = false;             // `bytes` is the output's size (raw, vhd, azure, aws-snapshot)
  std::uint64_t bytes = 0;        // exact: the output's size; else the disk bytes the output
                                  // stores before compression (mapped data, whole grains/blocks)
  std::uint64_t upper_bound = 0;  // the output is never larger (== bytes when exact)
};
struct Measurement {
  std::string target;
  std::string source_format;
  std::uint64_t virtual_size = 0;     // the source's
  std::uint64_t target_size = 0;      // the output's virtual size (after padding)
  std::uint64_t allocated_bytes = 0;  // bytes the source's map holds as data
  OutputSize output;
  // target, source_format, virtual_size, target_size, allocated_bytes, output {exact, bytes,
  // upper_bound} (docs/json.md, "measure").
  Properties to_properties() const;
};
// Measures `source` for `target` from its map (no data is read; keep_gpt and the GPT make no
// difference to sizes).
Result<Measurement> measure(std::string_view target, const BlockSource& source,
                            const TargetOptions& options = {},
                            const PipelineOptions& pipeline = {});

// What reading a remote object did so far (vdisk/remote.h; a snapshot of counters updated as
// requests complete).
struct SourceStats {
  std::uint64_t requests = 0;        // requests that succeeded (retries not counted)
  std::uint64_t retries = 0;         // attempts repeated after a failure
  std::uint64_t bytes_received = 0;  // body bytes of the data requests that succeeded
  std::uint64_t blocks_fetched = 0;  // cache blocks fetched (read-ahead included)
  std::uint64_t cache_hits = 0;      // block lookups answered by the cache
};

// Where a conversion reads from: a path, or a stream (then `path` is only a display name).
// Or a file the caller opened (a remote object, vdisk/remote.h: open_http_source() and the
// others), then `path` is only a display name and the image can name no other file.
struct ImageInput {
  std::filesystem::path path;
  std::unique_ptr<InputStream> stream = nullptr;
  std::unique_ptr<RandomAccessFile> file = nullptr;
};
class RemoteOutput;  // cloud.h
// Where it writes to: a path (written through a temporary and renamed on success), a sink the
// caller made (then `path` is only a display name), or a cloud object (`remote`, borrowed; it
// is opened once the output's size is known, and its stats() tell what the upload did).
struct ImageOutput {
  std::filesystem::path path;
  std::unique_ptr<ByteSink> sink = nullptr;
  RemoteOutput* remote = nullptr;
};

// Integrity digests computed during a conversion (ConvertOptions::checksums), without a second
// read of the input or the output.
struct Checksums {
  // The output's virtual disk after padding (and GPT relocation): the bytes of `qemu-img convert
  // -O raw` of a VHD output, or of disk.raw in a GCP tarball.
  std::uint64_t disk_bytes = 0;
  std::string disk_sha256;  // lowercase hex
  // The written file or stream, byte for byte.
  std::uint64_t artifact_bytes = 0;
  std::string artifact_sha256;         // lowercase hex
  std::string artifact_md5;            // lowercase hex
  std::string artifact_md5_base64;     // as Azure Blob storage shows Content-MD5
  std::uint32_t artifact_crc32c = 0;   // CRC-32C (Castagnoli)
  std::string artifact_crc32c_base64;  // as GCS reports it: base64 of the big-endian value
};

struct ConvertOptions {
  std::string target = "raw";  // a target_names() entry
  OpenOptions open;
  PipelineOptions pipeline;
  TargetOptions output;
  bool overwrite = false;  // replace an existing output file
  bool sync = true;        // fsync the output before renaming it into place
  bool checksums = false;  // compute ConvertReport::checksums
  // Into a path: a target with a name rule (gcp: GCP imports only *.tar.gz) refuses another
  // name with invalid_argument before anything is read; true writes it anyway.
  bool any_output_name = false;
  // Into a cloud object (ImageOutput::remote): once the upload finished, read the object back
  // and compare it with digests taken while writing (RemoteOutput::keep_digests, verify); a
  // difference fails the conversion with io_error naming the first differing offset, and the
  // object is left as it is. invalid_argument without a remote output.
  bool verify_upload = false;
  // Called at each phase (open, scan when zero-scanning, copy, finish, done: ProgressPhase),
  // after each chunk of the scan and the copy, and again, with fresh counters, whenever
  // nothing was reported for a second. Calls never overlap; they come from library threads
  // and must be quick. It gets the copy's counters, data_total_bytes (a file input's mapped
  // data), written_bytes, and for an upload sent_bytes and retries. A successful conversion's
  // last call has phase done and the final counters; a failed one has no done call.
  ProgressFn on_progress;
};

// What a converted disk boots and what to tell the cloud when the image or disk is created
// (docs/boot.md), for a target that boots (TargetDriver::boots) and a file input.
struct BootSummary {
  struct Cloud {
    std::string cloud;    // "azure", "gcp", "aws"
    bool boots = false;   // it boots there with `setting`
    std::string setting;  // e.g. "--hyper-v-generation V2"; "" when nothing is to be passed
    std::string reason;   // why this setting, or why it does not boot there
  };
  bool bios = false;       // boots under BIOS firmware
  bool uefi = false;       // boots under UEFI firmware
  bool data_disk = false;  // no boot code and no EFI system partition
  std::string summary;     // one line, e.g. "boots under BIOS and UEFI"
  // The target's cloud, or every cloud for a target that is for no one cloud (vmdk).
  std::vector<Cloud> clouds;
};

struct ConvertReport {
  std::string target;
  std::string source_format;
  std::uint64_t source_size = 0;   // virtual size of the input
  std::uint64_t output_size = 0;   // virtual size of the output (after any padding)
  std::uint64_t output_bytes = 0;  // bytes of the output file or stream
  CopyStats stats;
  GptReport gpt;
  std::optional<Checksums> checksums;  // when ConvertOptions::checksums
  // TargetOptions::detect_zeroes for a target that reads the map (gcp): data bytes the zero
  // scan read, and the bytes it still maps as data.
  std::uint64_t zero_scan_read_bytes = 0;
  std::uint64_t zero_scan_data_bytes = 0;
  // For a target that boots and a file input: what the output boots (read from the disk before
  // it is copied, bounded reads only).
  std::optional<BootSummary> boot;
  // A remote input (ImageInput::file a RemoteFile): what reading it did, and for an incremental
  // move the bytes of the output's changed ranges.
  std::optional<SourceStats> source_stats;
  std::optional<std::uint64_t> changed_bytes;
};

// Converts `in` to `target` in `out`. Checks the destination first, before the input is read
// (check_output_path, the input itself, a gcp name), refuses an input whose format it
// recognises but cannot read (see identify()), and on any failure (including cancellation)
// leaves no output file behind. Diagnostics (such as padding) go to options.open.on_diagnostic.
Result<ConvertReport> convert(ImageInput in, ImageOutput out, const ConvertOptions& options,
                              std::stop_token stop = {});

// What only the caller knows about a conversion, for to_properties(ConvertReport).
struct ConvertReportContext {
  std::string source_path;  // as the user named them ("-" for a stream)
  std::string output_path;
  std::string target;                   // the target's name, e.g. "azure"
  std::uint64_t milliseconds = 0;       // wall time of the conversion
  bool zero_scan = false;               // TargetOptions::detect_zeroes was set: report zero_scan
  std::vector<Diagnostic> diagnostics;  // what options.open.on_diagnostic received
};
// The report as docs/json.md "convert" describes it: source, output, stats, gpt, zero_scan
// (with context.zero_scan), boot (when examined), checksums (when computed) and diagnostics
// (always, [] when none).
Properties to_properties(const ConvertReport& report, const ConvertReportContext& context);
// disk {bytes, sha256} and artifact {path, bytes, sha256, md5, md5_base64, crc32c (8 hex
// digits), crc32c_base64}: the checksums object of a convert report and of a checksums file.
Properties to_properties(const Checksums& checksums, std::string_view artifact_path);
// Appends the list `key` (created even when `diagnostics` is empty) of {level ("note" or
// "warning"), message}.
void add_diagnostics(Properties& p, std::string_view key,
                     const std::vector<Diagnostic>& diagnostics);

}  // namespace vdisk

#endif  // VDISK_IMAGE_H_
