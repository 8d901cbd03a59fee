// See boot_verdict.h.
#include "formats/iso9660/livecd/boot_verdict.h"

#include <fmt/format.h>

#include "formats/iso9660/livecd/boot_config.h"

namespace vdisk::livecd {

Result<BootVerdict> boot_verdict(const iso9660::Volume& volume, const iso9660::BootReport& report,
                                 std::string_view machine) {
  BootVerdict v;
  const std::vector<std::string> enough = cloud_boot_modules(machine);
  VDISK_ASSIGN_OR_RETURN(const BootConfigs configs, read_boot_configs(volume, report.entries));
  if (!configs.bios && !configs.efi) {
    v.problem = fmt::format("no default boot entry (BIOS: {}; EFI: {})",
                            configs.bios_problem.empty() ? "none" : configs.bios_problem,
                            configs.efi_problem.empty() ? "none" : configs.efi_problem);
    return v;
  }
  v.found = true;
  v.entry = configs.bios ? *configs.bios : *configs.efi;
  for (const std::string& path : v.entry.initrds) {
    InitrdFacts facts;
    auto e = volume.lookup(path);
    if (!e.ok()) {
      facts.problem = fmt::format("{}: {}", path, e.status().message());
    } else if (auto f = volume.open_file(*e); !f.ok()) {
      facts.problem = fmt::format("{}: {}", path, f.status().message());
    } else {
      VDISK_ASSIGN_OR_RETURN(facts, read_initrd_facts(**f, {}, {}, enough));
    }
    v.initrds.push_back(std::move(facts));
  }
  v.facts = boot_entry_facts(v.entry, v.initrds);
  return v;
}

void describe_boot_verdict(const BootVerdict& v, Properties& out) {
  if (!v.found) {
    out.add("problem", v.problem);
    return;
  }
  out.add("config_file", v.entry.config_file);
  out.add("kernel", v.entry.kernel);
  for (const std::string& i : v.entry.initrds) out.add_list_string("initrds", i);
  out.add("append", v.entry.append);
  out.add("serial_console", v.facts.serial_console);
  for (std::size_t i = 0; i < v.initrds.size(); ++i)
    if (!v.initrds[i].problem.empty())
      out.add_list_string("initrd_problems",
                          fmt::format("{}: {}", v.entry.initrds[i], v.initrds[i].problem));
  for (const CloudFact& c : v.facts.clouds) {
    Properties& p = out.add_list_item("clouds");
    p.add("cloud", c.cloud);
    p.add("ready", c.ready);
    p.add("summary", c.summary);
    for (const DriverFact& d : c.drivers) {
      Properties& dp = p.add_list_item("drivers");
      dp.add("module", d.module);
      dp.add("state", driver_state_name(d.state));
    }
  }
}

std::vector<std::string> boot_warnings(const BootVerdict& v, std::string_view machine,
                                       bool console_kept) {
  std::vector<std::string> out;
  if (!v.found) return out;
  for (const CloudFact& c : v.facts.clouds) {
    if (c.cloud != machine || c.ready) continue;
    for (const DriverFact& d : c.drivers)
      if (d.state != DriverState::in_initrd && d.state != DriverState::builtin)
        out.push_back(
            fmt::format("iso9660: {} boots its disk through {}, and the ISO's initrd "
                        "({}) lacks it: {}",
                        machine, d.module, fmt::join(v.entry.initrds, ", "), d.text));
  }
  if (console_kept && !machine.empty() && !v.facts.serial_console)
    out.push_back(fmt::format(
        "iso9660: the ISO's kernel command line ({}) has no serial console, and {}'s console is "
        "the serial port: its prompts will not show there (--boot grub adds console=ttyS0)",
        v.entry.config_file, machine));
  return out;
}

}  // namespace vdisk::livecd
