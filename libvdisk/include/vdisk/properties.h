// Properties: an ordered tree of named values describing an image or a result.
//
// Drivers fill one in for `vdconvert info`; the library renders it as indented text or as JSON,
// so every format's information reaches both outputs through one path and the CLI holds no
// format knowledge.
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

  bool empty() const { return entries_.empty(); }
  // Looks up a scalar rendered as text ("" when absent); for tests and simple callers.
  std::string get(std::string_view key) const;
  // The nested object `key`, or nullptr.
  const Properties* get_object(std::string_view key) const;

  // "key: value" lines, nested objects indented by two spaces, list items prefixed "- ".
  std::string to_text(int indent = 0) const;
  // A JSON object; `indent` spaces per level (0 gives one line).
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

}  // namespace vdisk

#endif  // VDISK_PROPERTIES_H_
