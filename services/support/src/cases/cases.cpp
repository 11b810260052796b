#include "cases/cases.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "cases/sql.hpp"
#include "conversation/conversation.hpp"
#include "crm/clients/contacts.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "queues/queues.hpp"

namespace crm::support::cases {
namespace {

namespace ev1 = crm::support::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

bool Named(const std::vector<std::string>& paths, const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

void RequireWritable(const v1::Case& c) {
    const domain::Status s = StatusOf(c.status());
    if (s == domain::Status::kMerged) {
        throw ApiError::FailedPrecondition("the case was merged into " + c.merged_into_id() + " and is read-only",
                                           "CASE_MERGED");
    }
    if (s == domain::Status::kClosed) {
        throw ApiError::FailedPrecondition("the case is closed and read-only", "CASE_CLOSED");
    }
}

}  // namespace

Cases::Cases(common::Db& db, common::Outbox& outbox, std::shared_ptr<clients::ContactsClient> contacts,
             Settings settings)
    : db_(db), outbox_(outbox), contacts_(std::move(contacts)), settings_(settings) {}

v1::Case Cases::Create(const common::RequestContext& rc, const v1::Case& c, const std::string& request_id) {
    contacts_->CheckLinks(rc, c.contact_id(), c.company_id(), "case.");
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "CreateCase", request_id, id)) {
            return LoadCase(db_, tx, rc.tenant_id, *first);
        }
        const v1::Case written = InsertCase(db_, tx, rc.tenant_id, id, c);
        EventBatch batch;
        batch.Add<ev1::CaseCreated>();
        batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, written);
        return queues::RouteNewCase(db_, outbox_, tx, rc, written);
    });
}

v1::Case Cases::Get(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadCase(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Case> Cases::List(const common::RequestContext& rc, const ListQuery& q) {
    const std::string scope = nlohmann::json::array({"ListCases", q.status, q.assignee_id, q.contact_id}).dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::Case> cases = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Case> out;
        for (const auto& row : db_.Exec(tx, sql::kListCases, rc.tenant_id, after.micros, after.id, q.page_size + 1,
                                        common::NullIfEmpty(q.status), common::NullIfEmpty(q.assignee_id),
                                        common::NullIfEmpty(q.contact_id))) {
            out.push_back(ReadCase(rc.tenant_id, row));
        }
        return out;
    });
    return common::MakePage(std::move(cases), q.page_size, [&](const v1::Case& last) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope,
                                         {TimeUtil::TimestampToMicroseconds(last.create_time()), last.id()});
    });
}

v1::Case Cases::Update(const common::RequestContext& rc, const v1::Case& p, const std::vector<std::string>& paths,
                       const std::string& etag) {
    const bool links_named = Named(paths, "contact_id") || Named(paths, "company_id") ||
                             (paths.empty() && (!p.contact_id().empty() || !p.company_id().empty()));
    if (links_named) {
        contacts_->CheckLinks(rc, Named(paths, "contact_id") || paths.empty() ? p.contact_id() : std::string(),
                              Named(paths, "company_id") || paths.empty() ? p.company_id() : std::string(), "case.");
    }
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Case c = LoadCase(db_, tx, rc.tenant_id, p.id(), true);
        common::CheckEtag(etag, c.version());
        RequireWritable(c);
        const std::int64_t expected = c.version();
        std::vector<std::string> changed;
        auto wanted = [&](const char* path, bool set) { return Named(paths, path) || (paths.empty() && set); };
        auto set = [&](const char* path, std::string* field, const std::string& value) {
            if (!wanted(path, !value.empty()) || *field == value) return;
            *field = value;
            changed.push_back(path);
        };
        set("subject", c.mutable_subject(), p.subject());
        set("description", c.mutable_description(), p.description());
        set("contact_id", c.mutable_contact_id(), p.contact_id());
        set("company_id", c.mutable_company_id(), p.company_id());
        set("product", c.mutable_product(), p.product());
        set("asset_id", c.mutable_asset_id(), p.asset_id());
        set("category", c.mutable_category(), p.category());
        set("language", c.mutable_language(), p.language());
        set("customer_tier", c.mutable_customer_tier(), p.customer_tier());
        if (wanted("priority", p.priority() != v1::CASE_PRIORITY_UNSPECIFIED)) {
            const v1::CasePriority priority = PriorityProto(PriorityOf(p.priority()));
            if (c.priority() != priority) {
                c.set_priority(priority);
                changed.push_back("priority");
            }
        }
        if (wanted("tags", p.tags_size() > 0)) {
            const std::vector<std::string> before(c.tags().begin(), c.tags().end());
            if (before != std::vector<std::string>(p.tags().begin(), p.tags().end())) {
                *c.mutable_tags() = p.tags();
                changed.push_back("tags");
            }
        }
        if (wanted("custom_fields", !p.custom_fields().empty())) {
            const std::map<std::string, std::string> before(c.custom_fields().begin(), c.custom_fields().end());
            const std::map<std::string, std::string> after(p.custom_fields().begin(), p.custom_fields().end());
            if (before != after) {
                *c.mutable_custom_fields() = p.custom_fields();
                changed.push_back("custom_fields");
            }
        }
        if (c.subject().empty()) throw ApiError::InvalidArgument("case.subject", "required: a case needs a subject");
        if (changed.empty()) return c;
        EventBatch batch;
        auto& updated = batch.Add<ev1::CaseUpdated>();
        for (const auto& path : changed) updated.add_changed_paths(path);
        const v1::Case written = WriteCase(db_, tx, rc.tenant_id, c, batch.size(), expected);
        batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

v1::Case Cases::ChangeStatus(const common::RequestContext& rc, const std::string& id, domain::Status to,
                             const std::string& reason, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Case c = LoadCase(db_, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, c.version());
        const domain::Status from = StatusOf(c.status());
        if (!domain::TransitionAllowed(from, to)) {
            throw ApiError::FailedPrecondition(
                std::string("a case cannot move from ") + domain::StatusText(from) + " to " + domain::StatusText(to),
                "INVALID_TRANSITION");
        }
        const std::int64_t now = NowMicros();
        const bool reopen = from == domain::Status::kSolved && to == domain::Status::kOpen;
        if (reopen &&
            !domain::ReopenAllowed(TimeUtil::TimestampToMicroseconds(c.solve_time()), now, settings_.reopen_days)) {
            throw ApiError::FailedPrecondition("the case was solved more than " +
                                                   std::to_string(settings_.reopen_days) +
                                                   " days ago and cannot be reopened; open a new case",
                                               "REOPEN_WINDOW_PASSED");
        }
        const std::int64_t expected = c.version();
        ApplyStatus(c, to, now);
        EventBatch batch;
        auto& changed = batch.Add<ev1::CaseStatusChanged>();
        changed.set_from_status(StatusProto(from));
        changed.set_to_status(StatusProto(to));
        changed.set_reason(reason);
        changed.set_reopened(reopen);
        const v1::Case written = WriteCase(db_, tx, rc.tenant_id, c, batch.size(), expected);
        batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

v1::Case Cases::Assign(const common::RequestContext& rc, const std::string& id, const std::string& assignee_id,
                       const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Case c = LoadCase(db_, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, c.version());
        RequireWritable(c);
        if (c.assignee_id() == assignee_id) return c;
        const std::int64_t expected = c.version();
        const std::string previous = c.assignee_id();
        c.set_assignee_id(assignee_id);
        EventBatch batch;
        auto& assigned = batch.Add<ev1::CaseAssigned>();
        assigned.set_previous_assignee_id(previous);
        assigned.set_assignee_id(assignee_id);
        const v1::Case written = WriteCase(db_, tx, rc.tenant_id, c, batch.size(), expected);
        batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

MergeResult Cases::Merge(const common::RequestContext& rc, const std::string& survivor_id,
                         const std::vector<std::string>& loser_ids, const std::string& request_id,
                         const std::string& survivor_etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        MergeResult result;
        if (common::ClaimRequest(db_, tx, rc.tenant_id, "MergeCases", request_id, survivor_id)) {
            result.survivor = LoadCase(db_, tx, rc.tenant_id, survivor_id);
            for (const auto& id : loser_ids) result.merged.push_back(LoadCase(db_, tx, rc.tenant_id, id));
            return result;
        }
        // Every case locked in id order, so that two merges of overlapping cases cannot deadlock.
        std::vector<std::string> ids = loser_ids;
        ids.push_back(survivor_id);
        std::sort(ids.begin(), ids.end());
        std::map<std::string, v1::Case> locked;
        for (const auto& id : ids) locked[id] = LoadCase(db_, tx, rc.tenant_id, id, true);
        v1::Case survivor = locked[survivor_id];
        common::CheckEtag(survivor_etag, survivor.version());
        RequireWritable(survivor);
        for (const auto& id : loser_ids) {
            if (StatusOf(locked[id].status()) == domain::Status::kMerged) {
                throw ApiError::FailedPrecondition(
                    "case " + id + " was already merged into " + locked[id].merged_into_id(), "CASE_MERGED");
            }
        }
        int total = 0;
        for (const auto& id : loser_ids) {
            v1::Case loser = locked[id];
            const std::int64_t expected = loser.version();
            const int moved = conversation::MoveEntries(db_, tx, rc.tenant_id, id, survivor_id);
            total += moved;
            loser.set_status(v1::CASE_STATUS_MERGED);
            loser.set_merged_into_id(survivor_id);
            loser.set_message_count(0);
            EventBatch batch;
            auto& merged = batch.Add<ev1::CaseMerged>();
            merged.set_survivor_id(survivor_id);
            for (const auto& l : loser_ids) merged.add_loser_ids(l);
            merged.set_moved_message_count(moved);
            const v1::Case written = WriteCase(db_, tx, rc.tenant_id, loser, batch.size(), expected);
            batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, written);
            result.merged.push_back(written);
        }
        const std::int64_t expected = survivor.version();
        survivor.set_message_count(survivor.message_count() + total);
        EventBatch batch;
        auto& merged = batch.Add<ev1::CaseMerged>();
        merged.set_survivor_id(survivor_id);
        for (const auto& l : loser_ids) merged.add_loser_ids(l);
        merged.set_moved_message_count(total);
        result.survivor = WriteCase(db_, tx, rc.tenant_id, survivor, batch.size(), expected);
        batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, result.survivor);
        return result;
    });
}

std::optional<std::string> FindCaseByNumber(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                            std::int64_t number) {
    const pqxx::result rows = db.Exec(tx, sql::kCaseByNumber, tenant, number);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
}

void MoveContactCases(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                      const std::string& loser_id, const std::string& survivor_id) {
    for (const auto& row : db.Exec(tx, sql::kCasesOfContact, tenant, loser_id)) {
        v1::Case c = LoadCase(db, tx, tenant, row[0].as<std::string>(), true);
        const std::int64_t expected = c.version();
        c.set_contact_id(survivor_id);
        EventBatch batch;
        batch.Add<ev1::CaseUpdated>().add_changed_paths("contact_id");
        const v1::Case written = WriteCase(db, tx, tenant, c, batch.size(), expected);
        batch.Append(db, outbox, tx, tenant, "", written);
    }
}

}  // namespace crm::support::cases
