// Activities through the gateway: links, timelines newest first with paging, completion, and the reminder scheduler
// (ActivityDue exactly once when due, again only when re-armed, never for a completed activity).
#include <crm/sales/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "../support/events.hpp"
#include "../support/sales_client.hpp"

using namespace crm::test;
namespace sev = crm::sales::events::v1;
using google::protobuf::util::TimeUtil;

namespace {

google::protobuf::Timestamp InSeconds(int seconds) {
    return TimeUtil::MillisecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() +
        seconds * 1000LL);
}

std::vector<ReceivedEvent> OfType(const std::vector<ReceivedEvent>& events, const std::string& type) {
    std::vector<ReceivedEvent> out;
    for (const auto& e : events) {
        if (e.envelope.event_type() == "crm.sales.events.v1." + type) out.push_back(e);
    }
    return out;
}

}  // namespace

TEST_CASE("sales: activities linked to records, a timeline newest first, completion", "[integration][sales]") {
    const std::string tenant = UniqueTenant("sa");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    const sv1::Opportunity deal = api.MustCreateOpportunity("Timeline deal", 1000);
    const std::string contact = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a";

    std::vector<std::string> ids;
    const sv1::ActivityType types[] = {sv1::ACTIVITY_TYPE_CALL, sv1::ACTIVITY_TYPE_EMAIL, sv1::ACTIVITY_TYPE_MEETING,
                                       sv1::ACTIVITY_TYPE_TASK, sv1::ACTIVITY_TYPE_CALL};
    for (int i = 0; i < 5; ++i) {
        sv1::CreateActivityRequest req;
        req.mutable_activity()->set_type(types[i]);
        req.mutable_activity()->set_subject("Touch " + std::to_string(i));
        req.mutable_activity()->set_opportunity_id(deal.id());
        if (i % 2 == 0) req.mutable_activity()->set_contact_id(contact);
        auto r = api.CreateActivity(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        CHECK(r.response.activity().status() == sv1::ACTIVITY_STATUS_OPEN);
        CHECK(r.response.activity().owner_id() == "test-user");
        ids.push_back(r.response.activity().id());
    }

    sv1::ListActivitiesRequest timeline;
    timeline.set_record_type(sv1::RECORD_TYPE_OPPORTUNITY);
    timeline.set_record_id(deal.id());
    timeline.set_page_size(2);
    std::vector<std::string> seen;
    for (int guard = 0; guard < 5; ++guard) {
        auto r = api.ListActivities(timeline);
        REQUIRE(r.ok());
        for (const auto& a : r.response.activities()) seen.push_back(a.id());
        if (r.response.next_page_token().empty()) break;
        timeline.set_page_token(r.response.next_page_token());
    }
    CHECK(seen == std::vector<std::string>(ids.rbegin(), ids.rend()));  // newest first

    sv1::ListActivitiesRequest of_contact;
    of_contact.set_record_type(sv1::RECORD_TYPE_CONTACT);
    of_contact.set_record_id(contact);
    auto c = api.ListActivities(of_contact);
    REQUIRE(c.ok());
    REQUIRE(c.response.activities_size() == 3);
    CHECK(c.response.activities(0).id() == ids[4]);

    sv1::UpdateActivityRequest update;
    update.mutable_activity()->set_id(ids[0]);
    update.mutable_activity()->set_subject("First call, rescheduled");
    update.mutable_update_mask()->add_paths("subject");
    auto updated = api.UpdateActivity(update);
    REQUIRE(updated.ok());
    CHECK(updated.response.activity().subject() == "First call, rescheduled");
    CHECK(updated.response.activity().version() == 2);

    sv1::CompleteActivityRequest complete;
    complete.set_id(ids[0]);
    complete.set_outcome("Interested; send a quote");
    auto done = api.CompleteActivity(complete);
    REQUIRE(done.ok());
    CHECK(done.response.activity().status() == sv1::ACTIVITY_STATUS_COMPLETED);
    CHECK(done.response.activity().complete_time().seconds() > 0);
    CHECK(done.response.activity().outcome() == "Interested; send a quote");
    auto twice = api.CompleteActivity(complete);
    CHECK(twice.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(api.UpdateActivity(update).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("sales: bad activity input is refused with field violations and writes nothing", "[integration][sales]") {
    const std::string tenant = UniqueTenant("sa");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    sv1::CreateActivityRequest req;
    req.mutable_activity()->set_subject(std::string(201, 's'));
    *req.mutable_activity()->mutable_due_time() = InSeconds(60);
    *req.mutable_activity()->mutable_remind_time() = InSeconds(120);
    auto r = api.CreateActivity(req);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field : {"activity.type", "activity.subject", "activity", "activity.remind_time"}) {
        INFO(field);
        CHECK(HasViolation(r.status, field));
    }
    req.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_TASK);
    req.mutable_activity()->set_subject("Follow up");
    req.mutable_activity()->clear_remind_time();
    req.mutable_activity()->set_opportunity_id("0e1d2c3b-4a59-4687-9a5b-4c3d2e1f0a9b");  // no such opportunity
    auto missing = api.CreateActivity(req);
    CHECK(missing.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(missing.status, "activity.opportunity_id"));
    sv1::ListActivitiesRequest list;
    list.set_record_id("x");
    auto l = api.ListActivities(list);
    CHECK(l.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(l.status, "record_type"));
    CHECK(HasViolation(l.status, "record_id"));
    CHECK(CountRows("activities", tenant) == 0);
}

TEST_CASE("sales: ActivityDue is published exactly once when a reminder is due", "[integration][sales][events]") {
    const std::string tenant = UniqueTenant("sa");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    EventTap tap("crm.sales.v1");

    auto create = [&](const std::string& subject, int due_in, int remind_in) {
        sv1::CreateActivityRequest req;
        req.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_TASK);
        req.mutable_activity()->set_subject(subject);
        req.mutable_activity()->set_lead_id("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b");
        *req.mutable_activity()->mutable_due_time() = InSeconds(due_in);
        if (remind_in >= 0) *req.mutable_activity()->mutable_remind_time() = InSeconds(remind_in);
        auto r = api.CreateActivity(req);
        REQUIRE(r.ok());
        return r.response.activity();
    };
    const sv1::Activity soon = create("due soon", 2, -1);
    const sv1::Activity reminded = create("due in an hour, reminder soon", 3600, 2);
    const sv1::Activity later = create("due in an hour", 3600, -1);
    const sv1::Activity completed = create("completed before due", 2, -1);
    sv1::CompleteActivityRequest complete;
    complete.set_id(completed.id());
    REQUIRE(api.CompleteActivity(complete).ok());

    // 4 created + 1 completed + 2 due; then keep reading a while to catch any duplicate.
    auto events = tap.WaitFor(tenant, 7, std::chrono::seconds(30), std::chrono::seconds(4));
    const auto due = OfType(events, "ActivityDue");
    REQUIRE(due.size() == 2);
    std::set<std::string> due_ids;
    for (const auto& e : due) {
        sev::ActivityDue payload;
        REQUIRE(e.envelope.payload().UnpackTo(&payload));
        due_ids.insert(payload.activity().id());
        CHECK(payload.tenant_id() == tenant);
        CHECK(e.envelope.aggregate_type() == "activity");
        CHECK(e.envelope.aggregate_version() == 2);
        CHECK(payload.activity().reminder_sent_time().seconds() > 0);
    }
    CHECK(due_ids == std::set<std::string>{soon.id(), reminded.id()});
    sv1::GetActivityRequest get;
    get.set_id(soon.id());
    CHECK(api.GetActivity(get).response.activity().reminder_sent_time().seconds() > 0);
    get.set_id(later.id());
    CHECK_FALSE(api.GetActivity(get).response.activity().has_reminder_sent_time());

    SECTION("moving the due time re-arms the reminder: one more ActivityDue") {
        EventTap again("crm.sales.v1");
        sv1::UpdateActivityRequest update;
        update.mutable_activity()->set_id(soon.id());
        *update.mutable_activity()->mutable_due_time() = InSeconds(2);
        update.mutable_update_mask()->add_paths("due_time");
        auto r = api.UpdateActivity(update);
        REQUIRE(r.ok());
        CHECK_FALSE(r.response.activity().has_reminder_sent_time());
        auto more = again.WaitFor(tenant, 2, std::chrono::seconds(30), std::chrono::seconds(4));
        CHECK(OfType(more, "ActivityUpdated").size() == 1);
        CHECK(OfType(more, "ActivityDue").size() == 1);
    }
}
