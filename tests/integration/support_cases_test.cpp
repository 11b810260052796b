// Cases and their conversation through the gateway: every RPC's happy path, the lifecycle (first response, pending,
// reopen, close), bad input (right code, every bad field named, nothing written), a retried create and a retried
// entry, links checked with contacts, and the events (exactly one per change, with a correct envelope; internal notes
// carry no text).
#include <catch2/catch.hpp>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/support_client.hpp"
#include "crm/support/events/v1/events.pb.h"

using namespace crm::test;
namespace sev1 = crm::support::events::v1;
using namespace std::chrono_literals;

namespace {

long Count(const std::string& table, const std::string& tenant) {
    return std::stol(QueryScalar("support", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant + "'"));
}

}  // namespace

TEST_CASE("support: a case's life through every RPC, with its events", "[integration][support]") {
    const std::string tenant = UniqueTenant("sc");
    const std::string token = TokenFor(tenant);
    ContactsClient contacts(token);
    SupportClient api(token);
    EventTap tap("crm.support.v1");
    const auto person = contacts.MustCreate("Ada", "Lovelace", "ada." + crm::common::NewUuid().substr(0, 8) + "@x.io");

    // Create, with every client-settable field.
    spv1::CreateCaseRequest create;
    auto* c = create.mutable_case_();
    c->set_subject("  Printer on fire ");
    c->set_description("It smokes.\nA lot.");
    c->set_contact_id(person.id());
    c->set_product("LaserJet 9000");
    c->set_asset_id("SN-42");
    c->set_priority(spv1::CASE_PRIORITY_HIGH);
    c->set_category("hardware");
    c->add_tags("Fire");
    c->add_tags("fire");
    c->set_channel(spv1::CHANNEL_PHONE);
    c->set_language("EN-gb");
    c->set_customer_tier("Gold");
    (*c->mutable_custom_fields())["contract"] = "C-1";
    c->set_status(spv1::CASE_STATUS_CLOSED);  // output only: ignored
    create.set_request_id("create-1");
    auto created = api.CreateCase(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const spv1::Case made = created.response.case_();
    CHECK(made.number() == 1);
    CHECK(made.subject() == "Printer on fire");
    CHECK(made.status() == spv1::CASE_STATUS_NEW);
    CHECK(made.tags_size() == 1);
    CHECK(made.tags(0) == "fire");
    CHECK(made.language() == "en-GB");
    CHECK(made.customer_tier() == "gold");
    CHECK(made.channel() == spv1::CHANNEL_PHONE);
    CHECK(made.custom_fields().at("contract") == "C-1");
    CHECK(made.etag() == "v1");

    // A retry with the same request_id returns the first case and writes nothing.
    auto retried = api.CreateCase(create);
    REQUIRE(retried.ok());
    CHECK(retried.response.case_().id() == made.id());
    CHECK(Count("cases", tenant) == 1);
    // The second case gets the next number.
    CHECK(api.MustCreateCase("Second").number() == 2);

    // Get and list (filters).
    spv1::GetCaseRequest get;
    get.set_id(made.id());
    CHECK(api.GetCase(get).response.case_().subject() == "Printer on fire");
    spv1::ListCasesRequest list;
    list.set_contact_id(person.id());
    auto listed = api.ListCases(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.cases_size() == 1);
    CHECK(listed.response.cases(0).id() == made.id());
    list.Clear();
    list.set_page_size(1);
    auto page1 = api.ListCases(list);
    REQUIRE(page1.response.cases_size() == 1);
    REQUIRE_FALSE(page1.response.next_page_token().empty());
    list.set_page_token(page1.response.next_page_token());
    auto page2 = api.ListCases(list);
    REQUIRE(page2.response.cases_size() == 1);
    CHECK(page2.response.cases(0).number() == 2);
    CHECK(page2.response.next_page_token().empty());

    // Update with a mask; a stale etag is ABORTED.
    spv1::UpdateCaseRequest update;
    update.mutable_case_()->set_id(made.id());
    update.mutable_case_()->set_priority(spv1::CASE_PRIORITY_URGENT);
    update.mutable_case_()->set_product("");
    update.mutable_case_()->set_etag(made.etag());
    update.mutable_update_mask()->add_paths("priority");
    update.mutable_update_mask()->add_paths("product");
    auto updated = api.UpdateCase(update);
    REQUIRE(updated.ok());
    CHECK(updated.response.case_().priority() == spv1::CASE_PRIORITY_URGENT);
    CHECK(updated.response.case_().product().empty());
    CHECK(updated.response.case_().version() == 2);
    CHECK(api.UpdateCase(update).status.error_code() == grpc::StatusCode::ABORTED);

    // Assign.
    spv1::AssignCaseRequest assign;
    assign.set_id(made.id());
    assign.set_assignee_id("agent-7");
    auto assigned = api.AssignCase(assign);
    REQUIRE(assigned.ok());
    CHECK(assigned.response.case_().assignee_id() == "agent-7");

    // The conversation: an internal note changes nothing; the first public reply opens the case.
    auto note = api.MustAddMessage(made.id(), spv1::MESSAGE_KIND_INTERNAL_NOTE, "customer is a VIP");
    CHECK(note.case_().status() == spv1::CASE_STATUS_NEW);
    CHECK(note.message().author_id() == "test-user");
    auto reply = api.MustAddMessage(made.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "We are on it");
    CHECK(reply.case_().status() == spv1::CASE_STATUS_OPEN);
    CHECK(reply.case_().has_first_response_time());
    CHECK(reply.case_().message_count() == 2);
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_PENDING_CUSTOMER);
    // A customer's answer (a chat transcript) resumes the case; a retried entry is stored once.
    spv1::AddCaseMessageRequest answer;
    answer.set_case_id(made.id());
    answer.set_request_id("chat-1");
    answer.mutable_message()->set_kind(spv1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    answer.mutable_message()->set_channel(spv1::CHANNEL_CHAT);
    answer.mutable_message()->set_author_name("Ada");
    answer.mutable_message()->set_body("[10:01] Ada: still smoking");
    auto* file = answer.mutable_message()->add_attachments();
    file->set_file_name("smoke.jpg");
    file->set_content_type("image/jpeg");
    file->set_size_bytes(2048);
    auto answered = api.AddCaseMessage(answer);
    REQUIRE(answered.ok());
    CHECK(answered.response.case_().status() == spv1::CASE_STATUS_OPEN);
    CHECK(answered.response.message().author_id() == person.id());
    CHECK(answered.response.message().attachments(0).file_name() == "smoke.jpg");
    auto again = api.AddCaseMessage(answer);
    REQUIRE(again.ok());
    CHECK(again.response.message().id() == answered.response.message().id());
    // A phone call log from a CTI integration.
    spv1::AddCaseMessageRequest call;
    call.set_case_id(made.id());
    call.mutable_message()->set_kind(spv1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    call.mutable_message()->set_channel(spv1::CHANNEL_PHONE);
    call.mutable_message()->mutable_phone_call()->set_external_call_id("call-9");
    call.mutable_message()->mutable_phone_call()->set_duration_seconds(125);
    REQUIRE(api.AddCaseMessage(call).ok());

    spv1::ListCaseMessagesRequest messages;
    messages.set_case_id(made.id());
    auto all = api.ListCaseMessages(messages);
    REQUIRE(all.ok());
    REQUIRE(all.response.messages_size() == 4);
    CHECK(all.response.messages(0).kind() == spv1::MESSAGE_KIND_INTERNAL_NOTE);
    CHECK(all.response.messages(3).phone_call().duration_seconds() == 125);
    messages.set_public_only(true);
    CHECK(api.ListCaseMessages(messages).response.messages_size() == 3);

    // Solve, reopen by a customer message (within the window), solve and close; closed is read-only.
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_SOLVED);
    auto reopened = api.MustAddMessage(made.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "it is back");
    CHECK(reopened.case_().status() == spv1::CASE_STATUS_OPEN);
    CHECK(reopened.case_().reopen_count() == 1);
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_SOLVED);
    const spv1::Case closed = api.MustChangeStatus(made.id(), spv1::CASE_STATUS_CLOSED);
    CHECK(closed.has_close_time());
    spv1::ChangeCaseStatusRequest reopen;
    reopen.set_id(made.id());
    reopen.set_status(spv1::CASE_STATUS_OPEN);
    auto refused = api.ChangeCaseStatus(reopen);
    CHECK(refused.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(refused.status) == "INVALID_TRANSITION");
    spv1::AddCaseMessageRequest late;
    late.set_case_id(made.id());
    late.mutable_message()->set_kind(spv1::MESSAGE_KIND_PUBLIC_REPLY);
    late.mutable_message()->set_body("hello?");
    auto late_reply = api.AddCaseMessage(late);
    CHECK(late_reply.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(late_reply.status) == "CASE_CLOSED");
    late.mutable_message()->set_kind(spv1::MESSAGE_KIND_INTERNAL_NOTE);
    CHECK(api.AddCaseMessage(late).ok());  // notes still go on a closed case
    update.mutable_case_()->clear_etag();
    CHECK(ErrorReason(api.UpdateCase(update).status) == "CASE_CLOSED");

    // Events of the first case, in version order, one per version; the second case's CaseCreated.
    // first case: created 1, updated 2, assigned 3, note 4, reply 5+opened 6, pending 7, chat 8 + opened 9, call 10,
    // solved 11, reopen message 12 + reopened 13, solved 14, closed 15, note 16.
    auto events = tap.WaitFor(tenant, 17, 30s);
    REQUIRE(events.size() == 17);
    std::vector<std::string> types;
    std::int64_t version = 0;
    for (const auto& e : events) {
        const auto& env = e.envelope;
        CHECK(env.source() == "support");
        CHECK(env.tenant_id() == tenant);
        CHECK(env.aggregate_type() == "case");
        if (env.aggregate_id() != made.id()) continue;
        CHECK(e.key == made.id());
        CHECK(env.aggregate_version() == ++version);
        types.push_back(env.event_type().substr(std::string("crm.support.events.v1.").size()));
        if (env.event_type() == "crm.support.events.v1.CaseMessageAdded") {
            sev1::CaseMessageAdded added;
            REQUIRE(env.payload().UnpackTo(&added));
            CHECK(added.case_().version() == env.aggregate_version());
            if (added.message().kind() == spv1::MESSAGE_KIND_INTERNAL_NOTE) {
                CHECK(added.message().body().empty());  // notes carry no text in events
            } else {
                CHECK_FALSE((added.message().body().empty() && !added.message().has_phone_call()));
            }
        }
        if (env.event_type() == "crm.support.events.v1.CaseStatusChanged") {
            sev1::CaseStatusChanged changed;
            REQUIRE(env.payload().UnpackTo(&changed));
            CHECK(changed.to_status() == changed.case_().status());
        }
    }
    const std::vector<std::string> expected = {
        "CaseCreated",       "CaseUpdated",       "CaseAssigned",      "CaseMessageAdded",
        "CaseMessageAdded",  "CaseStatusChanged", "CaseStatusChanged", "CaseMessageAdded",
        "CaseStatusChanged", "CaseMessageAdded",  "CaseStatusChanged", "CaseMessageAdded",
        "CaseStatusChanged", "CaseStatusChanged", "CaseStatusChanged", "CaseMessageAdded"};
    CHECK(types == expected);
}

TEST_CASE("support: bad input is INVALID_ARGUMENT naming every field, and writes nothing", "[integration][support]") {
    const std::string tenant = UniqueTenant("sb");
    SupportClient api(TokenFor(tenant));

    spv1::CreateCaseRequest create;
    auto* c = create.mutable_case_();
    c->set_subject(std::string(501, 's'));
    c->set_description(std::string("a\0b", 3));
    c->set_contact_id("not-a-uuid");
    c->set_company_id("42");
    c->set_priority(static_cast<spv1::CasePriority>(99));
    c->set_channel(static_cast<spv1::Channel>(42));
    c->set_language("english");
    c->set_customer_tier("Gold Plus");
    c->set_etag("etag-from-elsewhere");
    for (int i = 0; i < 21; ++i) c->add_tags("t" + std::to_string(i));
    (*c->mutable_custom_fields())["Bad Key"] = "x";
    create.set_request_id(std::string(65, 'r'));
    auto r = api.CreateCase(create);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"case.subject", "case.description", "case.contact_id", "case.company_id", "case.priority", "case.channel",
          "case.language", "case.customer_tier", "case.etag", "case.tags", "case.custom_fields", "request_id"}) {
        INFO(field);
        CHECK(HasViolation(r.status, field));
    }
    spv1::CreateCaseRequest empty;
    CHECK(HasViolation(api.CreateCase(empty).status, "case.subject"));

    // Links that contacts does not know are refused, naming the field.
    spv1::CreateCaseRequest unknown;
    unknown.mutable_case_()->set_subject("x");
    unknown.mutable_case_()->set_contact_id(crm::common::NewUuid());
    unknown.mutable_case_()->set_company_id(crm::common::NewUuid());
    auto links = api.CreateCase(unknown);
    CHECK(links.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(links.status, "case.contact_id"));
    CHECK(HasViolation(links.status, "case.company_id"));

    const spv1::Case made = api.MustCreateCase("Valid");
    spv1::UpdateCaseRequest update;
    update.mutable_case_()->set_id(made.id());
    update.mutable_case_()->set_subject("   ");
    update.mutable_update_mask()->add_paths("subject");
    update.mutable_update_mask()->add_paths("status");
    auto u = api.UpdateCase(update);
    CHECK(u.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(u.status, "update_mask"));
    update.mutable_update_mask()->mutable_paths()->RemoveLast();
    CHECK(HasViolation(api.UpdateCase(update).status, "case.subject"));  // a subject cannot be emptied

    spv1::ChangeCaseStatusRequest status;
    status.set_id("nope");
    status.set_status(spv1::CASE_STATUS_MERGED);
    status.set_reason(std::string(501, 'r'));
    status.set_etag("x");
    auto s = api.ChangeCaseStatus(status);
    for (const char* field : {"id", "status", "reason", "etag"}) CHECK(HasViolation(s.status, field));

    spv1::AssignCaseRequest assign;
    assign.set_id(made.id());
    assign.set_assignee_id(" spaced ");
    CHECK(HasViolation(api.AssignCase(assign).status, "assignee_id"));

    spv1::AddCaseMessageRequest add;
    add.set_case_id("x");
    add.set_request_id("has space");
    auto* m = add.mutable_message();
    m->set_channel(static_cast<spv1::Channel>(9));
    m->set_author_name(std::string("\x01", 1));
    m->set_body(std::string(100001, 'b'));
    m->set_external_id(" ");
    m->mutable_occur_time()->set_seconds(4102444800 + 86400L * 365 * 100);  // past 2200
    auto* a = m->add_attachments();
    a->set_file_name("a/b");
    a->set_size_bytes(-1);
    m->mutable_phone_call()->set_duration_seconds(-5);
    auto added = api.AddCaseMessage(add);
    CHECK(added.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"case_id", "request_id", "message.kind", "message.channel", "message.author_name", "message.body",
          "message.external_id", "message.occur_time", "message.attachments[0].file_name",
          "message.attachments[0].size_bytes", "message.phone_call.duration_seconds"}) {
        INFO(field);
        CHECK(HasViolation(added.status, field));
    }
    spv1::AddCaseMessageRequest future;
    future.set_case_id(made.id());
    future.mutable_message()->set_kind(spv1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    future.mutable_message()->set_body("from tomorrow");
    future.mutable_message()->mutable_occur_time()->set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
        86400);
    CHECK(HasViolation(api.AddCaseMessage(future).status, "message.occur_time"));

    spv1::ListCasesRequest list;
    list.set_page_size(-1);
    CHECK(HasViolation(api.ListCases(list).status, "page_size"));
    list.set_page_size(0);
    list.set_status(static_cast<spv1::CaseStatus>(77));
    list.set_contact_id("x");
    list.set_assignee_id(std::string(129, 'a'));
    auto l = api.ListCases(list);
    for (const char* field : {"status", "contact_id", "assignee_id"}) CHECK(HasViolation(l.status, field));
    spv1::ListCasesRequest forged;
    forged.set_page_token("forged");
    CHECK(HasViolation(api.ListCases(forged).status, "page_token"));
    spv1::ListCaseMessagesRequest lm;
    lm.set_case_id("x");
    lm.set_page_size(-3);
    CHECK(api.ListCaseMessages(lm).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    CHECK(Count("cases", tenant) == 1);
    CHECK(Count("case_messages", tenant) == 0);
    CHECK(std::stol(QueryScalar("support", "SELECT version FROM cases WHERE id = '" + made.id() + "'")) == 1);
}

TEST_CASE("support: a solved case reopens only within the reopen window", "[integration][support]") {
    const std::string tenant = UniqueTenant("sr");
    SupportClient api(TokenFor(tenant));
    const spv1::Case made = api.MustCreateCase("Old one");
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_SOLVED);
    // Solved eight days ago (CRM_SUPPORT_REOPEN_DAYS is 7 by default).
    QueryScalar("support",
                "UPDATE cases SET solve_time = now() - interval '8 days' WHERE id = '" + made.id() + "' RETURNING 1");
    spv1::AddCaseMessageRequest add;
    add.set_case_id(made.id());
    add.mutable_message()->set_kind(spv1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    add.mutable_message()->set_body("again?");
    auto r = api.AddCaseMessage(add);
    CHECK(r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(r.status) == "REOPEN_WINDOW_PASSED");
    spv1::ChangeCaseStatusRequest reopen;
    reopen.set_id(made.id());
    reopen.set_status(spv1::CASE_STATUS_OPEN);
    CHECK(ErrorReason(api.ChangeCaseStatus(reopen).status) == "REOPEN_WINDOW_PASSED");
    CHECK(Count("case_messages", tenant) == 0);
    // Closing stays possible.
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_CLOSED);
}

TEST_CASE("support: merging duplicates moves their conversation and leaves tombstones", "[integration][support]") {
    const std::string tenant = UniqueTenant("sg");
    SupportClient api(TokenFor(tenant));
    EventTap tap("crm.support.v1");
    const spv1::Case survivor = api.MustCreateCase("VPN broken");
    api.MustAddMessage(survivor.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "first report");
    const spv1::Case dup1 = api.MustCreateCase("VPN down");
    api.MustAddMessage(dup1.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "second report");
    api.MustAddMessage(dup1.id(), spv1::MESSAGE_KIND_INTERNAL_NOTE, "same as the other one");
    const spv1::Case dup2 = api.MustCreateCase("no VPN");

    // Bad input: every problem named, nothing written.
    spv1::MergeCasesRequest bad;
    bad.set_survivor_id(survivor.id());
    bad.add_loser_ids(survivor.id());
    bad.add_loser_ids("nope");
    bad.add_loser_ids(dup1.id());
    bad.add_loser_ids(dup1.id());
    bad.set_survivor_etag("x");
    auto refused = api.MergeCases(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field : {"loser_ids[0]", "loser_ids[1]", "loser_ids[3]", "survivor_etag"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    spv1::MergeCasesRequest none;
    none.set_survivor_id(survivor.id());
    CHECK(HasViolation(api.MergeCases(none).status, "loser_ids"));
    // Another tenant's case as a loser: NOT_FOUND, nothing merged.
    SupportClient other(TokenFor(UniqueTenant("sg")));
    const spv1::Case foreign = other.MustCreateCase("theirs");
    spv1::MergeCasesRequest cross;
    cross.set_survivor_id(survivor.id());
    cross.add_loser_ids(foreign.id());
    CHECK(api.MergeCases(cross).status.error_code() == grpc::StatusCode::NOT_FOUND);

    spv1::MergeCasesRequest merge;
    merge.set_survivor_id(survivor.id());
    merge.add_loser_ids(dup1.id());
    merge.add_loser_ids(dup2.id());
    merge.set_request_id("merge-1");
    auto merged = api.MergeCases(merge);
    INFO(merged.status.error_message());
    REQUIRE(merged.ok());
    CHECK(merged.response.survivor().message_count() == 3);
    REQUIRE(merged.response.merged_size() == 2);
    for (const auto& tomb : merged.response.merged()) {
        CHECK(tomb.status() == spv1::CASE_STATUS_MERGED);
        CHECK(tomb.merged_into_id() == survivor.id());
        CHECK(tomb.message_count() == 0);
    }
    // A retry returns the same result; the survivor's conversation has every entry, in time order.
    auto retried = api.MergeCases(merge);
    REQUIRE(retried.ok());
    CHECK(retried.response.survivor().version() == merged.response.survivor().version());
    spv1::ListCaseMessagesRequest list;
    list.set_case_id(survivor.id());
    const auto thread = api.ListCaseMessages(list).response.messages();
    REQUIRE(thread.size() == 3);
    CHECK(thread[0].body() == "first report");
    CHECK(thread[1].body() == "second report");
    // The tombstone is read-only and cannot be merged again.
    spv1::AddCaseMessageRequest add;
    add.set_case_id(dup1.id());
    add.mutable_message()->set_kind(spv1::MESSAGE_KIND_INTERNAL_NOTE);
    add.mutable_message()->set_body("late");
    CHECK(ErrorReason(api.AddCaseMessage(add).status) == "CASE_MERGED");
    const spv1::Case third = api.MustCreateCase("VPN again");
    spv1::MergeCasesRequest twice;
    twice.set_survivor_id(third.id());
    twice.add_loser_ids(dup2.id());
    CHECK(ErrorReason(api.MergeCases(twice).status) == "CASE_MERGED");

    // Events: CaseMerged once for each loser and once for the survivor.
    auto events = tap.WaitFor(tenant, 10, 20s);
    int merged_events = 0;
    for (const auto& e : events) {
        if (e.envelope.event_type() != "crm.support.events.v1.CaseMerged") continue;
        ++merged_events;
        sev1::CaseMerged payload;
        REQUIRE(e.envelope.payload().UnpackTo(&payload));
        CHECK(payload.survivor_id() == survivor.id());
        CHECK(payload.loser_ids_size() == 2);
        CHECK(payload.case_().id() == e.envelope.aggregate_id());
        if (e.envelope.aggregate_id() == survivor.id()) CHECK(payload.moved_message_count() == 2);
    }
    CHECK(merged_events == 3);
}
