#include "subject_keys.hpp"

#include <crm/privacy/v1/keys.grpc.pb.h>
#include <google/protobuf/message.h>

#include <pqxx/pqxx>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/field_crypto.hpp"
#include "crm/common/log.hpp"
#include "crm/common/personal_fields.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"

namespace crm::common {
namespace {

namespace pv1 = crm::privacy::v1;

constexpr Sql kKeyOf{"subject_key_get",
                     "SELECT kek_version, wrapped_key FROM crm_subject_keys WHERE tenant_id = $1 AND subject_id = $2"};
// One round trip for both cases: a new subject's key is inserted (the caller's fresh key, returned as "new"), an
// existing one is read. A concurrent writer creating the same subject's key makes the insert wait for it and skip;
// the statement's snapshot may then miss that row: the caller reads it again (kKeyOf).
constexpr Sql kKeyOrInsert{"subject_key_get_or_insert", R"SQL(
WITH ins AS (
  INSERT INTO crm_subject_keys (tenant_id, subject_id, kek_version, wrapped_key) VALUES ($1, $2, $3, $4)
  ON CONFLICT (tenant_id, subject_id) DO NOTHING RETURNING kek_version, wrapped_key)
SELECT kek_version, wrapped_key, true FROM ins
UNION ALL
SELECT kek_version, wrapped_key, false FROM crm_subject_keys WHERE tenant_id = $1 AND subject_id = $2
)SQL"};
// Many subjects at once: the caller's fresh keys are inserted for the subjects that have none (rows marked true), and
// the keys that existed are returned (the statement's snapshot does not see its own inserts; a key a concurrent writer
// created meanwhile is in neither: the caller reads it again).
constexpr Sql kKeysOrInsert{"subject_keys_get_or_insert_many", R"SQL(
WITH v AS (SELECT * FROM unnest($2::text[], $3::int[], $4::text[]) AS v(subject_id, kek_version, wrapped)),
ins AS (
  INSERT INTO crm_subject_keys (tenant_id, subject_id, kek_version, wrapped_key)
  SELECT $1, v.subject_id, v.kek_version, decode(v.wrapped, 'hex') FROM v
  ON CONFLICT (tenant_id, subject_id) DO NOTHING RETURNING subject_id)
SELECT subject_id, NULL::int, NULL::bytea, true FROM ins
UNION ALL
SELECT k.subject_id, k.kek_version, k.wrapped_key, false FROM crm_subject_keys k
WHERE k.tenant_id = $1 AND k.subject_id = ANY($2::text[])
)SQL"};
constexpr Sql kKeysOf{"subject_keys_get",
                      "SELECT subject_id, kek_version, wrapped_key FROM crm_subject_keys "
                      "WHERE tenant_id = $1 AND subject_id = ANY($2::text[])"};
constexpr Sql kDestroyKeys{"subject_keys_destroy",
                           "DELETE FROM crm_subject_keys WHERE tenant_id = $1 AND subject_id = ANY($2::text[])"};
constexpr Sql kMaintenanceOn{"subject_keys_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
constexpr Sql kOldKeys{"subject_keys_old",
                       "SELECT tenant_id, subject_id, kek_version, wrapped_key FROM crm_subject_keys "
                       "WHERE kek_version < $1 ORDER BY kek_version, tenant_id, subject_id LIMIT 500 FOR UPDATE"};
constexpr Sql kRewrap{"subject_keys_rewrap",
                      "UPDATE crm_subject_keys SET kek_version = $3, wrapped_key = $4 "
                      "WHERE tenant_id = $1 AND subject_id = $2"};

constexpr int kMaxSubjects = 100;

privacy::WrappedKey WrappedOf(const pqxx::field& version, const pqxx::field& bytes) {
    const pqxx::binarystring b(bytes);
    return {version.as<int>(), std::string(reinterpret_cast<const char*>(b.data()), b.size())};
}

std::string Unwrap(const std::string& tenant, const std::string& subject, const privacy::WrappedKey& wrapped) {
    try {
        return privacy::UnwrapDataKey(privacy::ProcessKeyring(), tenant, subject, wrapped);
    } catch (const std::out_of_range&) {
        throw std::runtime_error("a subject key is wrapped under master key version " +
                                 std::to_string(wrapped.kek_version) + ", which CRM_PRIVACY_KEYS no longer holds");
    }
}

// This transaction's keys (db.hpp TxMemo): a record's columns and its event are sealed under one key fetched once.
std::string MemoKey(const std::string& tenant, const std::string& subject) {
    return "subject_key\x1f" + tenant + "\x1f" + subject;
}

const std::string* Memoized(const std::string& tenant, const std::string& subject) {
    detail::TxMemo* memo = detail::TxMemo::Current();
    if (!memo) return nullptr;
    const auto it = memo->values.find(MemoKey(tenant, subject));
    return it == memo->values.end() ? nullptr : &it->second;
}

void Memoize(const std::string& tenant, const std::string& subject, const std::string& key) {
    if (detail::TxMemo* memo = detail::TxMemo::Current()) memo->values[MemoKey(tenant, subject)] = key;
}

std::string FetchOrCreateKey(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                             const std::string& subject) {
    const std::string key = privacy::NewDataKey();
    const privacy::WrappedKey wrapped = privacy::WrapDataKey(privacy::ProcessKeyring(), tenant, subject, key);
    pqxx::result r = db.Exec(tx, kKeyOrInsert, tenant, subject, wrapped.kek_version,
                             pqxx::binarystring(wrapped.bytes.data(), wrapped.bytes.size()));
    for (const auto& row : r) {
        if (row[2].as<bool>()) return key;  // ours: no need to unwrap what was just wrapped
    }
    if (r.empty()) r = db.Exec(tx, kKeyOf, tenant, subject);  // created by a concurrent writer meanwhile
    if (r.empty()) throw std::runtime_error("subject key vanished while it was created");
    return Unwrap(tenant, subject, WrappedOf(r[0][0], r[0][1]));
}

}  // namespace

std::string SubjectDataKey(Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject) {
    if (const std::string* known = Memoized(tenant, subject)) return *known;
    std::string out = FetchOrCreateKey(db, tx, tenant, subject);
    Memoize(tenant, subject, out);
    return out;
}

std::map<std::string, std::string> SubjectDataKeys(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                                   const std::vector<std::string>& subjects) {
    std::map<std::string, std::string> fresh, out;
    std::vector<std::string> wanted, versions, wrapped_hex;
    static constexpr char kHex[] = "0123456789abcdef";
    for (const auto& subject : subjects) {
        if (const std::string* known = Memoized(tenant, subject)) {
            out[subject] = *known;
            continue;
        }
        wanted.push_back(subject);
        const std::string key = privacy::NewDataKey();
        const privacy::WrappedKey wrapped = privacy::WrapDataKey(privacy::ProcessKeyring(), tenant, subject, key);
        fresh[subject] = key;
        versions.push_back(std::to_string(wrapped.kek_version));
        std::string hex;
        for (const unsigned char c : wrapped.bytes) {
            hex.push_back(kHex[c >> 4]);
            hex.push_back(kHex[c & 15]);
        }
        wrapped_hex.push_back(std::move(hex));
    }
    if (wanted.empty()) return out;
    for (const auto& row :
         db.Exec(tx, kKeysOrInsert, tenant, PgTextArray(wanted), PgTextArray(versions), PgTextArray(wrapped_hex))) {
        const std::string subject = row[0].c_str();
        out[subject] = row[3].as<bool>() ? fresh[subject] : Unwrap(tenant, subject, WrappedOf(row[1], row[2]));
        Memoize(tenant, subject, out[subject]);
    }
    for (const auto& subject : wanted) {
        if (out.count(subject) == 0) out[subject] = SubjectDataKey(db, tx, tenant, subject);  // a concurrent writer's
    }
    return out;
}

namespace {

bool IsServiceCaller(const RequestContext& rc) {
    for (const auto& role : rc.roles) {
        if (role.rfind("service:", 0) == 0 && role.size() > 8) return true;
    }
    return false;
}

class SubjectKeyServiceImpl final : public pv1::SubjectKeyService::Service {
  public:
    SubjectKeyServiceImpl(Db& db, RpcRuntime& rpc) : db_(db), rpc_(rpc) {}

    grpc::Status GetSubjectKeys(grpc::ServerContext* sc, const pv1::GetSubjectKeysRequest* req,
                                pv1::GetSubjectKeysResponse* resp) override {
        return rpc_.Handle(sc, "GetSubjectKeys", [&](const RequestContext& rc) {
            // Only another service's own identity (signed with the internal key; the gateway never signs such a
            // role for a user or an API key) gets keys.
            if (!IsServiceCaller(rc)) {
                throw ApiError::PermissionDenied("subject keys are given to the suite's services only");
            }
            Violations v;
            CheckListSize(v, req->subject_ids_size(), "subject_ids", kMaxSubjects);
            if (req->subject_ids_size() == 0) v.Add("subject_ids", "required: at least one subject id");
            v.ThrowIfAny();
            std::vector<std::string> ids;
            for (int i = 0; i < req->subject_ids_size(); ++i) {
                const std::string field = "subject_ids[" + std::to_string(i) + "]";
                if (!IsUuid(req->subject_ids(i))) {
                    v.Add(field, "must be a UUID");
                } else if (std::find(ids.begin(), ids.end(), req->subject_ids(i)) != ids.end()) {
                    v.Add(field, "duplicate");
                } else {
                    ids.push_back(req->subject_ids(i));
                }
            }
            v.ThrowIfAny();
            db_.InTenant(rc, [&](pqxx::work& tx) {
                std::map<std::string, privacy::WrappedKey> found;
                for (const auto& row : db_.Exec(tx, kKeysOf, rc.tenant_id, PgTextArray(ids))) {
                    found[row[0].c_str()] = WrappedOf(row[1], row[2]);
                }
                for (const auto& id : ids) {
                    const auto it = found.find(id);
                    if (it == found.end()) {
                        resp->add_missing(id);
                        continue;
                    }
                    auto* k = resp->add_keys();
                    k->set_subject_id(id);
                    k->set_data_key(Unwrap(rc.tenant_id, id, it->second));
                }
            });
        });
    }

  private:
    Db& db_;
    RpcRuntime& rpc_;
};

}  // namespace

int SealPersonalFields(Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
                       google::protobuf::Message& message) {
    std::string key;  // fetched (or created) at the first personal value: most events carry none
    int sealed = 0;
    privacy::ForEachPersonalValue(message, [&](const std::string& field, std::string& value) {
        if (key.empty()) key = SubjectDataKey(db, tx, tenant, subject);
        value = privacy::Seal(key, {tenant, subject, field}, value);
        ++sealed;
    });
    return sealed;
}

std::int64_t DestroySubjectKeys(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                const std::vector<std::string>& subjects) {
    if (subjects.empty()) return 0;
    if (detail::TxMemo* memo = detail::TxMemo::Current()) {
        for (const auto& subject : subjects) memo->values.erase(MemoKey(tenant, subject));
    }
    return static_cast<std::int64_t>(db.Exec(tx, kDestroyKeys, tenant, PgTextArray(subjects)).affected_rows());
}

std::int64_t RewrapSubjectKeys(Db& db) {
    const privacy::Keyring& keyring = privacy::ProcessKeyring();
    const int current = keyring.current_version();
    std::int64_t total = 0;
    for (;;) {
        const std::int64_t n = db.InTenant(std::string(), [&](pqxx::work& tx) {
            db.Exec(tx, kMaintenanceOn);
            std::int64_t done = 0;
            for (const auto& row : db.Exec(tx, kOldKeys, current)) {
                const std::string tenant = row[0].c_str();
                const std::string subject = row[1].c_str();
                const std::string key = Unwrap(tenant, subject, WrappedOf(row[2], row[3]));
                const privacy::WrappedKey wrapped = privacy::WrapDataKey(keyring, tenant, subject, key);
                db.Exec(tx, kRewrap, tenant, subject, wrapped.kek_version,
                        pqxx::binarystring(wrapped.bytes.data(), wrapped.bytes.size()));
                ++done;
            }
            return done;
        });
        total += n;
        if (n < 500) return total;
    }
}

std::shared_ptr<grpc::Service> MakeSubjectKeyService(Db& db, RpcRuntime& rpc) {
    return std::make_shared<SubjectKeyServiceImpl>(db, rpc);
}

}  // namespace crm::common
