// Repository of the leads service.
#include "storage/repository.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "storage/sql.hpp"

namespace crm::leads::storage {
namespace {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;
using google::protobuf::Timestamp;

constexpr char kAggregate[] = "lead";
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";
constexpr std::int64_t kMinMicros = -62135596800000000LL;

Timestamp FromMicros(std::int64_t micros) {
    Timestamp t;
    std::int64_t seconds = micros / 1000000;
    std::int64_t rest = micros % 1000000;
    if (rest < 0) {
        rest += 1000000;
        --seconds;
    }
    t.set_seconds(seconds);
    t.set_nanos(static_cast<int>(rest * 1000));
    return t;
}

std::int64_t ToMicros(const Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

std::string Str(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

void SetTime(const pqxx::field& f, Timestamp* out) { *out = FromMicros(f.as<std::int64_t>()); }

v1::LeadStatus StatusProto(const std::string& text) {
    v1::LeadStatus s = v1::LEAD_STATUS_UNSPECIFIED;
    v1::LeadStatus_Parse("LEAD_STATUS_" + text, &s);
    return s;
}
v1::LeadPriority PriorityProto(const std::string& text) {
    v1::LeadPriority p = v1::LEAD_PRIORITY_UNSPECIFIED;
    v1::LeadPriority_Parse("LEAD_PRIORITY_" + text, &p);
    return p;
}
v1::CaptureChannel ChannelProto(const std::string& text) {
    v1::CaptureChannel c = v1::CAPTURE_CHANNEL_UNSPECIFIED;
    v1::CaptureChannel_Parse("CAPTURE_CHANNEL_" + text, &c);
    return c;
}
std::string StatusText(v1::LeadStatus s) {
    if (!v1::LeadStatus_IsValid(s) || s == v1::LEAD_STATUS_UNSPECIFIED) return "NEW";
    return v1::LeadStatus_Name(s).substr(std::string("LEAD_STATUS_").size());
}
std::string PriorityText(v1::LeadPriority p) {
    if (!v1::LeadPriority_IsValid(p) || p == v1::LEAD_PRIORITY_UNSPECIFIED) return "MEDIUM";
    return v1::LeadPriority_Name(p).substr(std::string("LEAD_PRIORITY_").size());
}
domain::Status StatusDomain(v1::LeadStatus s) {
    return domain::ParseStatus(StatusText(s)).value_or(domain::Status::kNew);
}

v1::Lead ReadLead(const pqxx::row& r) {
    v1::Lead l;
    l.set_id(r[0].as<std::string>());
    l.set_given_name(r[1].as<std::string>());
    l.set_family_name(r[2].as<std::string>());
    l.set_email(r[3].as<std::string>());
    l.set_phone(r[4].as<std::string>());
    l.set_company_name(r[5].as<std::string>());
    l.set_job_title(r[6].as<std::string>());
    l.set_country(r[7].as<std::string>());
    l.set_region(r[8].as<std::string>());
    l.set_source(r[9].as<std::string>());
    l.set_campaign_id(r[10].as<std::string>());
    l.set_owner_id(r[11].as<std::string>());
    l.set_team_id(r[12].as<std::string>());
    l.set_priority(PriorityProto(r[13].as<std::string>()));
    l.set_status(StatusProto(r[14].as<std::string>()));
    l.set_status_reason(r[15].as<std::string>());
    l.set_notes(r[16].as<std::string>());
    const nlohmann::json attributes = nlohmann::json::parse(r[17].as<std::string>());
    for (const auto& [k, v] : attributes.items()) (*l.mutable_attributes())[k] = v.get<std::string>();
    l.set_score(r[18].as<int>());
    for (const auto& reason : nlohmann::json::parse(r[19].as<std::string>())) {
        auto* out = l.add_score_reasons();
        out->set_rule(reason.at("rule").get<std::string>());
        out->set_points(reason.at("points").get<double>());
    }
    l.set_capture_channel(ChannelProto(r[20].as<std::string>()));
    l.set_web_form_id(r[21].as<std::string>());
    if (r[22].as<bool>() || !r[23].as<std::string>().empty()) {
        auto* c = l.mutable_consent();
        c->set_granted(r[22].as<bool>());
        c->set_text(r[23].as<std::string>());
        c->set_version(r[24].as<std::string>());
        if (!r[25].is_null()) SetTime(r[25], c->mutable_capture_time());
    }
    if (!r[26].is_null()) SetTime(r[26], l.mutable_first_touch_deadline());
    if (!r[27].is_null()) SetTime(r[27], l.mutable_first_touch_time());
    if (!r[28].is_null()) SetTime(r[28], l.mutable_sla_breach_time());
    if (!r[34].is_null()) {
        auto* c = l.mutable_conversion();
        c->set_contact_id(Str(r[29]));
        c->set_company_id(Str(r[30]));
        c->set_opportunity_id(r[31].as<std::string>());
        c->set_contact_existed(r[32].as<bool>());
        c->set_company_existed(r[33].as<bool>());
        SetTime(r[34], c->mutable_convert_time());
    }
    l.set_version(r[35].as<std::int64_t>());
    l.set_etag(common::MakeEtag(l.version()));
    SetTime(r[36], l.mutable_create_time());
    SetTime(r[37], l.mutable_update_time());
    return l;
}

std::string AttributesJson(const v1::Lead& l) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : l.attributes()) j[k] = v;
    return j.dump();
}

std::string ReasonsJson(const v1::Lead& l) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : l.score_reasons()) j.push_back({{"rule", r.rule()}, {"points", r.points()}});
    return j.dump();
}

std::string ToJson(const google::protobuf::Message& m) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) {
        throw std::runtime_error("cannot serialize settings");
    }
    return out;
}

template <class M>
M FromJson(const std::string& json) {
    M m;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(json, &m, options).ok()) {
        throw std::runtime_error("stored settings are not readable");
    }
    return m;
}

v1::Lead LoadLead(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                  bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetLeadForUpdate : sql::kGetLead, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("lead", id);
    return ReadLead(rows[0]);
}

void CheckEtag(const std::string& etag, const v1::Lead& lead) {
    if (etag.empty()) return;
    const auto version = common::ParseEtag(etag);
    if (!version || *version != lead.version()) {
        throw ApiError::Aborted("the lead was changed since it was read (etag mismatch); read it and retry");
    }
}

void RequireNotConverted(const v1::Lead& lead) {
    if (lead.status() == v1::LEAD_STATUS_CONVERTED) {
        throw ApiError::FailedPrecondition("lead " + lead.id() + " is converted and read-only", "LEAD_CONVERTED");
    }
}

std::optional<std::string> ClaimRequest(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                        const std::string& operation, const std::string& request_id,
                                        const std::string& resource_id) {
    if (request_id.empty()) return std::nullopt;
    if (!db.Exec(tx, sql::kClaimRequest, tenant, operation, request_id, resource_id).empty()) return std::nullopt;
    const pqxx::result existing = db.Exec(tx, sql::kClaimedResource, tenant, operation, request_id);
    if (existing.empty()) throw ApiError::Aborted("request_id is in use by a concurrent call", "RETRY");
    return existing[0][0].as<std::string>();
}

// --- settings -----------------------------------------------------------------------------------------------------
struct Setting {
    std::string body;
    std::int64_t version = 0;
    std::int64_t update_micros = 0;
};

std::optional<Setting> LoadSetting(common::Db& db, pqxx::work& tx, const std::string& tenant, const char* kind) {
    const pqxx::result rows = db.Exec(tx, sql::kGetSetting, tenant, kind);
    if (rows.empty()) return std::nullopt;
    return Setting{rows[0][0].as<std::string>(), rows[0][1].as<std::int64_t>(), rows[0][2].as<std::int64_t>()};
}

v1::ScoringRules LoadRules(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    const auto s = LoadSetting(db, tx, tenant, "scoring_rules");
    v1::ScoringRules rules;
    if (s) {
        rules = FromJson<v1::ScoringRules>(s->body);
        *rules.mutable_update_time() = FromMicros(s->update_micros);
    }
    if (rules.engagement_half_life_days() <= 0) rules.set_engagement_half_life_days(30);
    return rules;
}

v1::AssignmentConfig LoadAssignment(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    const auto s = LoadSetting(db, tx, tenant, "assignment");
    v1::AssignmentConfig config;
    if (s) {
        config = FromJson<v1::AssignmentConfig>(s->body);
        *config.mutable_update_time() = FromMicros(s->update_micros);
    }
    return config;
}

domain::Operator OperatorDomain(v1::ConditionOperator op) {
    switch (op) {
        case v1::CONDITION_OPERATOR_ONE_OF:
            return domain::Operator::kOneOf;
        case v1::CONDITION_OPERATOR_PRESENT:
            return domain::Operator::kPresent;
        case v1::CONDITION_OPERATOR_AT_LEAST:
            return domain::Operator::kAtLeast;
        case v1::CONDITION_OPERATOR_CONTAINS:
            return domain::Operator::kContains;
        default:
            return domain::Operator::kEquals;
    }
}

// --- scoring ------------------------------------------------------------------------------------------------------
std::vector<domain::EngagementFact> LoadEngagements(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                                    const std::string& lead_id) {
    std::vector<domain::EngagementFact> facts;
    for (const auto& row : db.Exec(tx, sql::kEngagementsOf, tenant, lead_id)) {
        facts.push_back({row[0].as<std::string>(), row[2].as<double>(), row[1].as<std::string>() == "OUTBOUND"});
    }
    return facts;
}

// Recomputes the lead's score in place; returns the previous score.
int Rescore(common::Db& db, pqxx::work& tx, const std::string& tenant, v1::Lead& lead) {
    const int previous = lead.score();
    const domain::RuleSet rules = RulesFromProto(LoadRules(db, tx, tenant));
    const std::vector<domain::EngagementFact> engagements =
        lead.id().empty() ? std::vector<domain::EngagementFact>{} : LoadEngagements(db, tx, tenant, lead.id());
    const domain::Score score = domain::ComputeScore(rules, FieldsFromProto(lead), engagements);
    lead.set_score(score.score);
    lead.clear_score_reasons();
    for (const auto& r : score.reasons) {
        auto* out = lead.add_score_reasons();
        out->set_rule(r.rule);
        out->set_points(r.points);
    }
    return previous;
}

// --- assignment -----------------------------------------------------------------------------------------------------
std::optional<std::int64_t> SlaSeconds(const v1::AssignmentConfig& config, v1::LeadPriority priority) {
    if (priority == v1::LEAD_PRIORITY_UNSPECIFIED) priority = v1::LEAD_PRIORITY_MEDIUM;
    for (const auto& p : config.sla_policies()) {
        if (p.priority() == priority) return static_cast<std::int64_t>(p.first_touch_minutes()) * 60;
    }
    return std::nullopt;
}

const v1::Team* FindTeam(const v1::AssignmentConfig& config, const std::string& id) {
    for (const auto& t : config.teams()) {
        if (t.id() == id) return &t;
    }
    return nullptr;
}

// The team of the first rule matching the lead, else the default team; nullptr when none.
const v1::Team* RouteTeam(const v1::AssignmentConfig& config, const v1::Lead& lead) {
    auto eq = [](const std::string& want, const std::string& have) {
        return want.empty() || domain::Lower(want) == domain::Lower(have);
    };
    for (const auto& rule : config.rules()) {
        if (eq(rule.country(), lead.country()) && eq(rule.region(), lead.region()) &&
            eq(rule.source(), lead.source())) {
            return FindTeam(config, rule.team_id());
        }
    }
    return config.default_team_id().empty() ? nullptr : FindTeam(config, config.default_team_id());
}

// Round-robin pick in `team`, serialized per team by the cursor row lock; nullopt when every member is full.
std::optional<std::string> PickOwner(common::Db& db, pqxx::work& tx, const std::string& tenant, const v1::Team& team) {
    db.Exec(tx, sql::kEnsureCursor, tenant, team.id());
    const std::int64_t position = db.Exec(tx, sql::kCursorForUpdate, tenant, team.id())[0][0].as<std::int64_t>();
    std::vector<domain::Member> members;
    for (const auto& m : team.members()) {
        domain::Member member{m.user_id(), m.max_open_leads(), 0};
        if (m.max_open_leads() > 0)
            member.open_leads = db.Exec(tx, sql::kOpenLeadsOf, tenant, m.user_id())[0][0].as<int>();
        members.push_back(std::move(member));
    }
    const auto pick = domain::PickRoundRobin(members, position);
    if (!pick) return std::nullopt;
    db.Exec(tx, sql::kAdvanceCursor, tenant, team.id(), static_cast<std::int64_t>(*pick) + 1);
    return members[*pick].user_id;
}

// --- writes -------------------------------------------------------------------------------------------------------
v1::Lead WriteLead(common::Db& db, pqxx::work& tx, const std::string& tenant, const v1::Lead& l, int version_step,
                   bool touch, std::int64_t expected_version) {
    const std::string deadline = l.has_first_touch_deadline() ? std::to_string(ToMicros(l.first_touch_deadline())) : "";
    const auto& c = l.conversion();
    const pqxx::result rows =
        db.Exec(tx, sql::kWriteLead, tenant, l.id(), l.given_name(), l.family_name(), l.email(), l.phone(),
                l.company_name(), l.job_title(), l.country(), l.region(), l.source(), l.campaign_id(), l.owner_id(),
                l.team_id(), PriorityText(l.priority()), StatusText(l.status()), l.status_reason(), l.notes(),
                AttributesJson(l), l.score(), ReasonsJson(l), common::NullIfEmpty(deadline), touch,
                common::NullIfEmpty(c.contact_id()), common::NullIfEmpty(c.company_id()), c.opportunity_id(),
                c.contact_existed(), c.company_existed(), version_step, expected_version);
    if (rows.empty()) {
        throw ApiError::Aborted("the lead was changed concurrently; read it and retry", "CONCURRENT_MODIFICATION");
    }
    return ReadLead(rows[0]);
}

// Appends events for consecutive versions ending at lead.version(); each snapshot carries its own version.
class EventBatch {
  public:
    EventBatch() = default;
    template <class E>
    E& Add() {
        auto event = std::make_unique<E>();
        E& ref = *event;
        events_.push_back(std::move(event));
        return ref;
    }
    int size() const { return static_cast<int>(events_.size()); }
    // Sets the snapshot of every event (lead after the write, version adjusted) and appends them.
    void Append(common::Outbox& outbox, pqxx::work& tx, const std::string& tenant, const std::string& request_id,
                const v1::Lead& written) {
        std::int64_t version = written.version() - size() + 1;
        for (auto& e : events_) {
            v1::Lead snapshot = written;
            snapshot.set_version(version);
            snapshot.set_etag(common::MakeEtag(version));
            const auto* field = e->GetDescriptor()->FindFieldByName("lead");
            e->GetReflection()->MutableMessage(e.get(), field)->CopyFrom(snapshot);
            outbox.Append(tx, tenant, request_id, common::NewEvent{kAggregate, written.id(), version, *e});
            ++version;
        }
    }

  private:
    std::vector<std::unique_ptr<google::protobuf::Message>> events_;
};

void AddScored(EventBatch& batch, const v1::Lead& lead, int previous) {
    if (lead.score() == previous) return;
    auto& e = batch.Add<ev1::LeadScored>();
    e.set_previous_score(previous);
    e.set_score(lead.score());
    *e.mutable_reasons() = lead.score_reasons();
}

struct Cursor {
    std::int64_t micros = kMinMicros;
    std::string id = kNilUuid;
};

}  // namespace

domain::LeadFields FieldsFromProto(const v1::Lead& l) {
    domain::LeadFields f;
    f.given_name = l.given_name();
    f.family_name = l.family_name();
    f.email = l.email();
    f.phone = l.phone();
    f.company_name = l.company_name();
    f.job_title = l.job_title();
    f.country = l.country();
    f.region = l.region();
    f.source = l.source();
    f.campaign_id = l.campaign_id();
    f.owner_id = l.owner_id();
    f.notes = l.notes();
    f.priority = domain::ParsePriority(PriorityText(l.priority())).value_or(domain::Priority::kMedium);
    f.attributes.insert(l.attributes().begin(), l.attributes().end());
    return f;
}

domain::RuleSet RulesFromProto(const v1::ScoringRules& rules) {
    domain::RuleSet out;
    out.half_life_days = rules.engagement_half_life_days() > 0 ? rules.engagement_half_life_days() : 30.0;
    for (const auto& r : rules.rules()) {
        domain::Rule rule;
        rule.name = r.name();
        rule.weight = r.weight();
        if (r.has_engagement()) {
            rule.is_engagement = true;
            rule.engagement_type = r.engagement().type();
        } else {
            rule.field = r.attribute().field();
            rule.op = OperatorDomain(r.attribute().operator_());
            rule.values.assign(r.attribute().values().begin(), r.attribute().values().end());
        }
        out.rules.push_back(std::move(rule));
    }
    return out;
}

Repository::Repository(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

namespace {
v1::Lead InsertLead(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const std::string& tenant,
                    const std::string& request_id, const std::string& id, const domain::LeadFields& f,
                    const CreateOptions& o) {
    if (!f.email.empty()) {
        // Concurrent creates of one address queue here, so the check below cannot race.
        db.Exec(tx, sql::kLockKey, "leads.email:" + tenant + ":" + f.email);
        const pqxx::result existing = db.Exec(tx, sql::kOpenLeadByEmail, tenant, f.email);
        if (!existing.empty()) {
            throw ApiError::AlreadyExists("an open lead with this email exists: " + existing[0][0].as<std::string>(),
                                          "DUPLICATE_LEAD")
                .With("existing_id", existing[0][0].as<std::string>());
        }
    }
    v1::Lead lead;
    lead.set_given_name(f.given_name);
    lead.set_family_name(f.family_name);
    lead.set_email(f.email);
    lead.set_phone(f.phone);
    lead.set_company_name(f.company_name);
    lead.set_job_title(f.job_title);
    lead.set_country(f.country);
    lead.set_region(f.region);
    lead.set_source(f.source);
    lead.set_campaign_id(f.campaign_id);
    lead.set_owner_id(f.owner_id);
    lead.set_priority(PriorityProto(domain::PriorityText(f.priority)));
    lead.set_notes(f.notes);
    lead.mutable_attributes()->insert(f.attributes.begin(), f.attributes.end());
    Rescore(db, tx, tenant, lead);
    const v1::AssignmentConfig config = LoadAssignment(db, tx, tenant);
    if (lead.owner_id().empty()) {
        if (const v1::Team* team = RouteTeam(config, lead)) {
            if (auto owner = PickOwner(db, tx, tenant, *team)) {
                lead.set_owner_id(*owner);
                lead.set_team_id(team->id());
            }
        }
    }
    const auto sla = SlaSeconds(config, lead.priority());
    const std::string sla_text = sla ? std::to_string(*sla) : "";
    const std::string channel = v1::CaptureChannel_Name(o.channel).substr(std::string("CAPTURE_CHANNEL_").size());
    const pqxx::result rows =
        db.Exec(tx, sql::kInsertLead, tenant, id, lead.given_name(), lead.family_name(), lead.email(), lead.phone(),
                lead.company_name(), lead.job_title(), lead.country(), lead.region(), lead.source(), lead.campaign_id(),
                lead.owner_id(), lead.team_id(), PriorityText(lead.priority()), lead.notes(), AttributesJson(lead),
                lead.score(), ReasonsJson(lead), channel, o.web_form_id, o.consent_granted, o.consent_text,
                o.consent_version, o.has_consent, common::NullIfEmpty(sla_text));
    v1::Lead created = ReadLead(rows[0]);
    EventBatch batch;
    batch.Add<ev1::LeadCreated>();
    batch.Append(outbox, tx, tenant, request_id, created);
    return created;
}
}  // namespace

v1::Lead Repository::CreateLead(const common::RequestContext& rc, const domain::LeadFields& f, const CreateOptions& o) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, rc.tenant_id, o.operation, o.request_id, id)) {
            return LoadLead(db_, tx, rc.tenant_id, *first);
        }
        return InsertLead(db_, outbox_, tx, rc.tenant_id, rc.request_id, id, f, o);
    });
}

v1::Lead Repository::GetLead(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadLead(db_, tx, rc.tenant_id, id); });
}

LeadPage Repository::ListLeads(const common::RequestContext& rc, const ListQuery& q) {
    const std::string scope =
        nlohmann::json::array({"ListLeads", q.status, q.owner_id, q.source, q.campaign_id}).dump();
    const std::vector<std::string> keys = common::DecodePageToken(q.page_token, rc.tenant_id, scope, 2);
    Cursor cursor;
    if (!keys.empty()) {
        try {
            size_t used = 0;
            cursor.micros = std::stoll(keys[0], &used);
            if (used != keys[0].size() || !common::IsUuid(keys[1])) throw std::invalid_argument("bad key");
            cursor.id = keys[1];
        } catch (const std::exception&) {
            throw ApiError::InvalidArgument("page_token", "malformed page token");
        }
    }
    // One equality filter at most becomes part of the index prefix; each combination is its own named statement.
    std::string text = std::string("SELECT ") + sql::kLeadColumns + " FROM leads WHERE tenant_id = $1";
    std::string name = "leads_list";
    std::vector<std::string> params = {rc.tenant_id, std::to_string(cursor.micros), cursor.id,
                                       std::to_string(q.page_size + 1)};
    auto filter = [&](const std::string& value, const char* column) {
        if (value.empty()) return;
        params.push_back(value);
        text += std::string(" AND ") + column + " = $" + std::to_string(params.size());
        name += std::string("_") + column;
    };
    filter(q.status, "status");
    filter(q.owner_id, "owner_id");
    filter(q.source, "source");
    filter(q.campaign_id, "campaign_id");
    text +=
        " AND (create_time, id) > (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)"
        " ORDER BY create_time, id LIMIT $4::int";
    const common::Sql statement{name.c_str(), text.c_str()};
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        pqxx::result rows;
        switch (params.size()) {
            case 4:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3]);
                break;
            case 5:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3], params[4]);
                break;
            case 6:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3], params[4], params[5]);
                break;
            case 7:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3], params[4], params[5],
                                params[6]);
                break;
            default:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3], params[4], params[5],
                                params[6], params[7]);
        }
        LeadPage page;
        for (const auto& row : rows) page.leads.push_back(ReadLead(row));
        if (static_cast<int>(page.leads.size()) > q.page_size) {
            page.leads.resize(static_cast<size_t>(q.page_size));
            const v1::Lead& last = page.leads.back();
            page.next_page_token =
                common::EncodePageToken(rc.tenant_id, scope, {std::to_string(ToMicros(last.create_time())), last.id()});
        }
        return page;
    });
}

v1::Lead Repository::UpdateLead(const common::RequestContext& rc, const std::string& id,
                                const std::vector<std::string>& paths, const domain::LeadFields& p,
                                const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, lead);
        RequireNotConverted(lead);
        const v1::Lead before = lead;
        std::vector<std::string> changed;
        auto set = [&](const char* path, std::string* field, const std::string& value) {
            const bool named = std::find(paths.begin(), paths.end(), path) != paths.end();
            if (!(named || (paths.empty() && !value.empty()))) return;
            if (*field != value) {
                *field = value;
                changed.push_back(path);
            }
        };
        set("given_name", lead.mutable_given_name(), p.given_name);
        set("family_name", lead.mutable_family_name(), p.family_name);
        set("email", lead.mutable_email(), p.email);
        set("phone", lead.mutable_phone(), p.phone);
        set("company_name", lead.mutable_company_name(), p.company_name);
        set("job_title", lead.mutable_job_title(), p.job_title);
        set("country", lead.mutable_country(), p.country);
        set("region", lead.mutable_region(), p.region);
        set("source", lead.mutable_source(), p.source);
        set("campaign_id", lead.mutable_campaign_id(), p.campaign_id);
        set("notes", lead.mutable_notes(), p.notes);
        const bool priority_named = std::find(paths.begin(), paths.end(), "priority") != paths.end();
        const v1::LeadPriority priority = PriorityProto(domain::PriorityText(p.priority));
        if ((priority_named || (paths.empty() && p.priority != domain::Priority::kMedium)) &&
            priority != lead.priority()) {
            lead.set_priority(priority);
            changed.push_back("priority");
        }
        const bool attributes_named = std::find(paths.begin(), paths.end(), "attributes") != paths.end();
        if (attributes_named || (paths.empty() && !p.attributes.empty())) {
            std::map<std::string, std::string> current(lead.attributes().begin(), lead.attributes().end());
            if (current != p.attributes) {
                lead.clear_attributes();
                lead.mutable_attributes()->insert(p.attributes.begin(), p.attributes.end());
                changed.push_back("attributes");
            }
        }
        if (!lead.email().empty() && lead.email() != before.email()) {
            db_.Exec(tx, sql::kLockKey, "leads.email:" + rc.tenant_id + ":" + lead.email());
            const pqxx::result existing = db_.Exec(tx, sql::kOpenLeadByEmail, rc.tenant_id, lead.email());
            if (!existing.empty() && existing[0][0].as<std::string>() != lead.id()) {
                throw ApiError::AlreadyExists(
                    "an open lead with this email exists: " + existing[0][0].as<std::string>(), "DUPLICATE_LEAD")
                    .With("existing_id", existing[0][0].as<std::string>());
            }
        }
        if (changed.empty()) return lead;
        if (lead.priority() != before.priority() && !lead.has_first_touch_time() && !lead.has_sla_breach_time()) {
            const auto sla = SlaSeconds(LoadAssignment(db_, tx, rc.tenant_id), lead.priority());
            if (sla) {
                *lead.mutable_first_touch_deadline() = FromMicros(ToMicros(lead.create_time()) + *sla * 1000000);
            } else {
                lead.clear_first_touch_deadline();
            }
        }
        const int previous = Rescore(db_, tx, rc.tenant_id, lead);
        EventBatch batch;
        auto& updated = batch.Add<ev1::LeadUpdated>();
        for (const auto& path : changed) updated.add_changed_paths(path);
        AddScored(batch, lead, previous);
        const v1::Lead written = WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), false, before.version());
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

v1::Lead Repository::ChangeStatus(const common::RequestContext& rc, const std::string& id, domain::Status to,
                                  const std::string& reason, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, lead);
        const domain::Status from = StatusDomain(lead.status());
        if (!domain::TransitionAllowed(from, to)) {
            throw ApiError::FailedPrecondition(
                std::string("a lead cannot move from ") + domain::StatusText(from) + " to " + domain::StatusText(to),
                "INVALID_TRANSITION");
        }
        const std::int64_t expected = lead.version();
        const bool first_touch = !lead.has_first_touch_time();
        lead.set_status(StatusProto(domain::StatusText(to)));
        lead.set_status_reason(reason);
        const int previous = Rescore(db_, tx, rc.tenant_id, lead);
        EventBatch batch;
        auto& changed = batch.Add<ev1::LeadStatusChanged>();
        changed.set_from_status(StatusProto(domain::StatusText(from)));
        changed.set_to_status(lead.status());
        changed.set_reason(reason);
        changed.set_first_touch(first_touch);
        AddScored(batch, lead, previous);
        const v1::Lead written = WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), true, expected);
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

namespace {
v1::Engagement ReadEngagement(const pqxx::row& r) {
    v1::Engagement e;
    e.set_id(r[0].as<std::string>());
    e.set_type(r[1].as<std::string>());
    e.set_direction(r[2].as<std::string>() == "OUTBOUND" ? v1::ENGAGEMENT_DIRECTION_OUTBOUND
                                                         : v1::ENGAGEMENT_DIRECTION_INBOUND);
    *e.mutable_occur_time() = FromMicros(r[3].as<std::int64_t>());
    e.set_detail(r[4].as<std::string>());
    return e;
}

std::pair<v1::Lead, v1::Engagement> AddEngagement(common::Db& db, common::Outbox& outbox, pqxx::work& tx,
                                                  const std::string& tenant, const std::string& request_id,
                                                  v1::Lead lead, const v1::Engagement& in, const std::string& id) {
    const bool outbound = in.direction() == v1::ENGAGEMENT_DIRECTION_OUTBOUND;
    const std::string occur = in.has_occur_time() ? std::to_string(ToMicros(in.occur_time())) : "";
    const v1::Engagement stored =
        ReadEngagement(db.Exec(tx, sql::kInsertEngagement, tenant, id, lead.id(), in.type(),
                               outbound ? "OUTBOUND" : "INBOUND", common::NullIfEmpty(occur), in.detail())[0]);
    const std::int64_t expected = lead.version();
    const bool first_touch = outbound && !lead.has_first_touch_time();
    const int previous = Rescore(db, tx, tenant, lead);
    EventBatch batch;
    auto& recorded = batch.Add<ev1::LeadEngagementRecorded>();
    *recorded.mutable_engagement() = stored;
    recorded.set_first_touch(first_touch);
    AddScored(batch, lead, previous);
    const v1::Lead written = WriteLead(db, tx, tenant, lead, batch.size(), outbound, expected);
    batch.Append(outbox, tx, tenant, request_id, written);
    return {written, stored};
}
}  // namespace

std::pair<v1::Lead, v1::Engagement> Repository::RecordEngagement(const common::RequestContext& rc,
                                                                 const std::string& lead_id,
                                                                 const v1::Engagement& engagement,
                                                                 const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, lead_id, true);
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, rc.tenant_id, "RecordEngagement", request_id, id)) {
            const pqxx::result rows = db_.Exec(tx, sql::kGetEngagement, rc.tenant_id, *first);
            return std::make_pair(lead, ReadEngagement(rows.at(0)));
        }
        RequireNotConverted(lead);
        return AddEngagement(db_, outbox_, tx, rc.tenant_id, rc.request_id, lead, engagement, id);
    });
}

v1::ScoringRules Repository::GetScoringRules(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadRules(db_, tx, rc.tenant_id); });
}

v1::ScoringRules Repository::UpdateScoringRules(const common::RequestContext& rc, const v1::ScoringRules& rules) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::ScoringRules stored = rules;
        stored.clear_update_time();
        if (stored.engagement_half_life_days() <= 0) stored.set_engagement_half_life_days(30);
        const pqxx::result rows = db_.Exec(tx, sql::kPutSetting, rc.tenant_id, "scoring_rules", ToJson(stored));
        *stored.mutable_update_time() = FromMicros(rows[0][1].as<std::int64_t>());
        return stored;
    });
}

namespace {
domain::LeadSample SampleOf(const v1::Lead& lead, std::vector<domain::EngagementFact> engagements) {
    domain::LeadSample s;
    s.fields = FieldsFromProto(lead);
    s.engagements = std::move(engagements);
    s.rule_score = lead.score();
    s.converted = lead.status() == v1::LEAD_STATUS_CONVERTED;
    return s;
}

nlohmann::json ModelJson(const domain::Model& m, std::int64_t version, const std::string& aggregate_id) {
    return {{"features", m.features},      {"mean", m.mean},           {"scale", m.scale},
            {"weights", m.weights},        {"intercept", m.intercept}, {"training_auc", m.training_auc},
            {"positives", m.positives},    {"negatives", m.negatives}, {"version", version},
            {"aggregate_id", aggregate_id}};
}

domain::Model ModelFrom(const nlohmann::json& j) {
    domain::Model m;
    m.features = j.at("features").get<std::vector<std::string>>();
    m.mean = j.at("mean").get<std::vector<double>>();
    m.scale = j.at("scale").get<std::vector<double>>();
    m.weights = j.at("weights").get<std::vector<double>>();
    m.intercept = j.at("intercept").get<double>();
    m.training_auc = j.at("training_auc").get<double>();
    m.positives = j.at("positives").get<int>();
    m.negatives = j.at("negatives").get<int>();
    return m;
}

v1::ScoringModel ModelProto(const domain::Model& m, std::int64_t version, std::int64_t train_micros) {
    v1::ScoringModel p;
    p.set_version(version);
    *p.mutable_train_time() = FromMicros(train_micros);
    p.set_positive_examples(m.positives);
    p.set_negative_examples(m.negatives);
    p.set_training_auc(m.training_auc);
    p.set_intercept(m.intercept);
    for (size_t i = 0; i < m.features.size(); ++i) {
        auto* w = p.add_weights();
        w->set_feature(m.features[i]);
        w->set_weight(m.weights[i]);
    }
    return p;
}
}  // namespace

v1::ScoringModel Repository::TrainModel(const common::RequestContext& rc, int min_per_class, int negative_after_days) {
    // Read the training set in one transaction, train outside of it, store in another.
    std::vector<domain::LeadSample> samples = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::map<std::string, std::vector<domain::EngagementFact>> engagements;
        for (const auto& row : db_.Exec(tx, sql::kTrainingEngagements, rc.tenant_id, negative_after_days)) {
            engagements[row[0].as<std::string>()].push_back(
                {row[1].as<std::string>(), row[3].as<double>(), row[2].as<std::string>() == "OUTBOUND"});
        }
        std::vector<domain::LeadSample> out;
        for (const auto& row : db_.Exec(tx, sql::kTrainingLeads, rc.tenant_id, negative_after_days)) {
            v1::Lead lead = ReadLead(row);
            auto it = engagements.find(lead.id());
            out.push_back(SampleOf(lead, it == engagements.end() ? std::vector<domain::EngagementFact>{} : it->second));
        }
        // The statement orders by (create_time DESC, id): the same data always gives the same model.
        return out;
    });
    const auto positives = std::count_if(samples.begin(), samples.end(), [](const auto& s) { return s.converted; });
    const auto negatives = static_cast<std::int64_t>(samples.size()) - positives;
    if (positives < min_per_class || negatives < min_per_class) {
        throw ApiError::FailedPrecondition(
            "too little data to train: " + std::to_string(positives) + " converted and " + std::to_string(negatives) +
                " unconverted leads; at least " + std::to_string(min_per_class) + " of each are needed",
            "NOT_ENOUGH_TRAINING_DATA");
    }
    const domain::Model model = domain::Train(samples);
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const auto existing = LoadSetting(db_, tx, rc.tenant_id, "scoring_model");
        std::string aggregate_id = common::NewUuid();
        if (existing) aggregate_id = nlohmann::json::parse(existing->body).value("aggregate_id", aggregate_id);
        const std::int64_t next_version = existing ? existing->version + 1 : 1;
        const pqxx::result rows = db_.Exec(tx, sql::kPutSetting, rc.tenant_id, "scoring_model",
                                           ModelJson(model, next_version, aggregate_id).dump());
        const v1::ScoringModel proto = ModelProto(model, rows[0][0].as<std::int64_t>(), rows[0][1].as<std::int64_t>());
        ev1::ScoringModelTrained event;
        *event.mutable_model() = proto;
        outbox_.Append(tx, rc, common::NewEvent{"scoring_model", aggregate_id, proto.version(), event});
        return proto;
    });
}

v1::PredictLeadConversionResponse Repository::Predict(const common::RequestContext& rc, const std::string& lead_id,
                                                      int top) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, lead_id);
        const auto stored = LoadSetting(db_, tx, rc.tenant_id, "scoring_model");
        if (!stored) {
            throw ApiError::FailedPrecondition("no scoring model was trained for this tenant (TrainScoringModel)",
                                               "NO_MODEL");
        }
        const domain::Model model = ModelFrom(nlohmann::json::parse(stored->body));
        const domain::LeadSample sample = SampleOf(lead, LoadEngagements(db_, tx, rc.tenant_id, lead_id));
        v1::PredictLeadConversionResponse out;
        out.set_probability(domain::Predict(model, sample));
        out.set_model_version(stored->version);
        for (const auto& [feature, contribution] : domain::TopFactors(model, sample, top)) {
            auto* f = out.add_factors();
            f->set_feature(feature);
            f->set_contribution(contribution);
        }
        return out;
    });
}

v1::AssignmentConfig Repository::GetAssignmentConfig(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadAssignment(db_, tx, rc.tenant_id); });
}

v1::AssignmentConfig Repository::UpdateAssignmentConfig(const common::RequestContext& rc,
                                                        const v1::AssignmentConfig& config) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::AssignmentConfig stored = config;
        stored.clear_update_time();
        const pqxx::result rows = db_.Exec(tx, sql::kPutSetting, rc.tenant_id, "assignment", ToJson(stored));
        *stored.mutable_update_time() = FromMicros(rows[0][1].as<std::int64_t>());
        return stored;
    });
}

v1::Lead Repository::AssignLead(const common::RequestContext& rc, const std::string& id, const std::string& owner_id,
                                const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, lead);
        RequireNotConverted(lead);
        const std::string previous_owner = lead.owner_id();
        const std::int64_t expected = lead.version();
        ev1::AssignmentMethod method = ev1::ASSIGNMENT_METHOD_MANUAL;
        if (!owner_id.empty()) {
            lead.set_owner_id(owner_id);
            lead.set_team_id("");
        } else {
            const v1::AssignmentConfig config = LoadAssignment(db_, tx, rc.tenant_id);
            const v1::Team* team = RouteTeam(config, lead);
            if (team == nullptr) {
                throw ApiError::FailedPrecondition("no assignment rule or default team matches this lead",
                                                   "NO_MATCHING_TEAM");
            }
            const auto owner = PickOwner(db_, tx, rc.tenant_id, *team);
            if (!owner) {
                throw ApiError::FailedPrecondition("every member of team " + team->id() + " is at capacity",
                                                   "TEAM_AT_CAPACITY");
            }
            lead.set_owner_id(*owner);
            lead.set_team_id(team->id());
            method = ev1::ASSIGNMENT_METHOD_ROUND_ROBIN;
        }
        EventBatch batch;
        auto& assigned = batch.Add<ev1::LeadAssigned>();
        assigned.set_previous_owner_id(previous_owner);
        assigned.set_owner_id(lead.owner_id());
        assigned.set_team_id(lead.team_id());
        assigned.set_method(method);
        const v1::Lead written = WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), false, expected);
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

v1::Lead Repository::CheckConvertible(const common::RequestContext& rc, const std::string& id, bool allow_unqualified,
                                      const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, id);
        if (lead.status() == v1::LEAD_STATUS_CONVERTED) return lead;
        CheckEtag(etag, lead);
        if (!domain::ConvertAllowed(StatusDomain(lead.status()), allow_unqualified)) {
            throw ApiError::FailedPrecondition(
                "only QUALIFIED leads (or WORKING ones with allow_unqualified) can be "
                "converted; this lead is " +
                    StatusText(lead.status()),
                "INVALID_TRANSITION");
        }
        return lead;
    });
}

v1::Lead Repository::CompleteConversion(const common::RequestContext& rc, const std::string& id,
                                        const ConversionIds& ids, bool allow_unqualified) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, id, true);
        if (lead.status() == v1::LEAD_STATUS_CONVERTED) return lead;  // a concurrent twin finished first
        const domain::Status from = StatusDomain(lead.status());
        if (!domain::ConvertAllowed(from, allow_unqualified)) {
            throw ApiError::FailedPrecondition("the lead's status changed during the conversion", "INVALID_TRANSITION");
        }
        const std::int64_t expected = lead.version();
        lead.set_status(v1::LEAD_STATUS_CONVERTED);
        auto* c = lead.mutable_conversion();
        c->set_contact_id(ids.contact_id);
        c->set_company_id(ids.company_id);
        c->set_opportunity_id(ids.opportunity_id);
        c->set_contact_existed(ids.contact_existed);
        c->set_company_existed(ids.company_existed);
        EventBatch batch;
        auto& converted = batch.Add<ev1::LeadConverted>();
        const v1::Lead written = WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), true, expected);
        converted.set_contact_id(ids.contact_id);
        converted.set_company_id(ids.company_id);
        converted.set_opportunity_id(ids.opportunity_id);
        converted.set_contact_existed(ids.contact_existed);
        converted.set_company_existed(ids.company_existed);
        *converted.mutable_convert_time() = written.conversion().convert_time();
        converted.set_from_status(StatusProto(domain::StatusText(from)));
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

v1::WebForm Repository::UpsertWebForm(const common::RequestContext& rc, const v1::WebForm& form) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::WebForm stored = form;
        stored.clear_update_time();
        const pqxx::result rows = db_.Exec(tx, sql::kPutWebForm, rc.tenant_id, stored.id(), ToJson(stored));
        *stored.mutable_update_time() = FromMicros(rows[0][0].as<std::int64_t>());
        return stored;
    });
}

v1::WebForm Repository::GetWebForm(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db_.Exec(tx, sql::kGetWebForm, rc.tenant_id, id);
        if (rows.empty()) throw ApiError::NotFound("web form", id);
        v1::WebForm form = FromJson<v1::WebForm>(rows[0][0].as<std::string>());
        *form.mutable_update_time() = FromMicros(rows[0][1].as<std::int64_t>());
        return form;
    });
}

std::pair<std::string, bool> Repository::SubmitWebForm(const common::RequestContext& rc, const std::string& nonce,
                                                       const domain::LeadFields& fields, const CreateOptions& o) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        if (db_.Exec(tx, sql::kUseNonce, rc.tenant_id, nonce).empty()) {
            throw ApiError::FailedPrecondition("the form token was already used", "BOT");
        }
        if (!fields.email.empty()) {
            db_.Exec(tx, sql::kLockKey, "leads.email:" + rc.tenant_id + ":" + fields.email);
            const pqxx::result existing = db_.Exec(tx, sql::kOpenLeadByEmail, rc.tenant_id, fields.email);
            if (!existing.empty()) {
                const std::string id = existing[0][0].as<std::string>();
                v1::Engagement engagement;
                engagement.set_type("web_form_submitted");
                engagement.set_direction(v1::ENGAGEMENT_DIRECTION_INBOUND);
                engagement.set_detail(o.web_form_id);
                AddEngagement(db_, outbox_, tx, rc.tenant_id, rc.request_id, LoadLead(db_, tx, rc.tenant_id, id, true),
                              engagement, common::NewUuid());
                return std::make_pair(id, false);
            }
        }
        const v1::Lead created =
            InsertLead(db_, outbox_, tx, rc.tenant_id, rc.request_id, common::NewUuid(), fields, o);
        return std::make_pair(created.id(), true);
    });
}

std::vector<std::pair<std::string, std::string>> Repository::DueSlaLeads(int limit) {
    return db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kMaintenanceOn);
        std::vector<std::pair<std::string, std::string>> due;
        for (const auto& row : db_.Exec(tx, sql::kDueSla, limit)) {
            due.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
        }
        return due;
    });
}

std::int64_t Repository::Cleanup() {
    return db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kMaintenanceOn);
        const auto tokens = db_.Exec(tx, sql::kDropUsedTokens).affected_rows();
        const auto keys = db_.Exec(tx, sql::kDropIdempotencyKeys).affected_rows();
        return static_cast<std::int64_t>(tokens + keys);
    });
}

bool Repository::BreachSla(const std::string& tenant, const std::string& id) {
    return db_.InTenant(tenant, [&](pqxx::work& tx) {
        const pqxx::result rows = db_.Exec(tx, sql::kBreachSla, tenant, id);
        if (rows.empty()) return false;
        const v1::Lead lead = ReadLead(rows[0]);
        ev1::LeadSlaBreached event;
        *event.mutable_lead() = lead;
        *event.mutable_first_touch_deadline() = lead.first_touch_deadline();
        *event.mutable_detect_time() = lead.sla_breach_time();
        event.set_owner_id(lead.owner_id());
        event.set_priority(lead.priority());
        outbox_.Append(tx, tenant, "", common::NewEvent{kAggregate, lead.id(), lead.version(), event});
        return true;
    });
}

}  // namespace crm::leads::storage
