#pragma once
// The work-order lifecycle: statuses (numbered as crm.fieldservice.v1.WorkOrderStatus), their stored names, and which
// transitions each operation and each kind of caller may make. Pure.
#include <optional>
#include <string>
#include <string_view>

namespace crm::fieldservice::domain {

enum class Status {
    kNew = 1,
    kScheduled = 2,
    kDispatched = 3,
    kEnRoute = 4,
    kOnSite = 5,
    kCompleted = 6,
    kCannotComplete = 7,
    kCancelled = 8,
};

const char* StatusText(Status s);                          // "NEW", "EN_ROUTE", ...
std::optional<Status> ParseStatus(std::string_view text);  // the stored name
bool IsFinished(Status s);                                 // completed, cannot complete, cancelled
bool IsBooked(Status s);                                   // scheduled, dispatched, en route, on site

// Why an operation is refused in a status (FAILED_PRECONDITION with reason INVALID_TRANSITION).
struct RuleBreak {
    std::string message;
    std::string reason = "INVALID_TRANSITION";
};

// ChangeWorkOrderStatus to `to` (DISPATCHED, EN_ROUTE, ON_SITE, CANNOT_COMPLETE, CANCELLED) from `from`. A technician
// (acting on their own job) may only set EN_ROUTE, ON_SITE and CANNOT_COMPLETE.
std::optional<RuleBreak> CheckStatusChange(Status from, Status to, bool technician);
// Whether `to` is a target of ChangeWorkOrderStatus at all.
bool IsChangeTarget(Status to);
// DispatchWorkOrder (NEW only), RescheduleWorkOrder and UnassignWorkOrder (SCHEDULED or DISPATCHED),
// CompleteWorkOrder (ON_SITE only).
std::optional<RuleBreak> CheckDispatch(Status from);
std::optional<RuleBreak> CheckReschedule(Status from);
std::optional<RuleBreak> CheckUnassign(Status from);
std::optional<RuleBreak> CheckComplete(Status from);

}  // namespace crm::fieldservice::domain
