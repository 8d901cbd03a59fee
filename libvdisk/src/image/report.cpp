// Reports as Properties (see vdisk/image.h): the shapes docs/json.md documents, built in one
// place so that no program formats a conversion report itself.
#include <fmt/format.h>

#include "vdisk/image.h"

namespace vdisk {

Properties to_properties(const Checksums& c, std::string_view artifact_path) {
  Properties p;
  auto& d = p.add_object("disk");
  d.add("bytes", c.disk_bytes);
  d.add("sha256", c.disk_sha256);
  auto& a = p.add_object("artifact");
  a.add("path", artifact_path);
  a.add("bytes", c.artifact_bytes);
  a.add("sha256", c.artifact_sha256);
  a.add("md5", c.artifact_md5);
  a.add("md5_base64", c.artifact_md5_base64);
  a.add("crc32c", fmt::format("{:08x}", c.artifact_crc32c));
  a.add("crc32c_base64", c.artifact_crc32c_base64);
  return p;
}

void add_diagnostics(Properties& p, std::string_view key,
                     const std::vector<Diagnostic>& diagnostics) {
  p.add_list(key);
  for (const Diagnostic& d : diagnostics)
    p.add_list_item(key)
        .add("level", d.level == Diagnostic::Level::warning ? "warning" : "note")
        .add("message", d.message);
}

Properties to_properties(const ConvertReport& r, const ConvertReportContext& c) {
  Properties p;
  auto& s = p.add_object("source");
  s.add("path", c.source_path);
  s.add("format", r.source_format);
  s.add("virtual_size", r.source_size);
  if (r.source_stats) {
    auto& n = s.add_object("network");
    n.add("requests", r.source_stats->requests);
    n.add("retries", r.source_stats->retries);
    n.add("bytes_received", r.source_stats->bytes_received);
    n.add("blocks_fetched", r.source_stats->blocks_fetched);
    n.add("cache_hits", r.source_stats->cache_hits);
  }
  if (r.changed_bytes) s.add("changed_bytes", *r.changed_bytes);
  auto& o = p.add_object("output");
  o.add("path", c.output_path);
  o.add("target", c.target);
  o.add("virtual_size", r.output_size);
  o.add("bytes", r.output_bytes);
  auto& st = p.add_object("stats");
  st.add("virtual_bytes", r.stats.virtual_bytes);
  st.add("read_bytes", r.stats.read_bytes);
  st.add("data_bytes", r.stats.data_bytes);
  st.add("zero_bytes", r.stats.zero_bytes);
  st.add("peak_buffers", std::uint64_t{r.stats.peak_buffers});
  st.add("buffer_bytes", std::uint64_t{r.stats.buffer_bytes});
  st.add("milliseconds", c.milliseconds);
  auto& g = p.add_object("gpt");
  g.add("action", gpt_action_name(r.gpt.action));
  if (r.gpt.action == GptReport::Action::relocated) {
    g.add("lba_size", r.gpt.lba_size);
    g.add("old_backup_lba", r.gpt.old_backup_lba);
    g.add("new_backup_lba", r.gpt.new_backup_lba);
    g.add("partitions", r.gpt.partitions);
  }
  if (!r.gpt.message.empty()) g.add("message", r.gpt.message);
  if (c.zero_scan) {
    auto& z = p.add_object("zero_scan");
    z.add("read_bytes", r.zero_scan_read_bytes);
    z.add("data_bytes", r.zero_scan_data_bytes);
  }
  if (r.boot) {
    auto& b = p.add_object("boot");
    b.add("bios_bootable", r.boot->bios);
    b.add("uefi_bootable", r.boot->uefi);
    b.add("data_disk", r.boot->data_disk);
    b.add("summary", r.boot->summary);
    b.add_list("clouds");
    for (const BootSummary::Cloud& cloud : r.boot->clouds)
      b.add_list_item("clouds")
          .add("cloud", cloud.cloud)
          .add("boots", cloud.boots)
          .add("setting", cloud.setting)
          .add("reason", cloud.reason);
  }
  if (r.checksums) p.add_object("checksums") = to_properties(*r.checksums, c.output_path);
  add_diagnostics(p, "diagnostics", c.diagnostics);
  return p;
}

}  // namespace vdisk
