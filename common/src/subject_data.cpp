#include "crm/common/subject_data.hpp"

#include <crm/privacy/v1/subject.grpc.pb.h>

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>

#include "crm/common/audit.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "subject_keys.hpp"

namespace crm::common {
namespace {

namespace pv1 = crm::privacy::v1;

constexpr std::size_t kMaxIds = 200;  // per list of a subject: a person, not a tenant

// An erasure's answer per request id: a repeated call returns it without erasing again (kit migration crm_0008).
const Sql kErasureOf{"subject_erasure_get",
                     "SELECT result FROM crm_subject_erasures WHERE tenant_id = $1 AND request_id = $2"};
const Sql kRecordErasure{"subject_erasure_insert",
                         "INSERT INTO crm_subject_erasures (tenant_id, request_id, result, erase_time) "
                         "VALUES ($1, $2, $3, to_timestamp($4::bigint / 1000000.0))"};
// The relayed events of the changed aggregates go; one still waiting for the broker makes the erasure wait.
// Rows written by an earlier transaction and not yet relayed; the erasure's own events (written by this transaction:
// xmin is its id) carry no personal data and go out as usual.
const Sql kPendingOutbox{"subject_outbox_pending",
                         "SELECT count(*) FROM crm_outbox WHERE tenant_id = $1 AND aggregate_id = ANY($2::text[]) "
                         "AND published_at IS NULL AND xmin::text <> (txid_current() % 4294967296)::text"};
const Sql kPurgeOutbox{"subject_outbox_purge",
                       "DELETE FROM crm_outbox WHERE tenant_id = $1 AND aggregate_id = ANY($2::text[]) "
                       "AND published_at IS NOT NULL"};

void SetTime(google::protobuf::Timestamp* t, std::int64_t micros) {
    t->set_seconds(micros / 1'000'000);
    t->set_nanos(static_cast<int>(micros % 1'000'000) * 1000);
}

void RequirePrivacyRole(const RequestContext& rc) {
    if (!rc.HasRole("admin") && !rc.HasRole("privacy_officer")) {
        throw ApiError::PermissionDenied("data-subject requests need the role privacy_officer or admin");
    }
}

bool IsLowerEmail(const std::string& e) {
    const auto at = e.find('@');
    if (at == std::string::npos || at == 0 || at + 1 >= e.size() || e.size() > 254) return false;
    return std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f || std::isupper(c); });
}

// The subject of a request, checked: ids are UUIDs, e-mails lower case, every list bounded; at least one entry.
Subject SubjectOf(const pv1::Subject& in) {
    Violations v;
    Subject s;
    CheckListSize(v, in.contact_ids_size(), "subject.contact_ids", kMaxIds);
    CheckListSize(v, in.lead_ids_size(), "subject.lead_ids", kMaxIds);
    CheckListSize(v, in.emails_size(), "subject.emails", kMaxIds);
    v.ThrowIfAny();
    for (int i = 0; i < in.contact_ids_size(); ++i) {
        if (!IsUuid(in.contact_ids(i))) v.Add("subject.contact_ids[" + std::to_string(i) + "]", "must be a UUID");
        AddUnique(s.contact_ids, in.contact_ids(i));
    }
    for (int i = 0; i < in.lead_ids_size(); ++i) {
        if (!IsUuid(in.lead_ids(i))) v.Add("subject.lead_ids[" + std::to_string(i) + "]", "must be a UUID");
        AddUnique(s.lead_ids, in.lead_ids(i));
    }
    for (int i = 0; i < in.emails_size(); ++i) {
        const std::string field = "subject.emails[" + std::to_string(i) + "]";
        if (CheckText(v, in.emails(i), field, {.max_chars = 254}) && !IsLowerEmail(in.emails(i))) {
            v.Add(field, "must be an e-mail address in lower case");
        }
        AddUnique(s.emails, in.emails(i));
    }
    if (in.contact_ids_size() + in.lead_ids_size() + in.emails_size() == 0) {
        v.Add("subject", "required: at least one contact id, lead id or e-mail");
    }
    v.ThrowIfAny();
    return s;
}

void ToProto(const Subject& s, pv1::Subject* out) {
    for (const auto& id : s.contact_ids) out->add_contact_ids(id);
    for (const auto& id : s.lead_ids) out->add_lead_ids(id);
    for (const auto& e : s.emails) out->add_emails(e);
}

}  // namespace

bool AddUnique(std::vector<std::string>& to, const std::string& value) {
    if (std::find(to.begin(), to.end(), value) != to.end()) return false;
    to.push_back(value);
    return true;
}

SubjectParams ParamsOf(const Subject& subject) {
    return {PgTextArray(subject.contact_ids), PgTextArray(subject.lead_ids), PgTextArray(subject.emails)};
}

struct SubjectData::Impl {
    std::string service;
    Db& db;
    Outbox& outbox;
    std::vector<SubjectHandler> handlers;
};

namespace {

class SubjectDataServiceImpl final : public pv1::SubjectDataService::Service {
  public:
    SubjectDataServiceImpl(SubjectData::Impl& impl, RpcRuntime& rpc) : impl_(impl), rpc_(rpc) {}

    grpc::Status ResolveSubject(grpc::ServerContext* sc, const pv1::ResolveSubjectRequest* req,
                                pv1::ResolveSubjectResponse* resp) override {
        return rpc_.Handle(sc, "ResolveSubject", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            Subject subject = SubjectOf(req->subject());
            impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                SubjectCall call{tx, rc, impl_.db, impl_.outbox};
                for (const auto& h : impl_.handlers) {
                    if (h.resolve) h.resolve(call, subject);
                }
            });
            resp->set_service(impl_.service);
            ToProto(subject, resp->mutable_subject());
        });
    }

    grpc::Status ExportSubject(grpc::ServerContext* sc, const pv1::ExportSubjectRequest* req,
                               pv1::ExportSubjectResponse* resp) override {
        return rpc_.Handle(sc, "ExportSubject", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            const Subject subject = SubjectOf(req->subject());
            resp->set_service(impl_.service);
            impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                SubjectCall call{tx, rc, impl_.db, impl_.outbox};
                for (const auto& h : impl_.handlers) {
                    const SubjectExport e = h.export_records(call, subject);
                    auto* r = resp->add_records();
                    r->set_resource_type(h.resource_type);
                    r->set_count(e.count);
                    r->set_json(e.json.empty() ? "[]" : e.json);
                }
            });
        });
    }

    grpc::Status EraseSubject(grpc::ServerContext* sc, const pv1::EraseSubjectRequest* req,
                              pv1::EraseSubjectResponse* resp) override {
        return rpc_.Handle(sc, "EraseSubject", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            Violations v;
            CheckToken(v, req->request_id(), "request_id", 128, true);
            v.ThrowIfAny();
            const Subject subject = SubjectOf(req->subject());
            resp->set_service(impl_.service);
            impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                const pqxx::result earlier = impl_.db.Exec(tx, kErasureOf, rc.tenant_id, req->request_id());
                if (!earlier.empty()) {
                    const pqxx::binarystring bytes(earlier[0][0]);
                    if (!resp->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
                        throw std::runtime_error("stored erasure result does not parse");
                    }
                    return;
                }
                SubjectCall call{tx, rc, impl_.db, impl_.outbox};
                std::vector<std::string> aggregates;
                std::vector<std::pair<std::string, std::int64_t>> counts;
                for (const auto& h : impl_.handlers) {
                    SubjectErasure e = h.erase(call, subject);
                    counts.emplace_back(h.resource_type, e.count);
                    for (auto& a : e.aggregate_ids) AddUnique(aggregates, a);
                }
                for (const auto& id : subject.contact_ids) AddUnique(aggregates, id);
                for (const auto& id : subject.lead_ids) AddUnique(aggregates, id);
                const std::string ids = PgTextArray(aggregates);
                // Earlier events about the person still waiting for the broker would stay in the outbox (a purge
                // now would lose them): the whole erasure is rolled back and asked again once they are relayed.
                if (impl_.db.Exec(tx, kPendingOutbox, rc.tenant_id, ids)[0][0].as<std::int64_t>() > 0) {
                    throw ApiError::Unavailable(
                        "events about the person are still waiting for the broker: nothing erased yet, ask again");
                }
                impl_.db.Exec(tx, kPurgeOutbox, rc.tenant_id, ids);
                // Crypto-shredding: every copy of their events' personal fields (on Kafka, in replays) no longer
                // opens once the aggregates' data keys are gone (personal_fields.hpp).
                const std::int64_t keys = DestroySubjectKeys(impl_.db, tx, rc.tenant_id, aggregates);
                std::vector<std::string> paths;
                for (const auto& [type, n] : counts) {
                    auto* r = resp->add_records();
                    r->set_resource_type(type);
                    r->set_count(n);
                    if (n > 0) paths.push_back(type);
                }
                if (keys > 0) paths.push_back("subject_keys");
                const std::int64_t erased_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count();
                SetTime(resp->mutable_erase_time(), erased_us);
                std::string bytes;
                resp->SerializeToString(&bytes);
                impl_.db.Exec(tx, kRecordErasure, rc.tenant_id, req->request_id(),
                              pqxx::binarystring(bytes.data(), bytes.size()), erased_us);
                AppendAudit(tx, rc,
                            {.rpc = "EraseSubject",
                             .resource_type = "data_subject_request",
                             .resource_id = req->request_id(),
                             .changed_paths = paths});
            });
        });
    }

  private:
    SubjectData::Impl& impl_;
    RpcRuntime& rpc_;
};

}  // namespace

SubjectData::SubjectData(std::string service, Db& db, Outbox& outbox, std::vector<SubjectHandler> handlers)
    : impl_(std::make_unique<Impl>(Impl{std::move(service), db, outbox, std::move(handlers)})) {
    for (const auto& h : impl_->handlers) {
        if (h.resource_type.empty() || !h.export_records || !h.erase) {
            throw std::logic_error("subject handler " + h.resource_type + ": needs a type, an export and an erase");
        }
    }
}

SubjectData::~SubjectData() = default;

std::shared_ptr<grpc::Service> SubjectData::MakeService(RpcRuntime& rpc) {
    return std::make_shared<SubjectDataServiceImpl>(*impl_, rpc);
}

}  // namespace crm::common
