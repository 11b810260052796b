#include "crm/common/timezone.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace crm::common {

// One transition rule of a POSIX TZ string (Jn, n or Mm.w.d, with a time of day that may be negative or past 24 h).
struct DateRule {
    enum class Kind { kJulian1, kJulian0, kMonthWeekDay } kind = Kind::kMonthWeekDay;
    int day = 0;  // Jn: 1..365; n: 0..365; M: day of week 0..6
    int month = 0;
    int week = 0;
    int32_t time = 7200;  // seconds after local midnight, in the time in effect before the transition
};

struct TimeZone::Rule {
    int32_t std_offset = 0;  // east positive
    int32_t dst_offset = 0;
    bool has_dst = false;
    DateRule start, end;
};

namespace {

[[noreturn]] void Bad(const std::string& what) { throw std::invalid_argument("time zone: " + what); }

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, int m) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// ---- POSIX TZ strings (the TZif footer) ----

class RuleParser {
  public:
    explicit RuleParser(std::string_view s) : s_(s) {}

    std::shared_ptr<const TimeZone::Rule> Parse() {
        auto rule = std::make_shared<TimeZone::Rule>();
        Name();
        rule->std_offset = -Offset(24 * 3600);
        if (AtEnd()) return rule;
        Name();
        rule->has_dst = true;
        rule->dst_offset = rule->std_offset + 3600;
        if (!AtEnd() && s_[i_] != ',') rule->dst_offset = -Offset(24 * 3600);
        if (AtEnd()) {  // POSIX default: the US rules of 2007
            rule->start = {DateRule::Kind::kMonthWeekDay, 0, 3, 2, 7200};
            rule->end = {DateRule::Kind::kMonthWeekDay, 0, 11, 1, 7200};
            return rule;
        }
        Expect(',');
        rule->start = Date();
        Expect(',');
        rule->end = Date();
        if (!AtEnd()) Bad("trailing characters in the TZ rule");
        return rule;
    }

  private:
    bool AtEnd() const { return i_ >= s_.size(); }
    void Expect(char c) {
        if (AtEnd() || s_[i_] != c) Bad(std::string("expected '") + c + "' in the TZ rule");
        ++i_;
    }
    void Name() {
        if (!AtEnd() && s_[i_] == '<') {
            const auto close = s_.find('>', i_);
            if (close == std::string_view::npos) Bad("unterminated <name> in the TZ rule");
            i_ = close + 1;
            return;
        }
        const size_t begin = i_;
        while (!AtEnd() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
        if (i_ - begin < 3) Bad("zone abbreviation too short in the TZ rule");
    }
    int Number(int max) {
        const size_t begin = i_;
        int value = 0;
        while (!AtEnd() && s_[i_] >= '0' && s_[i_] <= '9') {
            value = value * 10 + (s_[i_] - '0');
            if (value > max) Bad("number out of range in the TZ rule");
            ++i_;
        }
        if (i_ == begin) Bad("number expected in the TZ rule");
        return value;
    }
    // [+-]hh[:mm[:ss]], in seconds (POSIX sign: positive is west of Greenwich for offsets).
    int32_t Offset(int max_seconds) {
        int sign = 1;
        if (!AtEnd() && (s_[i_] == '+' || s_[i_] == '-')) sign = s_[i_++] == '-' ? -1 : 1;
        int32_t seconds = Number(max_seconds / 3600) * 3600;
        if (!AtEnd() && s_[i_] == ':') {
            ++i_;
            seconds += Number(59) * 60;
            if (!AtEnd() && s_[i_] == ':') {
                ++i_;
                seconds += Number(59);
            }
        }
        return sign * seconds;
    }
    DateRule Date() {
        DateRule r;
        if (!AtEnd() && s_[i_] == 'J') {
            ++i_;
            r.kind = DateRule::Kind::kJulian1;
            r.day = Number(365);
            if (r.day < 1) Bad("Jn day out of range");
        } else if (!AtEnd() && s_[i_] == 'M') {
            ++i_;
            r.kind = DateRule::Kind::kMonthWeekDay;
            r.month = Number(12);
            Expect('.');
            r.week = Number(5);
            Expect('.');
            r.day = Number(6);
            if (r.month < 1 || r.week < 1) Bad("Mm.w.d out of range");
        } else {
            r.kind = DateRule::Kind::kJulian0;
            r.day = Number(365);
        }
        if (!AtEnd() && s_[i_] == '/') {
            ++i_;
            r.time = Offset(167 * 3600);  // RFC 8536 allows -167..167 hours here
        }
        return r;
    }

    std::string_view s_;
    size_t i_ = 0;
};

// Local seconds (in the time in effect before the transition) at which `rule` falls in `year`.
int64_t LocalTransition(const DateRule& rule, int64_t year) {
    int64_t day = 0;
    const int64_t jan1 = DaysFromCivil({year, 1, 1});
    switch (rule.kind) {
        case DateRule::Kind::kJulian1:  // 1..365, February 29 never counted
            day = jan1 + rule.day - 1 + (IsLeap(year) && rule.day >= 60 ? 1 : 0);
            break;
        case DateRule::Kind::kJulian0:
            day = jan1 + rule.day;
            break;
        case DateRule::Kind::kMonthWeekDay: {
            const int64_t first = DaysFromCivil({year, static_cast<unsigned>(rule.month), 1});
            const auto first_weekday = static_cast<int>(Weekday(CivilFromDays(first)));
            int64_t dom = 1 + (rule.day - first_weekday + 7) % 7 + 7 * (rule.week - 1);
            while (dom > DaysInMonth(year, rule.month)) dom -= 7;
            day = first + dom - 1;
            break;
        }
    }
    return day * 86400 + rule.time;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool RuleIsDst(const TimeZone::Rule& rule, int64_t utc) {
    if (!rule.has_dst) return false;
    const int64_t year = CivilFromDays(FloorDiv(utc + rule.std_offset, 86400)).year;
    // Around New Year the instant may lie in the previous or the next year's interval: check the three.
    for (int64_t y = year - 1; y <= year + 1; ++y) {
        const int64_t start_local = LocalTransition(rule.start, y);
        const int64_t end_local = LocalTransition(rule.end, y);
        const int64_t start = start_local - rule.std_offset;
        // Northern hemisphere: DST ends later the same year; southern: it ends in the next one.
        const int64_t end = (start_local < end_local ? end_local : LocalTransition(rule.end, y + 1)) - rule.dst_offset;
        if (utc >= start && utc < end) return true;
    }
    return false;
}

// ---- TZif ----

class Reader {
  public:
    explicit Reader(std::string_view b) : b_(b) {}
    size_t pos() const { return p_; }
    void Need(size_t n) const {
        if (b_.size() - p_ < n) Bad("truncated TZif data");
    }
    std::string_view Take(size_t n) {
        Need(n);
        auto s = b_.substr(p_, n);
        p_ += n;
        return s;
    }
    uint32_t U32() {
        auto s = Take(4);
        return (uint32_t(uint8_t(s[0])) << 24) | (uint32_t(uint8_t(s[1])) << 16) | (uint32_t(uint8_t(s[2])) << 8) |
               uint32_t(uint8_t(s[3]));
    }
    int64_t I64() {
        const uint64_t hi = U32();
        const uint64_t lo = U32();
        return static_cast<int64_t>((hi << 32) | lo);
    }
    uint8_t U8() { return static_cast<uint8_t>(Take(1)[0]); }
    std::string_view Rest() const { return b_.substr(p_); }

  private:
    std::string_view b_;
    size_t p_ = 0;
};

struct Counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

Counts Header(Reader& r, char* version) {
    if (r.Take(4) != "TZif") Bad("not a TZif file");
    *version = static_cast<char>(r.U8());
    r.Take(15);
    Counts c{r.U32(), r.U32(), r.U32(), r.U32(), r.U32(), r.U32()};
    if (c.type == 0 || c.type > 256 || c.time > 100000 || c.chars == 0) Bad("implausible TZif counts");
    return c;
}

std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>>& Cache() {
    static std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> cache;
    return cache;
}
std::mutex g_cache_mutex;

}  // namespace

TimeZone::TimeZone(std::string name, std::vector<int64_t> transitions, std::vector<uint8_t> indices,
                   std::vector<Type> types, std::shared_ptr<const Rule> rule)
    : name_(std::move(name)),
      transitions_(std::move(transitions)),
      indices_(std::move(indices)),
      types_(std::move(types)),
      rule_(std::move(rule)) {}

TimeZone::~TimeZone() = default;

std::shared_ptr<const TimeZone> TimeZone::FromTzif(std::string name, std::string_view bytes) {
    Reader r(bytes);
    char version = 0;
    Counts c = Header(r, &version);
    size_t time_size = 4;
    if (version >= '2') {  // skip the 32-bit block; the 64-bit one follows with its own header
        r.Take(size_t(c.time) * 5 + size_t(c.type) * 6 + c.chars + size_t(c.leap) * 8 + c.isstd + c.isut);
        c = Header(r, &version);
        time_size = 8;
    }
    std::vector<int64_t> transitions(c.time);
    for (auto& t : transitions) t = time_size == 8 ? r.I64() : static_cast<int32_t>(r.U32());
    if (!std::is_sorted(transitions.begin(), transitions.end())) Bad("transitions out of order");
    std::vector<uint8_t> indices(c.time);
    for (auto& i : indices) {
        i = r.U8();
        if (i >= c.type) Bad("transition names a missing type");
    }
    std::vector<Type> types(c.type);
    for (auto& t : types) {
        t.offset = static_cast<int32_t>(r.U32());
        t.dst = r.U8() != 0;
        r.U8();  // abbreviation index
        if (t.offset <= -25 * 3600 || t.offset >= 26 * 3600) Bad("offset out of range");
    }
    r.Take(c.chars + size_t(c.leap) * (time_size + 4) + c.isstd + c.isut);
    std::shared_ptr<const Rule> rule;
    if (version >= '2') {
        const std::string_view rest = r.Rest();
        if (rest.size() < 2 || rest[0] != '\n') Bad("missing TZif footer");
        const auto end = rest.find('\n', 1);
        if (end == std::string_view::npos) Bad("unterminated TZif footer");
        const std::string_view footer = rest.substr(1, end - 1);
        if (!footer.empty()) rule = RuleParser(footer).Parse();
    }
    return std::make_shared<TimeZone>(std::move(name), std::move(transitions), std::move(indices), std::move(types),
                                      std::move(rule));
}

std::shared_ptr<const TimeZone> TimeZone::Load(std::string_view name) {
    if (!IsTimeZoneName(name)) Bad("malformed zone name");
    {
        std::lock_guard lock(g_cache_mutex);
        if (auto it = Cache().find(name); it != Cache().end()) return it->second;
    }
    const char* dir = std::getenv("TZDIR");
    const std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + std::string(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) Bad("unknown zone " + std::string(name));
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto zone = FromTzif(std::string(name), bytes.str());
    std::lock_guard lock(g_cache_mutex);
    return Cache().emplace(std::string(name), std::move(zone)).first->second;
}

TimeZone::Type TimeZone::TypeAt(int64_t utc) const {
    const auto by_rule = [&] {
        const bool dst = RuleIsDst(*rule_, utc);
        return Type{dst ? rule_->dst_offset : rule_->std_offset, dst};
    };
    if (transitions_.empty()) return rule_ ? by_rule() : types_.front();
    if (utc < transitions_.front()) return types_.front();  // RFC 8536: type 0 before the first transition
    if (utc >= transitions_.back() && rule_) return by_rule();
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
    return types_[indices_[static_cast<size_t>(it - transitions_.begin()) - 1]];
}

int32_t TimeZone::OffsetAt(int64_t utc) const { return TypeAt(utc).offset; }
bool TimeZone::IsDstAt(int64_t utc) const { return TypeAt(utc).dst; }

int64_t TimeZone::ToUtc(int64_t local) const {
    // Offsets lie within (-25 h, +26 h): the instant is within a day and a bit of `local`. Transitions are never
    // closer than that to each other, so the offsets before and after bound the candidates.
    constexpr int64_t kSpan = 30 * 3600;
    const int32_t before = OffsetAt(local - kSpan);
    const int32_t after = OffsetAt(local + kSpan);
    const bool before_fits = OffsetAt(local - before) == before;
    const bool after_fits = OffsetAt(local - after) == after;
    if (before_fits && after_fits) return std::min(local - before, local - after);  // a repeated hour: the earlier
    if (before_fits) return local - before;
    if (after_fits) return local - after;
    return local - before;  // in a gap: as far forward as the gap is long
}

bool IsTimeZoneName(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
    size_t part_start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '/') {
            const std::string_view part = name.substr(part_start, i - part_start);
            if (part.empty() || part == "." || part == ".." || part.front() == '.') return false;
            part_start = i + 1;
            continue;
        }
        const char c = name[i];
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '+';
        if (!ok) return false;
    }
    return true;
}

unsigned Weekday(const CivilDate& date) {
    // 1970-01-01 was a Thursday (4).
    return static_cast<unsigned>(((DaysFromCivil(date) + 4) % 7 + 7) % 7);
}

}  // namespace crm::common
