// `--progress=json[:FD]`: progress as JSON lines for programs (docs/json.md, "progress lines").
//
// One JSON object per line. A line is written at once when the phase changes (the library's
// first report, phase "open", is the start line) and otherwise at most once per `interval`
// (the library repeats its last report each second when nothing else happens, so a stalled
// upload still gets lines). The last line is the final one (`finish_ok` or `finish_error`):
// phase "done", the result, the exit code, and for success the --json report's facts. Nothing
// is written after it; a report from the library's "done" phase is kept, not written (the final
// line follows it and carries its counters).
//
// rate: bytes read from the source per second over the last `window` (the pipeline reads data
// only: zero runs cost nothing); eta: the data still to read (data_total_bytes - read_bytes)
// at that rate, null when the data total is not known (a stream) or nothing was read yet.
//
// Text fields (the error message, the report's paths) go through vdisk::redact_secrets, as the
// console's messages do: no SAS signature or key reaches a line.
//
// The clock and the output are injected (unit tests drive them); update() is thread-safe.
#ifndef VDCONVERT_PROGRESS_JSON_H_
#define VDCONVERT_PROGRESS_JSON_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "vdisk/pipeline.h"
#include "vdisk/properties.h"

namespace vdconvert {

class JsonProgressWriter {
 public:
  using Now = std::function<double()>;                 // seconds since the start
  using Emit = std::function<void(std::string_view)>;  // one line, newline included

  JsonProgressWriter(Emit emit, Now now, double interval = 1.0, double window = 5.0);

  // Writes a line for `p` when its phase differs from the last line's, or `interval` has passed
  // since the last line (and the conversion is not finished).
  void update(const vdisk::Progress& p);
  // The final line of a successful conversion: result "ok", exit_code 0, `report` (the
  // --json report's object, without schema_version).
  void finish_ok(const vdisk::Properties& report);
  // Raises the upload counters the final line shows to what the upload did (after a failure
  // the library reports no more; its last report may predate the last retries).
  void upload_counters(std::uint64_t sent_bytes, std::uint64_t retries);
  // The final line of a failed one: result "error", `message` (one line), `exit_code`.
  void finish_error(std::string_view message, int exit_code);
  bool finished() const;

  // A ProgressFn that calls update().
  vdisk::ProgressFn callback();

 private:
  std::string fields(const vdisk::Progress& p, double t, std::string_view phase);  // mu_ held
  void emit_locked(std::string line);

  Emit emit_;
  Now now_;
  double interval_;
  double window_;
  mutable std::mutex mu_;
  vdisk::Progress last_{};
  std::optional<vdisk::ProgressPhase> phase_;  // of the last line written
  double last_line_ = 0;
  std::deque<std::pair<double, std::uint64_t>> samples_;  // (time, read_bytes), oldest first
  bool finished_ = false;
};

// `json` (valid JSON) with vdisk::redact_secrets applied inside each string literal.
std::string redact_json_strings(std::string_view json);

// The data rate and the ETA as the bar and the lines compute them: `rate` bytes/s of data read;
// the seconds left for the data still to read, or nullopt when not known.
std::optional<double> data_eta_seconds(const vdisk::Progress& p, double rate);

}  // namespace vdconvert

#endif  // VDCONVERT_PROGRESS_JSON_H_
