// The C API's entry points (vdisk_c.h): each is a thin layer over the C++ API that vdconvert
// uses, producing the same JSON documents as vdconvert's --json (docs/json.md).
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capi/capi_internal.h"
#include "vdisk/check.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/properties.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"
#include "vdisk/vdisk_c.h"
#include "vdisk/version.h"

namespace vdisk::capi {

static_assert(VDISK_OK == static_cast<int>(Errc::ok));
static_assert(VDISK_INVALID_ARGUMENT == static_cast<int>(Errc::invalid_argument));
static_assert(VDISK_NOT_FOUND == static_cast<int>(Errc::not_found));
static_assert(VDISK_ALREADY_EXISTS == static_cast<int>(Errc::already_exists));
static_assert(VDISK_IO_ERROR == static_cast<int>(Errc::io_error));
static_assert(VDISK_NO_SPACE == static_cast<int>(Errc::no_space));
static_assert(VDISK_CORRUPT == static_cast<int>(Errc::corrupt));
static_assert(VDISK_UNSUPPORTED == static_cast<int>(Errc::unsupported));
static_assert(VDISK_OUT_OF_RANGE == static_cast<int>(Errc::out_of_range));
static_assert(VDISK_CANCELLED == static_cast<int>(Errc::cancelled));
static_assert(VDISK_RESOURCE_EXHAUSTED == static_cast<int>(Errc::resource_exhausted));
static_assert(VDISK_INTERNAL == static_cast<int>(Errc::internal));

DiagnosticFn DiagnosticSink::fn() {
  return [this](const Diagnostic& d) {
    // Must not throw (DiagnosticFn): a diagnostic that cannot be stored is dropped.
    try {
      const std::lock_guard lock(mu_);
      entries_.push_back(d);
    } catch (...) {
    }
  };
}

std::vector<Diagnostic> DiagnosticSink::entries() const {
  const std::lock_guard lock(mu_);
  return entries_;
}

void set_error(char** errptr, std::string_view message) noexcept {
  if (errptr == nullptr) return;
  std::free(*errptr);
  *errptr = nullptr;
  auto* copy = static_cast<char*>(std::malloc(message.size() + 1));
  if (copy == nullptr) return;
  if (!message.empty()) std::memcpy(copy, message.data(), message.size());
  copy[message.size()] = '\0';
  *errptr = copy;
}

char* dup_string(std::string_view text) {
  auto* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  if (!text.empty()) std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

namespace {

const vdisk_options_t& or_defaults(const vdisk_options_t* options) {
  static const vdisk_options_t kDefaults;
  return options == nullptr ? kDefaults : *options;
}

template <class T>
void clear_out(T** out) {
  if (out != nullptr) *out = nullptr;
}

Status measure_json(const vdisk_image_t& image, const vdisk_options_t& options,
                    std::string_view source_name, std::string& json) {
  std::vector<std::string> targets;
  if (options.target_set) {
    targets.push_back(options.convert.target);
  } else {
    if (!options.target_settings.empty())
      return invalid_argument("measure: target options (" + options.target_settings[0].first +
                              ", ...) need a \"target\"");
    for (const std::string_view t : target_names()) targets.emplace_back(t);
  }
  Properties props;
  // A URL's secrets (a SAS signature) are never shown, whoever named the source.
  props.add("source", remote_source_kind(source_name) != RemoteSourceKind::none
                          ? redact_secrets(source_name)
                          : std::string(source_name));
  for (const std::string& t : targets) {
    VDISK_ASSIGN_OR_RETURN(const TargetOptions to, target_options_for(options, t));
    auto m = measure(t, *image.source, to, options.convert.pipeline);
    if (!m.ok()) {
      // As vdconvert measure: a target the source cannot meet is a row saying why, unless it
      // was the one asked for.
      if (options.target_set || m.status().code() != Errc::invalid_argument) return m.status();
      Properties& row = props.add_list_item("measurements");
      row.add("target", t);
      row.add("error", m.status().message());
      continue;
    }
    props.add_list_item("measurements").append(m->to_properties());
  }
  add_diagnostics(props, "diagnostics", image.diagnostics->entries());
  json = json_document(props);
  return ok_status();
}

// The C view of a Progress.
vdisk_progress_t c_progress(const Progress& p) {
  vdisk_progress_t c{};
  c.size = static_cast<std::uint32_t>(sizeof(vdisk_progress_t));
  c.phase = static_cast<std::uint32_t>(p.phase);
  c.done_bytes = p.done_bytes;
  c.total_bytes = p.total_bytes;
  c.data_bytes = p.data_bytes;
  c.zero_bytes = p.zero_bytes;
  c.read_bytes = p.read_bytes;
  c.data_total_bytes = p.data_total_bytes;
  c.written_bytes = p.written_bytes;
  c.sent_bytes = p.sent_bytes;
  c.retries = p.retries;
  return c;
}

// The phases are the library's, value for value.
static_assert(static_cast<int>(ProgressPhase::open) == VDISK_PHASE_OPEN &&
              static_cast<int>(ProgressPhase::scan) == VDISK_PHASE_SCAN &&
              static_cast<int>(ProgressPhase::copy) == VDISK_PHASE_COPY &&
              static_cast<int>(ProgressPhase::finish) == VDISK_PHASE_FINISH &&
              static_cast<int>(ProgressPhase::done) == VDISK_PHASE_DONE);

// Either callback (at most one is set).
struct CProgress {
  vdisk_progress_fn done_total = nullptr;
  vdisk_progress2_fn full = nullptr;
  void* ctx = nullptr;
};

bool is_remote(std::string_view src) { return remote_source_kind(src) != RemoteSourceKind::none; }

// A remote SRC opened with the remote settings of `options`.
Result<RemoteSource> open_remote(const vdisk_options_t& options, std::string_view src,
                                 std::stop_token stop = {}) {
  return open_remote_source(remote_options_for(options, src), std::move(stop));
}

Status convert_files(const char* src, const char* dst, const vdisk_options_t& options,
                     const CProgress& progress, char** report) {
  ConvertOptions c = options.convert;
  VDISK_ASSIGN_OR_RETURN(c.output, target_options_for(options, c.target));
  auto diagnostics = std::make_shared<DiagnosticSink>();
  c.open.on_diagnostic = diagnostics->fn();
  std::stop_source stop;
  // The C callback is promised never to run concurrently with itself, whichever stage of the
  // conversion reports (the copy's writer, a zero scan's workers).
  std::mutex progress_mu;
  if (progress.done_total != nullptr || progress.full != nullptr) {
    c.on_progress = [progress, &stop, &progress_mu](const Progress& p) {
      const std::lock_guard lock(progress_mu);
      int r = 0;
      if (progress.full != nullptr) {
        const vdisk_progress_t cp = c_progress(p);
        r = progress.full(progress.ctx, &cp);
      } else {
        r = progress.done_total(progress.ctx, p.done_bytes, p.total_bytes);
      }
      if (r != 0) stop.request_stop();
    };
  }
  const auto start = std::chrono::steady_clock::now();
  // A remote SRC is read where it lives: random access, or front to back from a server without
  // Range support (as vdconvert convert does). It is shown with its secrets redacted.
  ImageInput in{src, nullptr, nullptr};
  std::string shown = src;
  if (is_remote(src)) {
    VDISK_ASSIGN_OR_RETURN(RemoteSource opened, open_remote(options, src, stop.get_token()));
    shown = redact_secrets(src);
    in.path = shown;
    in.file = std::move(opened.file);
    in.stream = std::move(opened.stream);
  }
  // A cloud DST is written as the output is made (vdisk/remote.h, open_remote_output): the
  // target pairs with it in convert(), before the input is read. It is shown redacted.
  ImageOutput out{dst, nullptr, nullptr};
  std::string shown_dst = dst;
  std::unique_ptr<RemoteOutput> remote;
  if (remote_destination_kind(dst) != RemoteDestinationKind::none) {
    VDISK_ASSIGN_OR_RETURN(remote, open_remote_output(output_options_for(options, src, dst)));
    shown_dst = remote->display_name();
    out.path = remote_output_name(*remote);
    out.remote = remote.get();
  }
  auto result = convert(std::move(in), std::move(out), c, stop.get_token());
  if (!result.ok()) {
    // What became of a partial upload (deleted, or left for resume), after the error.
    if (remote && !remote->stats().cleanup.empty())
      return Status(result.status().code(),
                    result.status().message() + "; " + remote->stats().cleanup);
    return result.status();
  }
  if (report != nullptr) {
    ConvertReportContext context;
    context.source_path = shown;
    context.output_path = shown_dst;
    context.target = c.target;
    context.milliseconds =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - start)
                                       .count());
    context.zero_scan = c.output.detect_zeroes;
    context.diagnostics = diagnostics->entries();
    Properties props = to_properties(*result, context);
    if (remote) add_upload_properties(props, remote->stats());
    *report = dup_string(json_document(props));
  }
  return ok_status();
}

}  // namespace
}  // namespace vdisk::capi

using vdisk::capi::clear_out;
using vdisk::capi::dup_string;
using vdisk::capi::guarded;
using vdisk::capi::or_defaults;

extern "C" {

const char* vdisk_version(void) { return vdisk::version(); }

const char* vdisk_errc_name(int code) {
  switch (code) {
    case VDISK_OK:
      return "ok";
    case VDISK_INVALID_ARGUMENT:
      return "invalid_argument";
    case VDISK_NOT_FOUND:
      return "not_found";
    case VDISK_ALREADY_EXISTS:
      return "already_exists";
    case VDISK_IO_ERROR:
      return "io_error";
    case VDISK_NO_SPACE:
      return "no_space";
    case VDISK_CORRUPT:
      return "corrupt";
    case VDISK_UNSUPPORTED:
      return "unsupported";
    case VDISK_OUT_OF_RANGE:
      return "out_of_range";
    case VDISK_CANCELLED:
      return "cancelled";
    case VDISK_RESOURCE_EXHAUSTED:
      return "resource_exhausted";
    case VDISK_INTERNAL:
      return "internal";
    case VDISK_NO_MEMORY:
      return "no_memory";
    default:
      return "unknown";
  }
}

void vdisk_free(void* ptr) { std::free(ptr); }

int vdisk_open(const char* path, const vdisk_options_t* options, vdisk_image_t** image,
               char** errptr) {
  clear_out(image);
  return guarded(errptr, [&]() -> vdisk::Status {
    if (path == nullptr || image == nullptr)
      return vdisk::invalid_argument("vdisk_open: path and image must not be NULL");
    auto handle = std::make_unique<vdisk_image_t>();
    handle->path = path;
    handle->diagnostics = std::make_shared<vdisk::capi::DiagnosticSink>();
    vdisk::OpenOptions open = or_defaults(options).convert.open;
    open.on_diagnostic = handle->diagnostics->fn();
    if (vdisk::capi::is_remote(path)) {
      handle->path = vdisk::redact_secrets(path);
      VDISK_ASSIGN_OR_RETURN(vdisk::RemoteSource opened,
                             vdisk::capi::open_remote(or_defaults(options), path));
      if (!opened.file)
        return vdisk::unsupported(
            "vdisk_open: " + handle->path +
            ": the server does not answer ranged requests, and an image handle reads at random "
            "(vdisk_convert reads it front to back)");
      handle->remote = opened.file.get();
      VDISK_ASSIGN_OR_RETURN(handle->source, vdisk::open_image(std::move(opened.file), {}, open));
    } else {
      VDISK_ASSIGN_OR_RETURN(handle->source, vdisk::open_image(handle->path, open));
    }
    handle->format = std::string(handle->source->format());
    *image = handle.release();
    return vdisk::ok_status();
  });
}

void vdisk_close(vdisk_image_t* image) { delete image; }

const char* vdisk_image_format(const vdisk_image_t* image) {
  return image == nullptr ? nullptr : image->format.c_str();
}

uint64_t vdisk_image_size(const vdisk_image_t* image) {
  try {
    return image == nullptr ? 0 : image->source->size();
  } catch (...) {  // no driver throws here; the boundary holds all the same
    return 0;
  }
}

int vdisk_image_info_json(const vdisk_image_t* image, char** json, char** errptr) {
  clear_out(json);
  return guarded(errptr, [&]() -> vdisk::Status {
    if (image == nullptr || json == nullptr)
      return vdisk::invalid_argument("vdisk_image_info_json: image and json must not be NULL");
    vdisk::Properties props = vdisk::describe(*image->source);
    // A remote image: the object's facts and what reading it took, after the image's.
    if (image->remote != nullptr) vdisk::add_remote_source_properties(props, *image->remote);
    vdisk::add_diagnostics(props, "diagnostics", image->diagnostics->entries());
    *json = dup_string(vdisk::json_document(props));
    return vdisk::ok_status();
  });
}

int vdisk_measure_json(const vdisk_image_t* image, const vdisk_options_t* options,
                       const char* source_name, char** json, char** errptr) {
  clear_out(json);
  return guarded(errptr, [&]() -> vdisk::Status {
    if (image == nullptr || json == nullptr)
      return vdisk::invalid_argument("vdisk_measure_json: image and json must not be NULL");
    std::string text;
    VDISK_RETURN_IF_ERROR(vdisk::capi::measure_json(
        *image, or_defaults(options), source_name == nullptr ? image->path : source_name, text));
    *json = dup_string(text);
    return vdisk::ok_status();
  });
}

int vdisk_check_json(const char* path, const char* target, const vdisk_options_t* options,
                     char** json, int* passed, char** errptr) {
  clear_out(json);
  if (passed != nullptr) *passed = 0;
  return guarded(errptr, [&]() -> vdisk::Status {
    if (path == nullptr || json == nullptr || passed == nullptr)
      return vdisk::invalid_argument("vdisk_check_json: path, json and passed must not be NULL");
    std::string rules = target == nullptr ? std::string() : std::string(target);
    vdisk::CheckOptions check;
    check.ignore_parent_identity = or_defaults(options).convert.open.ignore_parent_identity;
    vdisk::Result<vdisk::CheckReport> checked = vdisk::internal_error("vdisk_check_json");
    if (vdisk::capi::is_remote(path)) {
      // Checked where it lives: each rule set reads what its rules need.
      const std::string display = vdisk::redact_secrets(path);
      VDISK_ASSIGN_OR_RETURN(vdisk::RemoteSource opened,
                             vdisk::capi::open_remote(or_defaults(options), path));
      if (!opened.file)
        return vdisk::unsupported("vdisk_check_json: " + display +
                                  ": the server does not answer ranged requests, and a check "
                                  "re-reads parts of the file");
      if (rules.empty()) {
        VDISK_ASSIGN_OR_RETURN(rules, vdisk::default_check_target(*opened.file, display));
      }
      checked = vdisk::check_image(std::move(opened.file), display, rules, check);
    } else {
      if (rules.empty()) {
        VDISK_ASSIGN_OR_RETURN(rules, vdisk::default_check_target(path));
      }
      checked = vdisk::check_image(path, rules, check);
    }
    VDISK_ASSIGN_OR_RETURN(const vdisk::CheckReport report, std::move(checked));
    *json = dup_string(vdisk::json_document(report.to_properties()));
    *passed = report.passed() ? 1 : 0;
    return vdisk::ok_status();
  });
}

int vdisk_convert(const char* src, const char* dst, const vdisk_options_t* options,
                  vdisk_progress_fn progress, void* ctx, char** report, char** errptr) {
  clear_out(report);
  return guarded(errptr, [&]() -> vdisk::Status {
    if (src == nullptr || dst == nullptr)
      return vdisk::invalid_argument("vdisk_convert: src and dst must not be NULL");
    return vdisk::capi::convert_files(src, dst, or_defaults(options), {progress, nullptr, ctx},
                                      report);
  });
}

int vdisk_convert2(const char* src, const char* dst, const vdisk_options_t* options,
                   vdisk_progress2_fn progress, void* ctx, char** report, char** errptr) {
  clear_out(report);
  return guarded(errptr, [&]() -> vdisk::Status {
    if (src == nullptr || dst == nullptr)
      return vdisk::invalid_argument("vdisk_convert2: src and dst must not be NULL");
    return vdisk::capi::convert_files(src, dst, or_defaults(options), {nullptr, progress, ctx},
                                      report);
  });
}

const char* vdisk_phase_name(int phase) {
  switch (phase) {
    case VDISK_PHASE_OPEN:
    case VDISK_PHASE_SCAN:
    case VDISK_PHASE_COPY:
    case VDISK_PHASE_FINISH:
    case VDISK_PHASE_DONE:
      // Static storage: the names are string literals.
      return vdisk::progress_phase_name(static_cast<vdisk::ProgressPhase>(phase)).data();
    default:
      return "unknown";
  }
}

}  // extern "C"
