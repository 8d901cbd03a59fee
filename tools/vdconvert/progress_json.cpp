#include "progress_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "vdisk/cloud.h"

namespace vdconvert {
namespace {

// A non-negative finite number with `decimals` digits after the point, as JSON.
std::string number(double v, int decimals) {
  if (!std::isfinite(v) || v < 0) v = 0;
  return fmt::format("{:.{}f}", v, decimals);
}

std::string optional_integer(std::uint64_t v) { return v == 0 ? "null" : fmt::format("{}", v); }

}  // namespace

std::string redact_json_strings(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  std::size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      out += json[i++];
      continue;
    }
    // A string literal: up to the next quote that no backslash escapes.
    std::size_t j = i + 1;
    while (j < json.size() && json[j] != '"')
      j += json[j] == '\\' ? std::size_t{2} : std::size_t{1};
    const std::size_t end = std::min(j, json.size());
    out += '"';
    out += vdisk::redact_secrets(json.substr(i + 1, end - i - 1));
    if (end < json.size()) out += '"';
    i = end + 1;
  }
  return out;
}

std::optional<double> data_eta_seconds(const vdisk::Progress& p, double rate) {
  if (p.data_total_bytes == 0) return std::nullopt;
  if (p.read_bytes >= p.data_total_bytes) return 0.0;
  if (!(rate > 0)) return std::nullopt;
  return static_cast<double>(p.data_total_bytes - p.read_bytes) / rate;
}

JsonProgressWriter::JsonProgressWriter(Emit emit, Now now, double interval, double window)
    : emit_(std::move(emit)), now_(std::move(now)), interval_(interval), window_(window) {}

std::string JsonProgressWriter::fields(const vdisk::Progress& p, double t, std::string_view phase) {
  // The rate over the window: from the oldest sample still inside it (or the one just before,
  // so that a window never spans less than two samples) to now.
  samples_.emplace_back(t, p.read_bytes);
  while (samples_.size() > 2 && samples_[1].first <= t - window_) samples_.pop_front();
  double rate = 0;
  const auto& [t0, b0] = samples_.front();
  if (t > t0 && p.read_bytes >= b0) rate = static_cast<double>(p.read_bytes - b0) / (t - t0);
  const auto eta = data_eta_seconds(p, rate);
  return fmt::format(
      "{{\"schema_version\":{},\"phase\":\"{}\",\"elapsed\":{},\"total_bytes\":{},"
      "\"done_bytes\":{},\"data_bytes\":{},\"zero_bytes\":{},\"read_bytes\":{},"
      "\"data_total_bytes\":{},\"written_bytes\":{},\"sent_bytes\":{},\"retries\":{},"
      "\"rate\":{},\"eta\":{}",
      vdisk::kJsonSchemaVersion, phase, number(t, 3), optional_integer(p.total_bytes), p.done_bytes,
      p.data_bytes, p.zero_bytes, p.read_bytes, optional_integer(p.data_total_bytes),
      p.written_bytes, p.sent_bytes, p.retries, number(std::round(rate), 0),
      eta ? number(std::ceil(*eta), 0) : std::string("null"));
}

void JsonProgressWriter::emit_locked(std::string line) {
  line += '\n';
  emit_(line);
}

void JsonProgressWriter::update(const vdisk::Progress& p) {
  const std::lock_guard lock(mu_);
  if (finished_) return;
  const double t = now_();
  last_ = p;
  if (p.phase == vdisk::ProgressPhase::done) return;  // the final line says it
  const bool new_phase = !phase_ || *phase_ != p.phase;
  if (!new_phase && t - last_line_ < interval_) return;
  phase_ = p.phase;
  last_line_ = t;
  emit_locked(fields(p, t, vdisk::progress_phase_name(p.phase)) + "}");
}

void JsonProgressWriter::finish_ok(const vdisk::Properties& report) {
  const std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  const double t = now_();
  emit_locked(fields(last_, t, "done") +
              ",\"final\":true,\"result\":\"ok\",\"exit_code\":0,\"report\":" +
              redact_json_strings(report.to_json(0)) + "}");
}

void JsonProgressWriter::upload_counters(std::uint64_t sent_bytes, std::uint64_t retries) {
  const std::lock_guard lock(mu_);
  last_.sent_bytes = std::max(last_.sent_bytes, sent_bytes);
  last_.retries = std::max(last_.retries, retries);
}

void JsonProgressWriter::finish_error(std::string_view message, int exit_code) {
  const std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  const double t = now_();
  emit_locked(fields(last_, t, "done") +
              fmt::format(",\"final\":true,\"result\":\"error\",\"exit_code\":{},\"message\":{}}}",
                          exit_code, vdisk::json_quote(vdisk::redact_secrets(message))));
}

bool JsonProgressWriter::finished() const {
  const std::lock_guard lock(mu_);
  return finished_;
}

vdisk::ProgressFn JsonProgressWriter::callback() {
  return [this](const vdisk::Progress& p) { update(p); };
}

}  // namespace vdconvert
