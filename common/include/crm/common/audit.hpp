#pragma once
// The audit trail of a service's writes (issue 15): who (tenant, user or API key, roles, request id) did what (RPC,
// resource type and id, outcome, the changed field paths — never personal values), appended to crm_audit in the
// transaction of the write, so that a write and its audit row commit or fail together.
//
// crm_audit is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE; RLS lets the app role read and insert only
// its tenant's rows). Each tenant's rows form kAuditChains hash chains: a row holds the SHA-256 of the previous row
// of its chain and of its own fields, so that a row removed, altered or inserted out of order by someone who got past
// the trigger (the database owner) is found by VerifyAuditChain. A row goes to the first chain not held by another
// transaction, starting from the one its request id hashes to (a chain's tail stays locked until the writing
// transaction ends): writes of one tenant wait on each other only when all chains are held. What a chain cannot show by
// itself: that its newest rows were cut off (the shorter chain still verifies); an auditor who kept the last (chain,
// seq, hash) they saw detects that too.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace google::protobuf {
class Message;
}  // namespace google::protobuf
namespace pqxx {
class field;
class transaction_base;
}  // namespace pqxx

namespace crm::common {

struct RequestContext;

inline constexpr int kAuditChains = 8;

// The role an audit row records for a change the service made itself ("service:leads"): no caller's role looks so.
inline constexpr std::string_view kServiceActorRolePrefix = "service:";

struct AuditRecord {
    std::string rpc;            // "CreateContact"
    std::string resource_type;  // "contact"
    std::string resource_id;
    std::string outcome = "OK";
    std::vector<std::string> changed_paths;  // field paths, e.g. "email", "custom_fields.tier"
};

// The field paths an event names: its changed_paths field when it has one (updates), else the fields set in the
// snapshot it carries (the first message field that is not a google.protobuf type: creates), else its own set fields.
std::vector<std::string> ChangedPaths(const google::protobuf::Message& event);

// Appends one row for the caller of `rc` in `tx` (a transaction of rc's tenant). Returns its sequence number in its
// chain.
std::int64_t AppendAudit(pqxx::transaction_base& tx, const RequestContext& rc, const AuditRecord& record);

struct AuditRow {
    std::string tenant_id;
    int chain = 0;
    std::int64_t seq = 0;
    std::int64_t occurred_us = 0;
    std::string actor_user, actor_key;
    std::vector<std::string> actor_roles;
    std::string request_id, rpc, resource_type, resource_id, outcome;
    std::vector<std::string> changed_paths;
    std::string prev_hash, row_hash;  // raw 32 bytes
};

// A text[] column as read by libpqxx.
std::vector<std::string> AuditTextArray(const pqxx::field& f);

// SHA-256 of the previous row's hash and this row's length-framed fields (the same bytes crm_audit_append hashes).
std::string AuditRowHash(const AuditRow& row, const std::string& prev_hash);

struct AuditChainCheck {
    std::int64_t rows = 0;  // rows checked
    bool intact = true;
    int chain = -1;  // where the first problem is (when not intact)
    std::int64_t seq = 0;
    std::string problem;  // "row 5 of chain 2 was altered", ...
};

// Checks every chain of `tenant` (rows in chain and sequence order) in `tx` (a transaction of that tenant).
AuditChainCheck VerifyAuditChains(pqxx::transaction_base& tx, const std::string& tenant);
// The same over rows already read, e.g. by a test (rows of one tenant, any order).
AuditChainCheck VerifyAuditRows(std::vector<AuditRow> rows);

}  // namespace crm::common
