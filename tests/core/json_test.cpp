// The one JSON escaper (vdisk::json_quote / Properties::to_json), to_valid_utf8, the RFC 3339
// time helper, json_document's schema_version and the report shapes built in the library.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "vdisk/check.h"
#include "vdisk/image.h"
#include "vdisk/properties.h"

using namespace vdisk;

namespace {
// U+FFFD as UTF-8.
const std::string R = "\xEF\xBF\xBD";
std::string q(std::string_view s) { return json_quote(s); }
}  // namespace

TEST_CASE("json_quote: valid UTF-8 passes through unescaped", "[json]") {
  CHECK(q("plain ascii") == "\"plain ascii\"");
  CHECK(q("caf\xC3\xA9") == "\"caf\xC3\xA9\"");                            // U+00E9, 2 bytes
  CHECK(q("\xE2\x82\xAC 5") == "\"\xE2\x82\xAC 5\"");                      // U+20AC, 3 bytes
  CHECK(q("\xF0\x9F\x98\x80") == "\"\xF0\x9F\x98\x80\"");                  // U+1F600, 4 bytes
  CHECK(q("\xF4\x8F\xBF\xBF") == "\"\xF4\x8F\xBF\xBF\"");                  // U+10FFFF, the last
  CHECK(q("\xEE\x80\x80\xEF\xBF\xBD") == "\"\xEE\x80\x80\xEF\xBF\xBD\"");  // U+E000, U+FFFD
  CHECK(q("") == "\"\"");
}

TEST_CASE("json_quote: every invalid class becomes U+FFFD per maximal subpart", "[json]") {
  // Latin-1 bytes (the VMDK ddb.comment / file name case).
  CHECK(q("caf\xE9") == "\"caf" + R + "\"");
  CHECK(q("\xE9t\xE9") == "\"" + R + "t" + R + "\"");
  CHECK(q("\xFF") == "\"" + R + "\"");
  // Stray continuation bytes, each one replacement.
  CHECK(q("\x80") == "\"" + R + "\"");
  CHECK(q("\x80\xBF") == "\"" + R + R + "\"");
  // Overlong forms: C0/C1 never start a sequence; E0 needs A0..BF, F0 needs 90..BF.
  CHECK(q("\xC0\xAF") == "\"" + R + R + "\"");
  CHECK(q("\xC1\xBF") == "\"" + R + R + "\"");
  CHECK(q("\xE0\x80\xAF") == "\"" + R + R + R + "\"");
  CHECK(q("\xF0\x80\x80\xAF") == "\"" + R + R + R + R + "\"");
  // Surrogates U+D800..U+DFFF (ED A0..BF ..).
  CHECK(q("\xED\xA0\x80") == "\"" + R + R + R + "\"");
  CHECK(q("\xED\xBF\xBF") == "\"" + R + R + R + "\"");
  CHECK(q("\xED\x9F\xBF") == "\"\xED\x9F\xBF\"");  // U+D7FF is fine
  // Above U+10FFFF: F4 90.., F5..FF.
  CHECK(q("\xF4\x90\x80\x80") == "\"" + R + R + R + R + "\"");
  CHECK(q("\xF5\x80\x80\x80") == "\"" + R + R + R + R + "\"");
  // A truncated sequence is one replacement; decoding resumes at the byte that broke it.
  CHECK(q("\xE2\x82x") == "\"" + R + "x\"");
  CHECK(q("\xF0\x9F\x98") == "\"" + R + "\"");
  CHECK(q("\xF0\x9F\x98\xC3\xA9") == "\"" + R + "\xC3\xA9\"");
  CHECK(q("\xC3") == "\"" + R + "\"");
  // Unicode 15 table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  CHECK(q("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "\"a" + R + R + R + "b" + R + "c" + R + R + "d\"");
  CHECK(to_valid_utf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "a" + R + R + R + "b" + R + "c" + R + R + "d");
  CHECK(to_valid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
}

TEST_CASE("json_quote: quotes, backslashes and control characters are escaped", "[json]") {
  CHECK(q("a\"b\\c") == R"("a\"b\\c")");
  CHECK(q("\n\r\t") == R"("\n\r\t")");
  CHECK(q(std::string_view("\0", 1)) == R"("\u0000")");
  CHECK(q("\x01\x08\x0c\x1b\x1f") == R"("\u0001\u0008\u000c\u001b\u001f")");
  CHECK(q("\x7f") == R"("\u007f")");
  CHECK(q("\xC2\x85\xC2\x9F\xC2\xA0") == "\"\\u0085\\u009f\xC2\xA0\"");  // C1; NBSP kept
  CHECK(q("\x1b[31m\xE9") == "\"\\u001b[31m" + R + "\"");
}

TEST_CASE("Properties::to_json escapes keys, values and list strings alike", "[json]") {
  Properties p;
  p.add("k\xE9y", "v\xFF");
  p.add_list_string("names", "\xC3\x28");
  p.add_list("empty");
  CHECK(p.to_json(0) == "{\"k" + R + "y\":\"v" + R + "\",\"names\":[\"" + R + "(\"],\"empty\":[]}");
  // Text output is the bytes as they are.
  CHECK(p.to_text().find("k\xE9y: v\xFF\n") == 0);
}

TEST_CASE("json_document: schema_version first, then the body, then a newline", "[json]") {
  Properties p;
  p.add("format", "raw");
  CHECK(json_document(p, 0) == "{\"schema_version\":1,\"format\":\"raw\"}\n");
  CHECK(json_document(Properties(), 0) == "{\"schema_version\":1}\n");
  CHECK(kJsonSchemaVersion == 1);
}

TEST_CASE("format_time_utc: RFC 3339 UTC with seconds", "[json][time]") {
  CHECK(format_time_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(format_time_utc(1796157677) == "2026-12-01T20:41:17Z");
  CHECK(format_time_utc(946684800) == "2000-01-01T00:00:00Z");  // the VHD epoch
  CHECK(format_time_utc(951782400) == "2000-02-29T00:00:00Z");  // leap day
  CHECK(format_time_utc(-1) == "1969-12-31T23:59:59Z");
  CHECK(format_time_utc(-2208988800) == "1900-01-01T00:00:00Z");  // ISO 9660's first year
  CHECK(format_time_utc(INT64_MIN) == "0000-01-01T00:00:00Z");
  CHECK(format_time_utc(INT64_MAX) == "9999-12-31T23:59:59Z");
}

TEST_CASE("CheckReport::to_properties: rule ids, severity only on failing items", "[json][check]") {
  CheckReport r;
  r.target = "azure";
  r.path = "d\xE9.vhd";
  r.items.push_back({"virtual size is a whole number of MiB", true, "1 MiB"});
  r.items.back().id = "azure.size_whole_mib";
  r.items.push_back({"footer checksum is valid", false, "bad"});
  r.items.back().id = "azure.footer_checksum";
  r.items.push_back({"parentCID", false, "differs", CheckSeverity::warning});
  r.items.back().id = "vmdk.parent_cid";
  CHECK(json_document(r.to_properties(), 0) ==
        "{\"schema_version\":1,\"target\":\"azure\",\"path\":\"d" + R +
            ".vhd\",\"passed\":false,\"failures\":1,\"warnings\":1,\"rules\":["
            "{\"rule\":\"azure.size_whole_mib\",\"statement\":\"virtual size is a whole number "
            "of MiB\",\"passed\":true,\"detail\":\"1 MiB\"},"
            "{\"rule\":\"azure.footer_checksum\",\"statement\":\"footer checksum is valid\","
            "\"passed\":false,\"severity\":\"error\",\"detail\":\"bad\"},"
            "{\"rule\":\"vmdk.parent_cid\",\"statement\":\"parentCID\",\"passed\":false,"
            "\"severity\":\"warning\",\"detail\":\"differs\"}]}\n");
}

TEST_CASE("to_properties(ConvertReport): the convert --json shape with diagnostics", "[json]") {
  ConvertReport r;
  r.source_format = "raw";
  r.source_size = 1000;
  r.output_size = 1048576;
  r.output_bytes = 1049088;
  r.gpt.action = GptReport::Action::absent;
  ConvertReportContext c;
  c.source_path = "in.raw";
  c.output_path = "out.vhd";
  c.target = "azure";
  c.milliseconds = 12;
  CHECK(to_properties(r, c).to_json(0) ==
        "{\"source\":{\"path\":\"in.raw\",\"format\":\"raw\",\"virtual_size\":1000},"
        "\"output\":{\"path\":\"out.vhd\",\"target\":\"azure\",\"virtual_size\":1048576,"
        "\"bytes\":1049088},\"stats\":{\"virtual_bytes\":0,\"read_bytes\":0,\"data_bytes\":0,"
        "\"zero_bytes\":0,\"peak_buffers\":0,\"buffer_bytes\":0,\"milliseconds\":12},"
        "\"gpt\":{\"action\":\"absent\"},\"diagnostics\":[]}");
  c.diagnostics.push_back({Diagnostic::Level::note, "padded to 1 MiB"});
  c.diagnostics.push_back({Diagnostic::Level::warning, "odd \xE9"});
  c.zero_scan = true;
  const std::string json = to_properties(r, c).to_json(0);
  CHECK(json.find("\"zero_scan\":{\"read_bytes\":0,\"data_bytes\":0}") != std::string::npos);
  CHECK(json.find("\"diagnostics\":[{\"level\":\"note\",\"message\":\"padded to 1 MiB\"},"
                  "{\"level\":\"warning\",\"message\":\"odd " +
                  R + "\"}]") != std::string::npos);
}
