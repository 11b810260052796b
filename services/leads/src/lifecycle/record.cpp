// The lead record: a row of `leads` <-> crm.leads.v1.Lead, and the events of a change.
#include "lifecycle/record.hpp"

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "lifecycle/lifecycle.hpp"
#include "lifecycle/sealed.hpp"
#include "lifecycle/sql.hpp"

namespace crm::leads::lifecycle {
namespace {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

std::string Str(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) {
    *out = TimeUtil::MicrosecondsToTimestamp(f.as<std::int64_t>());
}

v1::CaptureChannel ChannelProto(const std::string& text) {
    v1::CaptureChannel c = v1::CAPTURE_CHANNEL_UNSPECIFIED;
    v1::CaptureChannel_Parse("CAPTURE_CHANNEL_" + text, &c);
    return c;
}

// The row's wrapped data key: the last of the lead columns (sql::kLeadColumns).
constexpr int kLeadKeyField = 38;

std::string ChannelText(v1::CaptureChannel c) {
    if (!v1::CaptureChannel_IsValid(c) || c == v1::CAPTURE_CHANNEL_UNSPECIFIED) return "API";
    return v1::CaptureChannel_Name(c).substr(std::string("CAPTURE_CHANNEL_").size());
}

}  // namespace

v1::Lead ReadLead(const pqxx::row& r, const std::string& tenant) {
    v1::Lead l;
    l.set_id(r[0].as<std::string>());
    const common::ColumnKey key(tenant, l.id(), r[kLeadKeyField]);
    const auto open = [&](const char* column, int i) { return key.Open(column, r[i].c_str()); };
    l.set_given_name(open(sealed::kGivenName, 1));
    l.set_family_name(open(sealed::kFamilyName, 2));
    l.set_email(open(sealed::kEmail, 3));
    l.set_phone(open(sealed::kPhone, 4));
    l.set_company_name(open(sealed::kCompanyName, 5));
    l.set_job_title(open(sealed::kJobTitle, 6));
    l.set_country(r[7].as<std::string>());
    l.set_region(open(sealed::kRegion, 8));
    l.set_source(r[9].as<std::string>());
    l.set_campaign_id(r[10].as<std::string>());
    l.set_owner_id(r[11].as<std::string>());
    l.set_team_id(r[12].as<std::string>());
    l.set_priority(PriorityProto(domain::ParsePriority(r[13].as<std::string>()).value_or(domain::Priority::kMedium)));
    l.set_status(StatusProto(domain::ParseStatus(r[14].as<std::string>()).value_or(domain::Status::kNew)));
    l.set_status_reason(open(sealed::kStatusReason, 15));
    l.set_notes(open(sealed::kNotes, 16));
    const nlohmann::json attributes = nlohmann::json::parse(key.OpenObject(sealed::kAttributes, r[17].c_str()));
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
        c->set_text(open(sealed::kConsentText, 23));
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

namespace {

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

// A lead's personal columns as stored: sealed under the lead's data key, with the blind indexes of e-mail and phone.
struct Sealed {
    std::string given_name, family_name, email, phone, company_name, job_title, region, notes, status_reason,
        consent_text, email_index, phone_index, attributes;
};

Sealed SealedOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Lead& l) {
    common::ColumnSealer sealer(db, tx, tenant);
    const auto seal = [&](const char* column, const std::string& value) { return sealer.Seal(l.id(), column, value); };
    Sealed s;
    s.given_name = seal(sealed::kGivenName, l.given_name());
    s.family_name = seal(sealed::kFamilyName, l.family_name());
    s.email = seal(sealed::kEmail, l.email());
    s.phone = seal(sealed::kPhone, l.phone());
    s.company_name = seal(sealed::kCompanyName, l.company_name());
    s.job_title = seal(sealed::kJobTitle, l.job_title());
    s.region = seal(sealed::kRegion, l.region());
    s.notes = seal(sealed::kNotes, l.notes());
    s.status_reason = seal(sealed::kStatusReason, l.status_reason());
    s.consent_text = seal(sealed::kConsentText, l.consent().text());
    s.attributes = sealer.SealObject(l.id(), sealed::kAttributes, AttributesJson(l));
    s.email_index = EmailIndex(tenant, l.email());
    s.phone_index = common::ColumnIndex(tenant, sealed::kPhone, l.phone());
    return s;
}

}  // namespace

std::string EmailIndex(const std::string& tenant, const std::string& email) {
    return common::ColumnIndex(tenant, sealed::kEmail, email);
}

domain::LeadFields FieldsOf(const v1::Lead& l) {
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
    f.priority = PriorityOf(l.priority());
    f.attributes.insert(l.attributes().begin(), l.attributes().end());
    return f;
}

v1::Lead WithFields(v1::Lead lead, const domain::LeadFields& f) {
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
    lead.set_notes(f.notes);
    lead.set_priority(PriorityProto(f.priority));
    lead.clear_attributes();
    lead.mutable_attributes()->insert(f.attributes.begin(), f.attributes.end());
    return lead;
}

domain::Status StatusOf(v1::LeadStatus s) {
    if (!v1::LeadStatus_IsValid(s) || s == v1::LEAD_STATUS_UNSPECIFIED) return domain::Status::kNew;
    return domain::ParseStatus(v1::LeadStatus_Name(s).substr(std::string("LEAD_STATUS_").size()))
        .value_or(domain::Status::kNew);
}

v1::LeadStatus StatusProto(domain::Status s) {
    v1::LeadStatus out = v1::LEAD_STATUS_UNSPECIFIED;
    v1::LeadStatus_Parse(std::string("LEAD_STATUS_") + domain::StatusText(s), &out);
    return out;
}

domain::Priority PriorityOf(v1::LeadPriority p) {
    switch (p) {
        case v1::LEAD_PRIORITY_LOW:
            return domain::Priority::kLow;
        case v1::LEAD_PRIORITY_HIGH:
            return domain::Priority::kHigh;
        case v1::LEAD_PRIORITY_URGENT:
            return domain::Priority::kUrgent;
        default:
            return domain::Priority::kMedium;
    }
}

v1::LeadPriority PriorityProto(domain::Priority p) {
    v1::LeadPriority out = v1::LEAD_PRIORITY_UNSPECIFIED;
    v1::LeadPriority_Parse(std::string("LEAD_PRIORITY_") + domain::PriorityText(p), &out);
    return out;
}

v1::Lead LoadLead(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetLeadForUpdate : sql::kGetLead, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("lead", id);
    return ReadLead(rows[0], tenant);
}

v1::Lead InsertLead(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Lead& l,
                    std::optional<std::int64_t> sla_seconds) {
    const std::string sla = sla_seconds ? std::to_string(*sla_seconds) : "";
    const auto& c = l.consent();
    const Sealed s = SealedOf(db, tx, tenant, l);
    const pqxx::result rows =
        db.Exec(tx, sql::kInsertLead, tenant, l.id(), s.given_name, s.family_name, s.email, s.phone, s.company_name,
                s.job_title, l.country(), s.region, l.source(), l.campaign_id(), l.owner_id(), l.team_id(),
                domain::PriorityText(PriorityOf(l.priority())), s.notes, s.attributes, l.score(), ReasonsJson(l),
                ChannelText(l.capture_channel()), l.web_form_id(), c.granted(), s.consent_text, c.version(),
                l.has_consent(), common::NullIfEmpty(sla), s.email_index, s.phone_index);
    return ReadLead(rows[0], tenant);
}

v1::Lead WriteLead(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Lead& l,
                   int version_step, bool touch, std::int64_t expected_version) {
    const std::string deadline =
        l.has_first_touch_deadline() ? std::to_string(TimeUtil::TimestampToMicroseconds(l.first_touch_deadline())) : "";
    const Sealed s = SealedOf(db, tx, tenant, l);
    const pqxx::result rows =
        db.Exec(tx, sql::kWriteLead, tenant, l.id(), s.given_name, s.family_name, s.email, s.phone, s.company_name,
                s.job_title, l.country(), s.region, l.source(), l.campaign_id(), l.owner_id(), l.team_id(),
                domain::PriorityText(PriorityOf(l.priority())), domain::StatusText(StatusOf(l.status())),
                s.status_reason, s.notes, s.attributes, l.score(), ReasonsJson(l), common::NullIfEmpty(deadline), touch,
                version_step, expected_version, s.email_index, s.phone_index);
    if (rows.empty()) {
        throw ApiError::Aborted("the lead was changed concurrently; read it and retry", "CONCURRENT_MODIFICATION");
    }
    return ReadLead(rows[0], tenant);
}

std::optional<Converted> MarkConverted(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                       const std::string& id, const v1::LeadConversion& ids, bool allow_unqualified) {
    std::vector<std::string> allowed;  // the statuses a conversion may start from
    for (const domain::Status s :
         {domain::Status::kNew, domain::Status::kWorking, domain::Status::kNurturing, domain::Status::kQualified,
          domain::Status::kUnqualified, domain::Status::kConverted}) {
        if (domain::ConvertAllowed(s, allow_unqualified)) allowed.emplace_back(domain::StatusText(s));
    }
    const pqxx::result rows = db.Exec(tx, sql::kMarkConverted, tenant, id, common::NullIfEmpty(ids.contact_id()),
                                      common::NullIfEmpty(ids.company_id()), ids.opportunity_id(),
                                      ids.contact_existed(), ids.company_existed(), common::PgTextArray(allowed));
    if (rows.empty()) throw ApiError::NotFound("lead", id);
    const pqxx::row row = rows[0];
    if (row[0].is_null()) return std::nullopt;
    const auto from = domain::ParseStatus(row[row.size() - 1].as<std::string>());
    return Converted{ReadLead(row, tenant), from.value_or(domain::Status::kNew)};
}

std::optional<std::string> OpenLeadWithEmail(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                             const std::string& email) {
    const std::string index = EmailIndex(tenant, email);
    const pqxx::result existing =
        db.Exec(tx, sql::kLockOpenByEmail, "leads.email:" + tenant + ":" + index, tenant, index);
    if (existing.empty() || existing[0][0].is_null()) return std::nullopt;
    return existing[0][0].as<std::string>();
}

void ThrowDuplicate(const std::string& existing_id) {
    throw ApiError::AlreadyExists("an open lead with this email exists: " + existing_id, "DUPLICATE_LEAD")
        .With("existing_id", existing_id);
}

void RequireNotConverted(const v1::Lead& lead) {
    if (lead.status() == v1::LEAD_STATUS_CONVERTED) {
        throw ApiError::FailedPrecondition("lead " + lead.id() + " is converted and read-only", "LEAD_CONVERTED");
    }
}

void EventBatch::AddScored(const v1::Lead& lead, int previous) {
    if (lead.score() == previous) return;
    auto& e = Add<ev1::LeadScored>();
    e.set_previous_score(previous);
    e.set_score(lead.score());
    *e.mutable_reasons() = lead.score_reasons();
}

void EventBatch::Append(common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                        const std::string& request_id, const v1::Lead& written) {
    std::int64_t version = written.version() - size() + 1;
    for (auto& e : events_) {
        v1::Lead snapshot = written;
        snapshot.set_version(version);
        snapshot.set_etag(common::MakeEtag(version));
        const auto* field = e->GetDescriptor()->FindFieldByName("lead");
        e->GetReflection()->MutableMessage(e.get(), field)->CopyFrom(snapshot);
        outbox.Append(tx, tenant, request_id, common::NewEvent{kAggregateType, written.id(), version, *e});
        ++version;
    }
}

}  // namespace crm::leads::lifecycle
