#pragma once
// The read API of the audit trail (proto crm.audit.v1.AuditService): what every service serves for its own trail
// (registered by the kit's bootstrap for every service with a database) and what the gateway needs to serve it for
// the suite (the same validation, the same keyset, backend page tokens it can make itself).
//
// Order: newest first, by (occurred_us, chain, seq) descending; within the suite, by (occurred_us, service, chain,
// seq) descending. Page tokens are signed over the tenant and the filters (paging.hpp).
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "crm/common/audit.hpp"

namespace crm::audit::v1 {
class AuditEvent;
class ListAuditEventsRequest;
}  // namespace crm::audit::v1
namespace grpc {
class Service;
}  // namespace grpc
namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace crm::common {

class Db;
class RpcRuntime;

// Rows strictly after this position in the (descending) order are returned.
struct AuditPosition {
    std::int64_t occurred_us = std::numeric_limits<std::int64_t>::max();
    int chain = std::numeric_limits<int>::max();
    std::int64_t seq = std::numeric_limits<std::int64_t>::max();
};

struct AuditQuery {
    std::string service;  // empty: every service (the gateway)
    std::string resource_type, resource_id, actor_user;
    std::int64_t start_us = std::numeric_limits<std::int64_t>::min();  // inclusive
    std::int64_t end_us = std::numeric_limits<std::int64_t>::max();    // exclusive
    int page_size = 50;
    std::string page_token;
};

// Validates a request (every bad field named; INVALID_ARGUMENT) into a query.
AuditQuery ParseAuditQuery(const crm::audit::v1::ListAuditEventsRequest& request);
// What a page token of the query is bound to: its filters (not the service: a service's token is its own).
std::string AuditScope(const AuditQuery& query);
// A service's page token (and its decoding): the position of the last row returned.
std::string EncodeAuditToken(const std::string& tenant, const AuditQuery& query, const AuditPosition& after);
AuditPosition DecodeAuditToken(const std::string& tenant, const AuditQuery& query);

// Up to `limit` rows of the tenant matching the query after `after`, in order.
std::vector<AuditRow> ListAuditRows(pqxx::transaction_base& tx, const std::string& tenant, const AuditQuery& query,
                                    const AuditPosition& after, int limit);
void AuditRowToProto(const AuditRow& row, const std::string& service, crm::audit::v1::AuditEvent* out);

// The service's own AuditService (roles auditor and admin).
std::shared_ptr<grpc::Service> MakeAuditService(std::string service, Db& db, RpcRuntime& rpc);

}  // namespace crm::common
