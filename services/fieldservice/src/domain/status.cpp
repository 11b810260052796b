#include "domain/status.hpp"

#include <array>

namespace crm::fieldservice::domain {

namespace {
constexpr std::array<const char*, 9> kNames = {"",        "NEW",       "SCHEDULED",       "DISPATCHED", "EN_ROUTE",
                                               "ON_SITE", "COMPLETED", "CANNOT_COMPLETE", "CANCELLED"};

RuleBreak Refuse(Status from, const char* what) {
    return {std::string("the work order is ") + StatusText(from) + ": " + what};
}
}  // namespace

const char* StatusText(Status s) { return kNames[static_cast<int>(s)]; }

std::optional<Status> ParseStatus(std::string_view text) {
    for (int i = 1; i < static_cast<int>(kNames.size()); ++i) {
        if (text == kNames[i]) return static_cast<Status>(i);
    }
    return std::nullopt;
}

bool IsFinished(Status s) { return s == Status::kCompleted || s == Status::kCannotComplete || s == Status::kCancelled; }

bool IsBooked(Status s) {
    return s == Status::kScheduled || s == Status::kDispatched || s == Status::kEnRoute || s == Status::kOnSite;
}

bool IsChangeTarget(Status to) {
    return to == Status::kDispatched || to == Status::kEnRoute || to == Status::kOnSite ||
           to == Status::kCannotComplete || to == Status::kCancelled;
}

std::optional<RuleBreak> CheckStatusChange(Status from, Status to, bool technician) {
    if (technician && (to == Status::kDispatched || to == Status::kCancelled)) {
        return RuleBreak{"a technician may set EN_ROUTE, ON_SITE or CANNOT_COMPLETE only", "TECHNICIAN_NOT_ALLOWED"};
    }
    switch (to) {
        case Status::kDispatched:
            if (from != Status::kScheduled) return Refuse(from, "only a SCHEDULED work order can be dispatched");
            return std::nullopt;
        case Status::kEnRoute:
            if (from != Status::kDispatched) return Refuse(from, "only a DISPATCHED work order can go EN_ROUTE");
            return std::nullopt;
        case Status::kOnSite:
            if (from != Status::kEnRoute && from != Status::kDispatched) {
                return Refuse(from, "ON_SITE needs DISPATCHED or EN_ROUTE");
            }
            return std::nullopt;
        case Status::kCannotComplete:
            if (from != Status::kEnRoute && from != Status::kOnSite) {
                return Refuse(from, "CANNOT_COMPLETE needs EN_ROUTE or ON_SITE");
            }
            return std::nullopt;
        case Status::kCancelled:
            if (IsFinished(from) || from == Status::kOnSite) {
                return Refuse(from, "only a work order that is not started or finished can be cancelled");
            }
            return std::nullopt;
        default:
            return RuleBreak{"not a status ChangeWorkOrderStatus sets", "INVALID_TRANSITION"};
    }
}

std::optional<RuleBreak> CheckDispatch(Status from) {
    if (from != Status::kNew) return Refuse(from, "only a NEW work order can be dispatched; use RescheduleWorkOrder");
    return std::nullopt;
}

std::optional<RuleBreak> CheckReschedule(Status from) {
    if (from != Status::kScheduled && from != Status::kDispatched) {
        return Refuse(from, "only a SCHEDULED or DISPATCHED work order can be rescheduled");
    }
    return std::nullopt;
}

std::optional<RuleBreak> CheckUnassign(Status from) {
    if (from != Status::kScheduled && from != Status::kDispatched) {
        return Refuse(from, "only a SCHEDULED or DISPATCHED work order can be unassigned");
    }
    return std::nullopt;
}

std::optional<RuleBreak> CheckComplete(Status from) {
    if (from != Status::kOnSite) return Refuse(from, "only a work order ON_SITE can be completed");
    return std::nullopt;
}

}  // namespace crm::fieldservice::domain
