#include "crm/common/text.hpp"

#include <array>

namespace crm::common::text {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at s[pos] and advances pos; invalid or truncated sequences yield U+FFFD for one byte.
char32_t NextCodePoint(std::string_view s, std::size_t& pos) {
    const auto lead = static_cast<unsigned char>(s[pos]);
    if (lead < 0x80) {
        ++pos;
        return lead;
    }
    std::size_t extra = 0;
    char32_t cp = 0;
    if ((lead & 0xE0) == 0xC0) {
        extra = 1;
        cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        extra = 2;
        cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        extra = 3;
        cp = lead & 0x07;
    } else {
        ++pos;
        return kReplacement;
    }
    if (pos + extra >= s.size()) {
        ++pos;
        return kReplacement;
    }
    for (std::size_t i = 1; i <= extra; ++i) {
        const auto byte = static_cast<unsigned char>(s[pos + i]);
        if ((byte & 0xC0) != 0x80) {
            ++pos;
            return kReplacement;
        }
        cp = (cp << 6) | (byte & 0x3F);
    }
    pos += extra + 1;
    return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool IsSpaceCodePoint(char32_t cp) { return cp == 0xA0 || (cp < 0x80 && IsAsciiSpace(static_cast<char>(cp))); }

struct Fold {
    char32_t first;
    char32_t last;
    std::string_view ascii;
};

// Latin-1 Supplement, Latin Extended-A and the Romanian comma letters of Latin Extended-B, lowercase ASCII result.
constexpr std::array kFolds = {
    Fold{0xC0, 0xC5, "a"},   Fold{0xC6, 0xC6, "ae"},   Fold{0xC7, 0xC7, "c"},   Fold{0xC8, 0xCB, "e"},
    Fold{0xCC, 0xCF, "i"},   Fold{0xD0, 0xD0, "d"},    Fold{0xD1, 0xD1, "n"},   Fold{0xD2, 0xD6, "o"},
    Fold{0xD8, 0xD8, "o"},   Fold{0xD9, 0xDC, "u"},    Fold{0xDD, 0xDD, "y"},   Fold{0xDE, 0xDE, "th"},
    Fold{0xDF, 0xDF, "ss"},  Fold{0xE0, 0xE5, "a"},    Fold{0xE6, 0xE6, "ae"},  Fold{0xE7, 0xE7, "c"},
    Fold{0xE8, 0xEB, "e"},   Fold{0xEC, 0xEF, "i"},    Fold{0xF0, 0xF0, "d"},   Fold{0xF1, 0xF1, "n"},
    Fold{0xF2, 0xF6, "o"},   Fold{0xF8, 0xF8, "o"},    Fold{0xF9, 0xFC, "u"},   Fold{0xFD, 0xFD, "y"},
    Fold{0xFE, 0xFE, "th"},  Fold{0xFF, 0xFF, "y"},    Fold{0x100, 0x105, "a"}, Fold{0x106, 0x10D, "c"},
    Fold{0x10E, 0x111, "d"}, Fold{0x112, 0x11B, "e"},  Fold{0x11C, 0x123, "g"}, Fold{0x124, 0x127, "h"},
    Fold{0x128, 0x131, "i"}, Fold{0x132, 0x133, "ij"}, Fold{0x134, 0x135, "j"}, Fold{0x136, 0x138, "k"},
    Fold{0x139, 0x142, "l"}, Fold{0x143, 0x14B, "n"},  Fold{0x14C, 0x151, "o"}, Fold{0x152, 0x153, "oe"},
    Fold{0x154, 0x159, "r"}, Fold{0x15A, 0x161, "s"},  Fold{0x162, 0x167, "t"}, Fold{0x168, 0x173, "u"},
    Fold{0x174, 0x175, "w"}, Fold{0x176, 0x178, "y"},  Fold{0x179, 0x17E, "z"}, Fold{0x17F, 0x17F, "s"},
    Fold{0x218, 0x219, "s"}, Fold{0x21A, 0x21B, "t"},
};

bool IsCombiningMark(char32_t cp) { return cp >= 0x300 && cp <= 0x36F; }

}  // namespace

std::size_t Utf8Length(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t pos = 0; pos < s.size();) {
        NextCodePoint(s, pos);
        ++count;
    }
    return count;
}

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string Trim(std::string_view s) {
    std::size_t begin = 0;
    while (begin < s.size()) {
        std::size_t next = begin;
        if (!IsSpaceCodePoint(NextCodePoint(s, next))) break;
        begin = next;
    }
    std::size_t end = s.size();
    while (end > begin) {
        std::size_t start = end - 1;  // step back to the lead byte of the last code point
        while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        std::size_t next = start;
        if (!IsSpaceCodePoint(NextCodePoint(s, next))) break;
        end = start;
    }
    return std::string(s.substr(begin, end - begin));
}

std::string CollapseWhitespace(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool pending_space = false;
    for (std::size_t pos = 0; pos < s.size();) {
        const std::size_t start = pos;
        const char32_t cp = NextCodePoint(s, pos);
        if (IsSpaceCodePoint(cp)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            out.push_back(' ');
            pending_space = false;
        }
        out.append(s.substr(start, pos - start));
    }
    return out;
}

std::string AsciiLower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

bool IsValidUtf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t extra = 0;
        char32_t cp = 0;
        char32_t min = 0;
        if (b0 >= 0xC2 && b0 <= 0xDF) {  // C0 and C1 would be overlong two-byte forms
            extra = 1, cp = b0 & 0x1F, min = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            extra = 2, cp = b0 & 0x0F, min = 0x800;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            extra = 3, cp = b0 & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= extra) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

bool HasControlCharacters(std::string_view s, bool allow_line_breaks) {
    for (std::size_t pos = 0; pos < s.size();) {
        const char32_t cp = NextCodePoint(s, pos);
        if (allow_line_breaks && (cp == '\t' || cp == '\n' || cp == '\r')) continue;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;
    }
    return false;
}

std::string FoldForMatching(std::string_view s) {
    const std::string collapsed = CollapseWhitespace(s);
    std::string out;
    out.reserve(collapsed.size());
    for (std::size_t pos = 0; pos < collapsed.size();) {
        const char32_t cp = NextCodePoint(collapsed, pos);
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp));
            continue;
        }
        if (IsCombiningMark(cp)) continue;
        bool folded = false;
        for (const Fold& fold : kFolds) {
            if (cp >= fold.first && cp <= fold.last) {
                out.append(fold.ascii);
                folded = true;
                break;
            }
        }
        if (!folded) AppendUtf8(out, cp);
    }
    return out;
}

}  // namespace crm::common::text
