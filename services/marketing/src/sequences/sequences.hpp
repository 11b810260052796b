#pragma once
// The sequences area (journeys): a sequence is a trigger and steps; people are enrolled by the consumer when an event
// of theirs matches an active sequence's trigger (at most once per sequence and person), and the runner (runner.hpp)
// takes due enrolments on any replica and runs their steps. Definitions are versioned: an update writes a new version
// and enrolments finish the version they enrolled in.
//
// Exits: when the person converts (LeadConverted), unsubscribes (one-click unsubscribe, suppression, consent opted
// out), is erased (ContactErased: the enrolment forgets the person id), or is merged away or deleted.
#include <crm/marketing/v1/marketing.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
struct ConsumedEvent;
}  // namespace crm::common

namespace crm::marketing::audience {
struct Changes;
}

namespace crm::marketing::sequences {

namespace v1 = crm::marketing::v1;
using common::RequestContext;

inline constexpr char kEnrolmentAggregate[] = "sequence_enrolment";
inline constexpr int kMaxSteps = 50;

// The client-settable values of a sequence, checked under "sequence." (every bad node named). Lookups (campaigns,
// templates, lists) are checked by Create/Update inside their transaction.
v1::Sequence CheckedSequence(const v1::Sequence& in, bool create, const std::vector<std::string>& paths,
                             common::Violations& violations);

class Sequences {
  public:
    Sequences(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

    v1::Sequence Create(const RequestContext& rc, const v1::Sequence& in, const std::string& request_id);
    v1::Sequence Get(const RequestContext& rc, const std::string& id);
    common::Page<v1::Sequence> List(const RequestContext& rc, int page_size, const std::string& page_token);
    v1::Sequence Update(const RequestContext& rc, const v1::Sequence& in, const std::vector<std::string>& paths,
                        const std::string& etag);
    common::Page<v1::SequenceEnrolment> Enrolments(const RequestContext& rc, const std::string& sequence_id,
                                                   int page_size, const std::string& page_token);
    v1::GetSequenceSplitReportResponse Report(const RequestContext& rc, const std::string& sequence_id,
                                              const std::string& step_id);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

// The consumer's side, in its transaction, after the audience and segments applied the event: enrolments by the
// event's trigger (lead engagement, lead created, contact created) and exits (conversion, consent opted out, erasure,
// merge).
void ApplyEvent(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& ev,
                const audience::Changes& changes);

// For the segments area, inside its transaction: people who entered a segment are enrolled in the active sequences it
// triggers; `event_id` is the SegmentMembershipChanged that says so.
void EnrolEntered(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                  const std::string& segment_id, const std::vector<std::string>& entered, const std::string& event_id);

// For other areas, inside their transaction: ends the person's active enrolments with `reason` (SequenceExited).
void ExitPerson(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                const std::string& person_id, const std::string& reason);

// Stored form of a definition (proto JSON of the Sequence's trigger and steps) and back.
std::string DefinitionJson(const v1::Sequence& sequence);
v1::Sequence ParseDefinition(const std::string& json);

}  // namespace crm::marketing::sequences
