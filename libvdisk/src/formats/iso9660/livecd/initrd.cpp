// Initrd facts: segments, cpio entries, kernel modules (see initrd.h).
#include "formats/iso9660/livecd/initrd.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "contract/machines.h"
#include "formats/iso9660/livecd/cpio.h"
#include "formats/iso9660/livecd/initrd_streams.h"
#include "formats/iso9660/livecd/kernel_args.h"

namespace vdisk::livecd {

namespace {

using detail::Compression;

constexpr std::uint32_t kModeTypeMask = 0170000;
constexpr std::uint32_t kModeRegular = 0100000;
constexpr std::size_t kMaxBuiltinLine = 4096;

std::string module_key(std::string_view name) {
  std::string k(name);
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

// "<name>" when `base` is "<name>.ko" or "<name>.ko.{xz,zst,gz}", else "".
std::string module_name_of(std::string_view base) {
  for (std::string_view suffix : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
    if (base.size() > suffix.size() && base.ends_with(suffix))
      return module_key(base.substr(0, base.size() - suffix.size()));
  }
  return {};
}

// For "[usr/]lib/modules/<version>/<rest>" (any leading "./" or "/" removed): the version and
// the rest; false otherwise.
bool split_modules_path(std::string_view name, std::string_view& version, std::string_view& rest) {
  while (name.starts_with("./")) name.remove_prefix(2);
  while (name.starts_with("/")) name.remove_prefix(1);
  if (name.starts_with("usr/")) name.remove_prefix(4);
  if (!name.starts_with("lib/modules/")) return false;
  name.remove_prefix(12);
  const auto slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  version = name.substr(0, slash);
  rest = name.substr(slash + 1);
  return !rest.empty();
}

std::string_view basename_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Collects module facts from the cpio walk; reads modules.builtin line by line.
class FactCollector {
 public:
  FactCollector(InitrdFacts& facts, const InitrdLimits& limits, std::span<const std::string> enough)
      : facts_(facts), limits_(limits) {
    for (const std::string& m : enough) enough_.push_back(module_key(m));
  }

  // Every `enough` module has been seen: the walk was stopped on purpose.
  bool done() const { return done_; }

  detail::CpioVisitor visitor() {
    detail::CpioVisitor v;
    v.on_entry = [this](const detail::CpioEntry& e) -> Result<bool> { return entry(e); };
    v.on_data = [this](std::span<const std::byte> d) -> Status { return data(d); };
    return v;
  }

 private:
  Result<bool> entry(const detail::CpioEntry& e) {
    finish_line();
    std::string_view version, rest;
    if (!split_modules_path(e.name, version, rest)) return false;
    if (facts_.kernel_versions.size() < 64) facts_.kernel_versions.emplace(version);
    if ((e.mode & kModeTypeMask) != kModeRegular && (e.mode & kModeTypeMask) != 0120000)
      return false;
    if (rest == "modules.builtin") {
      if ((e.mode & kModeTypeMask) != kModeRegular) return false;
      facts_.builtin_list = true;
      return true;
    }
    std::string mod = module_name_of(basename_of(rest));
    if (!mod.empty()) facts_.modules.insert(std::move(mod));
    return check_enough();
  }

  // Stops the walk (an error the caller recognises through done()) once every `enough` module
  // is known; false (go on, data not wanted) otherwise.
  Result<bool> check_enough() {
    if (enough_.empty()) return false;
    for (const std::string& m : enough_)
      if (facts_.modules.count(m) == 0 && facts_.builtin.count(m) == 0) return false;
    done_ = true;
    return cancelled("initrd: every module asked about was found");
  }

  Status data(std::span<const std::byte> d) {
    for (std::byte b : d) {
      const auto c = static_cast<char>(b);
      if (c == '\n') {
        finish_line();
        if (auto more = check_enough(); !more.ok()) return more.status();
      } else if (line_.size() < kMaxBuiltinLine) {
        line_ += c;
      } else {
        overlong_ = true;
      }
    }
    return Status();
  }

  // modules.builtin lines: "kernel/drivers/scsi/sd_mod.ko".
  void finish_line() {
    if (!line_.empty() && !overlong_ && facts_.builtin.size() < limits_.max_builtin_names) {
      std::string mod = module_name_of(basename_of(line_));
      if (!mod.empty()) facts_.builtin.insert(std::move(mod));
    }
    line_.clear();
    overlong_ = false;
  }

  InitrdFacts& facts_;
  const InitrdLimits& limits_;
  std::vector<std::string> enough_;  // module keys
  bool done_ = false;
  std::string line_;
  bool overlong_ = false;

 public:
  void flush() { finish_line(); }
};

// Skips zero bytes from `offset`; returns the first non-zero offset or file.size().
Result<std::uint64_t> skip_file_zeros(const RandomAccessFile& file, std::uint64_t offset,
                                      const std::stop_token& stop) {
  std::array<std::byte, 65536> buf;
  while (offset < file.size()) {
    if (stop.stop_requested()) return cancelled(file.name() + ": cancelled");
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), file.size() - offset));
    VDISK_RETURN_IF_ERROR(file.read_at(offset, std::span(buf).first(n)));
    const auto it = std::find_if(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                                 [](std::byte b) { return b != std::byte{0}; });
    offset += static_cast<std::uint64_t>(it - buf.begin());
    if (it != buf.begin() + static_cast<std::ptrdiff_t>(n)) break;
  }
  return offset;
}

bool is_fatal(const Status& s) {
  return s.code() == Errc::io_error || s.code() == Errc::cancelled || s.code() == Errc::internal;
}

}  // namespace

std::vector<std::string> InitrdFacts::compressions() const {
  std::vector<std::string> out;
  for (const auto& s : segments)
    if (std::find(out.begin(), out.end(), s.compression) == out.end()) out.push_back(s.compression);
  return out;
}

bool InitrdFacts::has_module(std::string_view name) const {
  return modules.count(module_key(name)) != 0;
}
bool InitrdFacts::has_builtin(std::string_view name) const {
  return builtin.count(module_key(name)) != 0;
}

Result<InitrdFacts> read_initrd_facts(const RandomAccessFile& file, const InitrdLimits& limits,
                                      std::stop_token stop, std::span<const std::string> enough) {
  InitrdFacts facts;
  FactCollector collector(facts, limits, enough);
  const detail::CpioVisitor visitor = collector.visitor();
  detail::CpioLimits cpio_limits;
  cpio_limits.max_entries = limits.max_entries;
  cpio_limits.max_name_length = limits.max_name_length;
  std::uint64_t budget = limits.max_entries;
  std::uint64_t output_left = limits.max_decompressed_bytes;
  std::uint64_t offset = 0;
  const std::string& name = file.name();

  // Records a problem: fatal codes are returned, others end the walk with the facts so far.
  const auto stop_with = [&](const Status& s) -> Status {
    if (is_fatal(s)) return s;
    facts.problem = s.message();
    return Status();
  };

  for (;;) {
    VDISK_ASSIGN_OR_RETURN(offset, skip_file_zeros(file, offset, stop));
    if (offset >= file.size()) break;
    if (facts.segments.size() >= limits.max_segments) {
      facts.problem = fmt::format("{}: more than {} segments (at offset {})", name,
                                  limits.max_segments, offset);
      return facts;
    }
    std::array<std::byte, 8> head{};
    const auto head_len =
        static_cast<std::size_t>(std::min<std::uint64_t>(head.size(), file.size() - offset));
    VDISK_RETURN_IF_ERROR(file.read_at(offset, std::span(head).first(head_len)));
    const Compression c = detail::sniff_compression(std::span(head).first(head_len));
    InitrdSegment seg;
    seg.offset = offset;
    seg.compression = std::string(detail::compression_name(c));
    if (c == Compression::unknown) {
      std::string hex;
      for (std::size_t i = 0; i < head_len; ++i)
        hex += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned>(head[i]));
      facts.problem = fmt::format(
          "{}: at offset {}: expected a cpio archive (070701) or a gzip, xz or zstd stream, "
          "found bytes {}",
          name, offset, hex);
      return facts;
    }
    if (c == Compression::none && offset % 4 != 0) {
      facts.problem = fmt::format(
          "{}: cpio archive at offset {} is not on a 4-byte boundary (the kernel refuses it)", name,
          offset);
      return facts;
    }
    const std::string what = c == Compression::none ? name
                                                    : fmt::format("{}: {} stream at offset {}",
                                                                  name, seg.compression, offset);
    auto opened = detail::open_segment_stream(file, offset, c, output_left,
                                              limits.max_decoder_memory, what, stop);
    if (!opened.ok()) {
      facts.segments.push_back(seg);
      if (opened.status().code() == Errc::unsupported) {
        facts.notes.push_back(fmt::format("segment at offset {} is {}-compressed: not read", offset,
                                          seg.compression));
      }
      VDISK_RETURN_IF_ERROR(stop_with(opened.status()));
      return facts;
    }
    detail::SegmentStream& stream = **opened;
    // Compressed data aligns from its own start; plain cpio from the file's start.
    detail::BufferedStream buffered(stream, c == Compression::none ? offset : 0);
    auto walked =
        detail::walk_cpio(buffered, c == Compression::none, cpio_limits, budget, visitor, what);
    collector.flush();
    seg.bytes = c == Compression::none ? buffered.position() - offset : buffered.position();
    if (c != Compression::none) output_left -= std::min(output_left, seg.bytes);
    if (!walked.ok() && collector.done()) {
      const std::uint64_t walked_total = limits.max_entries - budget;
      seg.entries = walked_total - facts.entries;
      facts.entries = walked_total;
      seg.stored = stream.consumed();
      facts.segments.push_back(seg);
      facts.stopped_early = true;
      return facts;
    }
    if (!walked.ok()) {
      const std::uint64_t walked_total = limits.max_entries - budget;
      seg.entries = walked_total - facts.entries;
      facts.entries = walked_total;
      seg.stored = stream.consumed();
      facts.segments.push_back(seg);
      VDISK_RETURN_IF_ERROR(stop_with(walked.status()));
      return facts;
    }
    seg.entries = walked->entries;
    seg.archives = walked->archives;
    facts.entries += walked->entries;
    if (walked->any_odc)
      facts.notes.push_back(fmt::format(
          "segment at offset {} holds odc (070707) cpio archives: the Linux kernel unpacks only "
          "newc (070701/070702)",
          offset));
    if (c != Compression::none && !stream.finished()) {
      // The cpio walk reached the end of the decompressed data, so the decoder saw its end.
      facts.segments.push_back(seg);
      facts.problem = what + ": the compressed stream did not reach its end marker";
      return facts;
    }
    seg.stored = c == Compression::none ? buffered.position() - offset : stream.consumed();
    facts.segments.push_back(seg);
    if (seg.stored == 0) {
      facts.problem = fmt::format("{}: segment at offset {} is empty", name, offset);
      return facts;
    }
    offset += seg.stored;
  }
  facts.complete = true;
  return facts;
}

// ---- Cloud facts ----------------------------------------------------------------------------

std::string_view driver_state_name(DriverState s) noexcept {
  switch (s) {
    case DriverState::in_initrd:
      return "in_initrd";
    case DriverState::builtin:
      return "builtin";
    case DriverState::absent:
      return "absent";
    case DriverState::maybe_builtin:
      return "maybe_builtin";
    case DriverState::unknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

DriverFact driver_fact(std::string_view module, std::span<const InitrdFacts> initrds,
                       bool all_read) {
  DriverFact f;
  f.module = std::string(module);
  bool builtin_list = false;
  for (const auto& i : initrds) {
    if (i.has_module(module)) {
      f.state = DriverState::in_initrd;
      f.text = fmt::format("{}: in the initrd", module);
      return f;
    }
    builtin_list = builtin_list || i.builtin_list;
  }
  for (const auto& i : initrds) {
    if (i.has_builtin(module)) {
      f.state = DriverState::builtin;
      f.text = fmt::format("{}: built into the kernel (modules.builtin)", module);
      return f;
    }
  }
  if (!all_read) {
    f.state = DriverState::unknown;
    f.text = fmt::format("{}: not seen (the initrd could not be read completely)", module);
  } else if (builtin_list) {
    f.state = DriverState::absent;
    f.text = fmt::format(
        "{}: not in the initrd, and not built into the kernel (not in modules.builtin)", module);
  } else {
    f.state = DriverState::maybe_builtin;
    f.text = fmt::format("{}: not in the initrd (may be built into the kernel)", module);
  }
  return f;
}

CloudFact cloud_fact(std::string cloud, std::span<const InitrdFacts> initrds, bool all_read) {
  const std::vector<std::string> modules = cloud_boot_modules(cloud);
  CloudFact c;
  c.cloud = std::move(cloud);
  c.ready = true;
  std::string missing;
  for (const std::string& m : modules) {
    c.drivers.push_back(driver_fact(m, initrds, all_read));
    const DriverState s = c.drivers.back().state;
    if (s != DriverState::in_initrd && s != DriverState::builtin) {
      c.ready = false;
      missing += (missing.empty() ? "" : ", ") + m;
    }
  }
  c.summary = c.ready ? fmt::format("{}: the boot disk driver is there", c.cloud)
                      : fmt::format("{}: not confirmed: {}", c.cloud, missing);
  return c;
}

}  // namespace

std::vector<std::string> cloud_boot_modules(std::string_view cloud) {
  std::vector<std::string> out;
  if (const vdisk::detail::MachineFacts* m = vdisk::detail::find_machine(cloud))
    for (std::string_view module : m->boot_modules) out.emplace_back(module);
  return out;
}

BootEntryFacts boot_entry_facts(const BootEntry& entry, std::span<const InitrdFacts> initrds) {
  BootEntryFacts out;
  bool all_read = initrds.size() == entry.initrds.size() && !initrds.empty();
  for (const auto& i : initrds) all_read = all_read && i.complete;
  for (const vdisk::detail::MachineFacts& m : vdisk::detail::machines())
    if (!m.boot_modules.empty())  // a machine whose boot driver is not established is not checked
      out.clouds.push_back(cloud_fact(std::string(m.name), initrds, all_read));
  std::string serial;
  for (const std::string& w : split_kernel_args(entry.append)) {
    if (w.starts_with("console=ttyS")) serial = w;
  }
  out.serial_console = !serial.empty();
  out.console_text = out.serial_console
                         ? fmt::format("serial console: {}", serial)
                         : std::string(
                               "no console=ttyS* on the command line: the clouds' serial "
                               "consoles will not show the boot or a login");
  if (initrds.size() != entry.initrds.size()) {
    for (auto& c : out.clouds)
      c.summary += fmt::format(" ({} of {} initrds read)", initrds.size(), entry.initrds.size());
  }
  return out;
}

}  // namespace vdisk::livecd
