#pragma once
// Mobile, offline first: SyncTechnicianDay. A technician's phone sends the operations made offline (status changes
// and completions, each with an idempotency key and the etag it was based on) and receives its two days (today and
// tomorrow in the technician's time zone) as a delta since its last sync token.
//
// Operations: each in its own transaction, in the order sent. The key is claimed first (a resent key is answered
// DUPLICATE with the first result, stored with the claim); an etag that is neither the job's nor one the same batch
// produced from the device's base is a CONFLICT with the server's version (nothing is overwritten); the change itself
// runs the same rules and writes the same events as ChangeWorkOrderStatus / CompleteWorkOrder, recorded at the
// device's time (not before the job was dispatched, not before its last change: REJECTED otherwise).
//
// Delta: every write of a work order or of its reservations stamps the row with the writing transaction's id
// (migration 0002); the token carries the xmin of the snapshot the last sync read, so nothing committed after it is
// missed. Jobs taken from the technician leave tombstones. The token is signed with the kit's page-token key over the
// tenant and the technician: it cannot be used by another tenant or for another technician.
// Include only from the service's .cpp files: it pulls in pqxx and the generated protos.
#include <crm/fieldservice/v1/fieldservice.pb.h>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "records.hpp"

namespace crm::fieldservice::mobile {

namespace v1 = crm::fieldservice::v1;
using common::RequestContext;

// A token older than this gives a full sync (tombstones and operation results are kept this long).
inline constexpr std::int64_t kTokenLifetimeSeconds = 30LL * 86400;

// The request checked by the handler (ids lowercased, times in range, at most kMaxSyncOperations operations).
// NOT_FOUND for another technician of a technician-only caller; INVALID_ARGUMENT (since_token) for a token that
// this technician's sync did not issue.
v1::SyncTechnicianDayResponse Sync(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                   const v1::SyncTechnicianDayRequest& req, FieldServiceMetrics& metrics);

}  // namespace crm::fieldservice::mobile
