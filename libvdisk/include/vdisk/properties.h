// Properties: an ordered tree of named values describing an image or a result.
//
// Drivers fill one in for `vdconvert info`; the library renders it as indented text or as JSON,
// so every format's information reaches both outputs through one path and the CLI holds no
// format knowledge. Every JSON document a program prints goes through json_document(), which
// stamps it with kJsonSchemaVersion (the schema is docs/json.md).
#ifndef VDISK_PROPERTIES_H_
#define VDISK_PROPERTIES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vdisk {

class Properties {
 public:
  // Each add returns *this for chaining. Keys keep insertion order; adding a key twice keeps
  // both (the JSON output then repeats the key, so drivers should not).
  Properties& add(std::string_view key, std::string_view value);
  Properties& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  Properties& add(std::string_view key, std::uint64_t value);
  Properties& add(std::string_view key, std::int64_t value);
  Properties& add(std::string_view key, int value) { return add(key, std::int64_t{value}); }
  Properties& add(std::string_view key, unsigned value) { return add(key, std::uint64_t{value}); }
  Properties& add(std::string_view key, bool value);
  // Adds a nested object under `key` and returns it.
  Properties& add_object(std::string_view key);
  // Appends a new object to the list `key` (created on first use) and returns it.
  Properties& add_list_item(std::string_view key);
  // Appends a string to the list of strings `key` (created on first use).
  Properties& add_list_string(std::string_view key, std::string_view value);
  // Creates the list of objects `key` if it does not exist yet, so that an empty list is
  // rendered as [] rather than left out.
  Properties& add_list(std::string_view key);
  // Appends every entry of `other`, in order.
  Properties& append(const Properties& other);

  bool empty() const { return entries_.empty(); }
  // Looks up a scalar rendered as text ("" when absent); for tests and simple callers.
  std::string get(std::string_view key) const;
  // The nested object `key`, or nullptr.
  const Properties* get_object(std::string_view key) const;

  // "key: value" lines, nested objects indented by two spaces, list items prefixed "- ".
  std::string to_text(int indent = 0) const;
  // A JSON object; `indent` spaces per level (0 gives one line). Keys and strings are written
  // with json_quote(), so the result is valid UTF-8 and valid JSON whatever bytes they hold.
  std::string to_json(int indent = 2) const;

 private:
  enum class Kind : std::uint8_t { string, uint, sint, boolean, object, object_list, string_list };
  struct Entry {
    std::string key;
    Kind kind;
    std::string text;                  // string value
    std::uint64_t u = 0;               // uint value
    std::int64_t i = 0;                // sint value
    bool b = false;                    // boolean value
    std::vector<Properties> objects;   // object (one element) or object_list
    std::vector<std::string> strings;  // string_list
  };
  Entry& find_or_add(std::string_view key, Kind kind);
  void render_json(std::string& out, int indent, int depth) const;

  std::vector<Entry> entries_;
};

// `text` with every byte sequence that is not well-formed UTF-8 replaced by U+FFFD, one per
// maximal subpart (Unicode 15 section 3.9 / WHATWG "decode": an overlong form, a surrogate,
// a code point above U+10FFFF, a stray continuation byte or the bytes of a truncated sequence
// up to the byte that breaks it each become one U+FFFD). Valid UTF-8 is returned unchanged.
std::string to_valid_utf8(std::string_view text);

// `text` as a JSON string literal, quotes included: the output is valid UTF-8 (as
// to_valid_utf8), '"' and '\\' are backslash-escaped, \n \r \t use their short escapes, and
// every other control character (U+0000..U+001F, U+007F..U+009F) is written as \u00XX
// (lowercase hex). Everything else is copied as UTF-8, never as \u escapes. This is the only
// JSON string escaper of libvdisk and vdconvert.
std::string json_quote(std::string_view text);

// Unix seconds as RFC 3339 UTC with second precision, e.g. "2026-12-01T20:41:17Z". Times
// before 0000-01-01 or after 9999-12-31T23:59:59 are clamped to those bounds (RFC 3339 has
// four-digit years). The one time format of all output, text and JSON.
std::string format_time_utc(std::int64_t unix_seconds);

// Version of the JSON documents vdconvert prints (docs/json.md); bumped on incompatible change.
inline constexpr int kJsonSchemaVersion = 1;

// A whole JSON document: {"schema_version": kJsonSchemaVersion, then the entries of `body`},
// with `indent` as to_json, and a final newline.
std::string json_document(const Properties& body, int indent = 2);

}  // namespace vdisk

#endif  // VDISK_PROPERTIES_H_
