#include "admin/data_subject_requests.hpp"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/gauge.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>

#include "admin/admitted_call.hpp"
#include "crm/common/audit.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "crm/privacy/v1/subject.grpc.pb.h"

namespace crm::gateway {
namespace {

namespace pv1 = crm::privacy::v1;
using common::Sql;
using google::protobuf::util::TimeUtil;

constexpr char kServiceName[] = "crm.privacy.v1.DataSubjectRequestService";
constexpr char kSubjectService[] = "/crm.privacy.v1.SubjectDataService/";
constexpr int kResolveRounds = 5;

// clang-format off
#define CRM_DSR_MICROS(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"
#define CRM_DSR_COLUMNS                                                                                            \
    "id::text, request_id, kind, contact_id, email, email_sha256, state, subject, actor_user, actor_key, "        \
    "attempts, last_error, " CRM_DSR_MICROS("create_time") ", " CRM_DSR_MICROS("complete_time") ", "             \
    "export_document, receipt_document, receipt_signature, receipt_key_id"
const Sql kInsert{"dsr_insert",
    "INSERT INTO dsr_requests (tenant_id, id, request_id, kind, contact_id, email, state, actor_user, actor_key) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6, 'RESOLVING', $7, $8) ON CONFLICT (tenant_id, request_id) DO NOTHING"};
const Sql kByRequestId{"dsr_by_request_id",
    "SELECT " CRM_DSR_COLUMNS " FROM dsr_requests WHERE tenant_id = $1 AND request_id = $2"};
const Sql kById{"dsr_by_id", "SELECT " CRM_DSR_COLUMNS " FROM dsr_requests WHERE tenant_id = $1 AND id = $2::uuid"};
const Sql kSteps{"dsr_steps",
    "SELECT service, done, attempts, last_error, " CRM_DSR_MICROS("done_time") ", result FROM dsr_steps "
    "WHERE tenant_id = $1 AND request = $2::uuid ORDER BY service"};
// The worker: due requests of every tenant (maintenance policy), then each claimed in its tenant by moving its next
// attempt past the lease (a replica that dies while working on it leaves it to another after the lease).
const Sql kMaintenanceOn{"dsr_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
const Sql kDue{"dsr_due",
    "SELECT tenant_id, id::text FROM dsr_requests WHERE state <> 'COMPLETED' "
    "AND next_attempt_time <= clock_timestamp() ORDER BY next_attempt_time LIMIT 50"};
// What operators watch: the unfinished requests of every tenant and the age of the oldest (a request that cannot
// complete, e.g. a service that keeps refusing, must not wait unnoticed). The partial index dsr_requests_due holds
// exactly the unfinished ones.
const Sql kBacklog{"dsr_backlog",
    "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(create_time)), 0)::float8 "
    "FROM dsr_requests WHERE state <> 'COMPLETED' AND next_attempt_time > '-infinity'"};
const Sql kClaim{"dsr_claim",
    "UPDATE dsr_requests SET next_attempt_time = clock_timestamp() + make_interval(secs => $3) "
    "WHERE tenant_id = $1 AND id = $2::uuid AND state <> 'COMPLETED' AND next_attempt_time <= clock_timestamp() "
    "RETURNING " CRM_DSR_COLUMNS};
const Sql kResolved{"dsr_resolved",
    "UPDATE dsr_requests SET state = 'RUNNING', subject = $3, last_error = '' "
    "WHERE tenant_id = $1 AND id = $2::uuid AND state = 'RESOLVING'"};
const Sql kInsertStep{"dsr_step_insert",
    "INSERT INTO dsr_steps (tenant_id, request, service) VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING"};
const Sql kStepDone{"dsr_step_done",
    "UPDATE dsr_steps SET done = true, done_time = clock_timestamp(), result = $4, attempts = attempts + 1, "
    "last_error = '' WHERE tenant_id = $1 AND request = $2::uuid AND service = $3 AND NOT done"};
const Sql kStepFailed{"dsr_step_failed",
    "UPDATE dsr_steps SET attempts = attempts + 1, last_error = $4 "
    "WHERE tenant_id = $1 AND request = $2::uuid AND service = $3 AND NOT done"};
const Sql kRetryLater{"dsr_retry_later",
    "UPDATE dsr_requests SET attempts = attempts + 1, last_error = $3, "
    "next_attempt_time = clock_timestamp() + make_interval(secs => $4) WHERE tenant_id = $1 AND id = $2::uuid"};
// Completion: an erasure keeps no e-mail in clear (the SHA-256 of the asked one, the resolved subject without them).
const Sql kComplete{"dsr_complete",
    "UPDATE dsr_requests SET state = 'COMPLETED', complete_time = clock_timestamp(), export_document = $3, "
    "receipt_document = $4, receipt_signature = $5, receipt_key_id = $6, email_sha256 = $7, "
    "email = CASE WHEN kind = 'ERASE' THEN '' ELSE email END, subject = $8, last_error = '' "
    "WHERE tenant_id = $1 AND id = $2::uuid AND state = 'RUNNING' RETURNING " CRM_DSR_MICROS("complete_time")};
const Sql kDropOldExports{"dsr_drop_old_exports",
    "UPDATE dsr_requests SET export_document = NULL, email = '', subject = NULL "
    "WHERE export_document IS NOT NULL AND complete_time < clock_timestamp() - make_interval(hours => $1)"};
// clang-format on

struct Row {
    std::string id, request_id, kind, contact_id, email, email_sha256, state;
    std::optional<pv1::Subject> subject;
    std::string actor_user, actor_key;
    int attempts = 0;
    std::string last_error;
    std::int64_t create_us = 0, complete_us = 0;
    std::string export_document, receipt_document, receipt_signature, receipt_key_id;
};

std::string BytesOf(const pqxx::field& f) {
    if (f.is_null()) return {};
    const pqxx::binarystring b(f);
    return b.str();
}

Row ReadRow(const pqxx::row& r) {
    Row out;
    out.id = r[0].as<std::string>();
    out.request_id = r[1].as<std::string>();
    out.kind = r[2].as<std::string>();
    out.contact_id = r[3].as<std::string>();
    out.email = r[4].as<std::string>();
    out.email_sha256 = r[5].as<std::string>();
    out.state = r[6].as<std::string>();
    if (!r[7].is_null()) {
        pv1::Subject s;
        const std::string bytes = BytesOf(r[7]);
        if (!s.ParseFromString(bytes)) throw std::runtime_error("stored subject does not parse");
        out.subject = std::move(s);
    }
    out.actor_user = r[8].as<std::string>();
    out.actor_key = r[9].as<std::string>();
    out.attempts = r[10].as<int>();
    out.last_error = r[11].as<std::string>();
    out.create_us = r[12].as<std::int64_t>();
    out.complete_us = r[13].as<std::int64_t>();
    out.export_document = r[14].is_null() ? "" : r[14].as<std::string>();
    out.receipt_document = r[15].is_null() ? "" : r[15].as<std::string>();
    out.receipt_signature = r[16].is_null() ? "" : r[16].as<std::string>();
    out.receipt_key_id = r[17].is_null() ? "" : r[17].as<std::string>();
    return out;
}

struct Step {
    std::string service;
    bool done = false;
    int attempts = 0;
    std::string last_error;
    std::int64_t done_us = 0;
    std::string result;
};

void SetTime(google::protobuf::Timestamp* t, std::int64_t micros) {
    if (micros == 0) return;
    *t = TimeUtil::MicrosecondsToTimestamp(micros);
}

std::string Rfc3339(std::int64_t micros) { return TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(micros)); }

pv1::DataSubjectRequestState StateOf(const std::string& s) {
    if (s == "RESOLVING") return pv1::DATA_SUBJECT_REQUEST_STATE_RESOLVING;
    if (s == "RUNNING") return pv1::DATA_SUBJECT_REQUEST_STATE_RUNNING;
    return pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED;
}

// The record counts of a step's stored answer.
std::vector<std::pair<std::string, std::int64_t>> CountsOf(const std::string& kind, const std::string& result) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    if (kind == "EXPORT") {
        pv1::ExportSubjectResponse r;
        if (r.ParseFromString(result)) {
            for (const auto& rec : r.records()) out.emplace_back(rec.resource_type(), rec.count());
        }
    } else {
        pv1::EraseSubjectResponse r;
        if (r.ParseFromString(result)) {
            for (const auto& rec : r.records()) out.emplace_back(rec.resource_type(), rec.count());
        }
    }
    return out;
}

// At most n bytes, cut at a UTF-8 character boundary.
std::string Shortened(const std::string& s, std::size_t n) {
    if (s.size() <= n) return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

std::string Hex256(const std::string& text) { return common::HexEncode(common::Sha256(text)); }

void Merge(pv1::Subject& into, const pv1::Subject& from, bool& grew) {
    const auto add = [&](google::protobuf::RepeatedPtrField<std::string>* to, const std::string& v) {
        if (std::find(to->begin(), to->end(), v) == to->end()) {
            *to->Add() = v;
            grew = true;
        }
    };
    for (const auto& v : from.contact_ids()) add(into.mutable_contact_ids(), v);
    for (const auto& v : from.lead_ids()) add(into.mutable_lead_ids(), v);
    for (const auto& v : from.emails()) add(into.mutable_emails(), v);
}

void RequirePrivacyRole(const common::RequestContext& rc) {
    if (!rc.HasRole("admin") && !rc.HasRole("privacy_officer")) {
        throw common::ApiError::PermissionDenied("data-subject requests need the role privacy_officer or admin");
    }
}

}  // namespace

struct DataSubjectRequests::Impl {
    DataSubjectSettings settings;
    common::Db& db;
    std::shared_ptr<const Admission> admission;
    std::vector<AuditBackend> backends;
    ReceiptSigner signer;
    prometheus::Gauge* unfinished = nullptr;  // ExportMetrics
    prometheus::Gauge* oldest_age = nullptr;

    std::vector<Step> Steps(pqxx::work& tx, const std::string& tenant, const std::string& id) {
        std::vector<Step> out;
        for (const auto& r : db.Exec(tx, kSteps, tenant, id)) {
            out.push_back({r[0].as<std::string>(), r[1].as<bool>(), r[2].as<int>(), r[3].as<std::string>(),
                           r[4].as<std::int64_t>(), BytesOf(r[5])});
        }
        return out;
    }

    void ToProto(const Row& row, const std::vector<Step>& steps, pv1::DataSubjectRequest* out) const {
        out->set_request_id(row.request_id);
        out->set_kind(row.kind == "EXPORT" ? pv1::DATA_SUBJECT_REQUEST_KIND_EXPORT
                                           : pv1::DATA_SUBJECT_REQUEST_KIND_ERASE);
        out->set_state(StateOf(row.state));
        out->set_contact_id(row.contact_id);
        out->set_email(row.email);
        if (row.subject) *out->mutable_subject() = *row.subject;
        for (const auto& s : steps) {
            auto* o = out->add_services();
            o->set_service(s.service);
            o->set_state(s.done ? pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED : pv1::DATA_SUBJECT_REQUEST_STATE_RUNNING);
            o->set_attempts(s.attempts);
            o->set_last_error(s.last_error);
            SetTime(o->mutable_done_time(), s.done_us);
            for (const auto& [type, n] : CountsOf(row.kind, s.result)) {
                auto* c = o->add_records();
                c->set_resource_type(type);
                c->set_count(n);
            }
        }
        SetTime(out->mutable_create_time(), row.create_us);
        SetTime(out->mutable_complete_time(), row.complete_us);
        out->set_export_document(row.export_document);
        if (!row.receipt_document.empty()) {
            auto* r = out->mutable_receipt();
            r->set_document(row.receipt_document);
            r->set_algorithm("Ed25519");
            r->set_key_id(row.receipt_key_id);
            r->set_signature(row.receipt_signature);
        }
    }

    // A call to one service's SubjectDataService as the worker: the requester's tenant and user, role
    // privacy_officer, the request's id as request id; signed like every call the gateway makes.
    template <class Req, class Resp, class Method>
    grpc::Status Call(const AuditBackend& backend, const Row& row, const std::string& tenant, const char* method,
                      const Req& req, Resp* resp, Method call) const {
        common::Identity id{tenant, row.actor_user, {"privacy_officer"}, row.actor_key, "dsr-" + row.id};
        grpc::ClientContext ctx;
        for (const auto& [k, v] : common::SignIdentity(id, std::string(kSubjectService) + method, settings.internal_key,
                                                       std::chrono::system_clock::now())) {
            ctx.AddMetadata(k, v);
        }
        ctx.set_deadline(std::chrono::system_clock::now() + settings.backend_timeout);
        auto stub = pv1::SubjectDataService::NewStub(backend.channel);
        return ((*stub).*call)(&ctx, req, resp);
    }

    static std::string ErrorText(const AuditBackend& b, const grpc::Status& s) {
        // The code and the service's message (the kit's messages name fields and states, never personal values).
        static const char* const kCodes[] = {
            "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
            "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
            "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
            "DATA_LOSS", "UNAUTHENTICATED"};
        const int code = static_cast<int>(s.error_code());
        const std::string name = code >= 0 && code <= 16 ? kCodes[code] : std::to_string(code);
        return b.service + ": " + name + (s.error_message().empty() ? "" : " " + Shortened(s.error_message(), 300));
    }

    std::chrono::seconds Backoff(int attempts) const {
        const long s = 1L << std::min(attempts, 10);
        return std::min(std::chrono::seconds(s), settings.max_backoff);
    }

    void RetryLater(const std::string& tenant, const Row& row, const std::string& error) {
        db.InTenant(tenant, [&](pqxx::work& tx) {
            db.Exec(tx, kRetryLater, tenant, row.id, error, static_cast<double>(Backoff(row.attempts).count()));
        });
    }

    // The identity: each service adds what it links to the person, until nobody adds anything.
    std::optional<pv1::Subject> Resolve(const std::string& tenant, const Row& row) {
        pv1::Subject subject;
        if (!row.contact_id.empty()) subject.add_contact_ids(row.contact_id);
        if (!row.email.empty()) subject.add_emails(row.email);
        for (int round = 0; round < kResolveRounds; ++round) {
            bool grew = false;
            for (const auto& b : backends) {
                pv1::ResolveSubjectRequest req;
                *req.mutable_subject() = subject;
                pv1::ResolveSubjectResponse resp;
                const grpc::Status st =
                    Call(b, row, tenant, "ResolveSubject", req, &resp, &pv1::SubjectDataService::Stub::ResolveSubject);
                if (!st.ok()) {
                    RetryLater(tenant, row, "resolving: " + ErrorText(b, st));
                    return std::nullopt;
                }
                Merge(subject, resp.subject(), grew);
            }
            if (!grew) return subject;
        }
        return subject;
    }

    // Moves one claimed request on as far as the services allow; true when it completed.
    bool Work(const std::string& tenant, Row row) {
        if (row.state == "RESOLVING") {
            auto subject = Resolve(tenant, row);
            if (!subject) return false;
            db.InTenant(tenant, [&](pqxx::work& tx) {
                const std::string bytes = subject->SerializeAsString();
                db.Exec(tx, kResolved, tenant, row.id, pqxx::binarystring(bytes.data(), bytes.size()));
                for (const auto& b : backends) db.Exec(tx, kInsertStep, tenant, row.id, b.service);
            });
            row.subject = std::move(*subject);
            row.state = "RUNNING";
        }
        const std::vector<Step> steps = db.InTenant(tenant, [&](pqxx::work& tx) { return Steps(tx, tenant, row.id); });
        std::string first_error;
        for (const auto& step : steps) {
            if (step.done) continue;
            const auto it = std::find_if(backends.begin(), backends.end(),
                                         [&](const AuditBackend& b) { return b.service == step.service; });
            if (it == backends.end()) {  // a service no longer routed: it cannot answer
                if (first_error.empty()) first_error = step.service + ": not routed by this gateway";
                continue;
            }
            grpc::Status st;
            std::string result;
            if (row.kind == "EXPORT") {
                pv1::ExportSubjectRequest req;
                *req.mutable_subject() = *row.subject;
                pv1::ExportSubjectResponse resp;
                st = Call(*it, row, tenant, "ExportSubject", req, &resp, &pv1::SubjectDataService::Stub::ExportSubject);
                result = resp.SerializeAsString();
            } else {
                pv1::EraseSubjectRequest req;
                req.set_request_id("dsr-" + row.id);
                *req.mutable_subject() = *row.subject;
                pv1::EraseSubjectResponse resp;
                st = Call(*it, row, tenant, "EraseSubject", req, &resp, &pv1::SubjectDataService::Stub::EraseSubject);
                result = resp.SerializeAsString();
            }
            db.InTenant(tenant, [&](pqxx::work& tx) {
                if (st.ok()) {
                    db.Exec(tx, kStepDone, tenant, row.id, step.service,
                            pqxx::binarystring(result.data(), result.size()));
                } else {
                    db.Exec(tx, kStepFailed, tenant, row.id, step.service, ErrorText(*it, st));
                }
            });
            if (!st.ok() && first_error.empty()) first_error = ErrorText(*it, st);
        }
        if (!first_error.empty()) {
            RetryLater(tenant, row, first_error);
            return false;
        }
        Complete(tenant, row);
        return true;
    }

    void Complete(const std::string& tenant, const Row& row) {
        db.InTenant(tenant, [&](pqxx::work& tx) {
            const std::vector<Step> steps = Steps(tx, tenant, row.id);
            nlohmann::json services = nlohmann::json::array();
            nlohmann::json exported = nlohmann::json::object();
            for (const auto& s : steps) {
                nlohmann::json counts = nlohmann::json::object();
                for (const auto& [type, n] : CountsOf(row.kind, s.result)) counts[type] = n;
                services.push_back({{"service", s.service}, {"records", counts}, {"time", Rfc3339(s.done_us)}});
                if (row.kind == "EXPORT") {
                    pv1::ExportSubjectResponse r;
                    r.ParseFromString(s.result);
                    nlohmann::json of_service = nlohmann::json::object();
                    for (const auto& rec : r.records()) {
                        of_service[rec.resource_type()] = nlohmann::json::parse(rec.json(), nullptr, false);
                    }
                    exported[s.service] = std::move(of_service);
                }
            }
            const std::string email_sha256 = row.email.empty() ? "" : Hex256(row.email);
            pv1::Subject kept = *row.subject;
            nlohmann::json resolved = {{"contact_ids", kept.contact_ids()}, {"lead_ids", kept.lead_ids()}};
            nlohmann::json emails = nlohmann::json::array();
            for (const auto& e : kept.emails()) emails.push_back(Hex256(e));
            resolved["emails_sha256"] = emails;
            if (row.kind == "ERASE") kept.clear_emails();
            const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            nlohmann::json receipt = {
                {"algorithm", "Ed25519"},
                {"key_id", signer.key_id()},
                {"request", row.id},
                {"request_id", row.request_id},
                {"tenant_id", tenant},
                {"kind", row.kind},
                {"subject", {{"contact_id", row.contact_id}, {"email_sha256", email_sha256}}},
                {"resolved", resolved},
                {"services", services},
                {"create_time", Rfc3339(row.create_us)},
                {"complete_time", Rfc3339(now_us)},
            };
            const std::string document = receipt.dump();
            const std::string signature = common::Base64UrlEncode(signer.Sign(document));
            std::optional<std::string> export_document;
            if (row.kind == "EXPORT") {
                export_document = nlohmann::json{
                    {"request", row.id},
                    {"tenant_id", tenant},
                    {"export_time", Rfc3339(now_us)},
                    {"services",
                     exported}}.dump();
            }
            const std::string kept_bytes = kept.SerializeAsString();
            db.Exec(tx, kComplete, tenant, row.id, export_document, document, signature, signer.key_id(), email_sha256,
                    pqxx::binarystring(kept_bytes.data(), kept_bytes.size()));
        });
        common::log::Info("data-subject request completed",
                          {{"tenant", tenant}, {"request", row.id}, {"kind", row.kind}});
    }
};

namespace {

class DataSubjectRequestService final : public pv1::DataSubjectRequestService::Service {
  public:
    DataSubjectRequestService(DataSubjectRequests::Impl& impl, std::function<void()> wake)
        : impl_(impl), wake_(std::move(wake)) {}

    grpc::Status StartDataSubjectRequest(grpc::ServerContext* sc, const pv1::StartDataSubjectRequestRequest* req,
                                         pv1::StartDataSubjectRequestResponse* out) override {
        pv1::DataSubjectRequest* resp = out->mutable_request();
        return AdmittedCall(
            *impl_.admission, sc, std::string(kServiceName) + "/StartDataSubjectRequest",
            [&](const common::RequestContext& rc) {
                RequirePrivacyRole(rc);
                common::Violations v;
                std::string kind;
                if (req->kind() == pv1::DATA_SUBJECT_REQUEST_KIND_EXPORT) {
                    kind = "EXPORT";
                } else if (req->kind() == pv1::DATA_SUBJECT_REQUEST_KIND_ERASE) {
                    kind = "ERASE";
                } else {
                    v.Add("kind", "required: DATA_SUBJECT_REQUEST_KIND_EXPORT or DATA_SUBJECT_REQUEST_KIND_ERASE");
                }
                if (req->request_id().empty() || !common::IsValidRequestId(req->request_id())) {
                    v.Add("request_id", "required: printable ASCII without spaces, 1..128 characters");
                }
                std::string email;
                if (req->contact_id().empty() == req->email().empty()) {
                    v.Add("contact_id", "exactly one of contact_id and email is required");
                    v.Add("email", "exactly one of contact_id and email is required");
                } else if (!req->contact_id().empty()) {
                    if (!common::IsUuid(req->contact_id())) v.Add("contact_id", "must be a UUID");
                } else if (common::CheckText(v, req->email(), "email", {.max_chars = 254})) {
                    // Addresses are matched without regard to case, as every service stores them.
                    email = common::text::AsciiLower(req->email());
                    const auto at = email.find('@');
                    if (at == std::string::npos || at == 0 || at + 1 == email.size() ||
                        email.find_first_of(" \t") != std::string::npos) {
                        v.Add("email", "must be an e-mail address");
                    }
                }
                v.ThrowIfAny();
                const std::string id = common::NewUuid();
                impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                    impl_.db.Exec(tx, kInsert, rc.tenant_id, id, req->request_id(), kind, req->contact_id(), email,
                                  rc.user_id, rc.key_id);
                    const Row row = ReadRow(impl_.db.Exec(tx, kByRequestId, rc.tenant_id, req->request_id()).at(0));
                    if (row.kind != kind || row.contact_id != req->contact_id() ||
                        (row.state != "COMPLETED" && row.email != email)) {
                        throw common::ApiError::FailedPrecondition(
                            "request_id was used for another data-subject request", "REQUEST_ID_REUSED");
                    }
                    if (row.id == id) {
                        common::AppendAudit(
                            tx, rc,
                            {.rpc = "StartDataSubjectRequest",
                             .resource_type = "data_subject_request",
                             .resource_id = id,
                             .changed_paths = {"kind", req->contact_id().empty() ? "email" : "contact_id"}});
                    }
                    impl_.ToProto(row, impl_.Steps(tx, rc.tenant_id, row.id), resp);
                });
                if (wake_) wake_();
            });
    }

    grpc::Status GetDataSubjectRequest(grpc::ServerContext* sc, const pv1::GetDataSubjectRequestRequest* req,
                                       pv1::GetDataSubjectRequestResponse* out) override {
        pv1::DataSubjectRequest* resp = out->mutable_request();
        return AdmittedCall(*impl_.admission, sc, std::string(kServiceName) + "/GetDataSubjectRequest",
                            [&](const common::RequestContext& rc) {
                                RequirePrivacyRole(rc);
                                common::Violations v;
                                if (req->request_id().empty() || !common::IsValidRequestId(req->request_id())) {
                                    v.Add("request_id", "required: printable ASCII without spaces, 1..128 characters");
                                }
                                v.ThrowIfAny();
                                impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                                    const pqxx::result r =
                                        impl_.db.Exec(tx, kByRequestId, rc.tenant_id, req->request_id());
                                    if (r.empty()) {
                                        throw common::ApiError::NotFound("data_subject_request", req->request_id());
                                    }
                                    const Row row = ReadRow(r[0]);
                                    impl_.ToProto(row, impl_.Steps(tx, rc.tenant_id, row.id), resp);
                                });
                            });
    }

    grpc::Status ListReceiptKeys(grpc::ServerContext* sc, const pv1::ListReceiptKeysRequest*,
                                 pv1::ListReceiptKeysResponse* resp) override {
        return AdmittedCall(*impl_.admission, sc, std::string(kServiceName) + "/ListReceiptKeys",
                            [&](const common::RequestContext&) {
                                auto* k = resp->add_keys();
                                k->set_key_id(impl_.signer.key_id());
                                k->set_algorithm("Ed25519");
                                k->set_public_key(common::Base64UrlEncode(impl_.signer.public_key()));
                            });
    }

  private:
    DataSubjectRequests::Impl& impl_;
    std::function<void()> wake_;
};

}  // namespace

DataSubjectRequests::DataSubjectRequests(DataSubjectSettings settings, common::Db& db,
                                         std::shared_ptr<const Admission> admission, std::vector<AuditBackend> backends,
                                         ReceiptSigner signer)
    : impl_(std::make_unique<Impl>(
          Impl{std::move(settings), db, std::move(admission), std::move(backends), std::move(signer)})) {}

DataSubjectRequests::~DataSubjectRequests() = default;

void DataSubjectRequests::ExportMetrics(common::Metrics& metrics) {
    impl_->unfinished = &prometheus::BuildGauge()
                             .Name("crm_gateway_dsr_unfinished_requests")
                             .Help(
                                 "Data-subject requests of every tenant not completed yet (refreshed every second by "
                                 "the worker).")
                             .Register(metrics.registry())
                             .Add({});
    impl_->oldest_age = &prometheus::BuildGauge()
                             .Name("crm_gateway_dsr_oldest_unfinished_seconds")
                             .Help("Age of the oldest data-subject request not completed yet (0 when none).")
                             .Register(metrics.registry())
                             .Add({});
}

std::shared_ptr<grpc::Service> DataSubjectRequests::MakeService(std::function<void()> wake) {
    return std::make_shared<DataSubjectRequestService>(*impl_, std::move(wake));
}

int DataSubjectRequests::RunDue() {
    std::vector<std::pair<std::string, std::string>> due;
    impl_->db.InTenant(std::string(), [&](pqxx::work& tx) {
        impl_->db.Exec(tx, kMaintenanceOn);
        for (const auto& r : impl_->db.Exec(tx, kDue)) due.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
        impl_->db.Exec(tx, kDropOldExports, static_cast<double>(impl_->settings.export_keep.count()));
        if (impl_->unfinished != nullptr) {
            const pqxx::result b = impl_->db.Exec(tx, kBacklog);
            impl_->unfinished->Set(b[0][0].as<double>());
            impl_->oldest_age->Set(b[0][1].as<double>());
        }
    });
    int completed = 0;
    for (const auto& [tenant, id] : due) {
        try {
            const pqxx::result claimed = impl_->db.InTenant(tenant, [&](pqxx::work& tx) {
                return impl_->db.Exec(tx, kClaim, tenant, id, static_cast<double>(impl_->settings.lease.count()));
            });
            if (claimed.empty()) continue;  // another replica took it
            if (impl_->Work(tenant, ReadRow(claimed[0]))) ++completed;
        } catch (const std::exception& e) {
            common::log::Warn("data-subject request pass failed; retried after its lease",
                              {{"tenant", tenant}, {"request", id}, {"error", e.what()}});
        }
    }
    return completed;
}

}  // namespace crm::gateway
