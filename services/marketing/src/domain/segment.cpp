#include "domain/segment.hpp"

#include <algorithm>

#include "crm/common/crypto.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/validate.hpp"
#include "domain/campaign.hpp"

namespace crm::marketing::domain {
namespace {

constexpr std::int64_t kDayMicros = 86'400'000'000;
constexpr char kDecimalPattern[] = "^-?[0-9]{1,15}(\\.[0-9]{1,6})?$";

bool IsKey(std::string_view key) {
    if (key.empty() || key.size() > 63 || key[0] < 'a' || key[0] > 'z') return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool IsCustom(std::string_view field) { return field.rfind("custom.", 0) == 0; }

// Sign, integer digits without leading zeros, six fraction digits: compared as text, exactly.
struct Decimal {
    bool negative = false;
    std::string integer;
    std::string fraction;
};
Decimal ParseDecimal(std::string_view s) {
    Decimal d;
    if (!s.empty() && s[0] == '-') {
        d.negative = true;
        s.remove_prefix(1);
    }
    const std::size_t dot = s.find('.');
    d.integer = std::string(s.substr(0, dot));
    d.fraction = dot == std::string_view::npos ? "" : std::string(s.substr(dot + 1));
    d.integer.erase(0, std::min(d.integer.find_first_not_of('0'), d.integer.size()));
    d.fraction.resize(6, '0');
    if (d.integer.empty() && d.fraction == "000000") d.negative = false;
    return d;
}
int CompareMagnitude(const Decimal& a, const Decimal& b) {
    if (a.integer.size() != b.integer.size()) return a.integer.size() < b.integer.size() ? -1 : 1;
    if (int c = a.integer.compare(b.integer)) return c < 0 ? -1 : 1;
    if (int c = a.fraction.compare(b.fraction)) return c < 0 ? -1 : 1;
    return 0;
}
int CompareDecimal(std::string_view a_text, std::string_view b_text) {
    const Decimal a = ParseDecimal(a_text), b = ParseDecimal(b_text);
    if (a.negative != b.negative) return a.negative ? -1 : 1;
    const int m = CompareMagnitude(a, b);
    return a.negative ? -m : m;
}
bool Compare(int c, Op op) {
    switch (op) {
        case Op::kEquals:
            return c == 0;
        case Op::kNotEquals:
            return c != 0;
        case Op::kGreater:
            return c > 0;
        case Op::kGreaterOrEqual:
            return c >= 0;
        case Op::kLess:
            return c < 0;
        case Op::kLessOrEqual:
            return c <= 0;
        default:
            return false;
    }
}
const char* SqlComparator(Op op) {
    switch (op) {
        case Op::kEquals:
            return "=";
        case Op::kNotEquals:
            return "<>";
        case Op::kGreater:
            return ">";
        case Op::kGreaterOrEqual:
            return ">=";
        case Op::kLess:
            return "<";
        default:
            return "<=";
    }
}
bool IsOrdering(Op op) {
    return op == Op::kGreater || op == Op::kGreaterOrEqual || op == Op::kLess || op == Op::kLessOrEqual;
}

// Operators each type takes, and how many values.
bool OpAllowed(FieldType type, Op op, bool custom) {
    switch (type) {
        case FieldType::kText:
            return op == Op::kEquals || op == Op::kNotEquals || op == Op::kIn || op == Op::kContains ||
                   op == Op::kExists || op == Op::kNotExists || (custom && IsOrdering(op));
        case FieldType::kNumber:
            return op == Op::kEquals || op == Op::kNotEquals || op == Op::kIn || IsOrdering(op);
        case FieldType::kTime:
            return op == Op::kWithinLastDays || op == Op::kBefore || op == Op::kAfter;
        case FieldType::kList:
            return op == Op::kEquals || op == Op::kNotEquals || op == Op::kIn || op == Op::kExists ||
                   op == Op::kNotExists;
    }
    return false;
}

void ValidateField(const FieldCondition& c, const std::string& at, common::Violations& v) {
    const auto type = FieldTypeOf(c.field);
    if (!type) {
        v.Add(at + ".field",
              "unknown field; use kind, email, given_name, family_name, job_title, company_name, "
              "country, lead_source, lead_status, consent, lead_score, create_time, tags or "
              "custom.<key>");
    }
    if (type && !OpAllowed(*type, c.op, IsCustom(c.field))) {
        v.Add(at + ".op", "this operator does not apply to the field '" + c.field + "'");
    }
    const std::string values = at + ".values";
    const bool none = c.op == Op::kExists || c.op == Op::kNotExists;
    if (none && !c.values.empty()) v.Add(values, "EXISTS and NOT_EXISTS take no values");
    if (!none && c.op != Op::kIn && c.values.size() != 1) v.Add(values, "exactly one value");
    if (c.op == Op::kIn && (c.values.empty() || c.values.size() > kMaxConditionValues)) {
        v.Add(values, "IN takes 1 to 100 values");
    }
    for (std::size_t i = 0; i < c.values.size(); ++i) {
        const std::string name = values + "[" + std::to_string(i) + "]";
        const std::string& value = c.values[i];
        if (!common::CheckText(v, value, name, {.max_chars = 200})) continue;
        if (c.op == Op::kContains && value.empty()) v.Add(name, "CONTAINS needs a non-empty value");
        if ((type == FieldType::kNumber || IsOrdering(c.op)) && !IsDecimal(value)) {
            v.Add(name, "a number -?digits[.digits] (at most 15 and 6 digits)");
        }
        if (c.op == Op::kWithinLastDays) {
            const bool digits = !value.empty() && value.size() <= 4 &&
                                std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (!digits || std::stoi(value) < 1 || std::stoi(value) > 3650) v.Add(name, "a number of days 1..3650");
        }
        if ((c.op == Op::kBefore || c.op == Op::kAfter) && !ParseDate(value)) v.Add(name, "a date YYYY-MM-DD");
    }
}

void ValidateEngagement(const EngagementCondition& c, const std::string& at, common::Violations& v) {
    if (!IsKey(c.type)) v.Add(at + ".type", "required: an engagement type [a-z][a-z0-9_]{0,62}");
    if (!c.campaign_id.empty() && !common::IsUuid(c.campaign_id)) v.Add(at + ".campaign_id", "must be a UUID");
    if (c.within_days < 0 || c.within_days > 3650) v.Add(at + ".within_days", "0 (ever) to 3650 days");
    if (c.min_count < 1 || c.min_count > 1000) v.Add(at + ".min_count", "1 to 1000");
}

void Validate(const Rule& r, int depth, int& nodes, common::Violations& v) {
    if (++nodes == kMaxRuleNodes + 1) v.Add(r.path, "a rule tree has at most 200 nodes");
    if (depth > kMaxRuleDepth) {
        v.Add(r.path, "a rule tree is at most 8 levels deep");
        return;
    }
    if (r.malformed) {
        v.Add(r.path, "a rule node needs one of all, any, not, field, engagement");
        return;
    }
    switch (r.kind) {
        case Rule::Kind::kAll:
        case Rule::Kind::kAny:
            if (r.children.empty() || r.children.size() > 50) {
                v.Add(r.path + (r.kind == Rule::Kind::kAll ? ".all" : ".any") + ".rules", "1 to 50 rules");
            }
            for (const auto& c : r.children) Validate(c, depth + 1, nodes, v);
            break;
        case Rule::Kind::kNot:
            if (r.children.size() != 1) {
                v.Add(r.path + ".not", "exactly one rule");
            } else {
                Validate(r.children[0], depth + 1, nodes, v);
            }
            break;
        case Rule::Kind::kField:
            ValidateField(r.field, r.path + ".field", v);
            break;
        case Rule::Kind::kEngagement:
            ValidateEngagement(r.engagement, r.path + ".engagement", v);
            break;
    }
}

const std::string* CustomValue(const Person& p, std::string_view field) {
    auto it = p.custom.find(std::string(field.substr(7)));
    return it == p.custom.end() ? nullptr : &it->second;
}

bool EvaluateField(const FieldCondition& c, const Person& p, std::int64_t now) {
    const FieldType type = FieldTypeOf(c.field).value_or(FieldType::kText);
    const std::string first = c.values.empty() ? std::string() : c.values[0];
    switch (type) {
        case FieldType::kNumber: {
            const std::string score = std::to_string(p.lead_score);
            if (c.op == Op::kIn) {
                return std::any_of(c.values.begin(), c.values.end(),
                                   [&](const std::string& x) { return CompareDecimal(score, x) == 0; });
            }
            return Compare(CompareDecimal(score, first), c.op);
        }
        case FieldType::kTime:
            if (c.op == Op::kWithinLastDays) return p.create_micros >= now - std::stoll(first) * kDayMicros;
            if (c.op == Op::kBefore) return p.create_micros < *ParseDate(first) * kDayMicros;
            return p.create_micros >= *ParseDate(first) * kDayMicros;
        case FieldType::kList: {
            auto has = [&](const std::string& x) { return std::find(p.tags.begin(), p.tags.end(), x) != p.tags.end(); };
            if (c.op == Op::kEquals) return has(first);
            if (c.op == Op::kNotEquals) return !has(first);
            if (c.op == Op::kIn) return std::any_of(c.values.begin(), c.values.end(), has);
            if (c.op == Op::kExists) return !p.tags.empty();
            return p.tags.empty();
        }
        case FieldType::kText:
            break;
    }
    const std::string value = TextValue(p, c.field);
    if (IsOrdering(c.op)) return IsDecimal(value) && Compare(CompareDecimal(value, first), c.op);
    switch (c.op) {
        case Op::kEquals:
            return value == first;
        case Op::kNotEquals:
            return value != first;
        case Op::kIn:
            return std::find(c.values.begin(), c.values.end(), value) != c.values.end();
        case Op::kContains:
            return value.find(first) != std::string::npos;
        case Op::kExists:
            return !value.empty();
        case Op::kNotExists:
            return value.empty();
        default:
            return false;
    }
}

bool EvaluateEngagement(const EngagementCondition& c, const Person& p, std::int64_t now) {
    int count = 0;
    for (const auto& e : p.engagements) {
        if (e.type != c.type) continue;
        if (!c.campaign_id.empty() && e.campaign_id != c.campaign_id) continue;
        if (c.within_days > 0 && e.micros < now - c.within_days * kDayMicros) continue;
        ++count;
    }
    return count >= c.min_count;
}

// Whether SQL decides the condition (see IsSealedField).
bool SqlDecides(const FieldCondition& c, bool email_indexed) {
    if (!IsSealedField(c.field)) return true;
    if (IsCustom(c.field)) return false;
    if (c.op == Op::kExists || c.op == Op::kNotExists) return true;
    return email_indexed && c.field == "email" && (c.op == Op::kEquals || c.op == Op::kNotEquals || c.op == Op::kIn);
}

class Compiler {
  public:
    Compiler(int first_param, int now_param, const EmailIndexFn& email_index)
        : next_(first_param), now_("$" + std::to_string(now_param)), email_index_(email_index) {}
    std::vector<std::string> params;
    std::vector<std::string> atoms;
    std::vector<bool> leaf_in_sql;
    bool exact = true;

    std::string Param(std::string value) {
        params.push_back(std::move(value));
        return "$" + std::to_string(next_++);
    }
    std::string At(const std::string& micros_param) {
        return "(timestamptz 'epoch' + " + micros_param + "::bigint * interval '1 microsecond')";
    }
    std::string Cutoff(std::int64_t days) {
        return "(timestamptz 'epoch' + (" + now_ + "::bigint - " + Param(std::to_string(days * kDayMicros)) +
               "::bigint) * interval '1 microsecond')";
    }

    std::string Field(const FieldCondition& c) {
        const FieldType type = FieldTypeOf(c.field).value_or(FieldType::kText);
        const std::string first = c.values.empty() ? std::string() : c.values[0];
        switch (type) {
            case FieldType::kNumber:
                if (c.op == Op::kIn) return "a.lead_score = ANY(" + Param(TextArrayLiteral(c.values)) + "::numeric[])";
                return "a.lead_score " + std::string(SqlComparator(c.op)) + " " + Param(first) + "::numeric";
            case FieldType::kTime:
                if (c.op == Op::kWithinLastDays) return "a.create_time >= " + Cutoff(std::stoll(first));
                return "a.create_time " + std::string(c.op == Op::kBefore ? "<" : ">=") + " " +
                       At(Param(std::to_string(*ParseDate(first) * kDayMicros)));
            case FieldType::kList:
                if (c.op == Op::kEquals) return "a.tags @> " + Param(TextArrayLiteral({first})) + "::text[]";
                if (c.op == Op::kNotEquals) return "NOT (a.tags @> " + Param(TextArrayLiteral({first})) + "::text[])";
                if (c.op == Op::kIn) return "a.tags && " + Param(TextArrayLiteral(c.values)) + "::text[]";
                return c.op == Op::kExists ? "cardinality(a.tags) > 0" : "cardinality(a.tags) = 0";
            case FieldType::kText:
                break;
        }
        if (c.field == "email" && email_index_ && c.op != Op::kExists && c.op != Op::kNotExists) {
            if (c.op == Op::kIn) {
                std::vector<std::string> indexes;
                for (const auto& v : c.values) indexes.push_back(email_index_(v));
                return "a.email_index = ANY(" + Param(TextArrayLiteral(indexes)) + "::text[])";
            }
            return "a.email_index " + std::string(c.op == Op::kEquals ? "=" : "<>") + " " + Param(email_index_(first));
        }
        const std::string column =
            IsCustom(c.field) ? "coalesce(a.custom ->> " + Param(c.field.substr(7)) + ", '')" : "a." + c.field;
        if (IsOrdering(c.op)) {
            return "(CASE WHEN " + column + " ~ '" + kDecimalPattern + "' THEN (" + column + ")::numeric " +
                   SqlComparator(c.op) + " " + Param(first) + "::numeric ELSE false END)";
        }
        switch (c.op) {
            case Op::kEquals:
                return column + " = " + Param(first);
            case Op::kNotEquals:
                return column + " <> " + Param(first);
            case Op::kIn:
                return column + " = ANY(" + Param(TextArrayLiteral(c.values)) + "::text[])";
            case Op::kContains:
                return "strpos(" + column + ", " + Param(first) + ") > 0";
            case Op::kExists:
                return column + " <> ''";
            default:
                return column + " = ''";
        }
    }

    std::string Engagement(const EngagementCondition& c) {
        std::string sql =
            "(SELECT count(*) FROM engagements e WHERE e.tenant_id = a.tenant_id AND e.person_id = a.id "
            "AND e.type = " +
            Param(c.type);
        if (!c.campaign_id.empty()) sql += " AND e.campaign_id = " + Param(c.campaign_id) + "::uuid";
        if (c.within_days > 0) sql += " AND e.occur_time >= " + Cutoff(c.within_days);
        return sql + ") >= " + std::to_string(c.min_count);
    }

    std::string Node(const Rule& r) {
        switch (r.kind) {
            case Rule::Kind::kAll:
            case Rule::Kind::kAny: {
                std::string out = "(";
                for (std::size_t i = 0; i < r.children.size(); ++i) {
                    if (i) out += r.kind == Rule::Kind::kAll ? " AND " : " OR ";
                    out += Node(r.children[i]);
                }
                return out + ")";
            }
            case Rule::Kind::kNot:
                return "(NOT " + Node(r.children.at(0)) + ")";
            case Rule::Kind::kField: {
                const bool in_sql = SqlDecides(r.field, static_cast<bool>(email_index_));
                leaf_in_sql.push_back(in_sql);
                if (!in_sql) {
                    exact = false;
                    return "NULL::boolean";  // unknown to SQL: decided on the opened row
                }
                atoms.push_back("coalesce((" + Field(r.field) + "), false)");
                return atoms.back();
            }
            case Rule::Kind::kEngagement:
                leaf_in_sql.push_back(true);
                atoms.push_back("(" + Engagement(r.engagement) + ")");
                return atoms.back();
        }
        return "false";
    }

  private:
    int next_;
    std::string now_;
    const EmailIndexFn& email_index_;
};

// Every condition visited in depth-first order (no short-circuit), so that `leaf` follows CompiledRule::leaf_in_sql.
bool WithAtoms(const Rule& r, const CompiledRule& compiled, const std::vector<bool>& atoms, const Person& person,
               std::int64_t now, std::size_t& leaf, std::size_t& atom) {
    switch (r.kind) {
        case Rule::Kind::kAll:
        case Rule::Kind::kAny: {
            bool all = true, any = false;
            for (const auto& c : r.children) {
                const bool v = WithAtoms(c, compiled, atoms, person, now, leaf, atom);
                all = all && v;
                any = any || v;
            }
            return r.kind == Rule::Kind::kAll ? all : any;
        }
        case Rule::Kind::kNot:
            return !WithAtoms(r.children.at(0), compiled, atoms, person, now, leaf, atom);
        case Rule::Kind::kField:
        case Rule::Kind::kEngagement:
            if (compiled.leaf_in_sql.at(leaf++)) return atoms.at(atom++);
            return EvaluateField(r.field, person, now);
    }
    return false;
}

}  // namespace

std::optional<FieldType> FieldTypeOf(std::string_view field) {
    static const char* kText[] = {"kind",         "email",   "given_name",  "family_name", "job_title",
                                  "company_name", "country", "lead_source", "lead_status", "consent"};
    for (const char* f : kText) {
        if (field == f) return FieldType::kText;
    }
    if (field == "lead_score") return FieldType::kNumber;
    if (field == "create_time") return FieldType::kTime;
    if (field == "tags") return FieldType::kList;
    if (IsCustom(field) && IsKey(field.substr(7))) return FieldType::kText;
    return std::nullopt;
}

void ValidateRule(const Rule& rule, common::Violations& violations) {
    int nodes = 0;
    Validate(rule, 1, nodes, violations);
}

std::string TextValue(const Person& p, std::string_view field) {
    if (field == "kind") return p.kind;
    if (field == "email") return p.email;
    if (field == "given_name") return p.given_name;
    if (field == "family_name") return p.family_name;
    if (field == "job_title") return p.job_title;
    if (field == "company_name") return p.company_name;
    if (field == "country") return p.country;
    if (field == "lead_source") return p.lead_source;
    if (field == "lead_status") return p.lead_status;
    if (field == "consent") return p.consent;
    if (IsCustom(field)) {
        const std::string* v = CustomValue(p, field);
        return v ? *v : std::string();
    }
    return "";
}

bool Evaluate(const Rule& rule, const Person& person, std::int64_t now_micros) {
    switch (rule.kind) {
        case Rule::Kind::kAll:
            return std::all_of(rule.children.begin(), rule.children.end(),
                               [&](const Rule& c) { return Evaluate(c, person, now_micros); });
        case Rule::Kind::kAny:
            return std::any_of(rule.children.begin(), rule.children.end(),
                               [&](const Rule& c) { return Evaluate(c, person, now_micros); });
        case Rule::Kind::kNot:
            return !Evaluate(rule.children.at(0), person, now_micros);
        case Rule::Kind::kField:
            return EvaluateField(rule.field, person, now_micros);
        case Rule::Kind::kEngagement:
            return EvaluateEngagement(rule.engagement, person, now_micros);
    }
    return false;
}

bool IsSealedField(std::string_view field) {
    return field == "email" || field == "given_name" || field == "family_name" || field == "job_title" ||
           field == "company_name" || IsCustom(field);
}

CompiledRule CompileRule(const Rule& rule, int first_param, int now_param, const EmailIndexFn& email_index) {
    Compiler compiler(first_param, now_param, email_index);
    CompiledRule out;
    out.sql = compiler.Node(rule);
    out.params = std::move(compiler.params);
    out.exact = compiler.exact;
    out.atoms = std::move(compiler.atoms);
    out.leaf_in_sql = std::move(compiler.leaf_in_sql);
    return out;
}

bool EvaluateWithAtoms(const Rule& rule, const CompiledRule& compiled, const std::vector<bool>& atoms,
                       const Person& person, std::int64_t now_micros) {
    std::size_t leaf = 0, atom = 0;
    return WithAtoms(rule, compiled, atoms, person, now_micros, leaf, atom);
}

std::string TextArrayLiteral(const std::vector<std::string>& values) { return common::PgTextArray(values); }

bool IsDecimal(std::string_view s) {
    if (!s.empty() && s[0] == '-') s.remove_prefix(1);
    const std::size_t dot = s.find('.');
    const std::string_view integer = s.substr(0, dot);
    auto digits = [](std::string_view d) {
        return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (integer.empty() || integer.size() > 15 || !digits(integer)) return false;
    if (dot == std::string_view::npos) return true;
    const std::string_view fraction = s.substr(dot + 1);
    return !fraction.empty() && fraction.size() <= 6 && digits(fraction);
}

}  // namespace crm::marketing::domain
