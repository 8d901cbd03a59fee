/* The C API of libvdisk: open, describe, measure, check and convert disk images from C (and from
 * anything that calls C: Python's ctypes binding, python/vdisk). docs/c-api.md is the guide.
 *
 * Conventions (every function):
 * - Handles are opaque: vdisk_image_t (an open image), vdisk_options_t (key=value settings).
 *   Each is created by one function and released by one (vdisk_close, vdisk_options_destroy).
 * - A fallible function returns a vdisk_errc: VDISK_OK (0) on success, else the code. Its last
 *   parameter `char** errptr` (may be NULL) then receives the one-line message, allocated by the
 *   library: free it with vdisk_free(). *errptr must be NULL or a previous message on entry; a
 *   previous message is freed when a new one replaces it, and left alone on success (leveldb's
 *   errptr convention). Under memory exhaustion the code is VDISK_NO_MEMORY and the message may
 *   be missing (*errptr then stays NULL).
 * - Output parameters (char** json, vdisk_image_t** image) are set on success and set to NULL on
 *   failure. Returned strings are NUL-terminated UTF-8 allocated by the library: vdisk_free().
 * - No function throws, aborts, prints, exits or reads the environment: every C++ exception is
 *   caught at the boundary (std::bad_alloc -> VDISK_NO_MEMORY, anything else -> VDISK_INTERNAL).
 * - Paths are byte strings as the operating system takes them.
 * - Thread safety: functions on different handles may run concurrently. One handle is used by
 *   one thread at a time, except that a vdisk_options_t that no thread modifies may be read by
 *   several calls at once (vdisk_convert, vdisk_open, ...) in several threads.
 * - A NULL handle or NULL required pointer is VDISK_INVALID_ARGUMENT, never a crash.
 */
#ifndef VDISK_VDISK_C_H_
#define VDISK_VDISK_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. 0..11 are vdisk::Errc (status.h) value for value; VDISK_NO_MEMORY is the C API's
 * own (an allocation failed). */
typedef enum vdisk_errc {
  VDISK_OK = 0,
  VDISK_INVALID_ARGUMENT = 1,    /* the caller asked for something malformed (bad option, key) */
  VDISK_NOT_FOUND = 2,           /* a named file or entry does not exist */
  VDISK_ALREADY_EXISTS = 3,      /* refusing to replace an output without "overwrite" */
  VDISK_IO_ERROR = 4,            /* the operating system reported a read/write failure */
  VDISK_NO_SPACE = 5,            /* the output device is full */
  VDISK_CORRUPT = 6,             /* the image breaks its format's rules */
  VDISK_UNSUPPORTED = 7,         /* a valid image uses a feature libvdisk does not implement */
  VDISK_OUT_OF_RANGE = 8,        /* a read or size past an object's end */
  VDISK_CANCELLED = 9,           /* the progress callback asked to stop */
  VDISK_RESOURCE_EXHAUSTED = 10, /* a configured bound would be exceeded */
  VDISK_INTERNAL = 11,           /* a libvdisk bug */
  VDISK_NO_MEMORY = 100          /* an allocation failed */
} vdisk_errc;

typedef struct vdisk_image_t vdisk_image_t;
typedef struct vdisk_options_t vdisk_options_t;

/* Progress of a conversion: `done` virtual bytes of `total` (0 while unknown). Called from a
 * library thread (not the caller's), never concurrently with itself, after each chunk; it must
 * be quick. Returning nonzero cancels the conversion: vdisk_convert then returns
 * VDISK_CANCELLED and leaves no output file. */
typedef int (*vdisk_progress_fn)(void* ctx, uint64_t done, uint64_t total);

/* The phases of a conversion, in order (vdisk_progress_t.phase; vdisk::ProgressPhase). */
typedef enum vdisk_phase {
  VDISK_PHASE_OPEN = 0,   /* destination checks, opening the input, reading its metadata */
  VDISK_PHASE_SCAN = 1,   /* zero-scanning the data first (detect-zeroes) */
  VDISK_PHASE_COPY = 2,   /* reading the disk, writing the output */
  VDISK_PHASE_FINISH = 3, /* the output's last bytes, fsync, rename */
  VDISK_PHASE_DONE = 4    /* complete: the last call of a successful conversion */
} vdisk_phase;

/* "open", "scan", "copy", "finish", "done" ("unknown" for another value); a static string. */
const char* vdisk_phase_name(int phase);

/* One progress report of vdisk_convert2 (the fields of vdisk::Progress, vdisk/pipeline.h). The
 * library fills `size` with the size of the struct it knows: fields are only ever added at the
 * end, so a caller built against a newer header reads a field only when
 * offsetof(field) + sizeof(field) <= size. The pointer is valid during the call only. */
typedef struct vdisk_progress_t {
  uint32_t size;             /* sizeof(vdisk_progress_t) as the library was built */
  uint32_t phase;            /* a vdisk_phase */
  uint64_t done_bytes;       /* virtual bytes handed to the output so far */
  uint64_t total_bytes;      /* virtual size; 0 while not known */
  uint64_t data_bytes;       /* of done_bytes, written as data */
  uint64_t zero_bytes;       /* of done_bytes, handed on as zero runs (zeros, holes) */
  uint64_t read_bytes;       /* bytes read from the input */
  uint64_t data_total_bytes; /* data bytes the input's map holds (what the copy reads); 0:
                                not known. An ETA counts data_total_bytes - read_bytes. */
  uint64_t written_bytes;    /* bytes of output produced so far */
  uint64_t sent_bytes;       /* upload outputs: request bytes the service accepted; else 0 */
  uint64_t retries;          /* upload outputs: requests repeated after a failure; else 0 */
} vdisk_progress_t;

/* As vdisk_progress_fn, with every field: called at each phase, after each chunk and at least
 * about once a second (the last report repeated with fresh counters), never concurrently with
 * itself. Returning nonzero cancels. */
typedef int (*vdisk_progress2_fn)(void* ctx, const vdisk_progress_t* progress);

/* The version of the linked library ("0.1.0"); a static string, never freed. */
const char* vdisk_version(void);

/* The short lowercase name of a code ("corrupt", "no_memory", "unknown" for a value that is not
 * a code); a static string, never freed. */
const char* vdisk_errc_name(int code);

/* Frees a string the library returned (a message, a JSON document). NULL is allowed. */
void vdisk_free(void* ptr);

/* ---- Options ---------------------------------------------------------------------------- */

/* A new, empty set of options (every setting at its default), or NULL when out of memory.
 * Release it with vdisk_options_destroy(). */
vdisk_options_t* vdisk_options_create(void);
/* Releases `options` (NULL is allowed). Handles opened with it do not borrow it. */
void vdisk_options_destroy(vdisk_options_t* options);

/* Sets one option as key=value text (a flag takes on|off|yes|no|true|false|1|0, and an empty or
 * NULL value sets it on). A key set twice keeps the last value. The keys:
 *   target                  output target of vdisk_convert and vdisk_measure_json (default: raw
 *                           for convert, every target for measure): raw, vhd, azure, gcp, vmdk...
 *   format                  input format (default: probe)
 *   threads                 pipeline worker threads (0 = one per core; default 0)
 *   compress-threads        compression threads of compressing targets (0 = one per core)
 *   overwrite               flag: replace an existing output file, Azure blob or S3 object
 *                           (default off; an EBS snapshot is new each time)
 *   sync                    flag: fsync the output before renaming it into place (default on)
 *   checksums               flag: report sha256/md5/crc32c of the output (default off)
 *   any-output-name         flag: write a target with a name rule (gcp: *.tar.gz) to any name
 *   keep-gpt                flag: pad without relocating a GPT's backup
 *   detect-zeroes           flag: gcp: map zero blocks as holes (one extra read of the data)
 *   timestamp               Unix seconds stamped in outputs (VHD footer, GCP tar); default now
 *   unique-id               32 hex digits (dashes allowed): VHD unique id, VMDK uuid; default
 *                           random. With `timestamp`, makes an output reproducible
 *   allow-outside-paths     flag: parents/extents may lie outside the image's directory
 *   ignore-parent-identity  flag: do not match a child's parent id against its parent
 *   verify-manifest         flag: OVA manifest digests (default on)
 *   disk-index              OVA: the disk to read, 0-based
 *   format.KEY              the input format's own option KEY (vdconvert --KEY)
 *   target.KEY              the target's own option KEY (vdconvert -o KEY=VALUE); a KEY that is
 *                           none of the keys above or below may be given without "target."
 * A remote SRC's keys (see "Remote sources" below); secrets are never shown in a message:
 *   aws.access-key-id       s3/ebs SRC or DST: the access key id
 *   aws.secret-access-key   s3/ebs SRC or DST: the secret access key (a secret)
 *   aws.session-token       s3/ebs SRC or DST: the session token of temporary credentials (a
 *                           secret)
 *   aws.region              s3/ebs SRC or DST: the region, e.g. eu-west-1 (required by AWS)
 *   aws.endpoint-url        s3/ebs SRC or DST: another endpoint, an http(s) URL (an emulator, an
 *                           S3-compatible store)
 *   http.connections        requests in flight at once, 1..64 (default 8)
 *   http.timeout            seconds without a byte before a request is abandoned and retried,
 *                           1..3600 (default 60)
 *   http.retries            retries per request, 0..100 (default 7)
 *   http.ca-file            https: trust the CA certificates in this file (default: the system's)
 *   http.header             http(s) SRC: "NAME: VALUE" sent with every request; each set
 *                           appends one (at most 32); checked as vdisk::check_source_header
 *                           checks it; the value is a secret
 *   since                   ebs SRC: an earlier snapshot (snap-...): only what changed since
 * A cloud DST's keys (see "Cloud destinations" below; the aws.* and http.* keys above too):
 *   resume                  flag: azure DST: continue an interrupted upload of the same
 *                           conversion (pages the blob holds are not sent again)
 *   put-md5                 flag: azure DST: set the blob's Content-MD5 at the end
 *   update                  flag: azure DST: bring the blob up to date from an incremental SRC
 *                           (an ebs SRC with since): only the changed ranges are written
 *   managed-disk            azure DST: auto (default: a host starting with "md-"), on or off
 *   verify                  flag: cloud DST: read the object back once written and compare
 *                           (a difference: VDISK_IO_ERROR naming the offset)
 *   description             ebs DST: the snapshot's description (at most 255 characters)
 *   tag                     ebs DST: KEY=VALUE, a tag on the snapshot; each set appends one (at
 *                           most 50); an empty value clears them
 *   parent-snapshot         ebs DST: the snapshot the new one continues (snap-...; with an ebs
 *                           SRC read with since: only the changed blocks are put)
 * A key under "aws." or "http." that is not listed is refused. An empty value sets a text key
 * back to its default.
 * A target option is checked against the target when "target" is already set, and always when
 * the options are used. Returns VDISK_INVALID_ARGUMENT naming the key and what it accepts. */
int vdisk_options_set(vdisk_options_t* options, const char* key, const char* value, char** errptr);

/* ---- Remote sources ---------------------------------------------------------------------
 * vdisk_open, vdisk_check_json and vdisk_convert(2) take, wherever they take a path, a remote
 * SRC (vdisk::remote_source_kind, vdisk/remote.h): "ebs:snap-..." (an EBS snapshot),
 * "s3://BUCKET/KEY", an Azure blob URL (a blob host, or a SAS: sv= and sig=), any other
 * https:// URL (http:// only to a loopback host). The aws.*, http.* and since keys say how to
 * reach it; the library reads no environment: credentials are passed as values. Bytes are
 * fetched on demand (docs/cloud.md, "Reading from the cloud"). A server that does not answer
 * ranged requests gives a stream: vdisk_convert reads it front to back; vdisk_open and
 * vdisk_check_json refuse it (VDISK_UNSUPPORTED, one line), as they read at random. Messages
 * and JSON documents show the SRC with its secrets redacted, and never a secret. */

/* ---- Cloud destinations -----------------------------------------------------------------
 * vdisk_convert(2) takes as `dst` a cloud destination (vdisk::remote_destination_kind,
 * vdisk/remote.h), written as the output is made with no local copy (docs/cloud.md): an Azure
 * page blob URL with a SAS, or a managed disk's upload URL (any https:// URL; http:// only to
 * a loopback host: Azurite), for a target that writes a fixed VHD ("azure", a fixed "vhd");
 * "s3://BUCKET/KEY" (any target but aws-snapshot); "ebs:" (a new EBS
 * snapshot, target "aws-snapshot" only). A target the destination does not take, or a
 * destination key that does not fit its kind (resume for s3, tag for azure, ...), is
 * VDISK_INVALID_ARGUMENT before any request. The aws.* and http.* keys say how to reach it,
 * and the destination keys what to do. On failure the message ends with what became of the
 * partial object (deleted, or left for resume). The report gets an "upload" object (object,
 * redacted; created, resumed, requests, retries, bytes_sent, bytes_skipped, ranges_cleared;
 * for ebs: object_id, the snapshot's id, block_bytes, blocks_sent, zero_blocks_sent; verified
 * and verify_bytes_read with "verify"), as `vdconvert convert --json` prints it. The SAS
 * signature and keys never appear in a message or the report. */

/* ---- Images ----------------------------------------------------------------------------- */

/* Opens the image `path`, a file or a remote SRC (above), probing its format unless "format" is
 * set, with the open and remote settings of `options` (NULL: defaults). On success *image is a
 * handle for vdisk_close(). */
int vdisk_open(const char* path, const vdisk_options_t* options, vdisk_image_t** image,
               char** errptr);
/* Closes `image` (NULL is allowed). */
void vdisk_close(vdisk_image_t* image);

/* The image's format name ("vmdk"); valid until vdisk_close(). NULL for a NULL image. */
const char* vdisk_image_format(const vdisk_image_t* image);
/* The image's virtual size in bytes; 0 for a NULL image. */
uint64_t vdisk_image_size(const vdisk_image_t* image);

/* The image described as `vdconvert info --json` prints it (docs/json.md "info"): format,
 * virtual_size, the format's own facts, diagnostics; for a remote SRC "remote_source" (kind,
 * object redacted, bytes, the service's facts, requests, retries, bytes_received,
 * blocks_fetched, cache_hits: what reading it took so far). *json: free with vdisk_free(). */
int vdisk_image_info_json(const vdisk_image_t* image, char** json, char** errptr);

/* How large the output of the "target" of `options` would be (every target when unset), as
 * `vdconvert measure --json` prints it: source, measurements [{target, source_format,
 * virtual_size, target_size, allocated_bytes, output {exact, bytes, upper_bound}} or, when
 * measuring every target, {target, error} for one that cannot hold the image]. Reads the map
 * only. `source_name` is the "source" shown (NULL: the path the image was opened with; a
 * remote SRC's secrets are redacted either way).
 * *json: free with vdisk_free(). */
int vdisk_measure_json(const vdisk_image_t* image, const vdisk_options_t* options,
                       const char* source_name, char** json, char** errptr);

/* ---- Check and convert ------------------------------------------------------------------- */

/* Checks the file `path` (or a remote SRC) against the rules of `target` ("azure", "gcp",
 * "vmdk", "qcow2", "mvmc", ...; NULL: the default for the file, "vmdk" for a VMDK), as
 * `vdconvert check --json` reports it: target, path, passed, failures, warnings, rules [...].
 * Rules that fail are in the report, not an error: *passed is 1 when no rule failed, else 0.
 * `options` (may be NULL) gives "ignore-parent-identity" and a remote SRC's keys. *json: free
 * with vdisk_free(). */
int vdisk_check_json(const char* path, const char* target, const vdisk_options_t* options,
                     char** json, int* passed, char** errptr);

/* Converts the image `src` (a file or a remote SRC, read where it lives; a stream from a server
 * without Range support too) to the "target" of `options` (raw when unset) in the file `dst`,
 * written through a temporary file renamed into place on success; on any failure, cancellation
 * included, no output is left behind. `dst` may be a cloud destination (above): then a failed
 * upload deletes what it created (unless "resume": the blob is left to be continued). `progress`
 * (may be NULL) is called with `ctx` as vdisk_progress_fn says. `report` (may be NULL) receives
 * the report as `vdconvert convert --json` prints it (docs/json.md "convert": source, output,
 * stats, gpt, checksums when asked, diagnostics, upload for a cloud DST); free it with
 * vdisk_free(). */
int vdisk_convert(const char* src, const char* dst, const vdisk_options_t* options,
                  vdisk_progress_fn progress, void* ctx, char** report, char** errptr);

/* vdisk_convert with the whole progress report (vdisk_progress_t) for `progress`. */
int vdisk_convert2(const char* src, const char* dst, const vdisk_options_t* options,
                   vdisk_progress2_fn progress, void* ctx, char** report, char** errptr);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VDISK_VDISK_C_H_ */
