#pragma once
// The producer's side of crypto-shredding (personal_fields.hpp): subject data keys in the kit table
// crm_subject_keys (kit migration crm_0010), sealing an event's personal fields, destroying keys on erasure, and the
// SubjectKeyService that other services' consumers ask. Kit-internal.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crm/common/db.hpp"

namespace google::protobuf {
class Message;
}
namespace grpc {
class Service;
}

namespace crm::common {

class RpcRuntime;

// The data key of `subject` (an aggregate id) of `tenant`, created in `tx` when the subject has none.
std::string SubjectDataKey(Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject);

// The same for many subjects in one statement (a few may take one more, when a concurrent writer created their key).
std::map<std::string, std::string> SubjectDataKeys(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                                   const std::vector<std::string>& subjects);

// Seals every non-empty personal value of `message` under the data key of `subject` (an aggregate id) of `tenant`,
// creating the key in `tx` when the subject has none. Returns the number of values sealed.
int SealPersonalFields(Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
                       google::protobuf::Message& message);

// Deletes the data keys of these subjects; returns how many there were.
std::int64_t DestroySubjectKeys(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                const std::vector<std::string>& subjects);

// Rewraps, in batches, every data key wrapped under an older master key version with the current one (after a
// rotation added a version to CRM_PRIVACY_KEYS); returns how many were rewrapped. Runs in every tenant.
std::int64_t RewrapSubjectKeys(Db& db);

std::shared_ptr<grpc::Service> MakeSubjectKeyService(Db& db, RpcRuntime& rpc);

}  // namespace crm::common
