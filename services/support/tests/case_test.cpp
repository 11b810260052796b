// Unit tests of the pure case rules: lifecycle, reopen window, what a conversation entry does, field checks.
#include "domain/case.hpp"

#include <catch2/catch.hpp>

using namespace crm::support::domain;

namespace {
constexpr std::int64_t kDay = 86'400'000'000;
}

TEST_CASE("case lifecycle: the allowed transitions and none else") {
    CHECK(TransitionAllowed(Status::kNew, Status::kOpen));
    CHECK(TransitionAllowed(Status::kNew, Status::kSolved));
    CHECK(TransitionAllowed(Status::kOpen, Status::kPendingCustomer));
    CHECK(TransitionAllowed(Status::kPendingCustomer, Status::kOnHold));
    CHECK(TransitionAllowed(Status::kOnHold, Status::kOpen));
    CHECK(TransitionAllowed(Status::kSolved, Status::kOpen));
    CHECK(TransitionAllowed(Status::kSolved, Status::kClosed));
    CHECK_FALSE(TransitionAllowed(Status::kOpen, Status::kOpen));
    CHECK_FALSE(TransitionAllowed(Status::kOpen, Status::kClosed));  // solve first
    CHECK_FALSE(TransitionAllowed(Status::kOpen, Status::kNew));
    CHECK_FALSE(TransitionAllowed(Status::kSolved, Status::kPendingCustomer));
    CHECK_FALSE(TransitionAllowed(Status::kClosed, Status::kOpen));
    CHECK_FALSE(TransitionAllowed(Status::kOpen, Status::kMerged));
    CHECK_FALSE(TransitionAllowed(Status::kMerged, Status::kOpen));
    CHECK(IsPaused(Status::kPendingCustomer));
    CHECK(IsPaused(Status::kOnHold));
    CHECK_FALSE(IsPaused(Status::kOpen));
    for (auto s : {Status::kNew, Status::kOpen, Status::kPendingCustomer, Status::kOnHold, Status::kSolved,
                   Status::kClosed, Status::kMerged}) {
        CHECK(ParseStatus(StatusText(s)) == s);
    }
    CHECK_FALSE(ParseStatus("open"));
}

TEST_CASE("reopen window: inclusive at exactly N days, refused a microsecond later") {
    CHECK(ReopenAllowed(0, 7 * kDay, 7));
    CHECK_FALSE(ReopenAllowed(0, 7 * kDay + 1, 7));
    CHECK_FALSE(ReopenAllowed(0, 1, 0));
    CHECK(ReopenAllowed(0, 0, 0));
}

TEST_CASE("conversation entries: first response, opening, reopening, refusals") {
    SECTION("the first public reply opens a new case and counts as the first response, the second does not") {
        const auto e = EffectOfMessage({.status = Status::kNew}, MessageKind::kPublicReply, 0, 7);
        CHECK(e.allowed);
        CHECK(e.first_response);
        CHECK(e.new_status == Status::kOpen);
        const auto again =
            EffectOfMessage({.status = Status::kOpen, .has_first_response = true}, MessageKind::kPublicReply, 0, 7);
        CHECK_FALSE(again.first_response);
        CHECK_FALSE(again.new_status);
    }
    SECTION("a customer answer resumes a pending or on-hold case") {
        CHECK(EffectOfMessage({.status = Status::kPendingCustomer}, MessageKind::kCustomerMessage, 0, 7).new_status ==
              Status::kOpen);
        CHECK(EffectOfMessage({.status = Status::kOnHold}, MessageKind::kCustomerMessage, 0, 7).new_status ==
              Status::kOpen);
        CHECK_FALSE(EffectOfMessage({.status = Status::kNew}, MessageKind::kCustomerMessage, 0, 7).new_status);
    }
    SECTION("a customer message reopens a solved case inside the window only") {
        const CaseState solved{.status = Status::kSolved, .has_first_response = true, .solve_micros = 10 * kDay};
        const auto inside = EffectOfMessage(solved, MessageKind::kCustomerMessage, 16 * kDay, 7);
        CHECK(inside.allowed);
        CHECK(inside.reopened);
        CHECK(inside.new_status == Status::kOpen);
        const auto outside = EffectOfMessage(solved, MessageKind::kCustomerMessage, 18 * kDay, 7);
        CHECK_FALSE(outside.allowed);
        CHECK(outside.refusal_reason == "REOPEN_WINDOW_PASSED");
    }
    SECTION("closed cases take internal notes only; merged cases nothing") {
        const CaseState closed{.status = Status::kClosed};
        CHECK(EffectOfMessage(closed, MessageKind::kInternalNote, 0, 7).allowed);
        CHECK(EffectOfMessage(closed, MessageKind::kPublicReply, 0, 7).refusal_reason == "CASE_CLOSED");
        CHECK(EffectOfMessage(closed, MessageKind::kCustomerMessage, 0, 7).refusal_reason == "CASE_CLOSED");
        CHECK(EffectOfMessage({.status = Status::kMerged}, MessageKind::kInternalNote, 0, 7).refusal_reason ==
              "CASE_MERGED");
    }
    SECTION("internal notes change nothing") {
        const auto e = EffectOfMessage({.status = Status::kNew}, MessageKind::kInternalNote, 0, 7);
        CHECK(e.allowed);
        CHECK_FALSE(e.first_response);
        CHECK_FALSE(e.new_status);
    }
}

TEST_CASE("case fields: normalized, and every bad field named") {
    CaseFields f;
    f.subject = "  Printer on fire  ";
    f.tags = {"Billing", "billing", " urgent  now "};
    f.language = "DE-ch";
    f.customer_tier = " Gold ";
    f.contact_id = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
    CHECK(NormalizeCase(f, "case.", true).empty());
    CHECK(f.subject == "Printer on fire");
    CHECK(f.tags == std::vector<std::string>{"billing", "urgent now"});
    CHECK(f.language == "de-CH");
    CHECK(f.customer_tier == "gold");
    CHECK(f.contact_id == "6f9619ff-8b86-d011-b42d-00c04fc964ff");

    CaseFields bad;
    bad.subject = "";
    bad.description = std::string("a\0b", 3);
    bad.contact_id = "not-a-uuid";
    bad.company_id = "12";
    bad.language = "english!";
    bad.customer_tier = "9 gold";
    bad.asset_id = " padded";
    bad.tags = std::vector<std::string>(21, "t");
    bad.custom_fields = {{"Bad Key", "v"}, {"ok", std::string(501, 'x')}};
    const auto v = NormalizeCase(bad, "case.", true);
    for (const char* field :
         {"case.subject", "case.description", "case.contact_id", "case.company_id", "case.language",
          "case.customer_tier", "case.asset_id", "case.tags", "case.custom_fields", "case.custom_fields.ok"}) {
        INFO(field);
        CHECK(v.Has(field));
    }
    CaseFields update;  // an update needs no subject
    CHECK(NormalizeCase(update, "case.", false).empty());
}

TEST_CASE("message fields: a body, an attachment or a call - attachments and calls checked") {
    MessageFields empty;
    CHECK(NormalizeMessage(empty, "message.").Has("message.body"));
    MessageFields call;
    call.phone_call = PhoneCallFields{.external_call_id = "c-1", .duration_seconds = 90};
    CHECK(NormalizeMessage(call, "message.").empty());
    MessageFields bad;
    bad.body = "hello";
    bad.attachments = {{.file_name = "../etc/passwd", .size_bytes = -1}, {.file_name = ""}};
    bad.phone_call = PhoneCallFields{.duration_seconds = 90000};
    const auto v = NormalizeMessage(bad, "message.");
    CHECK(v.Has("message.attachments[0].file_name"));
    CHECK(v.Has("message.attachments[0].size_bytes"));
    CHECK(v.Has("message.attachments[1].file_name"));
    CHECK(v.Has("message.phone_call.duration_seconds"));
    CHECK_FALSE(v.Has("message.body"));
}

TEST_CASE("language tags and case references") {
    CHECK(IsLanguageTag("en"));
    CHECK(IsLanguageTag("zh-Hant-TW"));
    CHECK_FALSE(IsLanguageTag("e"));
    CHECK_FALSE(IsLanguageTag("en-"));
    CHECK_FALSE(IsLanguageTag("en_US"));
    CHECK(CanonicalLanguageTag("ZH-hant-tw") == "zh-Hant-TW");
    CHECK(CaseReference(42) == "CS-42");
}
