#pragma once
// The lifecycle area: a lead as a record and what happens to it after capture. Every whole-row read and write of the
// `leads` table goes through the record functions below (other areas call them inside their own transactions), with
// the lead's events appended to the outbox in the same transaction. The use cases: reading and listing leads, editing
// them (update_mask, etag), status changes, engagements.
#include <crm/leads/v1/leads.pb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"
#include "domain/lead.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::leads::lifecycle {

namespace v1 = crm::leads::v1;

// Aggregate type of a lead's events (the aggregate id is the lead id).
inline constexpr char kAggregateType[] = "lead";

// --- the lead's values as domain rules see them ----------------------------------------------------------------
domain::LeadFields FieldsOf(const v1::Lead& lead);
// `lead` with the (normalized) fields and priority written into it.
v1::Lead WithFields(v1::Lead lead, const domain::LeadFields& fields);
domain::Status StatusOf(v1::LeadStatus status);  // UNSPECIFIED -> NEW
v1::LeadStatus StatusProto(domain::Status status);
domain::Priority PriorityOf(v1::LeadPriority priority);  // UNSPECIFIED -> MEDIUM
v1::LeadPriority PriorityProto(domain::Priority priority);

// The client-settable values of a lead in a request, checked and normalized: its fields (domain::NormalizeLead), its
// priority, its consent and its etag, each violation named under `prefix` ("lead."). Other fields are left as they are
// (output only: never read from a request).
v1::Lead CheckedLead(const v1::Lead& lead, const std::string& prefix, bool require_identity,
                     common::Violations& violations);

// --- the record, inside the caller's transaction ------------------------------------------------------------------
// NOT_FOUND when the tenant has no such lead.
v1::Lead LoadLead(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update = false);
// A new row: lead.id(), its fields, owner and team, priority, score and reasons, capture channel, web form, consent
// (consent time = now when the lead has a consent), first-touch deadline = now + sla_seconds (none when nullopt).
v1::Lead InsertLead(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Lead& lead,
                    std::optional<std::int64_t> sla_seconds);
// Writes what a lifecycle change may change (fields, owner, team, priority, status and reason, score, first-touch
// deadline) when the row is still at expected_version; the version grows by version_step (one per event); touch sets
// the first touch once. ABORTED (CONCURRENT_MODIFICATION) when the row changed meanwhile.
v1::Lead WriteLead(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Lead& lead,
                   int version_step, bool touch, std::int64_t expected_version);
// ConvertLead's last step: marks the lead converted with the ids the saga produced when its status allows it
// (domain::ConvertAllowed), locking it first, in one statement. The converted lead and the status it had, or nullopt
// when its status did not allow it (nothing written; it stays locked for the rest of the transaction). NOT_FOUND when
// the tenant has no such lead.
struct Converted {
    v1::Lead lead;
    domain::Status from = domain::Status::kNew;
};
std::optional<Converted> MarkConverted(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                       const std::string& id, const v1::LeadConversion& ids, bool allow_unqualified);
// The id of the tenant's open lead (not CONVERTED or UNQUALIFIED) with this email, if any, after taking the email's
// lock for the rest of the transaction.
std::optional<std::string> OpenLeadWithEmail(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                             const std::string& email);
// The blind index of a lead's (normalized) e-mail: what every e-mail look-up of `leads` compares (email_index).
std::string EmailIndex(const std::string& tenant, const std::string& email);
// The ALREADY_EXISTS error for a second open lead with one email (reason DUPLICATE_LEAD, metadata existing_id).
[[noreturn]] void ThrowDuplicate(const std::string& existing_id);
// FAILED_PRECONDITION (LEAD_CONVERTED) for a converted lead: it is read-only.
void RequireNotConverted(const v1::Lead& lead);

// The events of one change of a lead, for consecutive versions ending at the written lead's version: each carries the
// lead snapshot at its own version.
class EventBatch {
  public:
    template <class E>
    E& Add() {
        auto event = std::make_unique<E>();
        E& ref = *event;
        events_.push_back(std::move(event));
        return ref;
    }
    int size() const { return static_cast<int>(events_.size()); }
    // A LeadScored event when the score moved from `previous`.
    void AddScored(const v1::Lead& lead, int previous);
    // Sets the snapshot of every event (the lead after the write, version adjusted) and appends them.
    void Append(common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                const std::string& request_id, const v1::Lead& written);

  private:
    std::vector<std::unique_ptr<google::protobuf::Message>> events_;
};

// Records an engagement on a lead (loaded for update by the caller), rescores it and writes it with its events
// (LeadEngagementRecorded, LeadScored when the score moved). An OUTBOUND engagement is the first touch.
std::pair<v1::Lead, v1::Engagement> AddEngagement(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                                  const std::string& tenant, const std::string& request_id,
                                                  v1::Lead lead, const v1::Engagement& engagement,
                                                  const std::string& engagement_id);

// --- use cases ----------------------------------------------------------------------------------------------------
struct ListQuery {
    int page_size = common::kDefaultPageSize;
    std::string page_token;
    std::string status;  // "" = any
    std::string owner_id, source, campaign_id;
    std::string contact_id;  // the contact a lead was converted to
};

class Lifecycle {
  public:
    Lifecycle(common::Db& db, common::Outbox& outbox);

    v1::Lead Get(const common::RequestContext& rc, const std::string& id);
    common::Page<v1::Lead> List(const common::RequestContext& rc, const ListQuery& query);
    // patch: the lead with its id and new (normalized) values; paths: the update mask (empty = every non-empty
    // updatable field). LeadUpdated with the changed paths, LeadScored when the score moved; nothing when no value
    // changed.
    v1::Lead Update(const common::RequestContext& rc, const v1::Lead& patch, const std::vector<std::string>& paths,
                    const std::string& etag);
    v1::Lead ChangeStatus(const common::RequestContext& rc, const std::string& id, domain::Status to,
                          const std::string& reason, const std::string& etag);
    // The lead after rescoring and the stored engagement; a retried request_id returns the first engagement.
    std::pair<v1::Lead, v1::Engagement> RecordEngagement(const common::RequestContext& rc, const std::string& lead_id,
                                                         const v1::Engagement& engagement,
                                                         const std::string& request_id);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

}  // namespace crm::leads::lifecycle
