#include "domain/mime.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>

#include "crm/common/text.hpp"
#include "domain/case.hpp"

namespace crm::support::domain {
namespace {

std::string Lower(std::string_view s) { return common::text::AsciiLower(s); }

std::string Trim(std::string_view s) { return common::text::Trim(s); }

// A header block: names lowercased, values unfolded; the first occurrence of a name wins.
using Headers = std::map<std::string, std::string>;

struct Entity {
    Headers headers;
    std::string_view body;
};

// Splits headers from body at the first empty line. Lines end in LF or CRLF.
bool ReadEntity(std::string_view raw, Entity& out, std::string& problem) {
    std::size_t pos = 0;
    std::string last;
    while (pos < raw.size()) {
        std::size_t end = raw.find('\n', pos);
        if (end == std::string_view::npos) end = raw.size();
        std::string_view line = raw.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = end + 1;
        if (line.empty()) {
            out.body = pos <= raw.size() ? raw.substr(pos) : std::string_view();
            return true;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            if (last.empty()) {
                problem = "a header continuation line comes before any header";
                return false;
            }
            out.headers[last] += " " + Trim(line);
            continue;
        }
        const std::size_t colon = line.find(':');
        const std::string_view name = colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
        const bool token = !name.empty() &&
                           std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
        if (!token) {
            problem = "a header line is not \"Name: value\"";
            return false;
        }
        last = Lower(name);
        if (!out.headers.contains(last)) {
            out.headers[last] = Trim(line.substr(colon + 1));
        } else {
            last = "\x01ignored";  // a repeated header: continuation lines of it are dropped with it
            out.headers[last] = "";
        }
    }
    out.body = std::string_view();
    return true;
}

std::string Header(const Headers& h, const char* name) {
    auto it = h.find(name);
    return it == h.end() ? std::string() : it->second;
}

struct ContentType {
    std::string type = "text/plain";
    std::map<std::string, std::string> params;
};

ContentType ParseContentType(const std::string& value) {
    ContentType ct;
    if (Trim(value).empty()) return ct;
    std::size_t semi = value.find(';');
    ct.type = Lower(Trim(value.substr(0, semi)));
    while (semi != std::string::npos) {
        std::size_t start = semi + 1;
        const std::size_t eq = value.find('=', start);
        if (eq == std::string::npos) break;
        const std::string name = Lower(Trim(value.substr(start, eq - start)));
        std::size_t i = eq + 1;
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
        std::string v;
        if (i < value.size() && value[i] == '"') {
            ++i;
            while (i < value.size() && value[i] != '"') {
                if (value[i] == '\\' && i + 1 < value.size()) ++i;
                v += value[i++];
            }
            semi = value.find(';', i);
        } else {
            semi = value.find(';', i);
            v = Trim(value.substr(i, semi == std::string::npos ? std::string::npos : semi - i));
        }
        ct.params[name] = v;
    }
    return ct;
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::optional<std::string> Base64(std::string_view in) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    bool padding = false;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        } else if (c == '=') {
            padding = true;
            continue;
        } else if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
            continue;
        } else {
            return std::nullopt;
        }
        if (padding) return std::nullopt;  // data after padding
        buffer = (buffer << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
        }
    }
    return out;
}

// Quoted-printable; q_encoding: the RFC 2047 "Q" form (underscore is a space, no soft line breaks).
std::optional<std::string> QuotedPrintable(std::string_view in, bool q_encoding) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '_' && q_encoding) {
            out.push_back(' ');
        } else if (c != '=') {
            out.push_back(c);
        } else if (i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
            i += in[i + 1] == '\r' && i + 2 < in.size() && in[i + 2] == '\n' ? 2 : 1;  // soft line break
        } else if (i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
            i += 2;
        } else if (i + 1 == in.size() && !q_encoding) {
            break;  // a trailing "=" (soft break at the very end)
        } else {
            return std::nullopt;
        }
    }
    return out;
}

// RFC 2047 encoded words in a header value, decoded to UTF-8 (whitespace between two encoded words dropped).
std::optional<std::string> DecodeWords(const std::string& value) {
    std::string out;
    std::size_t pos = 0;
    bool previous_word = false;
    while (pos < value.size()) {
        const std::size_t start = value.find("=?", pos);
        if (start == std::string::npos) {
            out += value.substr(pos);
            break;
        }
        const std::size_t q1 = value.find('?', start + 2);
        const std::size_t q2 = q1 == std::string::npos ? q1 : value.find('?', q1 + 1);
        const std::size_t end = q2 == std::string::npos ? q2 : value.find("?=", q2 + 1);
        if (end == std::string::npos || q2 != q1 + 2) {
            out += value.substr(pos);
            break;
        }
        const std::string between = value.substr(pos, start - pos);
        if (!(previous_word && Trim(between).empty())) out += between;
        const std::string charset = value.substr(start + 2, q1 - start - 2);
        const char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(value[q1 + 1])));
        const std::string_view text = std::string_view(value).substr(q2 + 1, end - q2 - 1);
        std::optional<std::string> bytes;
        if (enc == 'B') bytes = Base64(text);
        if (enc == 'Q') bytes = QuotedPrintable(text, true);
        if (!bytes) return std::nullopt;
        auto utf8 = ToUtf8(*bytes, charset.substr(0, charset.find('*')));  // RFC 2231 language suffix dropped
        if (!utf8) return std::nullopt;
        out += *utf8;
        previous_word = true;
        pos = end + 2;
    }
    return out;
}

// Ids in angle brackets ("<a@b> <c@d>"), in order.
std::vector<std::string> Ids(const std::string& value) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = value.find('<', pos)) != std::string::npos) {
        const std::size_t end = value.find('>', pos);
        if (end == std::string::npos) break;
        std::string id = value.substr(pos + 1, end - pos - 1);
        if (!id.empty() && id.size() <= kMaxExternalId && !common::text::HasControlCharacters(id)) {
            out.push_back(std::move(id));
        }
        pos = end + 1;
    }
    return out;
}

// Text without markup: tags dropped (script and style with their content), a few entities decoded, block ends as
// line breaks.
std::string HtmlToText(std::string_view html) {
    std::string out;
    for (std::size_t i = 0; i < html.size(); ++i) {
        if (html[i] == '<') {
            const std::size_t end = html.find('>', i);
            if (end == std::string_view::npos) break;
            const std::string tag = Lower(html.substr(i + 1, std::min<std::size_t>(end - i - 1, 10)));
            for (const char* skip : {"script", "style"}) {
                if (tag.rfind(skip, 0) == 0) {
                    const std::size_t close = Lower(html).find(std::string("</") + skip, end);
                    i = close == std::string::npos ? html.size() : html.find('>', close);
                    if (i == std::string_view::npos) i = html.size();
                    goto next;
                }
            }
            if (tag.rfind("br", 0) == 0 || tag.rfind("/p", 0) == 0 || tag.rfind("/div", 0) == 0) out += "\n";
            i = end;
        } else if (html[i] == '&') {
            static const std::pair<const char*, const char*> kEntities[] = {
                {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
            bool matched = false;
            for (const auto& [entity, text] : kEntities) {
                if (html.substr(i, std::string_view(entity).size()) == entity) {
                    out += text;
                    i += std::string_view(entity).size() - 1;
                    matched = true;
                    break;
                }
            }
            if (!matched) out.push_back('&');
        } else {
            out.push_back(html[i]);
        }
    next:;
    }
    return out;
}

struct Walk {
    std::string plain, html;
    bool have_plain = false, have_html = false;
    std::vector<EmailAttachment> attachments;
    std::size_t parts = 0;
    std::string problem;
};

std::optional<std::string> DecodeBody(std::string_view body, const std::string& encoding) {
    const std::string e = Lower(Trim(encoding));
    if (e.empty() || e == "7bit" || e == "8bit" || e == "binary") return std::string(body);
    if (e == "base64") return Base64(body);
    if (e == "quoted-printable") return QuotedPrintable(body, false);
    return std::nullopt;
}

void WalkEntity(const Entity& entity, int depth, Walk& w) {
    if (!w.problem.empty()) return;
    if (++w.parts > kMaxMimeParts || depth > kMaxMimeDepth) {
        w.problem = "more than " + std::to_string(kMaxMimeParts) + " MIME parts or nesting deeper than " +
                    std::to_string(kMaxMimeDepth);
        return;
    }
    const ContentType ct = ParseContentType(Header(entity.headers, "content-type"));
    if (ct.type.rfind("multipart/", 0) == 0) {
        const auto b = ct.params.find("boundary");
        if (b == ct.params.end() || b->second.empty() || b->second.size() > 70) {
            w.problem = "a multipart body without a usable boundary parameter";
            return;
        }
        const std::string delimiter = "--" + b->second;
        std::size_t pos = 0;
        std::optional<std::size_t> part_start;
        bool closed = false;
        const std::string_view body = entity.body;
        while (pos <= body.size() && !closed) {
            std::size_t end = body.find('\n', pos);
            if (end == std::string_view::npos) end = body.size();
            std::string_view line = body.substr(pos, end - pos);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
            if (line == delimiter || line == delimiter + "--") {
                if (part_start) {
                    std::size_t part_end = pos > 0 ? pos - 1 : 0;  // the line break before the delimiter belongs to it
                    if (part_end > *part_start && body[part_end - 1] == '\r') --part_end;
                    Entity part;
                    std::string problem;
                    if (!ReadEntity(body.substr(*part_start, part_end - *part_start), part, problem)) {
                        w.problem = "a MIME part: " + problem;
                        return;
                    }
                    WalkEntity(part, depth + 1, w);
                    if (!w.problem.empty()) return;
                }
                closed = line != delimiter;
                part_start = end + 1;
            }
            pos = end + 1;
        }
        if (!closed) w.problem = "a multipart body without its closing boundary delimiter";
        return;
    }
    const std::string disposition = Lower(Header(entity.headers, "content-disposition"));
    const ContentType disp = ParseContentType(Header(entity.headers, "content-disposition"));
    std::string file_name = disp.params.contains("filename") ? disp.params.at("filename")
                                                             : (ct.params.contains("name") ? ct.params.at("name") : "");
    const bool text = ct.type == "text/plain" || ct.type == "text/html";
    const bool attachment = disposition.rfind("attachment", 0) == 0 || !file_name.empty() || !text;
    const auto bytes = DecodeBody(entity.body, Header(entity.headers, "content-transfer-encoding"));
    if (!bytes) {
        w.problem = "a body that is not valid in its Content-Transfer-Encoding";
        return;
    }
    if (attachment) {
        if (auto decoded = DecodeWords(file_name)) file_name = *decoded;
        std::replace(file_name.begin(), file_name.end(), '/', '_');
        std::replace(file_name.begin(), file_name.end(), '\\', '_');
        if (file_name.empty()) file_name = "attachment";
        w.attachments.push_back(
            {.file_name = common::text::Utf8Length(file_name) > kMaxFileName ? "attachment" : file_name,
             .content_type = ct.type.size() > kMaxContentType ? "application/octet-stream" : ct.type,
             .size_bytes = static_cast<std::int64_t>(bytes->size())});
        return;
    }
    const std::string charset = ct.params.contains("charset") ? ct.params.at("charset") : "us-ascii";
    auto utf8 = ToUtf8(*bytes, charset);
    if (!utf8) {
        w.problem = "a text part that is not valid " + (charset.size() > 40 ? std::string("in its charset") : charset) +
                    " (or an unknown charset)";
        return;
    }
    if (ct.type == "text/plain" && !w.have_plain) {
        w.plain = std::move(*utf8);
        w.have_plain = true;
    } else if (ct.type == "text/html" && !w.have_html) {
        w.html = HtmlToText(*utf8);
        w.have_html = true;
    }
}

// Line breaks as LF, other control characters dropped (they have no place in a case's text).
std::string CleanText(const std::string& in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(in[i]);
        if (c == '\r') {
            if (i + 1 >= in.size() || in[i + 1] != '\n') out.push_back('\n');
            continue;
        }
        if ((c < 32 && c != '\n' && c != '\t') || c == 127) continue;
        if (c == 0xC2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(in[i + 1]) <= 0x9F) {
            ++i;  // a C1 control
            continue;
        }
        out.push_back(static_cast<char>(c));
    }
    return out;
}

// At most max code points.
std::string CutCodePoints(const std::string& s, std::size_t max, bool& cut) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++count > max) {
            cut = true;
            return s.substr(0, i);
        }
    }
    return s;
}

}  // namespace

std::optional<std::string> ToUtf8(std::string_view bytes, std::string_view charset) {
    const std::string cs = Lower(Trim(charset));
    // us-ascii: 8-bit text mislabelled as ASCII is common; when it is valid UTF-8 it is kept as such.
    if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii") {
        if (!common::text::IsValidUtf8(bytes)) return std::nullopt;
        return std::string(bytes);
    }
    if (cs.size() > 40 || !std::all_of(cs.begin(), cs.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
        })) {
        return std::nullopt;
    }
    iconv_t cd = iconv_open("UTF-8", cs.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
    std::string out(bytes.size() * 4 + 16, '\0');
    char* in_ptr = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    char* out_ptr = out.data();
    std::size_t out_left = out.size();
    const std::size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
    iconv_close(cd);
    if (rc == static_cast<std::size_t>(-1) || in_left != 0) return std::nullopt;
    out.resize(out.size() - out_left);
    if (!common::text::IsValidUtf8(out)) return std::nullopt;
    return out;
}

std::optional<std::int64_t> CaseNumberInSubject(std::string_view subject) {
    std::size_t pos = 0;
    while ((pos = subject.find("[CS-", pos)) != std::string_view::npos) {
        std::size_t i = pos + 4;
        std::int64_t n = 0;
        std::size_t digits = 0;
        while (i < subject.size() && subject[i] >= '0' && subject[i] <= '9' && digits < 15) {
            n = n * 10 + (subject[i] - '0');
            ++i;
            ++digits;
        }
        if (digits > 0 && i < subject.size() && subject[i] == ']' && n > 0) return n;
        pos += 4;
    }
    return std::nullopt;
}

std::optional<ParsedEmail> ParseEmail(std::string_view raw, const std::string& field, common::Violations& v) {
    if (raw.size() > kMaxRawEmailBytes) {
        v.Add(field, "larger than " + std::to_string(kMaxRawEmailBytes) + " bytes");
        return std::nullopt;
    }
    Entity top;
    std::string problem;
    if (raw.empty() || !ReadEntity(raw, top, problem)) {
        v.Add(field, "not an RFC 5322 message: " + (problem.empty() ? std::string("empty") : problem));
        return std::nullopt;
    }
    ParsedEmail out;
    const std::string from = Header(top.headers, "from");
    const auto ids = Ids(from);
    std::string address = ids.empty() ? Trim(from) : ids.front();
    address = Lower(Trim(address));
    const std::size_t at = address.find('@');
    if (address.empty() || at == std::string::npos || at == 0 || at + 1 == address.size() ||
        address.find_first_of(" \t\"<>,;") != std::string::npos || address.size() > 254) {
        v.Add(field, "no usable From address");
        return std::nullopt;
    }
    out.from_email = address;
    if (!ids.empty()) {
        std::string name = Trim(from.substr(0, from.find('<')));
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
        auto decoded = DecodeWords(name);
        out.from_name = decoded ? CleanText(*decoded) : "";
        bool cut = false;
        out.from_name = CutCodePoints(Trim(out.from_name), kMaxShortText, cut);
    }
    auto subject = DecodeWords(Header(top.headers, "subject"));
    if (!subject || !common::text::IsValidUtf8(*subject)) {
        v.Add(field, "a Subject that cannot be decoded (bad encoded word or charset)");
        return std::nullopt;
    }
    bool cut = false;
    out.subject = CutCodePoints(common::text::CollapseWhitespace(CleanText(*subject)), kMaxSubject, cut);
    if (out.subject.empty()) out.subject = "(no subject)";
    const auto own = Ids(Header(top.headers, "message-id"));
    if (!own.empty()) out.message_id = own.front();
    for (const char* name : {"in-reply-to", "references"}) {
        auto list = Ids(Header(top.headers, name));
        if (std::string(name) == "references") std::reverse(list.begin(), list.end());
        for (auto& id : list) {
            if (std::find(out.references.begin(), out.references.end(), id) == out.references.end()) {
                out.references.push_back(std::move(id));
            }
        }
    }
    if (out.references.size() > 50) out.references.resize(50);
    Walk walk;
    WalkEntity(top, 0, walk);
    if (!walk.problem.empty()) {
        v.Add(field, "malformed MIME: " + walk.problem);
        return std::nullopt;
    }
    out.text = CleanText(walk.have_plain ? walk.plain : walk.html);
    out.text = CutCodePoints(out.text, kMaxBody, out.text_truncated);
    out.attachments = std::move(walk.attachments);
    if (out.attachments.size() > kMaxAttachments) out.attachments.resize(kMaxAttachments);
    return out;
}

}  // namespace crm::support::domain
