// Sequences: definitions (versioned), enrolment lists and split reports (see sequences.hpp).
#include "sequences/sequences.hpp"

#include <crm/marketing/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>

#include "campaigns/campaigns.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "domain/sequence.hpp"
#include "email/email.hpp"
#include "records.hpp"
#include "segments/segments.hpp"
#include "sequences/sql.hpp"

namespace crm::marketing::sequences {
namespace {

namespace ev = crm::marketing::events::v1;
using common::ApiError;

std::string StatusText(v1::SequenceStatus s) { return s == v1::SEQUENCE_STATUS_PAUSED ? "PAUSED" : "ACTIVE"; }

std::string TriggerText(v1::SequenceTriggerType t) { return v1::SequenceTriggerType_Name(t); }

std::string Roles(const std::vector<std::string>& roles) {
    std::string out;
    for (const auto& r : roles) out += (out.empty() ? "" : ",") + r;
    return out;
}

v1::Sequence ReadSequence(const pqxx::row& r) {
    v1::Sequence s = ParseDefinition(r[4].as<std::string>());
    s.set_id(r[0].as<std::string>());
    s.set_name(r[1].as<std::string>());
    s.set_description(r[2].as<std::string>());
    s.set_status(r[3].as<std::string>() == "PAUSED" ? v1::SEQUENCE_STATUS_PAUSED : v1::SEQUENCE_STATUS_ACTIVE);
    s.set_version(r[5].as<std::int64_t>());
    s.set_etag(common::MakeEtag(s.version()));
    SetTime(s.mutable_create_time(), r[6]);
    SetTime(s.mutable_update_time(), r[7]);
    return s;
}

v1::Sequence Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetSequenceForUpdate : sql::kGetSequence, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("sequence", id);
    return ReadSequence(rows[0]);
}

// What the definition names must exist in the tenant: campaigns (not closed), templates, STATIC lists, the trigger's
// segment. Each missing one is named.
void CheckReferences(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Sequence& s) {
    common::Violations v;
    if (s.trigger().type() == v1::SEQUENCE_TRIGGER_TYPE_SEGMENT_ENTERED &&
        !segments::Exists(db, tx, tenant, s.trigger().value())) {
        v.Add("sequence.trigger.value", "no segment with this id");
    }
    for (int i = 0; i < s.steps_size(); ++i) {
        const std::string path = "sequence.steps[" + std::to_string(i) + "]";
        const auto& step = s.steps(i);
        if (step.has_send_email()) {
            const auto campaign = campaigns::FindCampaign(db, tx, tenant, step.send_email().campaign_id());
            if (!campaign) {
                v.Add(path + ".send_email.campaign_id", "no campaign with this id");
            } else if (campaign->status() == v1::CAMPAIGN_STATUS_COMPLETED ||
                       campaign->status() == v1::CAMPAIGN_STATUS_ABORTED) {
                v.Add(path + ".send_email.campaign_id", "the campaign is closed");
            }
            try {
                email::LoadTemplate(db, tx, tenant, step.send_email().template_id());
            } catch (const ApiError&) {
                v.Add(path + ".send_email.template_id", "no email template with this id");
            }
        } else if (step.has_add_to_list()) {
            if (!segments::IsStaticList(db, tx, tenant, step.add_to_list().segment_id())) {
                v.Add(path + ".add_to_list.segment_id", "no STATIC list with this id");
            }
        }
    }
    v.ThrowIfAny();
}

void WriteVersion(common::Db& db, pqxx::transaction_base& tx, const RequestContext& rc, const std::string& id,
                  std::int64_t version, const v1::Sequence& s) {
    // Steps call leads as the user who saved the version: a status change needs a role that may change a lead's status
    // at the gateway (a marketer may record engagements, not move leads through their lifecycle).
    const bool changes_status = std::any_of(s.steps().begin(), s.steps().end(),
                                            [](const v1::SequenceStep& step) { return step.has_change_lead_status(); });
    if (changes_status && !rc.HasRole("admin") && !rc.HasRole("sales_manager") && !rc.HasRole("sales_rep")) {
        throw ApiError::PermissionDenied(
            "a change_lead_status step runs as you: saving it needs the admin, sales_manager or sales_rep role");
    }
    db.Exec(tx, sql::kInsertVersion, rc.tenant_id, id, version, DefinitionJson(s), rc.user_id, Roles(rc.roles));
}

v1::SequenceEnrolment ReadEnrolment(const pqxx::row& r, const v1::Sequence* version_of) {
    v1::SequenceEnrolment e;
    e.set_id(r[0].as<std::string>());
    e.set_sequence_id(r[1].as<std::string>());
    e.set_sequence_version(r[2].as<std::int64_t>());
    e.set_person_id(r[3].as<std::string>());
    const std::string status = r[4].as<std::string>();
    e.set_status(status == "active"      ? v1::ENROLMENT_STATUS_ACTIVE
                 : status == "completed" ? v1::ENROLMENT_STATUS_COMPLETED
                                         : v1::ENROLMENT_STATUS_EXITED);
    const int next = r[5].as<int>();
    if (status == "active" && version_of != nullptr && next < version_of->steps_size()) {
        e.set_next_step(version_of->steps(next).id());
    }
    SetTime(e.mutable_due_time(), r[6]);
    e.set_exit_reason(r[7].as<std::string>());
    SetTime(e.mutable_enrol_time(), r[8]);
    return e;
}

}  // namespace

std::string DefinitionJson(const v1::Sequence& sequence) {
    v1::Sequence def;
    *def.mutable_trigger() = sequence.trigger();
    *def.mutable_steps() = sequence.steps();
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(def, &json).ok()) {
        throw std::runtime_error("a sequence definition cannot be written as JSON");
    }
    return json;
}

v1::Sequence ParseDefinition(const std::string& json) {
    v1::Sequence def;
    if (!google::protobuf::util::JsonStringToMessage(json, &def).ok()) {
        throw std::runtime_error("a stored sequence definition cannot be read");
    }
    return def;
}

v1::Sequence Sequences::Create(const RequestContext& rc, const v1::Sequence& in, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, t, "CreateSequence", request_id, id)) {
            return Load(db_, tx, t, *first);
        }
        CheckReferences(db_, tx, t, in);
        db_.Exec(tx, sql::kInsertSequence, t, id, in.name(), in.description(), StatusText(in.status()),
                 TriggerText(in.trigger().type()), in.trigger().value());
        WriteVersion(db_, tx, rc, id, 1, in);
        return Load(db_, tx, t, id);
    });
}

v1::Sequence Sequences::Get(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return Load(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Sequence> Sequences::List(const RequestContext& rc, int page_size, const std::string& page_token) {
    const std::string scope = "ListSequences";
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::Sequence> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Sequence> out;
        for (const auto& r : db_.Exec(tx, sql::kListSequences, rc.tenant_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadSequence(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Sequence& s) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(s.create_time()), s.id()});
    });
}

v1::Sequence Sequences::Update(const RequestContext& rc, const v1::Sequence& in, const std::vector<std::string>& paths,
                               const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Sequence current = Load(db_, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        v1::Sequence next = current;
        for (const auto& p : paths) {
            if (p == "name") next.set_name(in.name());
            if (p == "description") next.set_description(in.description());
            if (p == "status") next.set_status(in.status());
            if (p == "trigger") *next.mutable_trigger() = in.trigger();
            if (p == "steps") *next.mutable_steps() = in.steps();
        }
        const bool definition_changed = DefinitionJson(next) != DefinitionJson(current);
        if (!definition_changed && next.name() == current.name() && next.description() == current.description() &&
            next.status() == current.status()) {
            return current;
        }
        if (definition_changed) CheckReferences(db_, tx, t, next);
        const pqxx::result written = db_.Exec(tx, sql::kWriteSequence, t, current.id(), next.name(), next.description(),
                                              StatusText(next.status()), TriggerText(next.trigger().type()),
                                              next.trigger().value(), current.version());
        if (written.empty()) throw ApiError::Aborted("the sequence changed concurrently; read it again and retry");
        WriteVersion(db_, tx, rc, current.id(), written[0][0].as<std::int64_t>(), next);
        return Load(db_, tx, t, current.id());
    });
}

common::Page<v1::SequenceEnrolment> Sequences::Enrolments(const RequestContext& rc, const std::string& sequence_id,
                                                          int page_size, const std::string& page_token) {
    const std::string scope = "ListSequenceEnrolments:" + sequence_id;
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::SequenceEnrolment> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        Load(db_, tx, t, sequence_id);  // NOT_FOUND for another tenant's sequence
        std::map<std::int64_t, v1::Sequence> versions;
        std::vector<v1::SequenceEnrolment> out;
        for (const auto& r :
             db_.Exec(tx, sql::kListEnrolments, t, sequence_id, after.micros, after.id, page_size + 1)) {
            const std::int64_t version = r[2].as<std::int64_t>();
            if (!versions.contains(version)) {
                const pqxx::result def = db_.Exec(tx, sql::kGetVersion, t, sequence_id, version);
                versions[version] = def.empty() ? v1::Sequence() : ParseDefinition(def[0][0].as<std::string>());
            }
            out.push_back(ReadEnrolment(r, &versions[version]));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::SequenceEnrolment& e) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(e.enrol_time()), e.id()});
    });
}

v1::GetSequenceSplitReportResponse Sequences::Report(const RequestContext& rc, const std::string& sequence_id,
                                                     const std::string& step_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Sequence s = Load(db_, tx, t, sequence_id);
        const v1::SequenceStep* split = nullptr;
        for (const auto& step : s.steps()) {
            if (step.id() == step_id) split = &step;
        }
        if (split == nullptr || !split->has_split()) throw ApiError::NotFound("split step", step_id);
        std::map<std::string, std::array<std::int64_t, 3>> counts;
        for (const auto& r : db_.Exec(tx, sql::kSplitReport, t, sequence_id, step_id, s.version())) {
            counts[r[0].as<std::string>()] = {r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
                                              r[3].as<std::int64_t>()};
        }
        v1::GetSequenceSplitReportResponse out;
        std::vector<domain::SplitCounts> table;
        for (const auto& variant : split->split().variants()) {
            const auto c = counts[variant.name()];
            auto* row = out.add_variants();
            row->set_name(variant.name());
            row->set_assigned(c[0]);
            row->set_sent(c[1]);
            row->set_clicked(c[2]);
            row->set_click_rate(c[1] > 0 ? static_cast<double>(c[2]) / static_cast<double>(c[1]) : 0.0);
            table.push_back({c[1], c[2]});
        }
        const domain::ChiSquareResult test = domain::ChiSquareTest(table);
        out.set_chi_square(test.chi_square);
        out.set_degrees_of_freedom(test.degrees_of_freedom);
        out.set_p_value(test.p_value);
        return out;
    });
}

void ExitPerson(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                const std::string& person_id, const std::string& reason) {
    for (const auto& r : db.Exec(tx, sql::kActiveOfPerson, tenant, person_id)) {
        const std::string id = r[0].as<std::string>();
        const pqxx::result exited = db.Exec(tx, sql::kExit, tenant, id, reason);
        if (exited.empty()) continue;
        ev::SequenceExited e;
        e.set_enrolment_id(id);
        e.set_sequence_id(r[1].as<std::string>());
        if (reason != "erased") e.set_person_id(person_id);
        e.set_reason(reason);
        SetMicros(e.mutable_exit_time(), NowMicros());
        Emit(outbox, tx, tenant, "", kEnrolmentAggregate, id, exited[0][0].as<std::int64_t>(), e);
    }
    if (reason == "erased") db.Exec(tx, sql::kForgetPerson, tenant, person_id);
}

}  // namespace crm::marketing::sequences
