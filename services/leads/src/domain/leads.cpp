#include "domain/leads.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

#include "crm/common/crypto.hpp"

namespace crm::leads::domain {
namespace {

constexpr size_t kMaxText = 200;
constexpr size_t kMaxEmail = 254;
constexpr size_t kMaxPhone = 64;
constexpr size_t kMaxNotes = 10000;
constexpr size_t kMaxAttributes = 50;
constexpr size_t kMaxAttributeValue = 500;
constexpr size_t kMaxCategories = 20;

bool IsValidEmail(const std::string& email) {
    const auto at = email.find('@');
    if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos) return false;
    const std::string domain = email.substr(at + 1);
    const auto dot = domain.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 2 > domain.size()) return false;
    for (char c : email) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
        if (c == '(' || c == ')' || c == '<' || c == '>' || c == ',' || c == ';' || c == ':' || c == '\\' || c == '"' ||
            c == '[' || c == ']')
            return false;
    }
    return domain.find("..") == std::string::npos;
}

bool IsValidPhone(const std::string& phone) {
    int digits = 0;
    for (char c : phone) {
        if (c >= '0' && c <= '9') {
            ++digits;
        } else if (c != '+' && c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' && c != '/') {
            return false;
        }
    }
    return digits >= 5 && digits <= 15;
}

void CheckLength(Violations& v, const std::string& value, size_t max, const std::string& field) {
    if (value.size() > max) v.push_back({field, "at most " + std::to_string(max) + " characters"});
}

std::optional<double> ParseNumber(const std::string& text) {
    if (text.empty() || text.size() > 40) return std::nullopt;
    size_t used = 0;
    try {
        const double value = std::stod(text, &used);
        if (used != text.size() || !std::isfinite(value)) return std::nullopt;
        return value;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool ContainsIgnoreCase(const std::string& haystack, const std::string& needle) {
    return Lower(haystack).find(Lower(needle)) != std::string::npos;
}

double Sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    const double e = std::exp(z);
    return e / (1.0 + e);
}

}  // namespace

// --- lifecycle ----------------------------------------------------------------------------------------------------
const char* StatusText(Status status) {
    switch (status) {
        case Status::kNew:
            return "NEW";
        case Status::kWorking:
            return "WORKING";
        case Status::kNurturing:
            return "NURTURING";
        case Status::kQualified:
            return "QUALIFIED";
        case Status::kUnqualified:
            return "UNQUALIFIED";
        case Status::kConverted:
            return "CONVERTED";
    }
    return "NEW";
}

std::optional<Status> ParseStatus(std::string_view text) {
    for (Status s : {Status::kNew, Status::kWorking, Status::kNurturing, Status::kQualified, Status::kUnqualified,
                     Status::kConverted}) {
        if (text == StatusText(s)) return s;
    }
    return std::nullopt;
}

bool IsOpen(Status status) { return status != Status::kConverted && status != Status::kUnqualified; }

bool TransitionAllowed(Status from, Status to) {
    if (from == to || to == Status::kConverted || to == Status::kNew) return false;
    switch (from) {
        case Status::kNew:
        case Status::kWorking:
        case Status::kNurturing:
        case Status::kQualified:
            return true;  // to any of WORKING, NURTURING, QUALIFIED, UNQUALIFIED except itself
        case Status::kUnqualified:
            return to == Status::kWorking;
        case Status::kConverted:
            return false;
    }
    return false;
}

bool ConvertAllowed(Status from, bool allow_unqualified) {
    return from == Status::kQualified || (allow_unqualified && from == Status::kWorking);
}

const char* PriorityText(Priority priority) {
    switch (priority) {
        case Priority::kLow:
            return "LOW";
        case Priority::kMedium:
            return "MEDIUM";
        case Priority::kHigh:
            return "HIGH";
        case Priority::kUrgent:
            return "URGENT";
    }
    return "MEDIUM";
}

std::optional<Priority> ParsePriority(std::string_view text) {
    for (Priority p : {Priority::kLow, Priority::kMedium, Priority::kHigh, Priority::kUrgent}) {
        if (text == PriorityText(p)) return p;
    }
    return std::nullopt;
}

// --- fields -------------------------------------------------------------------------------------------------------
std::string Trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n\f\v");
    return std::string(text.substr(first, last - first + 1));
}

std::string Lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

bool IsKey(std::string_view key) {
    if (key.empty() || key.size() > 63 || key[0] < 'a' || key[0] > 'z') return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool IsSlug(std::string_view id) {
    if (id.empty() || id.size() > 63 || id[0] < 'a' || id[0] > 'z') return false;
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

std::string EmailDomain(const std::string& email) {
    const auto at = email.find('@');
    return at == std::string::npos ? std::string() : email.substr(at + 1);
}

Violations NormalizeLead(LeadFields& f, const std::string& prefix, bool require_identity) {
    Violations v;
    for (std::string* s : {&f.given_name, &f.family_name, &f.email, &f.phone, &f.company_name, &f.job_title, &f.country,
                           &f.region, &f.source, &f.campaign_id, &f.owner_id}) {
        *s = Trim(*s);
    }
    f.email = Lower(f.email);
    f.source = Lower(f.source);
    std::string country;
    for (char c : f.country) country += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    f.country = country;

    CheckLength(v, f.given_name, kMaxText, prefix + "given_name");
    CheckLength(v, f.family_name, kMaxText, prefix + "family_name");
    CheckLength(v, f.company_name, kMaxText, prefix + "company_name");
    CheckLength(v, f.job_title, kMaxText, prefix + "job_title");
    CheckLength(v, f.region, kMaxText, prefix + "region");
    CheckLength(v, f.source, kMaxText, prefix + "source");
    CheckLength(v, f.campaign_id, kMaxText, prefix + "campaign_id");
    CheckLength(v, f.owner_id, 128, prefix + "owner_id");
    CheckLength(v, f.notes, kMaxNotes, prefix + "notes");
    if (!f.email.empty()) {
        if (f.email.size() > kMaxEmail) {
            v.push_back({prefix + "email", "at most 254 characters"});
        } else if (!IsValidEmail(f.email)) {
            v.push_back({prefix + "email", "must be a plain address such as name@example.com"});
        }
    }
    if (!f.phone.empty()) {
        if (f.phone.size() > kMaxPhone) {
            v.push_back({prefix + "phone", "at most 64 characters"});
        } else if (!IsValidPhone(f.phone)) {
            v.push_back({prefix + "phone", "must be 5 to 15 digits with optional + ( ) - . / and spaces"});
        }
    }
    if (!f.country.empty() && (f.country.size() != 2 || !std::all_of(f.country.begin(), f.country.end(),
                                                                     [](char c) { return c >= 'A' && c <= 'Z'; }))) {
        v.push_back({prefix + "country", "must be an ISO 3166-1 alpha-2 code such as DE"});
    }
    if (f.attributes.size() > kMaxAttributes) v.push_back({prefix + "attributes", "at most 50 attributes"});
    for (auto& [key, value] : f.attributes) {
        if (!IsKey(key)) v.push_back({prefix + "attributes", "key \"" + key + "\" must match [a-z][a-z0-9_]{0,62}"});
        value = Trim(value);
        if (value.size() > kMaxAttributeValue) {
            v.push_back({prefix + "attributes." + key, "at most 500 characters"});
        }
    }
    if (require_identity && f.given_name.empty() && f.family_name.empty() && f.email.empty() && f.phone.empty()) {
        v.push_back({prefix + "email", "a lead needs at least a name, an email or a phone"});
    }
    return v;
}

// --- scoring ------------------------------------------------------------------------------------------------------
bool IsConditionField(const std::string& field) {
    static const std::set<std::string> kFields = {"given_name", "family_name",  "email",       "email_domain",
                                                  "phone",      "company_name", "job_title",   "country",
                                                  "region",     "source",       "campaign_id", "priority"};
    if (kFields.count(field)) return true;
    return field.rfind("attributes.", 0) == 0 && IsKey(field.substr(11));
}

std::optional<std::string> FieldValue(const LeadFields& f, const std::string& field) {
    if (field == "given_name") return f.given_name;
    if (field == "family_name") return f.family_name;
    if (field == "email") return f.email;
    if (field == "email_domain") return EmailDomain(f.email);
    if (field == "phone") return f.phone;
    if (field == "company_name") return f.company_name;
    if (field == "job_title") return f.job_title;
    if (field == "country") return f.country;
    if (field == "region") return f.region;
    if (field == "source") return f.source;
    if (field == "campaign_id") return f.campaign_id;
    if (field == "priority") return Lower(PriorityText(f.priority));
    if (field.rfind("attributes.", 0) == 0) {
        auto it = f.attributes.find(field.substr(11));
        return it == f.attributes.end() ? std::string() : it->second;
    }
    return std::nullopt;
}

Violations ValidateRules(const RuleSet& rules, const std::string& prefix) {
    Violations v;
    if (rules.rules.size() > 200) v.push_back({prefix + "rules", "at most 200 rules"});
    if (!(rules.half_life_days >= 0.1 && rules.half_life_days <= 3650)) {
        v.push_back({prefix + "engagement_half_life_days", "must be between 0.1 and 3650"});
    }
    std::set<std::string> names;
    for (size_t i = 0; i < rules.rules.size(); ++i) {
        const Rule& r = rules.rules[i];
        const std::string p = prefix + "rules[" + std::to_string(i) + "].";
        if (r.name.empty() || r.name.size() > kMaxText) v.push_back({p + "name", "required, at most 200 characters"});
        if (!names.insert(r.name).second) v.push_back({p + "name", "names must be unique"});
        if (r.weight < -1000 || r.weight > 1000) v.push_back({p + "weight", "must be between -1000 and 1000"});
        if (r.is_engagement) {
            if (!IsKey(r.engagement_type)) v.push_back({p + "engagement.type", "must match [a-z][a-z0-9_]{0,62}"});
            continue;
        }
        if (!IsConditionField(r.field)) v.push_back({p + "attribute.field", "unknown field \"" + r.field + "\""});
        switch (r.op) {
            case Operator::kPresent:
                break;
            case Operator::kOneOf:
                if (r.values.empty() || r.values.size() > 100) {
                    v.push_back({p + "attribute.values", "1 to 100 values"});
                }
                break;
            case Operator::kAtLeast:
                if (r.values.size() != 1 || !ParseNumber(r.values[0])) {
                    v.push_back({p + "attribute.values", "exactly one decimal number"});
                }
                break;
            case Operator::kEquals:
            case Operator::kContains:
                if (r.values.size() != 1 || r.values[0].empty()) {
                    v.push_back({p + "attribute.values", "exactly one non-empty value"});
                }
                break;
        }
    }
    return v;
}

namespace {
bool Matches(const Rule& r, const LeadFields& lead) {
    const std::optional<std::string> value = FieldValue(lead, r.field);
    if (!value) return false;
    switch (r.op) {
        case Operator::kPresent:
            return !value->empty();
        case Operator::kEquals:
            return !r.values.empty() && Lower(*value) == Lower(r.values[0]);
        case Operator::kOneOf:
            return std::any_of(r.values.begin(), r.values.end(),
                               [&](const std::string& x) { return Lower(*value) == Lower(x); });
        case Operator::kContains:
            return !r.values.empty() && !value->empty() && ContainsIgnoreCase(*value, r.values[0]);
        case Operator::kAtLeast: {
            const auto number = ParseNumber(*value);
            const auto threshold = r.values.empty() ? std::nullopt : ParseNumber(r.values[0]);
            return number && threshold && *number >= *threshold;
        }
    }
    return false;
}
}  // namespace

Score ComputeScore(const RuleSet& rules, const LeadFields& lead, const std::vector<EngagementFact>& engagements) {
    Score out;
    double total = 0;
    for (const Rule& r : rules.rules) {
        double points = 0;
        if (r.is_engagement) {
            int count = 0;
            for (const EngagementFact& e : engagements) {
                if (e.type != r.engagement_type) continue;
                ++count;
                points += r.weight * std::pow(0.5, std::max(0.0, e.age_days) / rules.half_life_days);
            }
            if (count == 0) continue;
            out.reasons.push_back(
                {count == 1 ? r.name : r.name + " x" + std::to_string(count), std::round(points * 100) / 100});
        } else {
            if (!Matches(r, lead)) continue;
            points = r.weight;
            out.reasons.push_back({r.name, points});
        }
        total += points;
    }
    out.score = static_cast<int>(std::lround(total));
    std::stable_sort(out.reasons.begin(), out.reasons.end(), [](const ScoreReason& a, const ScoreReason& b) {
        return std::abs(a.points) > std::abs(b.points);
    });
    return out;
}

// --- predictive model -----------------------------------------------------------------------------------------------
std::vector<std::string> FeatureSpace(const std::vector<LeadSample>& samples) {
    std::vector<std::string> features = {"priority",    "rule_score",    "has_email",   "has_phone",
                                         "has_company", "has_job_title", "engagements", "outbound_touches"};
    // Categorical values seen in the data, most frequent first (ties by name), capped.
    auto top = [&](auto&& values_of, const std::string& prefix) {
        std::map<std::string, int> counts;
        for (const auto& s : samples) {
            for (const std::string& value : values_of(s)) ++counts[value];
        }
        std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        for (size_t i = 0; i < sorted.size() && i < kMaxCategories; ++i) features.push_back(prefix + sorted[i].first);
    };
    top(
        [](const LeadSample& s) {
            return s.fields.source.empty() ? std::vector<std::string>{} : std::vector<std::string>{s.fields.source};
        },
        "source=");
    top(
        [](const LeadSample& s) {
            std::set<std::string> types;
            for (const auto& e : s.engagements) types.insert(e.type);
            return std::vector<std::string>(types.begin(), types.end());
        },
        "engagement:");
    top(
        [](const LeadSample& s) {
            std::vector<std::string> keys;
            for (const auto& [k, v] : s.fields.attributes) {
                if (ParseNumber(v)) keys.push_back(k);
            }
            return keys;
        },
        "attributes.");
    return features;
}

std::vector<double> Featurize(const std::vector<std::string>& features, const LeadSample& s) {
    std::vector<double> x;
    x.reserve(features.size());
    for (const std::string& name : features) {
        double value = 0;
        if (name == "priority") {
            value = static_cast<double>(s.fields.priority);
        } else if (name == "rule_score") {
            value = s.rule_score;
        } else if (name == "has_email") {
            value = s.fields.email.empty() ? 0 : 1;
        } else if (name == "has_phone") {
            value = s.fields.phone.empty() ? 0 : 1;
        } else if (name == "has_company") {
            value = s.fields.company_name.empty() ? 0 : 1;
        } else if (name == "has_job_title") {
            value = s.fields.job_title.empty() ? 0 : 1;
        } else if (name == "engagements") {
            value = static_cast<double>(s.engagements.size());
        } else if (name == "outbound_touches") {
            value = static_cast<double>(std::count_if(s.engagements.begin(), s.engagements.end(),
                                                      [](const EngagementFact& e) { return e.outbound; }));
        } else if (name.rfind("source=", 0) == 0) {
            value = s.fields.source == name.substr(7) ? 1 : 0;
        } else if (name.rfind("engagement:", 0) == 0) {
            const std::string type = name.substr(11);
            value = static_cast<double>(std::count_if(s.engagements.begin(), s.engagements.end(),
                                                      [&](const EngagementFact& e) { return e.type == type; }));
        } else if (name.rfind("attributes.", 0) == 0) {
            auto it = s.fields.attributes.find(name.substr(11));
            if (it != s.fields.attributes.end()) value = ParseNumber(it->second).value_or(0);
        }
        x.push_back(value);
    }
    return x;
}

double Auc(const std::vector<double>& scores, const std::vector<bool>& labels) {
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    // Mann-Whitney U with average ranks for ties.
    double rank_sum = 0;
    size_t positives = 0;
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
        const double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2.0;  // 1-based
        for (size_t k = i; k < j; ++k) {
            if (labels[order[k]]) {
                rank_sum += avg_rank;
                ++positives;
            }
        }
        i = j;
    }
    const size_t negatives = scores.size() - positives;
    if (positives == 0 || negatives == 0) return 0.5;
    const double p = static_cast<double>(positives);
    return (rank_sum - p * (p + 1) / 2.0) / (p * static_cast<double>(negatives));
}

Model Train(const std::vector<LeadSample>& samples, const TrainSettings& settings) {
    Model m;
    m.features = FeatureSpace(samples);
    const size_t n = samples.size(), d = m.features.size();
    std::vector<std::vector<double>> x;
    x.reserve(n);
    std::vector<double> y(n);
    for (size_t i = 0; i < n; ++i) {
        x.push_back(Featurize(m.features, samples[i]));
        y[i] = samples[i].converted ? 1.0 : 0.0;
        (samples[i].converted ? m.positives : m.negatives)++;
    }
    m.mean.assign(d, 0);
    m.scale.assign(d, 1);
    for (size_t j = 0; j < d && n > 0; ++j) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n; ++i) sum += x[i][j];
        const double mean = sum / static_cast<double>(n);
        for (size_t i = 0; i < n; ++i) sq += (x[i][j] - mean) * (x[i][j] - mean);
        const double sd = std::sqrt(sq / static_cast<double>(n));
        m.mean[j] = mean;
        m.scale[j] = sd > 1e-9 ? sd : 1.0;
        for (size_t i = 0; i < n; ++i) x[i][j] = (x[i][j] - mean) / m.scale[j];
    }
    m.weights.assign(d, 0);
    m.intercept = 0;
    std::vector<double> grad(d);
    for (int it = 0; it < settings.iterations && n > 0; ++it) {
        std::fill(grad.begin(), grad.end(), 0.0);
        double grad_b = 0;
        for (size_t i = 0; i < n; ++i) {
            double z = m.intercept;
            for (size_t j = 0; j < d; ++j) z += m.weights[j] * x[i][j];
            const double err = Sigmoid(z) - y[i];
            grad_b += err;
            for (size_t j = 0; j < d; ++j) grad[j] += err * x[i][j];
        }
        const double inv = 1.0 / static_cast<double>(n);
        m.intercept -= settings.learning_rate * grad_b * inv;
        for (size_t j = 0; j < d; ++j) {
            m.weights[j] -= settings.learning_rate * (grad[j] * inv + settings.l2 * m.weights[j]);
        }
    }
    std::vector<double> scores;
    std::vector<bool> labels;
    for (const auto& s : samples) {
        scores.push_back(Predict(m, s));
        labels.push_back(s.converted);
    }
    m.training_auc = Auc(scores, labels);
    return m;
}

double Predict(const Model& m, const LeadSample& sample) {
    const std::vector<double> x = Featurize(m.features, sample);
    double z = m.intercept;
    for (size_t j = 0; j < x.size(); ++j) z += m.weights[j] * (x[j] - m.mean[j]) / m.scale[j];
    return Sigmoid(z);
}

std::vector<std::pair<std::string, double>> TopFactors(const Model& m, const LeadSample& sample, int top) {
    const std::vector<double> x = Featurize(m.features, sample);
    std::vector<std::pair<std::string, double>> out;
    for (size_t j = 0; j < x.size(); ++j)
        out.emplace_back(m.features[j], m.weights[j] * (x[j] - m.mean[j]) / m.scale[j]);
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return std::abs(a.second) > std::abs(b.second); });
    if (out.size() > static_cast<size_t>(std::max(0, top))) out.resize(static_cast<size_t>(std::max(0, top)));
    return out;
}

// --- assignment -----------------------------------------------------------------------------------------------------
std::optional<size_t> PickRoundRobin(const std::vector<Member>& members, std::int64_t position) {
    const auto n = static_cast<std::int64_t>(members.size());
    if (n == 0) return std::nullopt;
    const std::int64_t start = ((position % n) + n) % n;
    for (std::int64_t k = 0; k < n; ++k) {
        const auto i = static_cast<size_t>((start + k) % n);
        if (members[i].max_open_leads == 0 || members[i].open_leads < members[i].max_open_leads) return i;
    }
    return std::nullopt;
}

// --- web-form tokens --------------------------------------------------------------------------------------------
std::string SignFormToken(const FormTokenClaims& c, std::string_view key) {
    const std::string payload = c.tenant + "|" + c.form_id + "|" + std::to_string(c.issued_unix_ms) + "|" + c.nonce;
    const std::string body = common::Base64UrlEncode(payload);
    return body + "." + common::Base64UrlEncode(common::HmacSha256(key, "crm.leads.form-token|" + body));
}

std::optional<FormTokenClaims> VerifyFormToken(std::string_view token, std::string_view key) {
    if (token.size() > 1024) return std::nullopt;
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string body(token.substr(0, dot));
    std::string signature, payload;
    try {
        signature = common::Base64UrlDecode(token.substr(dot + 1));
        payload = common::Base64UrlDecode(body);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (!common::ConstantTimeEquals(signature, common::HmacSha256(key, "crm.leads.form-token|" + body))) {
        return std::nullopt;
    }
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= payload.size(); ++i) {
        if (i == payload.size() || payload[i] == '|') {
            parts.push_back(payload.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() != 4) return std::nullopt;
    FormTokenClaims c{parts[0], parts[1], 0, parts[3]};
    try {
        c.issued_unix_ms = std::stoll(parts[2]);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return c;
}

}  // namespace crm::leads::domain
