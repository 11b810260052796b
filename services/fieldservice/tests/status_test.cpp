#include "domain/status.hpp"

#include <catch2/catch.hpp>

using namespace crm::fieldservice::domain;

TEST_CASE("status names round-trip") {
    for (int i = 1; i <= 8; ++i) {
        const auto s = static_cast<Status>(i);
        REQUIRE(ParseStatus(StatusText(s)) == s);
    }
    CHECK_FALSE(ParseStatus("new"));
    CHECK_FALSE(ParseStatus(""));
}

TEST_CASE("the lifecycle: new, scheduled, dispatched, en route, on site, completed") {
    CHECK_FALSE(CheckDispatch(Status::kNew));
    CHECK(CheckDispatch(Status::kScheduled));
    CHECK_FALSE(CheckStatusChange(Status::kScheduled, Status::kDispatched, false));
    CHECK(CheckStatusChange(Status::kNew, Status::kDispatched, false));
    CHECK_FALSE(CheckStatusChange(Status::kDispatched, Status::kEnRoute, true));
    CHECK(CheckStatusChange(Status::kScheduled, Status::kEnRoute, true));
    CHECK_FALSE(CheckStatusChange(Status::kEnRoute, Status::kOnSite, true));
    CHECK_FALSE(CheckComplete(Status::kOnSite));
    CHECK(CheckComplete(Status::kEnRoute));
    CHECK_FALSE(CheckStatusChange(Status::kOnSite, Status::kCannotComplete, true));
    CHECK(CheckStatusChange(Status::kScheduled, Status::kCannotComplete, false));
}

TEST_CASE("cancellation, unassignment and rescheduling only before the visit starts") {
    CHECK_FALSE(CheckStatusChange(Status::kNew, Status::kCancelled, false));
    CHECK_FALSE(CheckStatusChange(Status::kDispatched, Status::kCancelled, false));
    CHECK(CheckStatusChange(Status::kOnSite, Status::kCancelled, false));
    CHECK(CheckStatusChange(Status::kCompleted, Status::kCancelled, false));
    CHECK(CheckStatusChange(Status::kCancelled, Status::kCancelled, false));
    CHECK_FALSE(CheckUnassign(Status::kDispatched));
    CHECK(CheckUnassign(Status::kEnRoute));
    CHECK_FALSE(CheckReschedule(Status::kScheduled));
    CHECK(CheckReschedule(Status::kNew));
}

TEST_CASE("a technician may not dispatch or cancel") {
    const auto dispatch = CheckStatusChange(Status::kScheduled, Status::kDispatched, true);
    REQUIRE(dispatch);
    CHECK(dispatch->reason == "TECHNICIAN_NOT_ALLOWED");
    CHECK(CheckStatusChange(Status::kDispatched, Status::kCancelled, true));
    CHECK_FALSE(IsChangeTarget(Status::kCompleted));
    CHECK_FALSE(IsChangeTarget(Status::kScheduled));
    CHECK(IsChangeTarget(Status::kOnSite));
}
