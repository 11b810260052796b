#include "admin/audit_service.hpp"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <future>
#include <tuple>

#include "admin/admitted_call.hpp"
#include "crm/audit/v1/audit.grpc.pb.h"
#include "crm/common/audit_api.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/validate.hpp"

namespace crm::gateway {
namespace {

namespace av1 = crm::audit::v1;
constexpr char kServiceName[] = "crm.audit.v1.AuditService";
constexpr char kOwnTrail[] = "gateway";  // the gateway's own trail (API keys)

std::int64_t Micros(const google::protobuf::Timestamp& t) { return t.seconds() * 1'000'000 + t.nanos() / 1000; }

// The suite's order, newest first: (time, service, chain, seq) descending.
auto SortKey(const av1::AuditEvent& e) { return std::make_tuple(Micros(e.time()), e.service(), e.chain(), e.seq()); }

struct SuitePosition {
    common::AuditPosition at;
    std::string service;  // empty: before every row
};

// Where a service's rows continue after the suite position p (rows of a service named after p's come first at
// p's time, those named before it after: the order is by service descending).
common::AuditPosition PositionFor(const std::string& service, const SuitePosition& p) {
    if (p.service.empty() || service == p.service) return p.at;
    common::AuditPosition q;
    q.occurred_us = p.at.occurred_us;
    if (service > p.service) {  // its rows at p's time came before p: only older ones remain
        q.chain = -1;
        q.seq = -1;
    }
    return q;
}

class AuditService final : public av1::AuditService::Service {
  public:
    AuditService(AuditServiceSettings settings, common::Db& db, std::shared_ptr<const Admission> admission,
                 std::vector<AuditBackend> backends)
        : settings_(std::move(settings)), db_(db), admission_(std::move(admission)), backends_(std::move(backends)) {
        std::sort(backends_.begin(), backends_.end(),
                  [](const AuditBackend& a, const AuditBackend& b) { return a.service < b.service; });
    }

    grpc::Status ListAuditEvents(grpc::ServerContext* sc, const av1::ListAuditEventsRequest* req,
                                 av1::ListAuditEventsResponse* resp) override {
        return AdmittedCall(*admission_, sc, std::string(kServiceName) + "/ListAuditEvents",
                            [&](const common::RequestContext& rc) {
                                const common::AuditQuery q = common::ParseAuditQuery(*req);
                                CheckServiceName(q.service);
                                if (!q.service.empty()) {
                                    ListOne(rc, q, *req, resp);
                                } else {
                                    ListSuite(rc, q, resp);
                                }
                            });
    }

    grpc::Status VerifyAuditChain(grpc::ServerContext* sc, const av1::VerifyAuditChainRequest* req,
                                  av1::VerifyAuditChainResponse* resp) override {
        return AdmittedCall(*admission_, sc, std::string(kServiceName) + "/VerifyAuditChain",
                            [&](const common::RequestContext& rc) {
                                common::Violations v;
                                common::CheckToken(v, req->service(), "service", 64);
                                v.ThrowIfAny();
                                CheckServiceName(req->service());
                                bool intact = true;
                                for (const auto& check : VerifyAll(rc, req->service())) {
                                    intact = intact && check.intact() && !check.unavailable();
                                    *resp->add_checks() = check;
                                }
                                resp->set_intact(intact);
                            });
    }

  private:
    void CheckServiceName(const std::string& service) const {
        if (service.empty() || service == kOwnTrail) return;
        for (const auto& b : backends_) {
            if (b.service == service) return;
        }
        std::string known = kOwnTrail;
        for (const auto& b : backends_) known += ", " + b.service;
        throw common::ApiError::InvalidArgument("service", "unknown service; one of: " + known);
    }

    const AuditBackend* BackendOf(const std::string& service) const {
        for (const auto& b : backends_) {
            if (b.service == service) return &b;
        }
        return nullptr;
    }

    // The caller's identity, signed for the method, and a deadline within the caller's.
    void Prepare(grpc::ClientContext& ctx, const common::RequestContext& rc, const std::string& method) const {
        for (const auto& [k, v] : common::SignIdentity(rc, "/" + std::string(kServiceName) + "/" + method,
                                                       settings_.internal_key, std::chrono::system_clock::now())) {
            ctx.AddMetadata(k, v);
        }
        ctx.set_deadline(std::chrono::system_clock::now() + rc.Remaining(settings_.backend_timeout));
    }

    av1::ListAuditEventsResponse OwnPage(const common::RequestContext& rc, const common::AuditQuery& q,
                                         const common::AuditPosition& after, int limit) {
        av1::ListAuditEventsResponse out;
        auto rows = db_.InTenant(
            rc, [&](pqxx::work& tx) { return common::ListAuditRows(tx, rc.tenant_id, q, after, limit + 1); });
        const auto page = common::MakePage(std::move(rows), limit, [&](const common::AuditRow& last) {
            return common::EncodeAuditToken(rc.tenant_id, q, {last.occurred_us, last.chain, last.seq});
        });
        for (const auto& row : page.items) common::AuditRowToProto(row, kOwnTrail, out.add_events());
        out.set_next_page_token(page.next_page_token);
        return out;
    }

    void ListOne(const common::RequestContext& rc, const common::AuditQuery& q, const av1::ListAuditEventsRequest& req,
                 av1::ListAuditEventsResponse* resp) {
        if (q.service == kOwnTrail) {
            *resp = OwnPage(rc, q, common::DecodeAuditToken(rc.tenant_id, q), q.page_size);
            return;
        }
        const AuditBackend& backend = *BackendOf(q.service);
        grpc::ClientContext ctx;
        Prepare(ctx, rc, "ListAuditEvents");
        const grpc::Status status = av1::AuditService::NewStub(backend.channel)->ListAuditEvents(&ctx, req, resp);
        if (!status.ok()) throw common::ApiError(status.error_code(), status.error_message(), "UPSTREAM");
    }

    void ListSuite(const common::RequestContext& rc, const common::AuditQuery& q, av1::ListAuditEventsResponse* resp) {
        const std::string scope = "suite|" + common::AuditScope(q);
        SuitePosition pos;
        if (const auto keys = common::DecodePageToken(q.page_token, rc.tenant_id, scope, 4); !keys.empty()) {
            try {
                pos.at = {std::stoll(keys[0]), std::stoi(keys[2]), std::stoll(keys[3])};
                pos.service = keys[1];
            } catch (const std::exception&) {
                throw common::ApiError::InvalidArgument("page_token", "not a page token of this query");
            }
        }
        // Every service's next page after the position, in parallel; the gateway's own trail meanwhile.
        std::vector<std::future<std::pair<grpc::Status, av1::ListAuditEventsResponse>>> calls;
        for (const auto& b : backends_) {
            av1::ListAuditEventsRequest sub;
            sub.set_service(b.service);
            sub.set_resource_type(q.resource_type);
            sub.set_resource_id(q.resource_id);
            sub.set_actor_user_id(q.actor_user);
            if (q.start_us != std::numeric_limits<std::int64_t>::min()) *sub.mutable_start_time() = Ts(q.start_us);
            if (q.end_us != std::numeric_limits<std::int64_t>::max()) *sub.mutable_end_time() = Ts(q.end_us);
            sub.set_page_size(q.page_size);
            sub.set_page_token(common::EncodeAuditToken(rc.tenant_id, q, PositionFor(b.service, pos)));
            calls.push_back(std::async(std::launch::async, [this, &rc, &b, sub = std::move(sub)] {
                grpc::ClientContext ctx;
                Prepare(ctx, rc, "ListAuditEvents");
                av1::ListAuditEventsResponse r;
                grpc::Status s = av1::AuditService::NewStub(b.channel)->ListAuditEvents(&ctx, sub, &r);
                return std::make_pair(std::move(s), std::move(r));
            }));
        }
        std::vector<av1::AuditEvent> merged;
        bool more = false;
        {
            auto own = OwnPage(rc, q, PositionFor(kOwnTrail, pos), q.page_size);
            more = !own.next_page_token().empty();
            for (auto& e : *own.mutable_events()) merged.push_back(std::move(e));
        }
        for (size_t i = 0; i < calls.size(); ++i) {
            auto [status, r] = calls[i].get();
            if (!status.ok()) {
                resp->add_unavailable_services(backends_[i].service);
                continue;
            }
            more = more || !r.next_page_token().empty();
            for (auto& e : *r.mutable_events()) merged.push_back(std::move(e));
        }
        std::sort(merged.begin(), merged.end(),
                  [](const av1::AuditEvent& a, const av1::AuditEvent& b) { return SortKey(a) > SortKey(b); });
        if (merged.size() > static_cast<size_t>(q.page_size)) {
            merged.resize(static_cast<size_t>(q.page_size));
            more = true;
        }
        for (auto& e : merged) *resp->add_events() = std::move(e);
        if (more && !merged.empty()) {
            const auto& last = resp->events(resp->events_size() - 1);
            resp->set_next_page_token(
                common::EncodePageToken(rc.tenant_id, scope,
                                        {std::to_string(Micros(last.time())), last.service(),
                                         std::to_string(last.chain()), std::to_string(last.seq())}));
        }
    }

    std::vector<av1::ServiceAuditCheck> VerifyAll(const common::RequestContext& rc, const std::string& only) {
        std::vector<std::pair<std::string, std::future<std::pair<grpc::Status, av1::VerifyAuditChainResponse>>>> calls;
        for (const auto& b : backends_) {
            if (!only.empty() && only != b.service) continue;
            calls.emplace_back(b.service, std::async(std::launch::async, [this, &rc, &b] {
                                   grpc::ClientContext ctx;
                                   Prepare(ctx, rc, "VerifyAuditChain");
                                   av1::VerifyAuditChainRequest sub;
                                   sub.set_service(b.service);
                                   av1::VerifyAuditChainResponse r;
                                   grpc::Status s =
                                       av1::AuditService::NewStub(b.channel)->VerifyAuditChain(&ctx, sub, &r);
                                   return std::make_pair(std::move(s), std::move(r));
                               }));
        }
        std::vector<av1::ServiceAuditCheck> checks;
        if (only.empty() || only == kOwnTrail) {
            const auto own =
                db_.InTenant(rc, [&](pqxx::work& tx) { return common::VerifyAuditChains(tx, rc.tenant_id); });
            av1::ServiceAuditCheck c;
            c.set_service(kOwnTrail);
            c.set_rows_checked(own.rows);
            c.set_intact(own.intact);
            if (!own.intact) {
                c.set_chain(own.chain);
                c.set_seq(own.seq);
                c.set_problem(own.problem);
            }
            checks.push_back(std::move(c));
        }
        for (auto& [service, call] : calls) {
            auto [status, r] = call.get();
            if (!status.ok() || r.checks_size() != 1) {
                av1::ServiceAuditCheck c;
                c.set_service(service);
                c.set_unavailable(true);
                c.set_problem(status.ok() ? "unexpected answer" : status.error_message());
                checks.push_back(std::move(c));
                continue;
            }
            checks.push_back(r.checks(0));
        }
        return checks;
    }

    static google::protobuf::Timestamp Ts(std::int64_t us) {
        std::int64_t seconds = us / 1'000'000;
        if (us % 1'000'000 < 0) --seconds;  // floor: nanos stay in [0, 1e9)
        google::protobuf::Timestamp t;
        t.set_seconds(seconds);
        t.set_nanos(static_cast<int>(us - seconds * 1'000'000) * 1000);
        return t;
    }

    AuditServiceSettings settings_;
    common::Db& db_;
    std::shared_ptr<const Admission> admission_;
    std::vector<AuditBackend> backends_;
};

}  // namespace

std::string ServiceOfPackage(const std::string& package) {
    constexpr std::string_view prefix = "crm.", suffix = ".v1";
    if (package.size() <= prefix.size() + suffix.size() || package.rfind(prefix, 0) != 0 ||
        package.compare(package.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return "";
    }
    std::string name = package.substr(prefix.size(), package.size() - prefix.size() - suffix.size());
    return name.find('.') == std::string::npos ? name : "";
}

std::shared_ptr<grpc::Service> MakeAuditService(AuditServiceSettings settings, common::Db& own_db,
                                                std::shared_ptr<const Admission> admission,
                                                std::vector<AuditBackend> backends) {
    return std::make_shared<AuditService>(std::move(settings), own_db, std::move(admission), std::move(backends));
}

}  // namespace crm::gateway
