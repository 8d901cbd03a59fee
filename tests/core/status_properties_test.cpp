// Status/Result semantics and Properties rendering.
#include <catch2/catch.hpp>

#include <cerrno>

#include "vdisk/properties.h"
#include "vdisk/status.h"

using namespace vdisk;

namespace {
Result<int> half(int v) {
  if (v % 2) return invalid_argument("odd");
  return v / 2;
}
Result<int> quarter(int v) {
  VDISK_ASSIGN_OR_RETURN(int h, half(v));
  VDISK_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}
Status check_even(int v) {
  VDISK_RETURN_IF_ERROR(half(v).status());
  return {};
}
}  // namespace

TEST_CASE("status: default is ok and errors carry code and message", "[status]") {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.to_string() == "ok");
  Status e = corrupt_at("vhd", "footer", 1024, "checksum expected 0x1, found 0x2");
  CHECK(e.code() == Errc::corrupt);
  CHECK(e.message() == "vhd: footer at offset 1024: checksum expected 0x1, found 0x2");
  CHECK(e.with_context("disk.vhd").message().rfind("disk.vhd: vhd:", 0) == 0);
}

TEST_CASE("status: errno values map to codes", "[status]") {
  CHECK(errno_status(ENOSPC, "f", "write").code() == Errc::no_space);
  CHECK(errno_status(ENOENT, "f", "open").code() == Errc::not_found);
  CHECK(errno_status(EEXIST, "f", "open").code() == Errc::already_exists);
  CHECK(errno_status(EIO, "f", "read").code() == Errc::io_error);
}

TEST_CASE("status: Result propagates errors through the macros", "[status]") {
  CHECK(*quarter(8) == 2);
  CHECK(quarter(6).status().message() == "odd");
  CHECK(check_even(3).code() == Errc::invalid_argument);
  CHECK(check_even(4).ok());
  Result<int> from_ok{Status()};
  CHECK(from_ok.status().code() == Errc::internal);
}

TEST_CASE("properties: text and JSON keep order, nesting and escaping", "[properties]") {
  Properties p;
  p.add("format", "vhd").add("virtual_size", std::uint64_t{1048576}).add("fixed", true);
  p.add_object("geometry").add("cylinders", 20).add("heads", 4);
  p.add_list_item("chain").add("path", "a \"b\"\n");
  p.add_list_string("notes", "x");
  CHECK(p.get("virtual_size") == "1048576");
  CHECK(p.get_object("geometry")->get("heads") == "4");
  CHECK(p.to_json(0) ==
        R"({"format":"vhd","virtual_size":1048576,"fixed":true,"geometry":{"cylinders":20,)"
        R"("heads":4},"chain":[{"path":"a \"b\"\n"}],"notes":["x"]})");
  const std::string text = p.to_text();
  CHECK(text.find("format: vhd\n") == 0);
  CHECK(text.find("geometry:\n  cylinders: 20\n  heads: 4\n") != std::string::npos);
  CHECK(text.find("chain:\n  - path: a") != std::string::npos);
}
