// Running a claimed enrolment's steps in its transaction (see steps.hpp and runner.hpp).
#include "sequences/steps.hpp"

#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/marketing/events/v1/events.pb.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <nlohmann/json.hpp>

#include "audience/audience.hpp"
#include "audience/sealed.hpp"
#include "campaigns/campaigns.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/failpoint.hpp"
#include "crm/common/log.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/timezone.hpp"
#include "domain/sequence.hpp"
#include "domain/template.hpp"
#include "email/email.hpp"
#include "records.hpp"
#include "segments/segments.hpp"
#include "sequences/sequences.hpp"
#include "sequences/sql.hpp"

namespace crm::marketing::sequences {
namespace {

namespace ev = crm::marketing::events::v1;
namespace lv1 = crm::leads::v1;
constexpr std::int64_t kMicros = 1000000;

// The person as the steps see them (sql::kPersonState).
struct PersonState {
    bool found = false;
    std::string kind, state, consent, email, time_zone;
    std::string stored_email, email_index;  // the address as stored (sealed) and its blind index
    bool unsubscribed = false, suppressed = false;
};

PersonState LoadState(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                      const std::string& person) {
    PersonState p;
    if (person.empty()) return p;
    const pqxx::result r = db.Exec(tx, sql::kPersonState, tenant, person);
    if (r.empty()) return p;
    p.found = true;
    p.kind = r[0][0].as<std::string>();
    p.state = r[0][1].as<std::string>();
    p.consent = r[0][2].as<std::string>();
    const common::ColumnKey key(tenant, person, r[0][8]);
    p.stored_email = r[0][3].as<std::string>();
    p.email = key.Open(audience::sealed::kEmail, p.stored_email);
    p.email_index = r[0][7].as<std::string>();
    p.time_zone = key.Open(std::string(audience::sealed::kCustom) + ".time_zone", r[0][4].as<std::string>());
    p.unsubscribed = r[0][5].as<bool>();
    p.suppressed = r[0][6].as<bool>();
    return p;
}

// Why the enrolment must end before its next step, or "".
std::string ExitReason(const PersonState& p) {
    if (!p.found) return "erased";
    if (p.state == "converted") return "converted";
    if (p.state != "active") return "inactive";
    if (p.consent == "opted_out" || p.unsubscribed) return "unsubscribed";
    return "";
}

struct Outcome {
    std::string outcome;
    int next = -1;         // -1: the next step
    std::int64_t due = 0;  // a wait's instant (micros), 0 for other steps
    std::string send_id, variant;
    bool stop = false;
};

std::string StepKey(std::int64_t version, const std::string& step_id) {
    return std::to_string(version) + ":" + step_id;
}

std::string ActionName(const v1::SequenceStep& s) {
    switch (s.action_case()) {
        case v1::SequenceStep::kSendEmail:
            return "send_email";
        case v1::SequenceStep::kWait:
            return "wait";
        case v1::SequenceStep::kBranch:
            return "branch";
        case v1::SequenceStep::kSplit:
            return "split";
        case v1::SequenceStep::kAddToList:
            return "add_to_list";
        case v1::SequenceStep::kRecordLeadEngagement:
            return "record_lead_engagement";
        case v1::SequenceStep::kChangeLeadStatus:
            return "change_lead_status";
        default:
            return "stop";
    }
}

// The email send that carries a send_email step's messages (one per sequence version and step), created on first use
// with the campaign's tracked links for the template's links, exactly as a send to a segment gets them.
std::string SequenceSend(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                         const std::string& sequence_id, const std::string& key, const v1::Campaign& campaign,
                         const std::string& template_id) {
    const pqxx::result existing = db.Exec(tx, sql::kSequenceSend, tenant, sequence_id, key);
    if (!existing.empty()) return existing[0][0].as<std::string>();
    const v1::EmailTemplate tmpl = email::LoadTemplate(db, tx, tenant, template_id);
    nlohmann::json links = nlohmann::json::object();
    for (const auto& url : domain::LinksOf(tmpl.html_body())) {
        links[url] = campaigns::CreateEmailLink(db, tx, tenant, campaign, url);
    }
    const pqxx::result inserted = db.Exec(tx, sql::kInsertSequenceSend, tenant, common::NewUuid(), campaign.id(),
                                          template_id, links.dump(), sequence_id, key);
    if (!inserted.empty()) return inserted[0][0].as<std::string>();
    return db.Exec(tx, sql::kSequenceSend, tenant, sequence_id, key)[0][0].as<std::string>();  // another runner's
}

std::map<std::string, int> Indices(const v1::Sequence& def) {
    std::map<std::string, int> out;
    for (int i = 0; i < def.steps_size(); ++i) out[def.steps(i).id()] = i;
    return out;
}

int Target(const std::map<std::string, int>& ids, const std::string& id) {
    if (id.empty()) return -1;
    const auto it = ids.find(id);
    return it == ids.end() ? -1 : it->second;
}

std::int64_t WaitUntil(const v1::WaitAction& w, const PersonState& p, std::int64_t now) {
    if (w.seconds() > 0) return now + w.seconds() * kMicros;
    std::shared_ptr<const common::TimeZone> zone;
    if (!p.time_zone.empty() && common::IsTimeZoneName(p.time_zone)) {
        try {
            zone = common::TimeZone::Load(p.time_zone);
        } catch (const std::invalid_argument&) {
            zone = nullptr;  // not a zone the database knows: the step's own
        }
    }
    if (!zone) zone = common::TimeZone::Load(w.until().time_zone());
    unsigned days = 0;
    for (int d : w.until().weekdays()) days |= 1u << d;
    const std::int64_t at =
        domain::NextWeekdayTime(now / kMicros, *zone, days, w.until().hour() * 3600 + w.until().minute() * 60);
    return at * kMicros;
}

Outcome Execute(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, LeadsCaller& leads,
                const Enrolment& e, const std::map<std::string, int>& ids, const v1::SequenceStep& step,
                const PersonState& person, const LeadsCaller::Identity& author) {
    const std::string& t = e.tenant;
    const std::int64_t now = NowMicros();
    Outcome o;
    switch (step.action_case()) {
        case v1::SequenceStep::kSendEmail: {
            const auto campaign = campaigns::FindCampaign(db, tx, t, step.send_email().campaign_id());
            if (!campaign || person.consent != "opted_in" || person.email.empty() || person.suppressed) {
                o.outcome = "not_deliverable";  // consent, suppression (hard bounce) and address: never sent
                break;
            }
            o.send_id = SequenceSend(db, tx, t, e.sequence_id, StepKey(e.version, step.id()), *campaign,
                                     step.send_email().template_id());
            if (db.Exec(tx, sql::kQueueMessage, t, o.send_id, e.person_id, person.stored_email, person.email_index)
                    .affected_rows() > 0) {
                db.Exec(tx, sql::kCountRecipients, t, o.send_id);
            }
            o.outcome = "queued";
            break;
        }
        case v1::SequenceStep::kWait:
            o.due = WaitUntil(step.wait(), person, now);
            o.outcome = "waiting";
            break;
        case v1::SequenceStep::kBranch: {
            const auto& c = step.branch().condition();
            bool holds = false;
            if (c.test_case() == v1::BranchCondition::kRule) {
                common::Violations ignored;  // checked when the sequence was saved
                const domain::Rule rule = segments::RuleOf(c.rule(), "rule", ignored);
                const auto loaded = audience::LoadPerson(db, tx, t, e.person_id);
                holds = loaded && domain::Evaluate(rule, loaded->person, now);
            } else {
                const bool opened = c.test_case() == v1::BranchCondition::kOpenedStep;
                const std::string& send_step = opened ? c.opened_step() : c.clicked_step();
                const pqxx::result m =
                    db.Exec(tx, sql::kMessageState, t, e.sequence_id, StepKey(e.version, send_step), e.person_id);
                holds = !m.empty() && m[0][opened ? 0 : 1].as<bool>();
            }
            o.outcome = holds ? "then" : "else";
            o.next = Target(ids, holds ? step.branch().then_step() : step.branch().else_step());
            break;
        }
        case v1::SequenceStep::kSplit: {
            std::vector<int> weights;
            for (const auto& v : step.split().variants()) weights.push_back(v.weight());
            const auto& variant =
                step.split().variants(static_cast<int>(domain::AssignVariant(e.id, step.id(), weights)));
            o.variant = variant.name();
            o.outcome = variant.name();
            o.next = Target(ids, variant.next_step());
            break;
        }
        case v1::SequenceStep::kAddToList:
            try {
                o.outcome = segments::AddToList(db, outbox, tx, t, "", step.add_to_list().segment_id(), e.person_id)
                                ? "added"
                                : "already_member";
            } catch (const common::ApiError&) {
                o.outcome = "list_missing";
            }
            break;
        case v1::SequenceStep::kRecordLeadEngagement:
        case v1::SequenceStep::kChangeLeadStatus: {
            if (person.kind != "lead") {
                o.outcome = "skipped_not_a_lead";
                break;
            }
            LeadsCaller::Identity who = author;
            who.request_id = "seq:" + e.id + ":" + std::to_string(Target(ids, step.id()));
            o.outcome = step.has_record_lead_engagement()
                            ? leads.RecordEngagement(who, e.person_id, step.record_lead_engagement().type(),
                                                     step.record_lead_engagement().detail())
                            : leads.ChangeStatus(who, e.person_id, step.change_lead_status().status(),
                                                 step.change_lead_status().reason());
            break;
        }
        default:
            o.outcome = "stopped";
            o.stop = true;
    }
    return o;
}

}  // namespace

RunResult RunEnrolment(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, LeadsCaller& leads,
                       const Enrolment& e) {
    const std::string& t = e.tenant;
    const pqxx::result version = db.Exec(tx, sql::kGetVersion, t, e.sequence_id, e.version);
    if (version.empty()) throw std::runtime_error("an enrolment's sequence version is missing");
    const v1::Sequence def = ParseDefinition(version[0][0].as<std::string>());
    const LeadsCaller::Identity author{t, version[0][1].as<std::string>(), version[0][2].as<std::string>(), ""};
    const auto ids = Indices(def);
    std::int64_t seq = e.event_seq;
    int index = e.next_step;
    std::int64_t due = NowMicros();
    std::string status = "active", reason;
    RunResult out;
    while (true) {
        const PersonState person = LoadState(db, tx, t, e.person_id);
        if (const std::string why = ExitReason(person); !why.empty()) {
            status = "exited";
            reason = why;
            break;
        }
        if (index >= def.steps_size()) {
            status = "completed";
            reason = "completed";
            break;
        }
        const v1::SequenceStep& step = def.steps(index);
        const Outcome o = Execute(db, outbox, tx, leads, e, ids, step, person, author);
        const bool first = !db.Exec(tx, sql::kInsertStepRun, t, e.id, step.id(), o.outcome,
                                    common::NullIfEmpty(o.send_id), o.variant, seq + 1)
                                .empty();
        if (first) {
            ++seq;
            ev::SequenceStepExecuted x;
            x.set_enrolment_id(e.id);
            x.set_sequence_id(e.sequence_id);
            x.set_person_id(e.person_id);
            x.set_step_id(step.id());
            x.set_action(ActionName(step));
            x.set_outcome(o.outcome);
            x.set_send_id(o.send_id);
            if (o.due != 0) SetMicros(x.mutable_due_time(), o.due);
            SetMicros(x.mutable_execute_time(), NowMicros());
            Emit(outbox, tx, t, "", kEnrolmentAggregate, e.id, seq, x);
            ++out.steps;
            out.actions.push_back(ActionName(step));
        } else {
            common::log::Warn("sequence step ran before; not run again", {{"enrolment_id", e.id}, {"step", step.id()}});
        }
        if (o.stop) {
            status = "completed";
            reason = "stopped";
            break;
        }
        index = o.next >= 0 ? o.next : index + 1;
        if (o.due != 0) {
            due = o.due;
            break;
        }
    }
    if (status != "active") {
        ev::SequenceExited x;
        x.set_enrolment_id(e.id);
        x.set_sequence_id(e.sequence_id);
        if (reason != "erased") x.set_person_id(e.person_id);
        x.set_reason(reason);
        SetMicros(x.mutable_exit_time(), NowMicros());
        Emit(outbox, tx, t, "", kEnrolmentAggregate, e.id, ++seq, x);
    }
    // The step's effects are prepared in this transaction; a crash here loses all of them and the step runs again.
    common::Failpoint("marketing.sequence.before_commit");
    db.Exec(tx, sql::kSaveEnrolment, t, e.id, index, due, seq, status, status == "active" ? "" : reason);
    return out;
}

// ---- leads -----------------------------------------------------------------------------------------------------

struct LeadsCaller::Impl {
    std::unique_ptr<lv1::LeadsService::Stub> stub;
    std::string internal_key;
    std::chrono::milliseconds timeout;

    template <class Call>
    std::string Run(const Identity& who, Call&& call) {
        if (!stub) throw common::ApiError::Unavailable("the leads service address is not configured");
        grpc::ClientContext ctx;
        common::RequestContext rc;
        rc.tenant_id = who.tenant;
        rc.user_id = who.user_id;
        rc.request_id = who.request_id;
        std::size_t start = 0;
        while (start < who.roles.size()) {
            const std::size_t comma = who.roles.find(',', start);
            const std::size_t end = comma == std::string::npos ? who.roles.size() : comma;
            if (end > start) rc.roles.push_back(who.roles.substr(start, end - start));
            start = end + 1;
        }
        common::PrepareDownstreamCall(ctx, rc, internal_key, timeout);
        const grpc::Status status = call(ctx);
        switch (status.error_code()) {
            case grpc::StatusCode::OK:
                return "ok";
            case grpc::StatusCode::INVALID_ARGUMENT:
            case grpc::StatusCode::NOT_FOUND:
            case grpc::StatusCode::FAILED_PRECONDITION:
            case grpc::StatusCode::PERMISSION_DENIED:
            case grpc::StatusCode::ALREADY_EXISTS:
                return "refused";
            default:
                throw common::ApiError::Unavailable("the leads service did not answer: " +
                                                    std::to_string(status.error_code()));
        }
    }
};

LeadsCaller::LeadsCaller(const std::string& addr, const common::TlsFiles& tls, std::string internal_key,
                         std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    if (!addr.empty()) {
        impl_->stub =
            lv1::LeadsService::NewStub(common::MakeDownstreamChannel(addr, common::MakeChannelCredentials(tls)));
    }
    impl_->internal_key = std::move(internal_key);
    impl_->timeout = timeout;
}

LeadsCaller::~LeadsCaller() = default;

std::string LeadsCaller::RecordEngagement(const Identity& who, const std::string& lead_id, const std::string& type,
                                          const std::string& detail) {
    lv1::RecordEngagementRequest req;
    req.set_lead_id(lead_id);
    req.mutable_engagement()->set_type(type);
    req.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_INBOUND);
    req.mutable_engagement()->set_detail(detail);
    req.set_request_id(who.request_id);
    lv1::RecordEngagementResponse resp;
    const std::string r =
        impl_->Run(who, [&](grpc::ClientContext& ctx) { return impl_->stub->RecordEngagement(&ctx, req, &resp); });
    return r == "ok" ? "recorded" : r;
}

std::string LeadsCaller::ChangeStatus(const Identity& who, const std::string& lead_id, const std::string& status,
                                      const std::string& reason) {
    static const std::map<std::string, lv1::LeadStatus> kStatuses = {{"working", lv1::LEAD_STATUS_WORKING},
                                                                     {"nurturing", lv1::LEAD_STATUS_NURTURING},
                                                                     {"qualified", lv1::LEAD_STATUS_QUALIFIED},
                                                                     {"unqualified", lv1::LEAD_STATUS_UNQUALIFIED}};
    lv1::ChangeLeadStatusRequest req;
    req.set_id(lead_id);
    req.set_status(kStatuses.at(status));
    req.set_reason(reason);
    lv1::ChangeLeadStatusResponse resp;
    const std::string r =
        impl_->Run(who, [&](grpc::ClientContext& ctx) { return impl_->stub->ChangeLeadStatus(&ctx, req, &resp); });
    if (r == "ok") return "changed";
    // Refused: when the lead has that status already (this step's own call before a crash, or a person), the step's
    // purpose holds.
    lv1::GetLeadRequest get;
    get.set_id(lead_id);
    lv1::GetLeadResponse lead;
    const std::string read =
        impl_->Run(who, [&](grpc::ClientContext& ctx) { return impl_->stub->GetLead(&ctx, get, &lead); });
    return read == "ok" && lead.lead().status() == req.status() ? "changed" : r;
}

}  // namespace crm::marketing::sequences
