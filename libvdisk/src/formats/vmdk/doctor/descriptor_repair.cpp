// VMDK descriptor repair planning (see vdisk/vmdk_repair.h): turns the fixable lint findings for
// the selected consumers into line edits on the raw text, so untouched lines keep their bytes.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>

#include "formats/vmdk/doctor/descriptor_lint.h"
#include "formats/vmdk/doctor/repair_planner.h"

namespace vdisk::vmdk {
namespace {

using lint::iequals;

struct CanonicalKey {
  std::string_view key;
  bool quoted;
};
constexpr std::array<CanonicalKey, 7> kKeys{{{"version", false},
                                             {"encoding", true},
                                             {"CID", false},
                                             {"parentCID", false},
                                             {"isNativeSnapshot", true},
                                             {"createType", true},
                                             {"parentFileNameHint", true}}};

// True when `value` reads back the same written without quotes.
bool plain_value(std::string_view value) {
  return !value.empty() && value.find_first_of("\" \t#") == std::string_view::npos;
}

std::string canonical_header_line(const DescriptorLine& l) {
  for (const CanonicalKey& k : kKeys)
    if (iequals(k.key, l.key)) {
      // A key written bare keeps its quotes when its value would not survive without them
      // (fuzz finding: version=""x"y" became version="x"y, which does not parse).
      // A value holding a quote keeps the original's quoting either way.
      const bool quoted = l.value.find('"') != std::string::npos
                              ? l.quoted
                              : k.quoted || (l.quoted && !plain_value(l.value));
      return lint::canonical_entry(k.key, l.value, quoted);
    }
  return lint::canonical_entry(l.key, l.value, l.quoted);
}

// The extent as written for qemu and VirtualBox: FLAT gets offset 0 when it has none, other
// types lose a zero offset (qemu refuses offsets on them), canonical spacing and case.
std::string repaired_extent_line(const ExtentLine& e) {
  ExtentLine r = e;
  if (r.type == ExtentType::flat && !r.offset) r.offset = 0;
  if (r.type != ExtentType::flat && r.offset && *r.offset == 0 && r.extra.empty()) r.offset.reset();
  return lint::canonical_extent(r);
}

}  // namespace

namespace repair {

Result<RepairPlan> Planner::run() {
  LintOptions lo;
  lo.mvmc_keep = o_.mvmc_keep;
  lo.standalone = o_.standalone;
  lo.area_bytes = o_.area_bytes;
  const std::vector<LintFinding> findings = lint_descriptor(d_, text_, lo);
  bool version_first = false, entry_order = false;
  for (const LintFinding& f : findings) {
    if (!(f.consumers & o_.consumers) || !f.fixable) continue;
    if (f.rule == "mvmc-ddb-entry") {
      edit_line(f, o_.delete_lines ? RepairAction::remove : RepairAction::comment_out,
                o_.delete_lines ? std::string() : "#" + body_of(f.line));
    } else if (f.rule == "key-case" || f.rule == "qemu-cid" || f.rule == "qemu-parent-cid" ||
               f.rule == "qemu-parent-hint" || f.rule == "qemu-createtype" ||
               f.rule == "version-first") {
      const DescriptorLine* l = line_model(f.line);
      if (l && l->kind == DescriptorLine::Kind::entry) {
        edit_line(f, RepairAction::rewrite, canonical_header_line(*l));
      } else if (f.rule == "qemu-parent-cid") {
        insert_parent_cid(f);
      }
      if (f.rule == "version-first") version_first = true;
    } else if (f.rule == "qemu-extent" || f.rule == "vbox-extent") {
      const DescriptorLine* l = line_model(f.line);
      if (l && l->kind == DescriptorLine::Kind::extent)
        edit_line(f, RepairAction::rewrite, repaired_extent_line(l->extent));
    } else if (f.rule == "vbox-first-line") {
      first_line(f);
    } else if (f.rule == "vbox-entry-order") {
      entry_order = true;
    }
  }
  if (entry_order) sort_sections();
  if (version_first) move_version_first();
  if (o_.consumers & kQemu) {
    // qemu takes the first occurrence of each name anywhere in the text: the entry must come
    // before every other line that contains the name.
    for (std::string_view key : {"CID", "parentCID", "parentFileNameHint"}) first_occurrence(key);
    if (o_.standalone) first_occurrence("createType");
  }

  if ((o_.consumers & kVirtualBox) && o_.area_bytes > 0) make_room();
  if (!o_.virtualbox_image_uuid.empty() || !o_.virtualbox_modification_uuid.empty())
    VDISK_RETURN_IF_ERROR(add_virtualbox_uuids());

  RepairPlan plan;
  plan.text = assemble();
  if (o_.area_bytes > 0 && plan.text.size() > o_.area_bytes)
    return invalid_argument(fmt::format(
        "vmdk: the repaired descriptor is {} bytes but the descriptor area holds {}; delete "
        "lines instead of commenting them out (--delete)",
        plan.text.size(), o_.area_bytes));
  auto reparsed = parse_descriptor(plan.text);
  if (!reparsed.ok())
    return internal_error(
        fmt::format("vmdk: repaired descriptor does not parse: {}", reparsed.status().message()));
  for (LintFinding& f : lint_descriptor(*reparsed, plan.text, lo))
    if (f.consumers & o_.consumers) plan.remaining.push_back(std::move(f));
  plan.edits = std::move(edits_);
  std::stable_sort(plan.edits.begin(), plan.edits.end(),
                   [](const RepairEdit& a, const RepairEdit& b) { return a.line < b.line; });
  return plan;
}

const DescriptorLine* Planner::line_model(std::size_t number) const {
  for (const DescriptorLine& l : d_.lines)
    if (l.number == number) return &l;
  return nullptr;
}

std::string Planner::body_of(std::size_t number) const {
  for (const OutLine& l : out_)
    if (l.orig == number) return l.body;
  return {};
}

OutLine* Planner::out_line(std::size_t number) {
  for (OutLine& l : out_)
    if (l.orig == number) return &l;
  return nullptr;
}

RepairEdit& Planner::edit_for(const LintFinding& f, RepairAction action) {
  if (f.line != 0) {
    if (auto it = by_line_.find(f.line); it != by_line_.end()) {
      RepairEdit& e = edits_[it->second];
      if (e.rule.find(f.rule) == std::string::npos) {
        e.rule += ", " + f.rule;
        e.reason += "; " + f.detail;
      }
      e.consumers |= f.consumers;
      if (e.prevents.empty()) e.prevents = f.message;
      return e;
    }
    by_line_[f.line] = edits_.size();
  }
  RepairEdit e;
  e.action = action;
  e.rule = f.rule;
  e.line = f.line;
  e.key = f.key;
  e.value = f.value;
  e.consumers = f.consumers;
  e.reason = f.detail;
  e.prevents = f.message;
  if (f.line != 0) {
    e.before = body_of(f.line);
    if (const DescriptorLine* l = line_model(f.line); l && l->kind == DescriptorLine::Kind::entry) {
      e.key = l->key;
      e.value = l->value;
    }
  }
  edits_.push_back(std::move(e));
  return edits_.back();
}

void Planner::edit_line(const LintFinding& f, RepairAction action, std::string after) {
  OutLine* l = out_line(f.line);
  if (!l) return;
  const bool existed = by_line_.count(f.line) != 0;
  RepairEdit& e = edit_for(f, action);
  // A line already commented out or deleted takes no further edit.
  if (existed && (e.action == RepairAction::comment_out || e.action == RepairAction::remove))
    return;
  if (action == RepairAction::remove) {
    l->removed = true;
    e.action = action;
    e.after.clear();
    return;
  }
  l->body = after;
  e.after = std::move(after);
}

void Planner::insert_at(std::size_t index, std::string body, const LintFinding& f) {
  RepairEdit& e = edit_for(f, RepairAction::insert);
  e.after = body;
  out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(index),
              OutLine{std::move(body), eol_, 0, false});
}

void Planner::insert_parent_cid(const LintFinding& f) {
  // After the CID line, or after the version line.
  std::size_t at = 0;
  for (std::size_t i = 0; i < out_.size(); ++i) {
    const DescriptorLine* l = out_[i].orig ? line_model(out_[i].orig) : nullptr;
    if (l && l->kind == DescriptorLine::Kind::entry &&
        (iequals(l->key, "CID") || (at == 0 && iequals(l->key, "version"))))
      at = i + 1;
  }
  ensure_line_end(at);
  insert_at(at, "parentCID=ffffffff", f);
}

void Planner::ensure_line_end(std::size_t index) {
  if (index > 0 && index <= out_.size()) out_[index - 1].close(eol_);
}

void Planner::move_line(std::size_t from, std::size_t to, std::string_view rule,
                        std::string_view why) {
  if (from == to || from + 1 == to) return;
  OutLine l = out_[from];
  l.close(eol_);
  out_.erase(out_.begin() + static_cast<std::ptrdiff_t>(from));
  if (to > from) --to;
  out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(to), l);
  if (l.orig == 0) return;
  if (auto it = by_line_.find(l.orig); it != by_line_.end()) {
    RepairEdit& e = edits_[it->second];
    e.action = RepairAction::move;
    e.after = l.body;
    if (e.rule.find(rule) == std::string::npos) e.rule += fmt::format(", {}", rule);
    e.reason += fmt::format("; {}", why);
    return;
  }
  by_line_[l.orig] = edits_.size();
  RepairEdit e;
  e.action = RepairAction::move;
  e.rule = std::string(rule);
  e.line = l.orig;
  e.before = body_of(l.orig);
  e.after = l.body;
  if (const DescriptorLine* m = line_model(l.orig)) {
    e.key = m->key;
    e.value = m->value;
  }
  e.consumers = rule == "version-first" ? (kEsxi | kQemu) : kQemu;
  e.reason = std::string(why);
  edits_.push_back(std::move(e));
}

void Planner::move_version_first() {
  std::optional<std::size_t> version, first;
  for (std::size_t i = 0; i < out_.size(); ++i) {
    if (out_[i].removed || out_[i].orig == 0) continue;
    const DescriptorLine* l = line_model(out_[i].orig);
    if (!l || (l->kind != DescriptorLine::Kind::entry && l->kind != DescriptorLine::Kind::extent))
      continue;
    if (!first) first = i;
    if (!version && l->kind == DescriptorLine::Kind::entry && iequals(l->key, "version"))
      version = i;
  }
  if (version && first && *version != *first)
    move_line(*version, *first, "version-first",
              "VMware and qemu's probe read the first entry of a text descriptor as its version");
}

void Planner::first_occurrence(std::string_view key) {
  std::optional<std::size_t> entry;
  for (std::size_t i = 0; i < out_.size(); ++i) {
    if (out_[i].removed || out_[i].orig == 0) continue;
    const DescriptorLine* l = line_model(out_[i].orig);
    if (l && l->kind == DescriptorLine::Kind::entry && iequals(l->key, key)) {
      entry = i;
      break;
    }
  }
  if (!entry) return;
  // Only an entry whose line now reads "key=..." can be what qemu should find first.
  if (!out_[*entry].body.starts_with(std::string(key) + "=")) return;
  for (std::size_t i = 0; i < *entry; ++i) {
    if (out_[i].removed) continue;
    if (out_[i].body.find(key) != std::string::npos) {
      move_line(*entry, i, key == "CID" ? "qemu-cid" : "qemu-order",
                fmt::format("qemu reads the first '{}' in the text; line {} mentions it earlier",
                            key, out_[i].orig));
      return;
    }
  }
}

std::string Planner::assemble() const {
  std::string text;
  for (const OutLine& l : out_) {
    if (l.removed) continue;
    text += l.body;
    text += l.end;
  }
  return text;
}

}  // namespace repair

std::string_view action_name(RepairAction action) noexcept {
  switch (action) {
    case RepairAction::comment_out:
      return "comment out";
    case RepairAction::remove:
      return "delete";
    case RepairAction::rewrite:
      return "rewrite";
    case RepairAction::insert:
      return "insert";
    case RepairAction::move:
      return "move";
  }
  return "?";
}

Result<RepairPlan> plan_repair(std::string_view text, const RepairOptions& options) {
  text = lint::text_before_nul(text);
  VDISK_ASSIGN_OR_RETURN(Descriptor d, parse_descriptor(text));
  return repair::Planner(d, text, options).run();
}

}  // namespace vdisk::vmdk
