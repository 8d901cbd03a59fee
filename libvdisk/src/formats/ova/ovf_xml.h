// A small, strict XML 1.0 reader for OVF descriptors (docs/ova.md, "Descriptor"): elements,
// attributes, namespaces (xmlns, xmlns:p), comments, processing instructions, CDATA and the five
// predefined entities plus character references. A DOCTYPE is refused (no entity declarations,
// hence no entity expansion bombs); depth, element count and attribute count are bounded; the input
// is the whole document (the caller bounds its size). Character data is checked but not kept: OVF
// locates its disks by attributes only.
#ifndef VDISK_OVA_OVF_XML_H_
#define VDISK_OVA_OVF_XML_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::ova {

inline constexpr std::size_t kXmlMaxDepth = 64;
inline constexpr std::size_t kXmlMaxElements = 200000;
inline constexpr std::size_t kXmlMaxAttributes = 256;  // per element

struct XmlName {
  std::string ns;     // namespace URI ("" when none)
  std::string local;  // the name after the prefix
};

struct XmlAttribute {
  XmlName name;
  std::string value;  // entities and character references replaced
};

struct XmlElement {
  XmlName name;
  std::vector<XmlAttribute> attributes;
  std::vector<XmlElement> children;
  std::size_t offset = 0;  // of its '<' in the document, for messages
  // The value of the attribute with this local name in one of `namespaces` (or without a
  // namespace when `unqualified` is set), or nullptr.
  const std::string* attribute(std::string_view local, std::span<const std::string_view> namespaces,
                               bool unqualified) const;
};

// Parses a whole document (an optional UTF-8 byte order mark, prolog, one root element,
// trailing comments/PIs). corrupt naming the byte offset and what was expected otherwise.
// `what` names the document in messages ("ovf: <what>: XML at offset N: ...").
Result<XmlElement> parse_xml(std::string_view text, std::string_view what);

// The namespace-resolved name of the root element from the first bytes of a document (the
// prolog and the root's start tag must be complete in `prefix`), or nullopt. For probing.
std::optional<XmlName> xml_root_name(std::string_view prefix);

}  // namespace vdisk::ova

#endif  // VDISK_OVA_OVF_XML_H_
