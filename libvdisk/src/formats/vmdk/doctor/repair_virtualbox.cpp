// VirtualBox's part of repair planning (see vdisk/vmdk_repair.h, repair_planner.h): the
// "# Disk DescriptorFile" first line, the header/extent/ddb section order, room in the
// embedded area for the ddb.uuid.* keys VirtualBox adds on its first read-write open, and
// pre-adding those keys on request. VirtualBox behaviour: its VMDK backend's descriptor
// pre-processing (sections by the first characters of each line) and its open path (the keys
// are added when missing, on read-write opens only).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>

#include "formats/vmdk/doctor/repair_planner.h"

namespace vdisk::vmdk::repair {

void Planner::first_line(const LintFinding& f) {
  for (std::size_t i = 0; i < out_.size(); ++i) {
    const std::string_view b = out_[i].body;
    if (lint::virtualbox_first_line(b) && i > 0) {
      OutLine l = out_[i];
      l.close(eol_);
      out_.erase(out_.begin() + static_cast<std::ptrdiff_t>(i));
      out_.insert(out_.begin(), l);
      note_move(l, f.rule, f.detail, kVirtualBox, f.message);
      return;
    }
    if (!b.empty() && b.front() != '#' && b.find_first_not_of(" \t") != std::string_view::npos)
      break;  // the first entry: only comments before it may move up
  }
  insert_at(0, "# Disk DescriptorFile", f);
}

lint::VirtualBoxSection Planner::section_of(const OutLine& l) const {
  using S = lint::VirtualBoxSection;
  if (l.removed) return S::none;
  const std::size_t first = l.body.find_first_not_of(" \t");
  if (first == std::string::npos || l.body[first] == '#') return S::none;
  if (l.orig == 0) return lint::virtualbox_section(std::string_view(l.body).substr(first));
  const DescriptorLine* m = line_model(l.orig);
  if (!m) return S::none;
  if (m->kind == DescriptorLine::Kind::extent) return S::extents;
  if (m->kind == DescriptorLine::Kind::entry) return lint::is_ddb_key(m->key) ? S::ddb : S::header;
  return S::none;
}

void Planner::sort_sections() {
  const std::string why = "VirtualBox requires header entries, then extent lines, then ddb entries";
  const std::string prevents = "VMDK: incorrect ordering of entries in descriptor in '<file>'";
  std::vector<std::size_t> at;  // indices into out_ of entry lines
  std::vector<int> sec;
  for (std::size_t i = 0; i < out_.size(); ++i) {
    const lint::VirtualBoxSection s = section_of(out_[i]);
    if (s == lint::VirtualBoxSection::none) continue;
    OutLine& l = out_[i];
    if (l.body.front() == ' ' || l.body.front() == '\t') {
      const std::string after = l.body.substr(l.body.find_first_not_of(" \t"));
      note_rewrite(l, "vbox-entry-order", "VirtualBox reads entries from the first column", after);
      l.body = after;
    }
    at.push_back(i);
    sec.push_back(static_cast<int>(s));
  }
  // Longest non-decreasing subsequence of sections (3 values: O(n)).
  const std::size_t n = at.size();
  std::vector<std::size_t> len(n), prev(n, SIZE_MAX);
  std::array<std::size_t, 4> best_len{}, best_at{SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t bl = 0, bi = SIZE_MAX;
    for (int v = 0; v <= sec[k]; ++v)
      if (best_len[static_cast<std::size_t>(v)] > bl) {
        bl = best_len[static_cast<std::size_t>(v)];
        bi = best_at[static_cast<std::size_t>(v)];
      }
    len[k] = bl + 1;
    prev[k] = bi;
    auto& slot = best_len[static_cast<std::size_t>(sec[k])];
    if (len[k] >= slot) {
      slot = len[k];
      best_at[static_cast<std::size_t>(sec[k])] = k;
    }
  }
  std::size_t end = SIZE_MAX, top = 0;
  for (std::size_t k = 0; k < n; ++k)
    if (len[k] >= top) {
      top = len[k];
      end = k;
    }
  std::vector<bool> kept(n, false);
  for (std::size_t k = end; k != SIZE_MAX; k = prev[k]) kept[k] = true;
  if (std::all_of(kept.begin(), kept.end(), [](bool b) { return b; })) return;

  // Anchors: each moved entry goes before the first kept entry of its section (when it came
  // before it) or after the last; with none kept, after the last kept entry of an earlier
  // section, else before the first of a later one.
  constexpr std::size_t kNone = SIZE_MAX;
  std::array<std::size_t, 4> first_kept{kNone, kNone, kNone, kNone},
      last_kept{kNone, kNone, kNone, kNone};
  for (std::size_t k = 0; k < n; ++k) {
    if (!kept[k]) continue;
    const auto v = static_cast<std::size_t>(sec[k]);
    if (first_kept[v] == kNone) first_kept[v] = k;
    last_kept[v] = k;
  }
  std::map<std::size_t, std::vector<std::size_t>> before, after;  // out_ index -> moved k
  for (std::size_t k = 0; k < n; ++k) {
    if (kept[k]) continue;
    const auto v = static_cast<std::size_t>(sec[k]);
    if (first_kept[v] != kNone && k < first_kept[v]) {
      before[at[first_kept[v]]].push_back(k);
    } else if (last_kept[v] != kNone) {
      after[at[last_kept[v]]].push_back(k);
    } else {
      std::size_t lower = kNone, higher = kNone;
      for (std::size_t w = 0; w < v; ++w)
        if (last_kept[w] != kNone && (lower == kNone || last_kept[w] > lower)) lower = last_kept[w];
      for (std::size_t w = v + 1; w < 4; ++w)
        if (first_kept[w] != kNone && (higher == kNone || first_kept[w] < higher))
          higher = first_kept[w];
      if (lower != kNone)
        after[at[lower]].push_back(k);
      else
        before[at[higher]].push_back(k);  // kept is not empty: one of the two exists
    }
  }
  std::vector<bool> moved_line(out_.size(), false);
  for (std::size_t k = 0; k < n; ++k)
    if (!kept[k]) moved_line[at[k]] = true;
  std::vector<OutLine> next;
  next.reserve(out_.size());
  auto emit_moved = [&](std::vector<std::size_t> ks) {
    // Entries of several sections may share an anchor: they go in section order.
    std::stable_sort(ks.begin(), ks.end(),
                     [&](std::size_t a, std::size_t b) { return sec[a] < sec[b]; });
    for (std::size_t k : ks) {
      next.push_back(out_[at[k]]);
      note_move(next.back(), "vbox-entry-order", why, kVirtualBox, prevents);
    }
  };
  for (std::size_t i = 0; i < out_.size(); ++i) {
    if (moved_line[i]) continue;
    if (auto it = before.find(i); it != before.end()) emit_moved(it->second);
    next.push_back(out_[i]);
    if (auto it = after.find(i); it != after.end()) emit_moved(it->second);
  }
  out_ = std::move(next);
  for (std::size_t i = 0; i + 1 < out_.size(); ++i) out_[i].close(eol_);
}

std::size_t Planner::assembled_size() const {
  std::size_t n = 0;
  for (const OutLine& l : out_)
    if (!l.removed) n += l.body.size() + l.end.size();
  return n;
}

bool Planner::has_active_key(std::string_view key) const {
  for (const OutLine& l : out_) {
    if (l.removed || l.orig == 0) continue;
    if (l.body.empty() || l.body.front() == '#') continue;
    const DescriptorLine* m = line_model(l.orig);
    if (m && m->kind == DescriptorLine::Kind::entry && iequals(m->key, key)) return true;
  }
  for (const OutLine& l : out_)
    if (!l.removed && l.orig == 0 && l.body.starts_with(std::string(key) + "=")) return true;
  return false;
}

std::size_t Planner::virtualbox_need() const {
  std::size_t need = 0;
  for (std::string_view key : lint::kVirtualBoxUuidKeys)
    if (!has_active_key(key)) need += lint::virtualbox_uuid_line_bytes(key);
  return need;
}

void Planner::make_room() {
  const std::size_t need = virtualbox_need();
  std::size_t used = assembled_size();
  auto room = [&] { return o_.area_bytes > used ? o_.area_bytes - used : 0; };
  if (need == 0 || room() >= need) return;
  // All or nothing: when even dropping every candidate leaves too little room, drop none.
  std::size_t droppable = 0;
  for (const OutLine& l : out_) {
    if (l.removed || l.orig == 0) continue;
    auto it = by_line_.find(l.orig);
    if (it != by_line_.end() ? edits_[it->second].action == RepairAction::comment_out
                             : lint::commented_ddb_entry(l.body))
      droppable += l.body.size() + l.end.size();
  }
  if (room() + droppable < need) return;
  const std::string why = fmt::format(
      "VirtualBox adds its ddb.uuid.* keys ({} bytes) on its first read-write open and the "
      "descriptor area ({} bytes) must hold them",
      need, o_.area_bytes);
  for (std::size_t i = out_.size(); i-- > 0 && room() < need;) {
    OutLine& l = out_[i];
    if (l.removed || l.orig == 0) continue;
    auto it = by_line_.find(l.orig);
    if (it == by_line_.end() || edits_[it->second].action != RepairAction::comment_out) continue;
    RepairEdit& e = edits_[it->second];
    e.action = RepairAction::remove;
    e.after.clear();
    e.reason += "; deleted instead of commented out: " + why;
    l.removed = true;
    used -= l.body.size() + l.end.size();
  }
  for (std::size_t i = out_.size(); i-- > 0 && room() < need;) {
    OutLine& l = out_[i];
    if (l.removed || l.orig == 0 || by_line_.count(l.orig) || !lint::commented_ddb_entry(l.body))
      continue;
    by_line_[l.orig] = edits_.size();
    RepairEdit e;
    e.action = RepairAction::remove;
    e.rule = "vbox-room";
    e.line = l.orig;
    e.before = l.body;
    e.consumers = kVirtualBox;
    e.reason = "a commented-out ddb line (inert) is dropped: " + why;
    e.prevents = "VMDK: descriptor too long in '<file>'";
    edits_.push_back(std::move(e));
    l.removed = true;
    used -= l.body.size() + l.end.size();
  }
}

Status Planner::add_virtualbox_uuids() {
  if (!(o_.consumers & kVirtualBox) || (o_.consumers & kMvmc))
    return invalid_argument(
        "vmdk: pre-adding VirtualBox's ddb.uuid.* keys needs VirtualBox among the consumers "
        "and not MVMC (MVMC refuses those keys)");
  for (const std::string* u : {&o_.virtualbox_image_uuid, &o_.virtualbox_modification_uuid})
    if (!valid_uuid(*u))
      return invalid_argument(
          fmt::format("vmdk: '{}' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", *u));
  const std::optional<std::string> parent_cid = d_.get("parentCID");
  if (d_.find("parentFileNameHint") || (parent_cid && !iequals(*parent_cid, "ffffffff")))
    return invalid_argument(
        "vmdk: this disk is a delta link; its ddb.uuid.parent must be its parent's "
        "ddb.uuid.image, which is not known here, so the ddb.uuid.* keys are not pre-added");
  constexpr std::string_view kZero = "00000000-0000-0000-0000-000000000000";
  const std::string_view values[] = {o_.virtualbox_image_uuid, kZero,
                                     o_.virtualbox_modification_uuid, kZero};
  // After the last active ddb entry (where VirtualBox puts them), else at the end.
  std::size_t pos = out_.size();
  for (std::size_t i = 0; i < out_.size(); ++i)
    if (section_of(out_[i]) == lint::VirtualBoxSection::ddb) pos = i + 1;
  const std::size_t used = assembled_size(), need = virtualbox_need();
  if (o_.area_bytes > 0 && used + need > o_.area_bytes)
    return invalid_argument(fmt::format(
        "vmdk: VirtualBox's ddb.uuid.* keys need {} bytes but only {} of the {} descriptor "
        "bytes are free after repair; copy the disk to a VMDK with a larger descriptor area "
        "(qemu-img convert -O vmdk writes 20 sectors)",
        need, o_.area_bytes > used ? o_.area_bytes - used : 0, o_.area_bytes));
  for (std::size_t k = 0; k < 4; ++k) {
    const std::string_view key = lint::kVirtualBoxUuidKeys[k];
    if (has_active_key(key)) continue;
    ensure_line_end(pos);
    const std::string line = fmt::format("{}=\"{}\"", key, values[k]);
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(pos), OutLine{line, eol_, 0, false});
    ++pos;
    RepairEdit e;
    e.action = RepairAction::insert;
    e.rule = "vbox-uuids";
    e.key = std::string(key);
    e.value = std::string(values[k]);
    e.after = line;
    e.consumers = kVirtualBox;
    e.reason =
        "pre-added as asked: VirtualBox writes this key on its first read-write open; once "
        "present it only rewrites values of the same length";
    edits_.push_back(std::move(e));
  }
  return {};
}

bool Planner::valid_uuid(std::string_view u) {
  if (u.size() != 36) return false;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const char c = u[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-'
             : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

void Planner::note_move(const OutLine& l, std::string_view rule, std::string_view why,
                        unsigned consumers, std::string_view prevents) {
  if (l.orig == 0) return;
  if (auto it = by_line_.find(l.orig); it != by_line_.end()) {
    RepairEdit& e = edits_[it->second];
    if (e.action != RepairAction::remove) e.action = RepairAction::move;
    e.after = l.body;
    if (e.rule.find(rule) == std::string::npos) {
      e.rule += fmt::format(", {}", rule);
      e.reason += fmt::format("; {}", why);
    }
    e.consumers |= consumers;
    if (e.prevents.empty()) e.prevents = std::string(prevents);
    return;
  }
  by_line_[l.orig] = edits_.size();
  RepairEdit e;
  e.action = RepairAction::move;
  e.rule = std::string(rule);
  e.line = l.orig;
  e.before = original_body(l.orig);
  e.after = l.body;
  if (const DescriptorLine* m = line_model(l.orig)) {
    e.key = m->key;
    e.value = m->value;
  }
  e.consumers = consumers;
  e.reason = std::string(why);
  e.prevents = std::string(prevents);
  edits_.push_back(std::move(e));
}

void Planner::note_rewrite(const OutLine& l, std::string_view rule, std::string_view why,
                           const std::string& after) {
  if (l.orig == 0) return;
  if (auto it = by_line_.find(l.orig); it != by_line_.end()) {
    RepairEdit& e = edits_[it->second];
    e.after = after;
    if (e.rule.find(rule) == std::string::npos) {
      e.rule += fmt::format(", {}", rule);
      e.reason += fmt::format("; {}", why);
    }
    e.consumers |= kVirtualBox;
    return;
  }
  by_line_[l.orig] = edits_.size();
  RepairEdit e;
  e.action = RepairAction::rewrite;
  e.rule = std::string(rule);
  e.line = l.orig;
  e.before = original_body(l.orig);
  e.after = after;
  if (const DescriptorLine* m = line_model(l.orig)) {
    e.key = m->key;
    e.value = m->value;
  }
  e.consumers = kVirtualBox;
  e.reason = std::string(why);
  edits_.push_back(std::move(e));
}

std::string Planner::original_body(std::size_t number) const {
  return number >= 1 && number <= raw_.size() ? std::string(raw_[number - 1].body) : std::string();
}

}  // namespace vdisk::vmdk::repair
