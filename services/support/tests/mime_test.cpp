// Unit tests of inbound e-mail parsing: headers (folded, encoded words), threading ids, multipart with
// quoted-printable and base64 parts in ISO-8859-1 and windows-1252, HTML-only mail, attachments, and the refusals
// (malformed MIME, unknown or invalid charsets, bad encodings, no From, too large).
#include "domain/mime.hpp"

#include <catch2/catch.hpp>

using namespace crm::support::domain;

namespace {

ParsedEmail Parse(const std::string& raw) {
    crm::common::Violations v;
    auto parsed = ParseEmail(raw, "raw_message", v);
    INFO((v.empty() ? std::string() : v.list()[0].description));
    REQUIRE(parsed);
    return *parsed;
}

std::string Problem(const std::string& raw) {
    crm::common::Violations v;
    CHECK_FALSE(ParseEmail(raw, "raw_message", v));
    REQUIRE(v.Has("raw_message"));
    return v.list()[0].description;
}

}  // namespace

TEST_CASE("mime: a plain message with folded and encoded headers") {
    const auto m = Parse(
        "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Example.COM>\r\n"
        "Subject: =?ISO-8859-1?Q?Dr=FCcker?=\r\n =?UTF-8?B?a2FwdXR0?= [CS-42]\r\n"
        "Message-ID: <abc@mail.example.com>\r\n"
        "In-Reply-To: <r2@x>\r\n"
        "References: <r0@x> <r1@x>\r\n"
        "\r\n"
        "Hello,\r\nit is broken.\r\n");
    CHECK(m.from_email == "juergen@example.com");
    CHECK(m.from_name == "Jürgen Müller");
    CHECK(m.subject == "Drückerkaputt [CS-42]");
    CHECK(m.message_id == "abc@mail.example.com");
    CHECK(m.references == std::vector<std::string>{"r2@x", "r1@x", "r0@x"});
    CHECK(m.text == "Hello,\nit is broken.\n");
    CHECK(CaseNumberInSubject(m.subject) == 42);
}

TEST_CASE("mime: multipart/mixed with a quoted-printable Latin-1 text and a base64 attachment") {
    const auto m = Parse(
        "From: kunde@example.de\n"
        "Subject: Re: Drucker\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\n"
        "\n"
        "preamble\n"
        "--b1\n"
        "Content-Type: multipart/alternative; boundary=b2\n"
        "\n"
        "--b2\n"
        "Content-Type: text/plain; charset=ISO-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Gr=FC=DFe aus K=F6ln, ein sehr langer Satz der umbrochen =\n"
        "wird.\n"
        "--b2\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        "<p>ignored</p>\n"
        "--b2--\n"
        "--b1\n"
        "Content-Type: application/pdf; name=\"rechnung.pdf\"\n"
        "Content-Disposition: attachment; filename=\"rechnung.pdf\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "JVBERi0xLjQK\n"
        "--b1--\n"
        "epilogue\n");
    CHECK(m.text == "Grüße aus Köln, ein sehr langer Satz der umbrochen wird.");
    REQUIRE(m.attachments.size() == 1);
    CHECK(m.attachments[0].file_name == "rechnung.pdf");
    CHECK(m.attachments[0].content_type == "application/pdf");
    CHECK(m.attachments[0].size_bytes == 9);  // "%PDF-1.4\n"
    CHECK(m.message_id.empty());
}

TEST_CASE("mime: windows-1252 base64 text, HTML-only mail, control characters dropped") {
    const auto cp1252 = Parse(
        "From: a@b.c\nSubject: x\nContent-Type: text/plain; charset=windows-1252\n"
        "Content-Transfer-Encoding: base64\n\nk1F1b3RlZJQggCA1\n");
    CHECK(cp1252.text == "\u201cQuoted\u201d \u20ac 5");
    const auto html = Parse(
        "From: a@b.c\nSubject: x\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><style>p{}</style><p>Hi &amp; bye</p><br>next<script>x()</script></html>");
    CHECK(html.text == "Hi & bye\n\nnext");
    const auto control = Parse(std::string("From: a@b.c\nSubject: x\n\nbell\x07 nul\0 ok\n", 38));
    CHECK(control.text == "bell nul ok\n");
    CHECK(Parse("From: a@b.c\n\nno subject").subject == "(no subject)");
}

TEST_CASE("mime: malformed messages are refused with a reason") {
    CHECK(Problem("Subject: no sender\n\ntext").find("From") != std::string::npos);
    CHECK(Problem("From: a@b.c\nthis is not a header\n\ntext").find("header") != std::string::npos);
    CHECK(Problem("From: a@b.c\nContent-Type: multipart/mixed\n\n--x\n\nhi\n--x--\n").find("boundary") !=
          std::string::npos);
    CHECK(Problem("From: a@b.c\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nhi\n").find("closing") !=
          std::string::npos);
    CHECK(Problem("From: a@b.c\nContent-Type: text/plain; charset=x-klingon\n\nqapla").find("charset") !=
          std::string::npos);
    CHECK(Problem("From: a@b.c\nContent-Type: text/plain; charset=utf-8\n\n\xff\xfe").find("valid") !=
          std::string::npos);
    CHECK(Problem("From: a@b.c\nContent-Transfer-Encoding: base64\n\n*** not base64 ***").find("Transfer") !=
          std::string::npos);
    CHECK(Problem("From: a@b.c\nContent-Transfer-Encoding: quoted-printable\n\nbad =ZZ").find("Transfer") !=
          std::string::npos);
    CHECK(Problem("From: a@b.c\nSubject: =?x-klingon?Q?abc?=\n\nhi").find("Subject") != std::string::npos);
    CHECK(Problem("From: a@b.c\n\n" + std::string(kMaxRawEmailBytes, 'x')).find("larger") != std::string::npos);
    CHECK(Problem("").find("empty") != std::string::npos);
}

TEST_CASE("mime: charsets and case tokens") {
    CHECK(ToUtf8("\xe9t\xe9", "ISO-8859-1") == "été");
    CHECK_FALSE(ToUtf8("abc", "no-such-charset"));
    CHECK_FALSE(ToUtf8("abc", "../../etc"));
    CHECK_FALSE(ToUtf8("\xc3", "utf-8"));
    CHECK_FALSE(CaseNumberInSubject("CS-42 without brackets"));
    CHECK_FALSE(CaseNumberInSubject("[CS-] [CS-x]"));
    CHECK(CaseNumberInSubject("Re: [CS-x] and [CS-7]") == 7);
}
