#include "crm/common/audit_api.hpp"

#include <crm/audit/v1/audit.grpc.pb.h>

#include <pqxx/pqxx>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"

namespace crm::common {
namespace {

namespace av1 = crm::audit::v1;

std::int64_t Micros(const google::protobuf::Timestamp& t) { return t.seconds() * 1'000'000 + t.nanos() / 1000; }

const Sql kListAudit{"audit_list", R"SQL(
SELECT chain, seq, occurred_us, actor_user, actor_key, actor_roles, request_id, rpc, resource_type, resource_id,
       outcome, changed_paths, prev_hash, row_hash
FROM crm_audit
WHERE tenant_id = $1 AND occurred_us >= $2 AND occurred_us < $3
  AND (occurred_us, chain, seq) < ($4::bigint, $5::int, $6::bigint)
  AND ($7 = '' OR resource_type = $7) AND ($8 = '' OR resource_id = $8) AND ($9 = '' OR actor_user = $9)
ORDER BY occurred_us DESC, chain DESC, seq DESC
LIMIT $10)SQL"};

void RequireAuditor(const RequestContext& rc) {
    if (!rc.HasRole("auditor") && !rc.HasRole("admin")) {
        throw ApiError::PermissionDenied("reading the audit trail needs the role auditor or admin");
    }
}

void CheckService(const std::string& asked, const std::string& own) {
    if (!asked.empty() && asked != own) {
        throw ApiError::InvalidArgument("service", "this is the " + own + " service: it serves its own trail only");
    }
}

class AuditServiceImpl final : public av1::AuditService::Service {
  public:
    AuditServiceImpl(std::string service, Db& db, RpcRuntime& rpc) : service_(std::move(service)), db_(db), rpc_(rpc) {}

    grpc::Status ListAuditEvents(grpc::ServerContext* sc, const av1::ListAuditEventsRequest* req,
                                 av1::ListAuditEventsResponse* resp) override {
        return rpc_.Handle(sc, "ListAuditEvents", [&](const RequestContext& rc) {
            RequireAuditor(rc);
            const AuditQuery query = ParseAuditQuery(*req);
            CheckService(query.service, service_);
            const AuditPosition after = DecodeAuditToken(rc.tenant_id, query);
            auto rows = db_.InTenant(
                rc, [&](pqxx::work& tx) { return ListAuditRows(tx, rc.tenant_id, query, after, query.page_size + 1); });
            const auto page = MakePage(std::move(rows), query.page_size, [&](const AuditRow& last) {
                return EncodeAuditToken(rc.tenant_id, query, {last.occurred_us, last.chain, last.seq});
            });
            for (const auto& row : page.items) AuditRowToProto(row, service_, resp->add_events());
            resp->set_next_page_token(page.next_page_token);
        });
    }

    grpc::Status VerifyAuditChain(grpc::ServerContext* sc, const av1::VerifyAuditChainRequest* req,
                                  av1::VerifyAuditChainResponse* resp) override {
        return rpc_.Handle(sc, "VerifyAuditChain", [&](const RequestContext& rc) {
            RequireAuditor(rc);
            Violations v;
            CheckToken(v, req->service(), "service", 64);
            v.ThrowIfAny();
            CheckService(req->service(), service_);
            const AuditChainCheck check =
                db_.InTenant(rc, [&](pqxx::work& tx) { return VerifyAuditChains(tx, rc.tenant_id); });
            auto* out = resp->add_checks();
            out->set_service(service_);
            out->set_rows_checked(check.rows);
            out->set_intact(check.intact);
            if (!check.intact) {
                out->set_chain(check.chain);
                out->set_seq(check.seq);
                out->set_problem(check.problem);
            }
            resp->set_intact(check.intact);
        });
    }

  private:
    std::string service_;
    Db& db_;
    RpcRuntime& rpc_;
};

}  // namespace

AuditQuery ParseAuditQuery(const av1::ListAuditEventsRequest& request) {
    Violations v;
    AuditQuery q;
    CheckToken(v, request.service(), "service", 64);
    CheckToken(v, request.resource_type(), "resource_type", 64);
    CheckToken(v, request.resource_id(), "resource_id", 128);
    CheckToken(v, request.actor_user_id(), "actor_user_id", 256);
    if (!request.resource_id().empty() && request.resource_type().empty()) {
        v.Add("resource_type", "required with resource_id");
    }
    const bool has_start = request.has_start_time(), has_end = request.has_end_time();
    if (has_start) CheckTime(v, request.start_time().seconds(), request.start_time().nanos(), "start_time");
    if (has_end) CheckTime(v, request.end_time().seconds(), request.end_time().nanos(), "end_time");
    if (has_start && has_end && Micros(request.end_time()) <= Micros(request.start_time())) {
        v.Add("end_time", "must be after start_time");
    }
    if (request.page_size() < 0) v.Add("page_size", "must not be negative");
    if (request.page_token().size() > 1024) v.Add("page_token", "at most 1024 characters");
    v.ThrowIfAny();
    q.service = request.service();
    q.resource_type = request.resource_type();
    q.resource_id = request.resource_id();
    q.actor_user = request.actor_user_id();
    if (has_start) q.start_us = Micros(request.start_time());
    if (has_end) q.end_us = Micros(request.end_time());
    q.page_size = ResolvePageSize(request.page_size());
    q.page_token = request.page_token();
    return q;
}

std::string AuditScope(const AuditQuery& q) {
    std::string scope = "audit";
    for (const std::string* part : {&q.resource_type, &q.resource_id, &q.actor_user}) {
        scope += '|' + std::to_string(part->size()) + ':' + *part;
    }
    return scope + '|' + std::to_string(q.start_us) + '|' + std::to_string(q.end_us);
}

std::string EncodeAuditToken(const std::string& tenant, const AuditQuery& query, const AuditPosition& after) {
    return EncodePageToken(tenant, AuditScope(query),
                           {std::to_string(after.occurred_us), std::to_string(after.chain), std::to_string(after.seq)});
}

AuditPosition DecodeAuditToken(const std::string& tenant, const AuditQuery& query) {
    const auto keys = DecodePageToken(query.page_token, tenant, AuditScope(query), 3);
    AuditPosition p;
    if (keys.empty()) return p;
    try {
        p.occurred_us = std::stoll(keys[0]);
        p.chain = std::stoi(keys[1]);
        p.seq = std::stoll(keys[2]);
    } catch (const std::exception&) {
        throw ApiError::InvalidArgument("page_token", "not a page token of this query");
    }
    return p;
}

std::vector<AuditRow> ListAuditRows(pqxx::transaction_base& tx, const std::string& tenant, const AuditQuery& q,
                                    const AuditPosition& after, int limit) {
    std::vector<AuditRow> rows;
    for (const auto& r : tx.exec_params(kListAudit.text, tenant, q.start_us, q.end_us, after.occurred_us, after.chain,
                                        after.seq, q.resource_type, q.resource_id, q.actor_user, limit)) {
        AuditRow row;
        row.tenant_id = tenant;
        row.chain = r[0].as<int>();
        row.seq = r[1].as<std::int64_t>();
        row.occurred_us = r[2].as<std::int64_t>();
        row.actor_user = r[3].as<std::string>();
        row.actor_key = r[4].as<std::string>();
        row.actor_roles = AuditTextArray(r[5]);
        row.request_id = r[6].as<std::string>();
        row.rpc = r[7].as<std::string>();
        row.resource_type = r[8].as<std::string>();
        row.resource_id = r[9].as<std::string>();
        row.outcome = r[10].as<std::string>();
        row.changed_paths = AuditTextArray(r[11]);
        row.prev_hash = pqxx::binarystring(r[12]).str();
        row.row_hash = pqxx::binarystring(r[13]).str();
        rows.push_back(std::move(row));
    }
    return rows;
}

void AuditRowToProto(const AuditRow& row, const std::string& service, av1::AuditEvent* out) {
    static constexpr char kHex[] = "0123456789abcdef";
    out->set_service(service);
    out->set_chain(row.chain);
    out->set_seq(row.seq);
    out->mutable_time()->set_seconds(row.occurred_us / 1'000'000);
    out->mutable_time()->set_nanos(static_cast<int>(row.occurred_us % 1'000'000) * 1000);
    auto* actor = out->mutable_actor();
    for (const auto& role : row.actor_roles) {
        if (role.rfind(kServiceActorRolePrefix, 0) == 0) {
            actor->set_service(role.substr(kServiceActorRolePrefix.size()));
        } else {
            actor->add_roles(role);
        }
    }
    actor->set_user_id(row.actor_user);
    actor->set_api_key_id(row.actor_key);
    out->set_request_id(row.request_id);
    out->set_rpc(row.rpc);
    out->set_resource_type(row.resource_type);
    out->set_resource_id(row.resource_id);
    out->set_outcome(row.outcome);
    for (const auto& p : row.changed_paths) out->add_changed_paths(p);
    std::string hex;
    for (unsigned char c : row.row_hash) {
        hex += kHex[c >> 4];
        hex += kHex[c & 15];
    }
    out->set_row_hash(hex);
}

std::shared_ptr<grpc::Service> MakeAuditService(std::string service, Db& db, RpcRuntime& rpc) {
    return std::make_shared<AuditServiceImpl>(std::move(service), db, rpc);
}

}  // namespace crm::common
