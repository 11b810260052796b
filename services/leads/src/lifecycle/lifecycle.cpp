#include "lifecycle/lifecycle.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "assignment/assignment.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "lifecycle/record.hpp"
#include "lifecycle/sealed.hpp"
#include "lifecycle/sql.hpp"
#include "scoring/scoring.hpp"
#include "sla/sla.hpp"

namespace crm::leads::lifecycle {
namespace {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

// A row of CRM_ENGAGEMENT_COLUMNS (sql.hpp), its detail opened with the lead's key.
v1::Engagement ReadEngagement(const std::string& tenant, const pqxx::row& r) {
    v1::Engagement e;
    e.set_id(r[0].as<std::string>());
    e.set_type(r[1].as<std::string>());
    e.set_direction(r[2].as<std::string>() == "OUTBOUND" ? v1::ENGAGEMENT_DIRECTION_OUTBOUND
                                                         : v1::ENGAGEMENT_DIRECTION_INBOUND);
    *e.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(r[3].as<std::int64_t>());
    e.set_detail(common::ColumnKey(tenant, r[5].as<std::string>(), r[6]).Open(sealed::kEngagementDetail, r[4].c_str()));
    return e;
}

bool Named(const std::vector<std::string>& paths, const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

v1::Lead CheckedLead(const v1::Lead& lead, const std::string& prefix, bool require_identity, common::Violations& v) {
    if (!v1::LeadPriority_IsValid(lead.priority())) v.Add(prefix + "priority", "unknown priority");
    domain::LeadFields fields = FieldsOf(lead);
    v.Append(domain::NormalizeLead(fields, prefix, require_identity));
    if (lead.has_consent()) {
        common::CheckText(v, lead.consent().text(), prefix + "consent.text",
                          {.max_chars = domain::kMaxConsentText, .multiline = true});
        common::CheckText(v, lead.consent().version(), prefix + "consent.version",
                          {.max_chars = domain::kMaxConsentVersion});
    }
    domain::CheckEtagSyntax(v, lead.etag(), prefix + "etag");
    return WithFields(lead, fields);
}

std::pair<v1::Lead, v1::Engagement> AddEngagement(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                                  const std::string& tenant, const std::string& request_id,
                                                  v1::Lead lead, const v1::Engagement& in, const std::string& id) {
    const bool outbound = in.direction() == v1::ENGAGEMENT_DIRECTION_OUTBOUND;
    const std::string occur =
        in.has_occur_time() ? std::to_string(TimeUtil::TimestampToMicroseconds(in.occur_time())) : "";
    // The detail is sealed under the lead's key, which the lead's row and events already use (one key statement: the
    // transaction remembers it).
    const std::string detail =
        common::ColumnSealer(db, tx, tenant).Seal(lead.id(), sealed::kEngagementDetail, in.detail());
    const v1::Engagement stored =
        ReadEngagement(tenant, db.Exec(tx, sql::kInsertEngagement, tenant, id, lead.id(), in.type(),
                                       outbound ? "OUTBOUND" : "INBOUND", common::NullIfEmpty(occur), detail)[0]);
    const std::int64_t expected = lead.version();
    const bool first_touch = outbound && !lead.has_first_touch_time();
    const int previous = lead.score();
    lead = scoring::Rescored(db, tx, tenant, std::move(lead));
    EventBatch batch;
    auto& recorded = batch.Add<ev1::LeadEngagementRecorded>();
    *recorded.mutable_engagement() = stored;
    recorded.set_first_touch(first_touch);
    batch.AddScored(lead, previous);
    const v1::Lead written = WriteLead(db, tx, tenant, lead, batch.size(), outbound, expected);
    batch.Append(outbox, tx, tenant, request_id, written);
    return {written, stored};
}

Lifecycle::Lifecycle(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

v1::Lead Lifecycle::Get(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadLead(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Lead> Lifecycle::List(const common::RequestContext& rc, const ListQuery& q) {
    const std::string scope =
        nlohmann::json::array({"ListLeads", q.status, q.owner_id, q.source, q.campaign_id, q.contact_id}).dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    // One equality filter at most becomes part of the index prefix; each combination is its own named statement.
    std::string text = std::string("SELECT ") + sql::kLeadColumns + " FROM leads WHERE tenant_id = $1";
    std::string name = "leads_list";
    std::vector<std::string> params = {rc.tenant_id, std::to_string(after.micros), after.id,
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
    filter(q.contact_id, "contact_id");
    text +=
        " AND (create_time, id) > (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)"
        " ORDER BY create_time, id LIMIT $4::int";
    const common::Sql statement{name.c_str(), text.c_str()};
    std::vector<v1::Lead> leads = db_.InTenant(rc, [&](pqxx::work& tx) {
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
            case 8:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3], params[4], params[5],
                                params[6], params[7]);
                break;
            default:
                rows = db_.Exec(tx, statement, params[0], params[1], params[2], params[3], params[4], params[5],
                                params[6], params[7], params[8]);
        }
        std::vector<v1::Lead> out;
        for (const auto& row : rows) out.push_back(ReadLead(row, rc.tenant_id));
        return out;
    });
    return common::MakePage(std::move(leads), q.page_size, [&](const v1::Lead& last) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope,
                                         {TimeUtil::TimestampToMicroseconds(last.create_time()), last.id()});
    });
}

v1::Lead Lifecycle::Update(const common::RequestContext& rc, const v1::Lead& p, const std::vector<std::string>& paths,
                           const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, p.id(), true);
        common::CheckEtag(etag, lead.version());
        RequireNotConverted(lead);
        const v1::Lead before = lead;
        std::vector<std::string> changed;
        auto set = [&](const char* path, std::string* field, const std::string& value) {
            if (!(Named(paths, path) || (paths.empty() && !value.empty()))) return;
            if (*field != value) {
                *field = value;
                changed.push_back(path);
            }
        };
        set("given_name", lead.mutable_given_name(), p.given_name());
        set("family_name", lead.mutable_family_name(), p.family_name());
        set("email", lead.mutable_email(), p.email());
        set("phone", lead.mutable_phone(), p.phone());
        set("company_name", lead.mutable_company_name(), p.company_name());
        set("job_title", lead.mutable_job_title(), p.job_title());
        set("country", lead.mutable_country(), p.country());
        set("region", lead.mutable_region(), p.region());
        set("source", lead.mutable_source(), p.source());
        set("campaign_id", lead.mutable_campaign_id(), p.campaign_id());
        set("notes", lead.mutable_notes(), p.notes());
        const v1::LeadPriority priority = PriorityProto(PriorityOf(p.priority()));
        if ((Named(paths, "priority") || (paths.empty() && priority != v1::LEAD_PRIORITY_MEDIUM)) &&
            priority != lead.priority()) {
            lead.set_priority(priority);
            changed.push_back("priority");
        }
        if (Named(paths, "attributes") || (paths.empty() && !p.attributes().empty())) {
            const std::map<std::string, std::string> current(lead.attributes().begin(), lead.attributes().end());
            const std::map<std::string, std::string> next(p.attributes().begin(), p.attributes().end());
            if (current != next) {
                *lead.mutable_attributes() = p.attributes();
                changed.push_back("attributes");
            }
        }
        if (!lead.email().empty() && lead.email() != before.email()) {
            const auto existing = OpenLeadWithEmail(db_, tx, rc.tenant_id, lead.email());
            if (existing && *existing != lead.id()) ThrowDuplicate(*existing);
        }
        if (changed.empty()) return lead;
        if (lead.priority() != before.priority() && !lead.has_first_touch_time() && !lead.has_sla_breach_time()) {
            const auto seconds = sla::FirstTouchSeconds(assignment::LoadConfig(db_, tx, rc.tenant_id), lead.priority());
            if (seconds) {
                *lead.mutable_first_touch_deadline() = TimeUtil::MicrosecondsToTimestamp(
                    TimeUtil::TimestampToMicroseconds(lead.create_time()) + *seconds * 1000000);
            } else {
                lead.clear_first_touch_deadline();
            }
        }
        const int previous = lead.score();
        lead = scoring::Rescored(db_, tx, rc.tenant_id, std::move(lead));
        EventBatch batch;
        auto& updated = batch.Add<ev1::LeadUpdated>();
        for (const auto& path : changed) updated.add_changed_paths(path);
        batch.AddScored(lead, previous);
        const v1::Lead written = WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), false, before.version());
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

v1::Lead Lifecycle::ChangeStatus(const common::RequestContext& rc, const std::string& id, domain::Status to,
                                 const std::string& reason, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, lead.version());
        const domain::Status from = StatusOf(lead.status());
        if (!domain::TransitionAllowed(from, to)) {
            throw ApiError::FailedPrecondition(
                std::string("a lead cannot move from ") + domain::StatusText(from) + " to " + domain::StatusText(to),
                "INVALID_TRANSITION");
        }
        const std::int64_t expected = lead.version();
        const bool first_touch = !lead.has_first_touch_time();
        lead.set_status(StatusProto(to));
        lead.set_status_reason(reason);
        const int previous = lead.score();
        lead = scoring::Rescored(db_, tx, rc.tenant_id, std::move(lead));
        EventBatch batch;
        auto& changed = batch.Add<ev1::LeadStatusChanged>();
        changed.set_from_status(StatusProto(from));
        changed.set_to_status(lead.status());
        changed.set_reason(reason);
        changed.set_first_touch(first_touch);
        batch.AddScored(lead, previous);
        const v1::Lead written = WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), true, expected);
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

std::pair<v1::Lead, v1::Engagement> Lifecycle::RecordEngagement(const common::RequestContext& rc,
                                                                const std::string& lead_id,
                                                                const v1::Engagement& engagement,
                                                                const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = LoadLead(db_, tx, rc.tenant_id, lead_id, true);
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "RecordEngagement", request_id, id)) {
            const pqxx::result rows = db_.Exec(tx, sql::kGetEngagement, rc.tenant_id, *first);
            return std::make_pair(lead, ReadEngagement(rc.tenant_id, rows.at(0)));
        }
        RequireNotConverted(lead);
        return AddEngagement(db_, outbox_, tx, rc.tenant_id, rc.request_id, lead, engagement, id);
    });
}

}  // namespace crm::leads::lifecycle
