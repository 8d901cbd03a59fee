// Descriptor lint, VMware's rules (see lint_rules.h): the createType must be present and one of the
// technote's disk types ("The Descriptor File"), and a text descriptor must start, after comments,
// with 'version=N' (how VMware, and qemu's format probe, recognise one).
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "formats/vmdk/doctor/lint_rules.h"

namespace vdisk::vmdk::lint {
namespace {

constexpr std::array<std::string_view, 18> kCreateTypes{"monolithicSparse",
                                                        "monolithicFlat",
                                                        "twoGbMaxExtentSparse",
                                                        "twoGbMaxExtentFlat",
                                                        "2GbMaxExtentSparse",
                                                        "2GbMaxExtentFlat",
                                                        "streamOptimized",
                                                        "custom",
                                                        "fullDevice",
                                                        "partitionedDevice",
                                                        "vmfs",
                                                        "vmfsPreallocated",
                                                        "vmfsEagerZeroedThick",
                                                        "vmfsThin",
                                                        "vmfsSparse",
                                                        "vmfsRDM",
                                                        "vmfsRDMP",
                                                        "seSparse"};

bool known_create_type(std::string_view v) {
  for (std::string_view t : kCreateTypes)
    if (iequals(t, v)) return true;
  return iequals(v, "vmfsRawDeviceMap") || iequals(v, "vmfsPassthroughRawDeviceMap") ||
         iequals(v, "vmfsRaw") || iequals(v, "vmfsSeSparse") || iequals(v, "vmfsThick");
}

}  // namespace

void lint_esxi_create_type(LintContext& c) {
  const DescriptorLine* ct = c.descriptor.find("createType");
  if (!ct) {
    c.add("createtype-missing", 0, kEsxi | kVirtualBox | (c.options.standalone ? kQemu : 0u),
          LintSeverity::error, false, "the descriptor has no createType entry",
          "VMDK: cannot get image type from descriptor in '<file>'");
  } else if (!known_create_type(ct->value)) {
    c.add("createtype-unknown", ct->number, kEsxi, LintSeverity::error, false,
          fmt::format("createType '{}' is not a VMDK disk type", ct->value))
        .key = ct->key;
  }
}

void lint_esxi_version_first(LintContext& c) {
  // VMware (and qemu's format probe) identify a text descriptor by its first entry.
  if (c.options.standalone) {
    const DescriptorLine* first = nullptr;
    for (const DescriptorLine& l : c.descriptor.lines)
      if (l.kind == DescriptorLine::Kind::entry || l.kind == DescriptorLine::Kind::extent) {
        first = &l;
        break;
      }
    const bool ok = first && first->kind == DescriptorLine::Kind::entry &&
                    first->key == "version" && c.body(first->number) == "version=" + first->value &&
                    !first->value.empty() &&
                    std::all_of(first->value.begin(), first->value.end(),
                                [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!ok) {
      const DescriptorLine* v = c.descriptor.find("version");
      const bool fixable = v && !v->value.empty() &&
                           std::all_of(v->value.begin(), v->value.end(),
                                       [](char ch) { return ch >= '0' && ch <= '9'; });
      c.add("version-first", v ? v->number : 0, kEsxi | kQemu, LintSeverity::error, fixable,
            "a text descriptor must start (after comments) with 'version=N' written without "
            "spaces; VMware and qemu's format probe do not recognise it otherwise");
    }
  }
}

}  // namespace vdisk::vmdk::lint
