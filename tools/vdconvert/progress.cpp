#include "progress.h"

#include <fmt/format.h>

#include <cmath>

#include "progress_json.h"

namespace vdconvert {

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++unit;
  }
  // Three significant digits: "1.50 GiB", "20.0 MiB", "512 MiB".
  if (v < 10.0) return fmt::format("{:.2f} {}", v, kUnits[unit]);
  if (v < 100.0) return fmt::format("{:.1f} {}", v, kUnits[unit]);
  return fmt::format("{:.0f} {}", v, kUnits[unit]);
}

std::string format_rate(double bytes_per_second) {
  if (!std::isfinite(bytes_per_second) || bytes_per_second < 0) return "? B/s";
  return format_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "?";
  const auto s = static_cast<std::uint64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string format_progress(const vdisk::Progress& p, double elapsed_seconds) {
  const double rate =
      elapsed_seconds > 0 ? static_cast<double>(p.done_bytes) / elapsed_seconds : 0.0;
  if (p.total_bytes == 0)
    return fmt::format("{}  {}", format_bytes(p.done_bytes), format_rate(rate));
  const std::uint64_t done = std::min(p.done_bytes, p.total_bytes);
  const double fraction = static_cast<double>(done) / static_cast<double>(p.total_bytes);
  const auto percent = static_cast<unsigned>(fraction * 100.0);
  // By data still to read when the map said how much there is (zero runs cost nothing), else
  // by virtual bytes still to copy.
  std::string eta = "?";
  if (p.data_total_bytes != 0) {
    const double read_rate =
        elapsed_seconds > 0 ? static_cast<double>(p.read_bytes) / elapsed_seconds : 0.0;
    if (const auto s = data_eta_seconds(p, read_rate)) eta = format_duration(*s);
  } else if (rate > 0) {
    eta = format_duration(static_cast<double>(p.total_bytes - done) / rate);
  }
  return fmt::format("{} / {}  {:3}%  {}  ETA {}", format_bytes(done), format_bytes(p.total_bytes),
                     percent, format_rate(rate), eta);
}

ProgressBar::ProgressBar(Console& console, bool enabled)
    : console_(console),
      enabled_(enabled),
      start_(Clock::now()),
      interval_(console.terminal() ? std::chrono::milliseconds(200) : std::chrono::seconds(1)) {}

void ProgressBar::update(const vdisk::Progress& p) {
  // The bar draws the scan's and the copy's chunks, as it did before the library reported
  // phases: not the phase lines themselves (nothing copied yet, or the copy's counters again at
  // finish and done) and not the heartbeat's repeats of counters already drawn.
  if (p.phase != vdisk::ProgressPhase::scan && p.phase != vdisk::ProgressPhase::copy) return;
  if (p.done_bytes == 0) return;
  const auto now = Clock::now();
  {
    const std::lock_guard lock(mu_);
    if (drawn_ && p.phase == drawn_phase_ && p.done_bytes == drawn_done_) return;
    const bool last = p.total_bytes != 0 && p.done_bytes >= p.total_bytes;
    if (!last && now - last_draw_ < interval_) return;
    last_draw_ = now;
    drawn_ = true;
    drawn_phase_ = p.phase;
    drawn_done_ = p.done_bytes;
  }
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  console_.status(format_progress(p, elapsed));
}

void ProgressBar::finish() {
  if (enabled_) console_.clear_status();
}

vdisk::ProgressFn ProgressBar::callback() {
  if (!enabled_) return {};
  return [this](const vdisk::Progress& p) { update(p); };
}

}  // namespace vdconvert
