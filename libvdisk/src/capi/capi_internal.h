// What the C API's handles hold, and the boundary every C entry point goes through: no C++
// exception crosses it, and every failure becomes a vdisk_errc plus a malloc'd message.
#ifndef VDISK_CAPI_CAPI_INTERNAL_H_
#define VDISK_CAPI_CAPI_INTERNAL_H_

#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"
#include "vdisk/vdisk_c.h"

// The settings of vdisk_options_set(), kept as the C++ options they stand for.
struct vdisk_options_t {
  vdisk::ConvertOptions convert;  // target, open options, pipeline, output options, flags
  bool target_set = false;        // "target" was given (measure: every target otherwise)
  // target.KEY=VALUE in the order given; applied with set_target_option() once the target is
  // known (a key of one target is meaningless for another).
  std::vector<std::pair<std::string, std::string>> target_settings;
  // A remote SRC's settings (aws.*, http.*, since): `source` is left empty (each call names
  // its SRC); remote.http holds the http.* settings for every kind (copied into aws.http for
  // an s3 or ebs SRC).
  vdisk::RemoteSourceOptions remote;
  // A cloud DST's settings (resume, put-md5, update, managed-disk, parent-snapshot, tag,
  // description): `destination`, `aws` and `http` are left empty (each call names its DST; the
  // aws.* and http.* settings are `remote`'s, shared with a remote SRC); `overwrite` is
  // convert.overwrite's.
  vdisk::RemoteOutputOptions destination;
};

namespace vdisk::capi {

// Collects a driver's diagnostics; shared by the handle and the callbacks it gave out, which
// may be called from the library's worker threads.
class DiagnosticSink {
 public:
  DiagnosticFn fn();
  std::vector<Diagnostic> entries() const;

 private:
  mutable std::mutex mu_;
  std::vector<Diagnostic> entries_;
};

}  // namespace vdisk::capi

struct vdisk_image_t {
  std::string path;  // as opened; a remote SRC with its secrets redacted
  // Declared before `source`, so it outlives the source that may hold its callback.
  std::shared_ptr<vdisk::capi::DiagnosticSink> diagnostics;
  std::unique_ptr<vdisk::BlockSource> source;
  // A remote SRC: the object `source` reads (owned by it), for the info report's
  // "remote_source"; null for a local file.
  const vdisk::RemoteFile* remote = nullptr;
  std::string format;  // source->format(), kept for vdisk_image_format()
};

namespace vdisk::capi {

// Stores `message` in *errptr (when errptr is not NULL), freeing what was there. Never throws;
// leaves *errptr NULL when the copy cannot be allocated.
void set_error(char** errptr, std::string_view message) noexcept;

// A malloc'd NUL-terminated copy of `text` (for vdisk_free()); throws std::bad_alloc when
// malloc fails.
char* dup_string(std::string_view text);

// The TargetOptions of `options` for `target`: its target.KEY settings applied (and checked)
// against that target.
Result<TargetOptions> target_options_for(const vdisk_options_t& options, std::string_view target);

// The RemoteSourceOptions of `options` for the remote SRC `src` (remote_source_kind(src) is not
// none): its aws.*, http.* and since settings.
RemoteSourceOptions remote_options_for(const vdisk_options_t& options, std::string_view src);

// The RemoteOutputOptions of `options` for the cloud DST `dst` (remote_destination_kind(dst) is
// not none), converting `src` (for the resume fingerprint): its destination settings, the
// aws.* and http.* settings, and overwrite for the kinds that take it.
RemoteOutputOptions output_options_for(const vdisk_options_t& options, std::string_view src,
                                       std::string_view dst);

// Sets one key (vdisk_options_set's table, capi_options.cpp).
Status set_key(vdisk_options_t& options, std::string_view key, std::string_view value);

// Runs `body` (returning a Status) at the C boundary: its code, with its message in *errptr,
// and every exception mapped to a code.
template <class Body>
int guarded(char** errptr, Body&& body) noexcept {
  try {
    const Status status = std::forward<Body>(body)();
    if (status.ok()) return VDISK_OK;
    set_error(errptr, status.message());
    return static_cast<int>(status.code());
  } catch (const std::bad_alloc&) {
    set_error(errptr, "out of memory");
    return VDISK_NO_MEMORY;
  } catch (const std::exception& e) {
    set_error(errptr, e.what());
    return VDISK_INTERNAL;
  } catch (...) {
    set_error(errptr, "unknown exception");
    return VDISK_INTERNAL;
  }
}

}  // namespace vdisk::capi

#endif  // VDISK_CAPI_CAPI_INTERNAL_H_
