#include "admin/api_keys_service.hpp"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <set>

#include "admin/admitted_call.hpp"
#include "crm/common/audit.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "crm/gateway/v1/api_keys.grpc.pb.h"
#include "proxy/proxy.hpp"

namespace crm::gateway {
namespace {

namespace gv1 = crm::gateway::v1;
using common::Sql;

constexpr int kMaxPageSize = 200;
constexpr size_t kMaxDisplayName = 200;  // code points
constexpr size_t kMaxRoleChars = 32;     // roles are [a-z_]{1,32}
constexpr char kServiceName[] = "crm.gateway.v1.ApiKeysService";

namespace sql {
// Columns of a key as the service returns it; times as microseconds since the epoch.
#define CRM_API_KEY_COLUMNS                                                                  \
    "id::text, display_name, array_to_string(roles, ','), rate_per_second, burst, creator, " \
    "(extract(epoch FROM create_time) * 1000000)::bigint, "                                  \
    "coalesce((extract(epoch FROM revoke_time) * 1000000)::bigint, 0), "                     \
    "coalesce((extract(epoch FROM last_use_time) * 1000000)::bigint, 0), "                   \
    "(extract(epoch FROM create_time) * 1000000)::bigint::text"

const Sql kInsert{"insert_api_key",
                  "INSERT INTO api_keys (tenant_id, id, secret_sha256, display_name, roles, rate_per_second, burst, "
                  "creator, request_id) VALUES ($1, $2::uuid, decode($3, 'hex'), $4, string_to_array($5, ','), $6, "
                  "$7, $8, $9) ON CONFLICT (tenant_id, request_id) WHERE request_id <> '' DO NOTHING "
                  "RETURNING " CRM_API_KEY_COLUMNS};
const Sql kByRequest{"api_key_by_request",
                     "SELECT " CRM_API_KEY_COLUMNS " FROM api_keys WHERE tenant_id = $1 AND request_id = $2"};
const Sql kGet{"get_api_key", "SELECT " CRM_API_KEY_COLUMNS " FROM api_keys WHERE tenant_id = $1 AND id = $2::uuid"};
const Sql kList{"list_api_keys",
                "SELECT " CRM_API_KEY_COLUMNS
                " FROM api_keys WHERE tenant_id = $1 AND (create_time, id) < (to_timestamp($2::bigint / 1000000.0), "
                "$3::uuid) AND ($4::boolean IS FALSE OR revoke_time IS NULL) ORDER BY create_time DESC, id DESC "
                "LIMIT $5"};
const Sql kRevoke{"revoke_api_key",
                  "UPDATE api_keys SET revoke_time = coalesce(revoke_time, now()) WHERE tenant_id = $1 AND "
                  "id = $2::uuid RETURNING " CRM_API_KEY_COLUMNS};
#undef CRM_API_KEY_COLUMNS
}  // namespace sql

void SetTime(long long micros, google::protobuf::Timestamp* t) {
    *t = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}

// A row in CRM_API_KEY_COLUMNS order; the last column (create time as text) is the paging key.
gv1::ApiKey ReadKey(const pqxx::row& row) {
    gv1::ApiKey k;
    k.set_id(row[0].as<std::string>());
    k.set_display_name(row[1].as<std::string>());
    for (auto& r : SplitRoles(row[2].as<std::string>())) k.add_roles(std::move(r));
    if (row[4].as<int>() > 0) {
        k.mutable_rate_limit()->set_rate_per_second(row[3].as<double>());
        k.mutable_rate_limit()->set_burst(row[4].as<int>());
    }
    k.set_key_prefix(ApiKeyPrefix(k.id()));
    k.set_creator(row[5].as<std::string>());
    SetTime(row[6].as<long long>(), k.mutable_create_time());
    if (const auto revoked = row[7].as<long long>(); revoked != 0) SetTime(revoked, k.mutable_revoke_time());
    if (const auto used = row[8].as<long long>(); used != 0) SetTime(used, k.mutable_last_use_time());
    return k;
}

// Every field a client sets on CreateApiKey; the output-only ones (id, key_prefix, creator, times) are ignored.
// Text fields refuse control characters (NUL included) and are never echoed into a description.
common::Violations CheckNewKey(const gv1::CreateApiKeyRequest& req) {
    common::Violations v;
    const auto& in = req.api_key();
    common::CheckText(v, in.display_name(), "api_key.display_name", {.max_chars = kMaxDisplayName, .required = true});
    if (in.roles().empty()) v.Add("api_key.roles", "at least one role is required");
    common::CheckListSize(v, static_cast<size_t>(in.roles().size()), "api_key.roles", kMaxRoles);
    std::vector<std::string> roles;
    bool roles_printable = true;
    for (const auto& role : in.roles()) {
        roles_printable =
            common::CheckToken(v, role, "api_key.roles", kMaxRoleChars, /*required=*/true) && roles_printable;
        roles.push_back(role);
    }
    if (roles_printable) {  // names of known roles only; an unprintable one was refused above
        if (std::set<std::string>(roles.begin(), roles.end()).size() != roles.size()) {
            v.Add("api_key.roles", "duplicate roles");
        }
        for (const auto& p : ApiKeyRoleProblems(roles)) v.Add("api_key.roles", p);
    }
    const auto& limit = in.rate_limit();
    if (limit.rate_per_second() != 0 || limit.burst() != 0) {
        if (!(limit.rate_per_second() > 0 && limit.rate_per_second() <= 100000)) {
            v.Add("api_key.rate_limit.rate_per_second", "must be > 0 and <= 100000");
        }
        if (limit.burst() < 1 || limit.burst() > 100000) v.Add("api_key.rate_limit.burst", "must be 1..100000");
    }
    common::CheckRequestId(v, req.request_id());
    return v;
}

void RequireKeyId(const std::string& id) {
    if (id.empty()) throw common::ApiError::InvalidArgument("id", "required");
    if (!common::IsUuid(id)) throw common::ApiError::InvalidArgument("id", "must be a UUID");
}

class Service final : public gv1::ApiKeysService::Service {
  public:
    Service(ApiKeysServiceSettings settings, common::Db& db, std::shared_ptr<const Admission> admission,
            std::shared_ptr<ApiKeyStore> store, std::shared_ptr<RateLimiter> limiter)
        : settings_(settings),
          db_(db),
          admission_(std::move(admission)),
          store_(std::move(store)),
          limiter_(std::move(limiter)) {}

    grpc::Status CreateApiKey(grpc::ServerContext* sc, const gv1::CreateApiKeyRequest* req,
                              gv1::CreateApiKeyResponse* resp) override {
        return Handle(sc, "CreateApiKey", [&](const common::RequestContext& rc) {
            const auto& in = req->api_key();
            CheckNewKey(*req).ThrowIfAny();  // all fields, before anything is written
            const std::vector<std::string> roles(in.roles().begin(), in.roles().end());
            const auto& limit = in.rate_limit();
            const NewApiKey key = GenerateApiKey();
            const bool created = db_.InTenant(rc, [&](pqxx::work& tx) {
                auto rows = db_.Exec(tx, sql::kInsert, rc.tenant_id, key.id, common::HexEncode(key.secret_sha256),
                                     in.display_name(), JoinRoles(roles), limit.rate_per_second(), limit.burst(),
                                     rc.user_id, req->request_id());
                if (rows.empty()) {  // a retry of an earlier create: its key, without the secret
                    *resp->mutable_api_key() =
                        ReadKey(db_.Exec(tx, sql::kByRequest, rc.tenant_id, req->request_id()).at(0));
                    return false;
                }
                *resp->mutable_api_key() = ReadKey(rows[0]);
                std::vector<std::string> paths = {"display_name", "roles"};
                if (limit.rate_per_second() != 0) paths.push_back("rate_limit");
                common::AppendAudit(tx, rc, {"CreateApiKey", "api_key", key.id, "OK", paths});
                return true;
            });
            if (created) {
                resp->set_key(key.key);
                common::log::Info("api key created", {{"tenant", rc.tenant_id},
                                                      {"key_id", key.id},
                                                      {"user", rc.user_id},
                                                      {"request_id", rc.request_id}});
            }
        });
    }

    grpc::Status GetApiKey(grpc::ServerContext* sc, const gv1::GetApiKeyRequest* req,
                           gv1::GetApiKeyResponse* resp) override {
        return Handle(sc, "GetApiKey", [&](const common::RequestContext& rc) {
            RequireKeyId(req->id());
            db_.InTenant(rc, [&](pqxx::work& tx) {
                auto rows = db_.Exec(tx, sql::kGet, rc.tenant_id, req->id());
                if (rows.empty()) throw common::ApiError::NotFound("api key", req->id());
                *resp->mutable_api_key() = ReadKey(rows[0]);
            });
        });
    }

    grpc::Status ListApiKeys(grpc::ServerContext* sc, const gv1::ListApiKeysRequest* req,
                             gv1::ListApiKeysResponse* resp) override {
        return Handle(sc, "ListApiKeys", [&](const common::RequestContext& rc) {
            const int size = common::ResolvePageSize(req->page_size(), 50, kMaxPageSize);
            const std::string scope = std::string("ListApiKeys:") + (req->active_only() ? "active" : "all");
            auto keys = common::DecodePageToken(req->page_token(), rc.tenant_id, scope, 2);
            if (keys.empty()) keys = {"9223372036854775807", "ffffffff-ffff-ffff-ffff-ffffffffffff"};
            db_.InTenant(rc, [&](pqxx::work& tx) {
                auto rows = db_.Exec(tx, sql::kList, rc.tenant_id, keys[0], keys[1], req->active_only(), size + 1);
                for (int i = 0; i < static_cast<int>(rows.size()) && i < size; ++i) {
                    *resp->add_api_keys() = ReadKey(rows[i]);
                }
                if (static_cast<int>(rows.size()) > size) {
                    const auto& last = rows[size - 1];
                    resp->set_next_page_token(common::EncodePageToken(
                        rc.tenant_id, scope, {last[9].as<std::string>(), last[0].as<std::string>()}));
                }
            });
        });
    }

    grpc::Status RevokeApiKey(grpc::ServerContext* sc, const gv1::RevokeApiKeyRequest* req,
                              gv1::RevokeApiKeyResponse* resp) override {
        return Handle(sc, "RevokeApiKey", [&](const common::RequestContext& rc) {
            RequireKeyId(req->id());
            db_.InTenant(rc, [&](pqxx::work& tx) {
                auto rows = db_.Exec(tx, sql::kRevoke, rc.tenant_id, req->id());
                if (rows.empty()) throw common::ApiError::NotFound("api key", req->id());
                *resp->mutable_api_key() = ReadKey(rows[0]);
                common::AppendAudit(tx, rc, {"RevokeApiKey", "api_key", req->id(), "OK", {"revoke_time"}});
            });
            // Every replica checks this marker on each call with the key (same Redis round trip as the rate limit);
            // after its TTL, their caches have reloaded the row and see revoke_time.
            store_->Invalidate(req->id());
            if (!limiter_ || !limiter_->Mark(RevokedApiKeyKey(req->id()), settings_.revocation_marker_ttl)) {
                common::log::Warn(
                    "api key revoked, but the revocation marker could not be set in Redis: other "
                    "gateway replicas accept the key until their cache entry expires",
                    {{"key_id", req->id()}, {"tenant", rc.tenant_id}});
            }
            common::log::Info("api key revoked",
                              {{"tenant", rc.tenant_id}, {"key_id", req->id()}, {"user", rc.user_id}});
        });
    }

  private:
    template <class F>
    grpc::Status Handle(grpc::ServerContext* sc, const char* method, F&& fn) {
        return AdmittedCall(*admission_, sc, std::string(kServiceName) + "/" + method, std::forward<F>(fn));
    }

    ApiKeysServiceSettings settings_;
    common::Db& db_;
    std::shared_ptr<const Admission> admission_;
    std::shared_ptr<ApiKeyStore> store_;
    std::shared_ptr<RateLimiter> limiter_;
};

}  // namespace

std::shared_ptr<grpc::Service> MakeApiKeysService(ApiKeysServiceSettings settings, common::Db& db,
                                                  std::shared_ptr<const Admission> admission,
                                                  std::shared_ptr<ApiKeyStore> store,
                                                  std::shared_ptr<RateLimiter> limiter) {
    return std::make_shared<Service>(settings, db, std::move(admission), std::move(store), std::move(limiter));
}

}  // namespace crm::gateway
