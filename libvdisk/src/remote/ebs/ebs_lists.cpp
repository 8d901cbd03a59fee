// ListSnapshotBlocks and ListChangedBlocks replies (ebs_lists.h), read by a small strict JSON
// reader: every byte is looked at once, nothing is taken on trust.
#include "remote/ebs/ebs_lists.h"

#include "base/utf.h"

#include <fmt/format.h>

#include <optional>

namespace vdisk::aws {
namespace {

constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxToken = 1024;
constexpr std::uint64_t kMaxVolumeGiB = 65536;

class Reader {
 public:
  Reader(std::string_view text, std::string_view call) : s_(text), call_(call) {}

  Status error(std::string_view what) const {
    return corrupt(fmt::format("ebs: {} reply: {} (at byte {})", call_, what, pos_));
  }
  void ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n'))
      ++pos_;
  }
  bool take(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool at_end() const { return pos_ == s_.size(); }
  Status expect(char c) {
    if (take(c)) return {};
    return error(fmt::format("expected '{}'", c));
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // A string of at most `max` bytes (decoded), into `out`.
  Status string(std::string& out, std::size_t max) {
    out.clear();
    VDISK_RETURN_IF_ERROR(expect('"'));
    for (;;) {
      if (pos_ >= s_.size()) return error("a string does not end");
      const char c = s_[pos_++];
      if (c == '"') return {};
      if (static_cast<unsigned char>(c) < 0x20) return error("a control character in a string");
      if (c != '\\') {
        out += c;
      } else {
        if (pos_ >= s_.size()) return error("a string does not end");
        const char e = s_[pos_++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u':
            VDISK_RETURN_IF_ERROR(unicode(out));
            break;
          default:
            return error("an unknown escape in a string");
        }
      }
      if (out.size() > max) return error(fmt::format("a string longer than {} bytes", max));
    }
  }

  // A non-negative integer (no sign, fraction or exponent; at most 19 digits).
  Status uint(std::uint64_t& out, std::string_view what) {
    std::size_t digits = 0;
    out = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (++digits > 19) return error(fmt::format("{} has more than 19 digits", what));
      out = out * 10 + static_cast<std::uint64_t>(s_[pos_++] - '0');
    }
    if (digits == 0) return error(fmt::format("{} is not a number", what));
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      return error(fmt::format("{} is not an integer", what));
    return {};
  }

  Status skip_value(int depth) {
    if (depth > kMaxDepth) return error("nested deeper than 16");
    ws();
    if (at('"')) {
      std::string ignored;
      return string(ignored, s_.size());
    }
    if (at('{'))
      return members(depth + 1, [&](const std::string&) { return skip_value(depth + 1); });
    if (at('[')) return elements(depth + 1, [&] { return skip_value(depth + 1); });
    if (literal("true") || literal("false") || literal("null")) return {};
    // A number: -?digits(.digits)?([eE][+-]?digits)?
    take('-');
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == start) return error("expected a value");
    if (take('.')) {
      start = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == start) return error("a number ends in '.'");
    }
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      start = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == start) return error("a number's exponent has no digits");
    }
    return {};
  }

  // An object: on_member(key) reads each member's value (after the ':').
  template <class F>
  Status members(int depth, F&& on_member) {
    if (depth > kMaxDepth) return error("nested deeper than 16");
    ws();
    VDISK_RETURN_IF_ERROR(expect('{'));
    ws();
    if (take('}')) return {};
    std::string key;
    for (;;) {
      ws();
      VDISK_RETURN_IF_ERROR(string(key, 256));
      ws();
      VDISK_RETURN_IF_ERROR(expect(':'));
      ws();
      VDISK_RETURN_IF_ERROR(on_member(key));
      ws();
      if (take(',')) continue;
      return expect('}');
    }
  }

  // An array: on_element() reads each element.
  template <class F>
  Status elements(int depth, F&& on_element) {
    if (depth > kMaxDepth) return error("nested deeper than 16");
    ws();
    VDISK_RETURN_IF_ERROR(expect('['));
    ws();
    if (take(']')) return {};
    for (;;) {
      ws();
      VDISK_RETURN_IF_ERROR(on_element());
      ws();
      if (take(',')) continue;
      return expect(']');
    }
  }

 private:
  Status hex4(std::uint32_t& v) {
    if (s_.size() - pos_ < 4) return error("a \\u escape is cut short");
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return error("a \\u escape holds a non-hex digit");
    }
    return {};
  }
  Status unicode(std::string& out) {
    std::uint32_t cp = 0;
    VDISK_RETURN_IF_ERROR(hex4(cp));
    if (cp >= 0xDC00 && cp <= 0xDFFF) return error("a lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!literal("\\u")) return error("a lone high surrogate");
      std::uint32_t lo = 0;
      VDISK_RETURN_IF_ERROR(hex4(lo));
      if (lo < 0xDC00 || lo > 0xDFFF) return error("a high surrogate without its low one");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    detail::append_utf8(out, cp);
    return {};
  }

  std::string_view s_;
  std::string_view call_;
  std::size_t pos_ = 0;
};

// A token: a string of 1..1024 characters, or (when `nullable`) null, giving "".
Status read_token(Reader& r, std::string& out, std::string_view what, bool nullable) {
  if (nullable && r.literal("null")) {
    out.clear();
    return {};
  }
  VDISK_RETURN_IF_ERROR(r.string(out, kMaxToken));
  if (out.empty() && !nullable) return r.error(fmt::format("{} is empty", what));
  return {};
}

// The members every list reply shares: BlockSize, VolumeSize, NextToken (each once).
struct Common {
  std::optional<std::uint64_t> block_bytes, volume_gib;
  bool next_seen = false;
  std::string next_token;

  // True when `key` is one of them (its value read).
  Result<bool> read(Reader& r, const std::string& key) {
    if (key == "BlockSize" || key == "VolumeSize") {
      auto& slot = key == "BlockSize" ? block_bytes : volume_gib;
      if (slot) return r.error(fmt::format("{} is stated twice", key));
      std::uint64_t v = 0;
      VDISK_RETURN_IF_ERROR(r.uint(v, key));
      slot = v;
      return true;
    }
    if (key == "NextToken") {
      if (next_seen) return r.error("NextToken is stated twice");
      next_seen = true;
      VDISK_RETURN_IF_ERROR(read_token(r, next_token, "NextToken", true));
      return true;
    }
    return false;
  }

  // After the whole reply: the sizes are there and sane; the volume's block count.
  Result<std::uint64_t> check(std::string_view call) const {
    if (!block_bytes || !volume_gib)
      return corrupt(fmt::format("ebs: {} reply: no BlockSize or VolumeSize", call));
    const std::uint64_t bs = *block_bytes;
    if (bs < 512 || bs > (1u << 20) || (bs & (bs - 1)))
      return corrupt(fmt::format(
          "ebs: {} reply: BlockSize expected a power of two from 512 to 1048576, found {}", call,
          bs));
    if (*volume_gib < 1 || *volume_gib > kMaxVolumeGiB)
      return corrupt(fmt::format("ebs: {} reply: VolumeSize expected 1..{} GiB, found {}", call,
                                 kMaxVolumeGiB, *volume_gib));
    return (*volume_gib << 30) / bs;
  }
};

// The whole reply: one object, then nothing but blanks.
template <class F>
Status read_reply(Reader& r, F&& on_member) {
  VDISK_RETURN_IF_ERROR(r.members(1, on_member));
  r.ws();
  if (!r.at_end()) return r.error("bytes after the reply's object");
  return {};
}

// Each index is above the one before; and inside the volume.
Status check_indexes(std::string_view call, std::uint64_t blocks, std::uint64_t index,
                     std::optional<std::uint64_t>& prev) {
  if (prev && index <= *prev)
    return corrupt(fmt::format(
        "ebs: {} reply: block {} follows block {}: expected ascending indexes, each once", call,
        index, *prev));
  if (index >= blocks)
    return corrupt(fmt::format("ebs: {} reply: block {} lies past the volume's {} blocks", call,
                               index, blocks));
  prev = index;
  return {};
}

}  // namespace

namespace {

// A block's BlockIndex member (once).
Status read_index(Reader& r, std::optional<std::uint64_t>& index) {
  if (index) return r.error("a block states BlockIndex twice");
  std::uint64_t v = 0;
  VDISK_RETURN_IF_ERROR(r.uint(v, "BlockIndex"));
  index = v;
  return {};
}

// What both list replies share: the common members, one array of blocks named `array_key`
// whose items read_block(r, list) reads (appending to list.blocks), then the checks of the
// indexes against the volume.
template <class List, class ReadBlock>
Result<List> parse_list(std::string_view json, std::size_t max_blocks, std::string_view call,
                        std::string_view array_key, ReadBlock&& read_block) {
  Reader r(json, call);
  List list;
  Common common;
  bool blocks_seen = false;
  const Status read = read_reply(r, [&](const std::string& key) -> Status {
    VDISK_ASSIGN_OR_RETURN(const bool done, common.read(r, key));
    if (done) return {};
    if (key != array_key) return r.skip_value(1);
    if (blocks_seen) return r.error(fmt::format("{} is stated twice", array_key));
    blocks_seen = true;
    if (r.literal("null")) return {};
    return r.elements(2, [&]() -> Status {
      if (list.blocks.size() >= max_blocks)
        return r.error(fmt::format("more than the {} blocks asked for", max_blocks));
      return read_block(r, list);
    });
  });
  if (!read.ok()) return read;
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t blocks, common.check(call));
  std::optional<std::uint64_t> prev;
  for (const auto& b : list.blocks)
    VDISK_RETURN_IF_ERROR(check_indexes(call, blocks, b.index, prev));
  list.block_bytes = *common.block_bytes;
  list.volume_gib = *common.volume_gib;
  list.next_token = std::move(common.next_token);
  return list;
}

}  // namespace

Result<BlockList> parse_block_list(std::string_view json, std::size_t max_blocks) {
  return parse_list<BlockList>(
      json, max_blocks, "ListSnapshotBlocks", "Blocks", [](Reader& r, BlockList& list) -> Status {
        std::optional<std::uint64_t> index;
        std::optional<std::string> token;
        const Status item = r.members(3, [&](const std::string& k) -> Status {
          if (k == "BlockIndex") return read_index(r, index);
          if (k == "BlockToken") {
            if (token) return r.error("a block states BlockToken twice");
            token.emplace();
            return read_token(r, *token, "BlockToken", false);
          }
          return r.skip_value(3);
        });
        if (!item.ok()) return item;
        if (!index || !token)
          return r.error(fmt::format("block {} of the page has no BlockIndex or BlockToken",
                                     list.blocks.size()));
        list.blocks.push_back({*index, std::move(*token)});
        return {};
      });
}

Result<ChangedList> parse_changed_blocks(std::string_view json, std::size_t max_blocks) {
  return parse_list<ChangedList>(
      json, max_blocks, "ListChangedBlocks", "ChangedBlocks",
      [](Reader& r, ChangedList& list) -> Status {
        std::optional<std::uint64_t> index;
        bool first_seen = false, second_seen = false;
        ChangedBlock b;
        const Status item = r.members(3, [&](const std::string& k) -> Status {
          if (k == "BlockIndex") return read_index(r, index);
          if (k == "FirstBlockToken" || k == "SecondBlockToken") {
            bool& seen = k == "FirstBlockToken" ? first_seen : second_seen;
            if (seen) return r.error(fmt::format("a block states {} twice", k));
            seen = true;
            return read_token(r, k == "FirstBlockToken" ? b.first_token : b.second_token, k, true);
          }
          return r.skip_value(3);
        });
        if (!item.ok()) return item;
        if (!index)
          return r.error(fmt::format("block {} of the page has no BlockIndex", list.blocks.size()));
        if (b.first_token.empty() && b.second_token.empty())
          return r.error(
              fmt::format("block {} has neither a FirstBlockToken nor a SecondBlockToken", *index));
        b.index = *index;
        list.blocks.push_back(std::move(b));
        return {};
      });
}

}  // namespace vdisk::aws
