// Checks of a sequence's definition: every bad node of the trigger and the steps is named with its path (see
// sequences.hpp).
#include "crm/common/validate.hpp"

#include <map>
#include <set>

#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/timezone.hpp"
#include "segments/segments.hpp"
#include "sequences/sequences.hpp"

namespace crm::marketing::sequences {
namespace {

constexpr common::TextRule kLongText{.max_chars = 4000, .multiline = true};
constexpr std::int64_t kMaxWaitSeconds = 365LL * 86400;
const std::set<std::string> kLeadStatuses = {"working", "nurturing", "qualified", "unqualified"};

bool Has(const std::vector<std::string>& paths, const char* path) {
    for (const auto& p : paths) {
        if (p == path) return true;
    }
    return false;
}

// [a-z0-9_-]{1,max} (first_letter: starts with a-z, and no '-').
bool IsSlug(const std::string& s, std::size_t max, bool first_letter) {
    if (s.empty() || s.size() > max) return false;
    if (first_letter && (s[0] < 'a' || s[0] > 'z')) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (!first_letter && c == '-');
        if (!ok) return false;
    }
    return true;
}

void CheckSlug(common::Violations& v, const std::string& value, const std::string& field, std::size_t max,
               bool first_letter) {
    if (!common::CheckText(v, value, field, {.max_chars = max, .required = true})) return;
    if (!IsSlug(value, max, first_letter)) {
        v.Add(field, first_letter ? "must match [a-z][a-z0-9_]{0," + std::to_string(max - 1) + "}"
                                  : "must be 1.." + std::to_string(max) + " characters of [a-z0-9_-]");
    }
}

void CheckTrigger(common::Violations& v, v1::SequenceTrigger& t) {
    const std::string field = "sequence.trigger.value";
    if (!common::CheckText(v, t.value(), field, {.max_chars = 200})) {
        if (!v1::SequenceTriggerType_IsValid(t.type()) || t.type() == v1::SEQUENCE_TRIGGER_TYPE_UNSPECIFIED) {
            v.Add("sequence.trigger.type", "required: one of the SequenceTriggerType values");
        }
        return;
    }
    t.set_value(common::text::Trim(t.value()));
    switch (t.type()) {
        case v1::SEQUENCE_TRIGGER_TYPE_LEAD_ENGAGEMENT:
            CheckSlug(v, t.value(), field, 63, true);
            break;
        case v1::SEQUENCE_TRIGGER_TYPE_LEAD_CREATED:
        case v1::SEQUENCE_TRIGGER_TYPE_CONTACT_CREATED:
            t.set_value(common::text::AsciiLower(t.value()));
            break;
        case v1::SEQUENCE_TRIGGER_TYPE_SEGMENT_ENTERED:
            t.set_value(common::CheckId(v, t.value(), field));
            break;
        default:
            v.Add("sequence.trigger.type", "required: one of the SequenceTriggerType values");
    }
}

// A jump target: empty (the next step) or a later step's id.
void CheckTarget(common::Violations& v, const std::string& target, const std::string& field, int from,
                 const std::map<std::string, int>& ids) {
    if (target.empty()) return;
    if (!common::CheckText(v, target, field, {.max_chars = 40})) return;
    const auto it = ids.find(target);
    if (it == ids.end()) {
        v.Add(field, "names no step of the sequence");
    } else if (it->second <= from) {
        v.Add(field, "must name a later step (a sequence never goes back)");
    }
}

void CheckWait(common::Violations& v, const v1::WaitAction& w, const std::string& path) {
    const bool duration = w.seconds() != 0;
    if (duration == w.has_until()) {
        v.Add(path, "exactly one of seconds or until");
    }
    if (duration && (w.seconds() < 1 || w.seconds() > kMaxWaitSeconds)) {
        v.Add(path + ".seconds", "1 second .. 365 days");
    }
    if (!w.has_until()) return;
    const auto& u = w.until();
    const std::string up = path + ".until";
    if (u.weekdays_size() < 1 || u.weekdays_size() > 7) v.Add(up + ".weekdays", "1 to 7 days");
    std::set<int> days;
    for (int i = 0; i < u.weekdays_size() && i < 7; ++i) {
        const std::string f = up + ".weekdays[" + std::to_string(i) + "]";
        if (u.weekdays(i) < 0 || u.weekdays(i) > 6) {
            v.Add(f, "0 (Sunday) .. 6 (Saturday)");
        } else if (!days.insert(u.weekdays(i)).second) {
            v.Add(f, "named twice");
        }
    }
    if (u.hour() < 0 || u.hour() > 23) v.Add(up + ".hour", "0..23");
    if (u.minute() < 0 || u.minute() > 59) v.Add(up + ".minute", "0..59");
    if (!common::CheckText(v, u.time_zone(), up + ".time_zone", {.max_chars = 64, .required = true})) return;
    bool known = common::IsTimeZoneName(u.time_zone());
    if (known) {
        try {
            common::TimeZone::Load(u.time_zone());
        } catch (const std::invalid_argument&) {
            known = false;
        }
    }
    if (!known) v.Add(up + ".time_zone", "not an IANA time zone (e.g. Europe/Berlin)");
}

void CheckStep(common::Violations& v, const v1::SequenceStep& s, int index, const std::map<std::string, int>& ids,
               const std::map<std::string, int>& sends) {
    const std::string path = "sequence.steps[" + std::to_string(index) + "]";
    switch (s.action_case()) {
        case v1::SequenceStep::kSendEmail:
            common::CheckId(v, s.send_email().campaign_id(), path + ".send_email.campaign_id");
            common::CheckId(v, s.send_email().template_id(), path + ".send_email.template_id");
            break;
        case v1::SequenceStep::kWait:
            CheckWait(v, s.wait(), path + ".wait");
            break;
        case v1::SequenceStep::kBranch: {
            const auto& b = s.branch();
            const std::string cp = path + ".branch.condition";
            const auto& c = b.condition();
            if (c.test_case() == v1::BranchCondition::kOpenedStep ||
                c.test_case() == v1::BranchCondition::kClickedStep) {
                const bool opened = c.test_case() == v1::BranchCondition::kOpenedStep;
                const std::string& target = opened ? c.opened_step() : c.clicked_step();
                const std::string f = cp + (opened ? ".opened_step" : ".clicked_step");
                if (common::CheckText(v, target, f, {.max_chars = 40, .required = true})) {
                    const auto it = sends.find(target);
                    if (it == sends.end() || it->second >= index) v.Add(f, "must name an earlier send_email step");
                }
            } else if (c.test_case() == v1::BranchCondition::kRule) {
                segments::CheckedRule(c.rule(), cp + ".rule", v);
            } else {
                v.Add(cp, "required: opened_step, clicked_step or rule");
            }
            CheckTarget(v, b.then_step(), path + ".branch.then_step", index, ids);
            CheckTarget(v, b.else_step(), path + ".branch.else_step", index, ids);
            break;
        }
        case v1::SequenceStep::kSplit: {
            const auto& variants = s.split().variants();
            if (variants.size() < 2 || variants.size() > 10) v.Add(path + ".split.variants", "2 to 10 variants");
            std::set<std::string> names;
            for (int i = 0; i < variants.size() && i < 10; ++i) {
                const std::string vp = path + ".split.variants[" + std::to_string(i) + "]";
                CheckSlug(v, variants[i].name(), vp + ".name", 40, false);
                if (!variants[i].name().empty() && !names.insert(variants[i].name()).second) {
                    v.Add(vp + ".name", "named twice in the step");
                }
                if (variants[i].weight() < 1 || variants[i].weight() > 1000) v.Add(vp + ".weight", "1..1000");
                CheckTarget(v, variants[i].next_step(), vp + ".next_step", index, ids);
            }
            break;
        }
        case v1::SequenceStep::kAddToList:
            common::CheckId(v, s.add_to_list().segment_id(), path + ".add_to_list.segment_id");
            break;
        case v1::SequenceStep::kRecordLeadEngagement:
            CheckSlug(v, s.record_lead_engagement().type(), path + ".record_lead_engagement.type", 63, true);
            common::CheckText(v, s.record_lead_engagement().detail(), path + ".record_lead_engagement.detail",
                              {.max_chars = 500});
            break;
        case v1::SequenceStep::kChangeLeadStatus:
            if (common::CheckText(v, s.change_lead_status().status(), path + ".change_lead_status.status",
                                  {.max_chars = 20, .required = true}) &&
                !kLeadStatuses.contains(s.change_lead_status().status())) {
                v.Add(path + ".change_lead_status.status", "one of working, nurturing, qualified, unqualified");
            }
            common::CheckText(v, s.change_lead_status().reason(), path + ".change_lead_status.reason",
                              {.max_chars = 500});
            break;
        case v1::SequenceStep::kStop:
            break;
        default:
            v.Add(path,
                  "required: one action (send_email, wait, branch, split, add_to_list, record_lead_engagement, "
                  "change_lead_status, stop)");
    }
}

void CheckSteps(common::Violations& v, const v1::Sequence& in) {
    const auto& steps = in.steps();
    if (steps.empty()) {
        v.Add("sequence.steps", "required: 1 to 50 steps");
        return;
    }
    if (!common::CheckListSize(v, steps.size(), "sequence.steps", kMaxSteps)) return;
    std::map<std::string, int> ids, sends;
    for (int i = 0; i < steps.size(); ++i) {
        const std::string field = "sequence.steps[" + std::to_string(i) + "].id";
        CheckSlug(v, steps[i].id(), field, 40, false);
        if (steps[i].id().empty()) continue;
        if (!ids.emplace(steps[i].id(), i).second) v.Add(field, "another step has this id");
        if (steps[i].action_case() == v1::SequenceStep::kSendEmail) sends.emplace(steps[i].id(), i);
    }
    for (int i = 0; i < steps.size(); ++i) CheckStep(v, steps[i], i, ids, sends);
}

}  // namespace

v1::Sequence CheckedSequence(const v1::Sequence& in, bool create, const std::vector<std::string>& paths,
                             common::Violations& v) {
    v1::Sequence out = in;
    out.set_name(common::text::Trim(in.name()));
    common::CheckText(v, out.name(), "sequence.name",
                      create || Has(paths, "name") ? common::kRequiredName : common::kName);
    common::CheckText(v, in.description(), "sequence.description", kLongText);
    if (!v1::SequenceStatus_IsValid(in.status())) {
        v.Add("sequence.status", "unknown sequence status");
    } else if (in.status() == v1::SEQUENCE_STATUS_UNSPECIFIED) {
        if (!create && Has(paths, "status")) v.Add("sequence.status", "required: ACTIVE or PAUSED");
        if (create) out.set_status(v1::SEQUENCE_STATUS_ACTIVE);
    }
    if (create || Has(paths, "trigger") || in.has_trigger()) {
        if (!in.has_trigger() && (create || Has(paths, "trigger"))) {
            v.Add("sequence.trigger", "required: the event or segment entry that enrols people");
        } else {
            CheckTrigger(v, *out.mutable_trigger());
        }
    }
    if (create || Has(paths, "steps") || !in.steps().empty()) CheckSteps(v, in);
    if (!in.etag().empty() && !common::ParseEtag(in.etag())) {
        v.Add("sequence.etag", "not an etag this service issued; send the value last read, or nothing");
    }
    return out;
}

}  // namespace crm::marketing::sequences
