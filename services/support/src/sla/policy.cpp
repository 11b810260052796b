// The SLA policy: checks of a policy from a request, its rules and business calendar, storage as JSON.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <stdexcept>

#include "cases/cases.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "sla/sla.hpp"
#include "sla/sql.hpp"

namespace crm::support::sla {
namespace {

using google::protobuf::util::TimeUtil;

std::optional<domain::SlaMetric> MetricOf(v1::SlaMetric m) {
    if (m == v1::SLA_METRIC_FIRST_RESPONSE) return domain::SlaMetric::kFirstResponse;
    if (m == v1::SLA_METRIC_RESOLUTION) return domain::SlaMetric::kResolution;
    return std::nullopt;
}

std::optional<domain::SlaStage> StageOf(v1::SlaStage s) {
    if (s == v1::SLA_STAGE_WARNING) return domain::SlaStage::kWarning;
    if (s == v1::SLA_STAGE_BREACH) return domain::SlaStage::kBreach;
    return std::nullopt;
}

std::optional<domain::EscalationAction> ActionOf(v1::EscalationAction a) {
    switch (a) {
        case v1::ESCALATION_ACTION_NOTIFY:
            return domain::EscalationAction::kNotify;
        case v1::ESCALATION_ACTION_REASSIGN:
            return domain::EscalationAction::kReassign;
        case v1::ESCALATION_ACTION_RAISE_PRIORITY:
            return domain::EscalationAction::kRaisePriority;
        default:
            return std::nullopt;
    }
}

// DAY_OF_WEEK_MONDAY (1) .. SUNDAY (7) -> common::Weekday (0 = Sunday).
unsigned WeekdayIndex(v1::DayOfWeek d) { return d == v1::DAY_OF_WEEK_SUNDAY ? 0 : static_cast<unsigned>(d); }

}  // namespace

Policy CheckedPolicy(const v1::SlaPolicy& in, common::Violations& v) {
    const std::string prefix = "sla_policy.";
    Policy out;
    out.proto = in;
    out.proto.clear_version();
    out.proto.clear_update_time();
    out.proto.clear_etag();
    domain::CheckEtagSyntax(v, in.etag(), prefix + "etag");

    // The calendar.
    const auto& cal = in.calendar();
    std::shared_ptr<const common::TimeZone> zone;
    if (!common::IsTimeZoneName(cal.time_zone())) {
        v.Add(prefix + "calendar.time_zone", "required: an IANA time zone such as \"Europe/Berlin\"");
    } else {
        try {
            zone = common::TimeZone::Load(cal.time_zone());
        } catch (const std::invalid_argument&) {
            v.Add(prefix + "calendar.time_zone", "not a time zone of the IANA database");
        }
    }
    common::WeekHours week;
    bool hours_ok = true;
    for (int i = 0; i < cal.working_hours_size(); ++i) {
        const auto& h = cal.working_hours(i);
        const std::string p = prefix + "calendar.working_hours[" + std::to_string(i) + "].";
        bool ok = true;
        if (!v1::DayOfWeek_IsValid(h.day()) || h.day() == v1::DAY_OF_WEEK_UNSPECIFIED) {
            v.Add(p + "day", "required: MONDAY .. SUNDAY");
            ok = false;
        }
        const auto start = domain::ParseClock(h.start_time());
        const auto end = domain::ParseClock(h.end_time());
        if (!start || *start >= 86400) v.Add(p + "start_time", "\"HH:MM\", 00:00..23:59"), ok = false;
        if (!end) v.Add(p + "end_time", "\"HH:MM\", up to 24:00"), ok = false;
        if (start && end && *end <= *start) v.Add(p + "end_time", "must be after start_time"), ok = false;
        if (ok) week[WeekdayIndex(h.day())].push_back({*start, *end});
        hours_ok = hours_ok && ok;
    }
    for (auto& day : week) {
        std::sort(day.begin(), day.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    }
    std::vector<common::CivilDate> holidays;
    common::CheckListSize(v, static_cast<std::size_t>(cal.holidays_size()), prefix + "calendar.holidays", 1000);
    for (int i = 0; i < cal.holidays_size(); ++i) {
        const auto date = domain::ParseIsoDate(cal.holidays(i));
        if (!date) {
            v.Add(prefix + "calendar.holidays[" + std::to_string(i) + "]", "a date \"YYYY-MM-DD\"");
        } else {
            holidays.push_back(*date);
        }
    }
    common::Violations calendar_problems;
    common::CheckCalendar(calendar_problems, week, holidays, "");
    for (const auto& problem : calendar_problems.list()) {
        if (problem.field.rfind("week", 0) == 0) {
            if (hours_ok) v.Add(prefix + "calendar.working_hours", problem.description);
        } else if (holidays.size() == static_cast<std::size_t>(cal.holidays_size())) {
            v.Add(prefix + "calendar." + problem.field, problem.description);
        }
    }

    // Targets and rules.
    for (int i = 0; i < in.targets_size(); ++i) {
        const auto& t = in.targets(i);
        if (!v1::CasePriority_IsValid(t.priority()) || t.priority() == v1::CASE_PRIORITY_UNSPECIFIED) {
            v.Add(prefix + "targets[" + std::to_string(i) + "].priority", "required: LOW, NORMAL, HIGH or URGENT");
        }
        out.rules.targets.push_back({.priority = cases::PriorityOf(t.priority()),
                                     .customer_tier = t.customer_tier(),
                                     .first_response_seconds = t.first_response_seconds(),
                                     .resolution_seconds = t.resolution_seconds()});
    }
    out.rules.warning_percent = in.warning_percent() == 0 ? 80 : in.warning_percent();
    for (int i = 0; i < in.escalations_size(); ++i) {
        const auto& r = in.escalations(i);
        const std::string p = prefix + "escalations[" + std::to_string(i) + "].";
        const auto metric = MetricOf(r.metric());
        const auto stage = StageOf(r.stage());
        const auto action = ActionOf(r.action());
        if (!metric) v.Add(p + "metric", "required: FIRST_RESPONSE or RESOLUTION");
        if (!stage) v.Add(p + "stage", "required: WARNING or BREACH");
        if (!action) v.Add(p + "action", "required: NOTIFY, REASSIGN or RAISE_PRIORITY");
        out.rules.escalations.push_back({.metric = metric.value_or(domain::SlaMetric::kFirstResponse),
                                         .stage = stage.value_or(domain::SlaStage::kBreach),
                                         .action = action.value_or(domain::EscalationAction::kNotify),
                                         .assignee_id = r.assignee_id()});
    }
    v.Append(domain::CheckSlaRules(out.rules, prefix));
    if (v.empty() && zone) out.calendar = common::BusinessCalendar::Make(zone, week, holidays);
    out.proto.set_warning_percent(out.rules.warning_percent);
    return out;
}

Policy LoadPolicy(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    const pqxx::result rows = db.Exec(tx, sql::kGetPolicy, tenant);
    if (rows.empty()) return Policy{};
    v1::SlaPolicy stored;
    if (!google::protobuf::util::JsonStringToMessage(rows[0][0].as<std::string>(), &stored).ok()) {
        throw std::runtime_error("stored SLA policy cannot be read");
    }
    common::Violations v;
    Policy p = CheckedPolicy(stored, v);
    if (!v.empty()) throw std::runtime_error("stored SLA policy fails its checks: " + v.list()[0].field);
    p.proto.set_version(rows[0][1].as<std::int64_t>());
    p.proto.set_etag(common::MakeEtag(p.proto.version()));
    *p.proto.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][2].as<std::int64_t>());
    return p;
}

std::string PolicyJson(const v1::SlaPolicy& policy) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(policy, &json, options).ok()) {
        throw std::runtime_error("SLA policy cannot be written as JSON");
    }
    return json;
}

}  // namespace crm::support::sla
