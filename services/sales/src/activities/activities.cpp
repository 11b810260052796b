// Activities and their timelines (see activities.hpp).
#include "activities/activities.hpp"

#include <crm/sales/events/v1/events.pb.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <map>
#include <nlohmann/json.hpp>

#include "activities/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "opportunities/opportunities.hpp"
#include "records.hpp"
#include "sealed.hpp"

namespace crm::sales::activities {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;

const char* TypeText(v1::ActivityType t) {
    switch (t) {
        case v1::ACTIVITY_TYPE_CALL:
            return "CALL";
        case v1::ACTIVITY_TYPE_EMAIL:
            return "EMAIL";
        case v1::ACTIVITY_TYPE_MEETING:
            return "MEETING";
        default:
            return "TASK";
    }
}

v1::ActivityType ParseType(const std::string& t) {
    if (t == "CALL") return v1::ACTIVITY_TYPE_CALL;
    if (t == "EMAIL") return v1::ACTIVITY_TYPE_EMAIL;
    if (t == "MEETING") return v1::ACTIVITY_TYPE_MEETING;
    return v1::ACTIVITY_TYPE_TASK;
}

// The row's wrapped data key: the last of CRM_ACTIVITY_COLUMNS.
constexpr int kActivityKeyField = 18;

// A row of CRM_ACTIVITY_COLUMNS (activities/sql.hpp), its sealed columns opened with the activity's key.
v1::Activity ReadActivity(const pqxx::row& r, const std::string& tenant) {
    v1::Activity a;
    a.set_id(r[0].as<std::string>());
    const common::ColumnKey key(tenant, a.id(), r[kActivityKeyField]);
    a.set_type(ParseType(r[1].as<std::string>()));
    a.set_subject(key.Open(sealed::kActivitySubject, r[2].c_str()));
    a.set_description(key.Open(sealed::kActivityDescription, r[3].c_str()));
    a.set_lead_id(r[4].as<std::string>());
    a.set_contact_id(r[5].as<std::string>());
    a.set_company_id(r[6].as<std::string>());
    a.set_opportunity_id(r[7].as<std::string>());
    SetTimeIf(&a, &v1::Activity::mutable_due_time, r[8]);
    SetTimeIf(&a, &v1::Activity::mutable_remind_time, r[9]);
    a.set_owner_id(r[10].as<std::string>());
    a.set_status(r[11].as<std::string>() == "COMPLETED" ? v1::ACTIVITY_STATUS_COMPLETED : v1::ACTIVITY_STATUS_OPEN);
    SetTimeIf(&a, &v1::Activity::mutable_complete_time, r[12]);
    a.set_outcome(key.Open(sealed::kActivityOutcome, r[13].c_str()));
    SetTimeIf(&a, &v1::Activity::mutable_reminder_sent_time, r[14]);
    SetTime(a.mutable_create_time(), r[15]);
    SetTime(a.mutable_update_time(), r[16]);
    a.set_version(r[17].as<std::int64_t>());
    a.set_etag(common::MakeEtag(a.version()));
    return a;
}

v1::Activity Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetActivityForUpdate : sql::kGetActivity, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("activity", id);
    return ReadActivity(rows[0], tenant);
}

// The microseconds of an optional time as a statement parameter (nullptr = NULL); `buf` holds the text.
const char* OptionalMicros(bool has, const google::protobuf::Timestamp& t, std::string& buf) {
    if (!has) return nullptr;
    buf = MicrosText(t);
    return buf.c_str();
}

bool SameTime(bool has_a, const google::protobuf::Timestamp& a, bool has_b, const google::protobuf::Timestamp& b) {
    return has_a == has_b && (!has_a || Micros(a) == Micros(b));
}

}  // namespace

v1::Activity Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Activity& in,
                    const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, t, "CreateActivity", request_id, id)) {
            return Load(db, tx, t, *first);
        }
        if (!in.opportunity_id().empty() && !opportunities::Find(db, tx, t, in.opportunity_id())) {
            throw ApiError::InvalidArgument("activity.opportunity_id", "no opportunity with this id");
        }
        std::string due_buf, remind_buf;
        common::ColumnSealer sealer(db, tx, t);
        db.Exec(tx, sql::kInsertActivity, t, id, TypeText(in.type()),
                sealer.Seal(id, sealed::kActivitySubject, in.subject()),
                sealer.Seal(id, sealed::kActivityDescription, in.description()), common::NullIfEmpty(in.lead_id()),
                common::NullIfEmpty(in.contact_id()), common::NullIfEmpty(in.company_id()),
                common::NullIfEmpty(in.opportunity_id()), OptionalMicros(in.has_due_time(), in.due_time(), due_buf),
                OptionalMicros(in.has_remind_time(), in.remind_time(), remind_buf),
                in.owner_id().empty() ? rc.user_id : in.owner_id());
        v1::Activity created = Load(db, tx, t, id);
        ev::ActivityCreated event;
        *event.mutable_activity() = created;
        Emit(outbox, tx, rc, "activity", id, created.version(), event, created.create_time());
        return created;
    });
}

v1::Activity Get(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return Load(db, tx, rc.tenant_id, id); });
}

v1::Activity Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Activity& in,
                    const std::vector<std::string>& paths, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Activity current = Load(db, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        if (current.status() != v1::ACTIVITY_STATUS_OPEN) {
            throw ApiError::FailedPrecondition("the activity is completed", "ACTIVITY_COMPLETED");
        }
        v1::Activity next = current;
        for (const auto& p : paths) {
            if (p == "subject") next.set_subject(in.subject());
            if (p == "description") next.set_description(in.description());
            if (p == "owner_id") next.set_owner_id(in.owner_id());
            if (p == "due_time") {
                if (in.has_due_time())
                    *next.mutable_due_time() = in.due_time();
                else
                    next.clear_due_time();
            }
            if (p == "remind_time") {
                if (in.has_remind_time())
                    *next.mutable_remind_time() = in.remind_time();
                else
                    next.clear_remind_time();
            }
        }
        if (next.has_remind_time() && next.has_due_time() && Micros(next.remind_time()) > Micros(next.due_time())) {
            throw ApiError::InvalidArgument("activity.remind_time", "must not be after due_time");
        }
        std::vector<std::string> changed;
        if (next.subject() != current.subject()) changed.push_back("subject");
        if (next.description() != current.description()) changed.push_back("description");
        if (next.owner_id() != current.owner_id()) changed.push_back("owner_id");
        const bool due_changed =
            !SameTime(next.has_due_time(), next.due_time(), current.has_due_time(), current.due_time());
        const bool remind_changed =
            !SameTime(next.has_remind_time(), next.remind_time(), current.has_remind_time(), current.remind_time());
        if (due_changed) changed.push_back("due_time");
        if (remind_changed) changed.push_back("remind_time");
        if (changed.empty()) return current;
        std::string due_buf, remind_buf;
        common::ColumnSealer sealer(db, tx, t);
        const pqxx::result rows =
            db.Exec(tx, sql::kWriteActivity, t, in.id(), sealer.Seal(in.id(), sealed::kActivitySubject, next.subject()),
                    sealer.Seal(in.id(), sealed::kActivityDescription, next.description()), next.owner_id(),
                    OptionalMicros(next.has_due_time(), next.due_time(), due_buf),
                    OptionalMicros(next.has_remind_time(), next.remind_time(), remind_buf),
                    due_changed || remind_changed, current.version());
        if (rows.empty()) throw ApiError::Aborted("the activity changed concurrently; read it again and retry");
        v1::Activity updated = Load(db, tx, t, in.id());
        ev::ActivityUpdated event;
        *event.mutable_activity() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        Emit(outbox, tx, rc, "activity", updated.id(), updated.version(), event, updated.update_time());
        return updated;
    });
}

v1::Activity Complete(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                      const v1::CompleteActivityRequest& req) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Activity current = Load(db, tx, rc.tenant_id, req.id(), true);
        common::CheckEtag(req.etag(), current.version());
        if (current.status() != v1::ACTIVITY_STATUS_OPEN) {
            throw ApiError::FailedPrecondition("the activity is already completed", "ACTIVITY_COMPLETED");
        }
        common::ColumnSealer sealer(db, tx, rc.tenant_id);
        db.Exec(tx, sql::kCompleteActivity, rc.tenant_id, req.id(),
                sealer.Seal(req.id(), sealed::kActivityOutcome, req.outcome()));
        v1::Activity done = Load(db, tx, rc.tenant_id, req.id());
        ev::ActivityCompleted event;
        *event.mutable_activity() = done;
        Emit(outbox, tx, rc, "activity", done.id(), done.version(), event, done.complete_time());
        return done;
    });
}

common::Page<v1::Activity> List(common::Db& db, const RequestContext& rc, v1::RecordType type,
                                const std::string& record_id, int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListActivities", static_cast<int>(type), record_id}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    const common::Sql* statement = &sql::kTimelineOpportunity;
    if (type == v1::RECORD_TYPE_LEAD) statement = &sql::kTimelineLead;
    if (type == v1::RECORD_TYPE_CONTACT) statement = &sql::kTimelineContact;
    if (type == v1::RECORD_TYPE_COMPANY) statement = &sql::kTimelineCompany;
    std::vector<v1::Activity> items = db.InTenant(rc, [&](pqxx::work& tx) {
        if (type == v1::RECORD_TYPE_OPPORTUNITY) opportunities::Load(db, tx, rc.tenant_id, record_id);
        std::vector<v1::Activity> out;
        for (const auto& r : db.Exec(tx, *statement, rc.tenant_id, record_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadActivity(r, rc.tenant_id));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Activity& a) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(a.create_time()), a.id()});
    });
}

// ==== reminders ======================================================================================================

int PublishDueReminders(common::Db& db, common::Outbox& outbox, int limit) {
    // Discovery across tenants (read-only, scheduler policy), then one tenant transaction per tenant that claims the
    // rows with FOR UPDATE SKIP LOCKED, re-checks them, marks them and writes ActivityDue in the same transaction.
    std::map<std::string, std::vector<std::string>> due = db.InTenant(std::string(), [&](pqxx::work& tx) {
        db.Exec(tx, sql::kRemindersSchedulerOn);
        std::map<std::string, std::vector<std::string>> out;
        for (const auto& r : db.Exec(tx, sql::kDueActivities, limit)) {
            out[r[0].as<std::string>()].push_back(r[1].as<std::string>());
        }
        return out;
    });
    int published = 0;
    for (const auto& [tenant, ids] : due) {
        published += db.InTenant(tenant, [&](pqxx::work& tx) {
            int n = 0;
            for (const auto& r : db.Exec(tx, sql::kClaimDueActivities, tenant, UuidArray(ids))) {
                const v1::Activity a = ReadActivity(r, tenant);
                ev::ActivityDue event;
                *event.mutable_activity() = a;
                if (a.has_due_time()) *event.mutable_due_time() = a.due_time();
                if (a.has_remind_time()) *event.mutable_remind_time() = a.remind_time();
                Emit(outbox, tx, tenant, "", "activity", a.id(), a.version(), event, a.reminder_sent_time());
                ++n;
            }
            return n;
        });
    }
    return published;
}

Reminders::Reminders(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, int batch)
    : db_(db),
      outbox_(outbox),
      batch_(batch),
      published_(prometheus::BuildCounter()
                     .Name("crm_sales_reminders_published_total")
                     .Help("ActivityDue events written by the reminder scheduler.")
                     .Register(metrics.registry())
                     .Add({})) {}

void Reminders::RunRound() {
    int published = 0;
    do {
        published = PublishDueReminders(db_, outbox_, batch_);
        published_.Increment(published);
    } while (published == batch_);
}

}  // namespace crm::sales::activities
