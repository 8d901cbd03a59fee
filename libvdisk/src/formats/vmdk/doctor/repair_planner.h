// Repair planning internals shared by descriptor_repair.cpp (the generic edits and the qemu
// rules) and repair_virtualbox.cpp (VirtualBox's first line, section order, room and uuids).
// The planner holds the text as lines (OutLine) so that lines it does not edit keep their bytes;
// every edit is recorded once per original line (by_line_) for the report.
#ifndef VDISK_VMDK_REPAIR_PLANNER_H_
#define VDISK_VMDK_REPAIR_PLANNER_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"
#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"
#include "formats/vmdk/doctor/descriptor_lint.h"

namespace vdisk::vmdk::repair {

using lint::iequals;

struct OutLine {
  std::string body;
  std::string end;
  std::size_t orig = 0;  // 1-based original line; 0 = inserted
  bool removed = false;

  // The parser ends a line only at LF (lint::split_lines): a last line whose end holds only CRs
  // (or nothing) is still open, and a line placed after it would join it.
  void close(std::string_view eol) {
    if (end.empty() || end.back() != '\n') end += eol;
  }
};

class Planner {
 public:
  Planner(const Descriptor& d, std::string_view text, const RepairOptions& o)
      : d_(d), text_(text), o_(o) {
    raw_ = lint::split_lines(text);
    eol_ = std::string(lint::dominant_line_end(raw_));
    for (std::size_t i = 0; i < raw_.size(); ++i)
      out_.push_back({std::string(raw_[i].body), std::string(raw_[i].end), i + 1, false});
    // A last line without a line end gets one only if a line is appended after it.
  }

  Result<RepairPlan> run();

 private:
  const DescriptorLine* line_model(std::size_t number) const;

  std::string body_of(std::size_t number) const;

  OutLine* out_line(std::size_t number);

  RepairEdit& edit_for(const LintFinding& f, RepairAction action);

  void edit_line(const LintFinding& f, RepairAction action, std::string after);

  void insert_at(std::size_t index, std::string body, const LintFinding& f);

  void insert_parent_cid(const LintFinding& f);

  // A line without a line end (the text's last) that gets a successor needs one.
  void ensure_line_end(std::size_t index);

  void move_line(std::size_t from, std::size_t to, std::string_view rule, std::string_view why);

  void move_version_first();

  void first_occurrence(std::string_view key);

  // ---- VirtualBox ----------------------------------------------------------------------------

  // The first line: a "# Disk DescriptorFile" line among the comments before the first entry
  // moves to the top; otherwise one is inserted.
  void first_line(const LintFinding& f);

  lint::VirtualBoxSection section_of(const OutLine& l) const;

  // VirtualBox reads header entries, then extent lines, then ddb entries. The longest run of
  // entries already in that order stays where it is; every other entry moves, alone, next to
  // the kept entries of its section (before the first when it came before them, else after the
  // last). Comments and blank lines stay in place. Entries indented by blanks start in the first
  // column afterwards (VirtualBox sorts lines by their first characters).
  void sort_sections();

  std::size_t assembled_size() const;

  // Whether a ddb.uuid.* key is an active entry of the planned text.
  bool has_active_key(std::string_view key) const;

  std::size_t virtualbox_need() const;

  // VirtualBox writes its ddb.uuid.* keys into the area on its first read-write open. When they
  // would not fit, lines that only this repair or an earlier one made inert go: first this
  // run's commented-out lines become deletions, then earlier commented-out ddb lines
  // ("#ddb.key = ..."), last ones first, until the keys fit. Nothing else is dropped; when that
  // is not enough, the vbox-room finding remains with the remedies.
  void make_room();

  // Pre-adds the ddb.uuid.* keys VirtualBox lacks (asked for by setting the uuids): image and
  // modification get the given values, parent and parentmodification all zeros (a base disk).
  Status add_virtualbox_uuids();

  static bool valid_uuid(std::string_view u);

  // Records that `l` moved (or, already edited, that it also moved).
  void note_move(const OutLine& l, std::string_view rule, std::string_view why, unsigned consumers,
                 std::string_view prevents);

  void note_rewrite(const OutLine& l, std::string_view rule, std::string_view why,
                    const std::string& after);

  std::string original_body(std::size_t number) const;

  std::string assemble() const;

  const Descriptor& d_;
  std::string_view text_;
  std::vector<lint::RawLine> raw_;  // the original lines (views into text_)
  const RepairOptions& o_;
  std::string eol_;
  std::vector<OutLine> out_;
  std::vector<RepairEdit> edits_;
  std::map<std::size_t, std::size_t> by_line_;
};

}  // namespace vdisk::vmdk::repair

#endif  // VDISK_VMDK_REPAIR_PLANNER_H_
