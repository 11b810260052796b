#pragma once
// The cases area: a case as a record and its lifecycle. Every whole-row read and write of the `cases` table goes
// through the record functions below (the conversation area calls them inside its own transactions), with the case's
// events appended to the outbox in the same transaction. The use cases: opening, reading, listing and editing cases
// (update_mask, etag), status changes, assignment.
#include <crm/support/v1/support.pb.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"
#include "domain/case.hpp"

namespace pqxx {
class transaction_base;
class row;
}  // namespace pqxx

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::clients {
class ContactsClient;
}  // namespace crm::clients

namespace crm::support::cases {

namespace v1 = crm::support::v1;

// Aggregate type of a case's events (the aggregate id is the case id).
inline constexpr char kAggregateType[] = "case";

// --- enums between the API and the rules ---------------------------------------------------------------------------
domain::Status StatusOf(v1::CaseStatus status);  // UNSPECIFIED -> NEW
v1::CaseStatus StatusProto(domain::Status status);
domain::Priority PriorityOf(v1::CasePriority priority);  // UNSPECIFIED -> NORMAL
v1::CasePriority PriorityProto(domain::Priority priority);
domain::Channel ChannelOf(v1::Channel channel);  // UNSPECIFIED -> API
v1::Channel ChannelProto(domain::Channel channel);

// The client-settable values of a case in a request, checked and normalized (domain::NormalizeCase), its priority,
// channel and etag; each violation named under `prefix` ("case.").
v1::Case CheckedCase(const v1::Case& c, const std::string& prefix, bool create, common::Violations& violations);

// Microseconds since the epoch, now.
std::int64_t NowMicros();

// --- the record, inside the caller's transaction ---------------------------------------------------------------------
// A row of sql::kCaseColumns.
// (Its sealed columns opened with the row's key, the last column.)
v1::Case ReadCase(const std::string& tenant, const pqxx::row& row);
// NOT_FOUND when the tenant has no such case.
v1::Case LoadCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update = false);
// A contact's cases for the customer view, read in one statement: those not solved, closed or merged yet (oldest
// first, at most max_open) and the latest (newest first, at most max_recent).
struct ContactCases {
    std::vector<v1::Case> open, recent;
};
ContactCases LoadContactCases(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::string& contact_id, int max_open, int max_recent);
// A new row with the tenant's next case number: id, the client-settable fields of `c` (checked), status NEW.
v1::Case InsertCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                    const v1::Case& c);
// Writes every column a change may change when the row is still at expected_version; the version grows by
// version_step (one per event). ABORTED (CONCURRENT_MODIFICATION) when the row changed meanwhile.
v1::Case WriteCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& c,
                   int version_step, std::int64_t expected_version);

// Applies a status change to `c` (status, solve/close times, reopen count) without writing it.
void ApplyStatus(v1::Case& c, domain::Status to, std::int64_t now_micros);

// The events of one change of a case, for consecutive versions ending at the written case's version: each carries
// the case snapshot at its own version.
class EventBatch {
  public:
    EventBatch();
    ~EventBatch();
    template <class E>
    E& Add() {
        auto event = std::make_unique<E>();
        E& ref = *event;
        events_.push_back(std::move(event));
        return ref;
    }
    int size() const { return static_cast<int>(events_.size()); }
    // Sets the snapshot of every event (the case after the write, version adjusted) and appends them.
    // Events with a field sla_clocks (CaseStatusChanged, CaseMessageAdded, SlaBreached) get the case's SLA clocks as
    // they are after the write (sla::Clocks; the write's Sync has run).
    void Append(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                const std::string& request_id, const v1::Case& written);

  private:
    std::vector<std::unique_ptr<google::protobuf::Message>> events_;
};

// The id of the tenant's case with this number ("CS-<number>"), if any.
std::optional<std::string> FindCaseByNumber(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                            std::int64_t number);

// A merged contact's cases follow the survivor: each case of `loser_id` gets contact_id = survivor_id (CaseUpdated,
// changed_paths "contact_id"). Inside the caller's transaction (the consumer's).
void MoveContactCases(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                      const std::string& loser_id, const std::string& survivor_id);

// --- use cases -------------------------------------------------------------------------------------------------------
struct Settings {
    int reopen_days = 7;
};

struct ListQuery {
    int page_size = common::kDefaultPageSize;
    std::string page_token;
    std::string status;  // "" = any
    std::string assignee_id, contact_id;
};

struct MergeResult {
    v1::Case survivor;
    std::vector<v1::Case> merged;
};

class Cases {
  public:
    Cases(common::Db& db, common::Outbox& outbox, std::shared_ptr<clients::ContactsClient> contacts, Settings settings);

    // c: checked (CheckedCase). A retried request_id returns the first call's case.
    v1::Case Create(const common::RequestContext& rc, const v1::Case& c, const std::string& request_id);
    v1::Case Get(const common::RequestContext& rc, const std::string& id);
    common::Page<v1::Case> List(const common::RequestContext& rc, const ListQuery& query);
    // patch: the case with its id and new (normalized) values; paths: the update mask (empty = every non-empty
    // updatable field). CaseUpdated with the changed paths; nothing when no value changed.
    v1::Case Update(const common::RequestContext& rc, const v1::Case& patch, const std::vector<std::string>& paths,
                    const std::string& etag);
    v1::Case ChangeStatus(const common::RequestContext& rc, const std::string& id, domain::Status to,
                          const std::string& reason, const std::string& etag);
    v1::Case Assign(const common::RequestContext& rc, const std::string& id, const std::string& assignee_id,
                    const std::string& etag);

    // loser_ids: checked (distinct UUIDs, not the survivor). CaseMerged for the survivor and for each loser.
    MergeResult Merge(const common::RequestContext& rc, const std::string& survivor_id,
                      const std::vector<std::string>& loser_ids, const std::string& request_id,
                      const std::string& survivor_etag);

    const Settings& settings() const { return settings_; }

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    std::shared_ptr<clients::ContactsClient> contacts_;
    Settings settings_;
};

}  // namespace crm::support::cases
