// Customer satisfaction (CSAT) through the gateway: a case opened by e-mail and solved by a public reply gets a survey
// whose signed link arrives in Mailpit in the reply's text and HTML parts; the customer opens the link's page and
// answers over HTTP without any credential, once (a second answer is refused and changes nothing); forged, expired,
// other purposes' and other tenants' tokens are refused; CsatRecorded carries no comment; the report gives CSAT per
// agent, queue and period to support managers only; bad input names every field and writes nothing; an erased
// contact's comment is blanked; the report and the erasure are index-backed at 100k surveys (EXPLAIN as support_app).
#include <crm/support/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/support_client.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/public_token.hpp"
#include "crm/common/sealed_columns.hpp"
#include "csat/sql.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
using google::protobuf::util::TimeUtil;

namespace {

HttpReply Http(const std::string& method, const std::string& target, const std::string& body = {},
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    return client.Send(method, target, headers, body);
}

HttpReply PostAnswer(const std::string& path, const nlohmann::json& answer) {
    return Http("POST", path, answer.dump(), {{"content-type", "application/json"}});
}

std::string Between(const std::string& text, const std::string& start, const std::string& ends) {
    const std::size_t at = text.find(start);
    if (at == std::string::npos) return "";
    const std::size_t from = at + start.size();
    return text.substr(from, text.find_first_of(ends, from) - from);
}

// A case opened by an e-mail from `customer` (so that replies are e-mailed), through the gateway.
spv1::Case CaseByEmail(SupportClient& api, const std::string& customer, const std::string& subject) {
    spv1::IngestEmailRequest req;
    req.set_raw_message("From: " + customer + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + crm::common::NewUuid() +
                        "@mail.example.com>\r\n\r\nIt does not work.\r\n");
    auto r = api.IngestEmail(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.case_();
}

spv1::AddCaseMessageResponse Solve(SupportClient& api, const std::string& case_id, const std::string& request_id = "") {
    spv1::AddCaseMessageRequest req;
    req.set_case_id(case_id);
    req.mutable_message()->set_kind(spv1::MESSAGE_KIND_PUBLIC_REPLY);
    req.mutable_message()->set_body("Restart the router & try again.\nRegards");
    req.set_solve(true);
    req.set_request_id(request_id);
    auto r = api.AddCaseMessage(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response;
}

// The survey path ("/csat/<token>") of the newest e-mail to `customer`, from its text part; the HTML part carries it
// too, once per score.
std::string SurveyPathFromMail(Mailpit& mailpit, const std::string& customer, std::size_t count) {
    const auto mails = mailpit.WaitFor(customer, count);
    REQUIRE(mails.size() == count);
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + mails[0].id));
    const std::string text = message["Text"].get<std::string>();
    const std::string html = message["HTML"].get<std::string>();
    const std::string path = "/csat/" + Between(text, "/csat/", " \r\n");
    REQUIRE(path.size() > 30);
    CHECK(text.find("Restart the router & try again.") != std::string::npos);
    CHECK(html.find("Restart the router &amp; try again.") != std::string::npos);
    for (int score = 1; score <= 5; ++score) {
        CHECK(html.find(path + "?score=" + std::to_string(score) + "\"") != std::string::npos);
    }
    return path;
}

std::string SurveyColumn(const std::string& survey_id, const std::string& column) {
    return QueryScalar(
        "support", "SELECT COALESCE(" + column + "::text, '<null>') FROM csat_surveys WHERE id = '" + survey_id + "'");
}

// The survey's comment as stored, opened with its case's key (it is sealed at rest, migration 0104): "" when empty or
// when the key is gone.
std::string OpenedComment(const std::string& survey_id) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::row r = tx.exec1("SELECT s.tenant_id, s.case_id::text, s.comment, " CRM_SUBJECT_KEY_COLUMN(
                                     "s.tenant_id", "s.case_id::text") " FROM csat_surveys s WHERE s.id = " +
                                 tx.quote(survey_id) + "::uuid");
    const std::string stored = r[2].c_str();
    if (!stored.empty()) CHECK(stored.rfind("pv1.", 0) == 0);
    return crm::common::ColumnKey(r[0].c_str(), r[1].c_str(), r[3]).Open("csat_surveys.comment", stored);
}

spv1::GetCsatReportRequest ReportRequest(spv1::CsatPeriod period = spv1::CSAT_PERIOD_DAY) {
    spv1::GetCsatReportRequest req;
    *req.mutable_start_time() = TimeUtil::SecondsToTimestamp(std::time(nullptr) - 86400);
    *req.mutable_end_time() = TimeUtil::SecondsToTimestamp(std::time(nullptr) + 3600);
    req.set_period(period);
    return req;
}

}  // namespace

TEST_CASE("support csat: a solving reply e-mails a survey link - the customer answers once by the link",
          "[integration][support][csat]") {
    const std::string tenant = UniqueTenant("cs");
    SupportClient api(TokenFor(tenant));
    const std::string customer = "csat." + crm::common::NewUuid().substr(0, 8) + "@example.com";
    const spv1::Case c = CaseByEmail(api, customer, "Router <blinks> red");
    Mailpit mailpit;

    // Only a public reply solves; a case without an e-mail address is solved without a survey.
    spv1::AddCaseMessageRequest note;
    note.set_case_id(c.id());
    note.mutable_message()->set_kind(spv1::MESSAGE_KIND_INTERNAL_NOTE);
    note.mutable_message()->set_body("checked the logs");
    note.set_solve(true);
    auto refused = api.AddCaseMessage(note);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(refused.status, "solve"));
    const spv1::Case plain = api.MustCreateCase("Asked by API");
    const auto solved_plain = Solve(api, plain.id());
    CHECK(solved_plain.case_().status() == spv1::CASE_STATUS_SOLVED);
    CHECK(solved_plain.csat_survey_id().empty());

    EventTap tap("crm.support.v1");
    tap.Keep([](const crm::common::v1::EventEnvelope& e) {
        return e.event_type() == "crm.support.events.v1.CsatRecorded" ||
               e.event_type() == "crm.support.events.v1.CaseStatusChanged";
    });
    const std::string request_id = crm::common::NewUuid();
    const auto solved = Solve(api, c.id(), request_id);
    CHECK(solved.case_().status() == spv1::CASE_STATUS_SOLVED);
    CHECK(solved.case_().has_solve_time());
    CHECK(solved.message().email_delivery() == spv1::EMAIL_DELIVERY_SENT);
    const std::string survey_id = solved.csat_survey_id();
    REQUIRE(crm::common::IsUuid(survey_id));
    // A retry of the solving reply: the same entry and survey, nothing new.
    const auto retried = Solve(api, c.id(), request_id);
    CHECK(retried.message().id() == solved.message().id());
    CHECK(retried.csat_survey_id() == survey_id);
    CHECK(QueryScalar("support", "SELECT count(*) FROM csat_surveys WHERE tenant_id = '" + tenant + "'") == "1");
    // Solving a solved case again is refused.
    spv1::AddCaseMessageRequest again;
    again.set_case_id(c.id());
    again.mutable_message()->set_kind(spv1::MESSAGE_KIND_PUBLIC_REPLY);
    again.mutable_message()->set_body("once more");
    again.set_solve(true);
    auto twice = api.AddCaseMessage(again);
    CHECK(twice.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(twice.status) == "INVALID_TRANSITION");

    const std::string path = SurveyPathFromMail(mailpit, customer, 1);

    // The page: the case, five scores, the preselected one; HTML escaped.
    const HttpReply page = Http("GET", path + "?score=4");
    INFO(page.body);
    REQUIRE(page.status == 200);
    CHECK(page.Header("content-type") == "text/html; charset=utf-8");
    CHECK(page.body.find("CS-" + std::to_string(c.number()) + ": Router &lt;blinks&gt; red") != std::string::npos);
    CHECK(page.body.find("value=\"4\" checked") != std::string::npos);
    CHECK(Http("GET", path + "?score=9").status == 400);

    // Bad input names every field and records nothing.
    const HttpReply bad = PostAnswer(path, {{"score", 0}, {"comment", std::string("a\0b", 3)}});
    INFO(bad.body);
    CHECK(bad.status == 400);
    CHECK(bad.body.find("\"score\"") != std::string::npos);
    CHECK(bad.body.find("\"comment\"") != std::string::npos);
    CHECK(PostAnswer(path, {{"score", 3}, {"comment", std::string(2001, 'x')}}).status == 400);
    CHECK(PostAnswer(path, {{"score", 6}}).status == 400);
    CHECK(SurveyColumn(survey_id, "answer_time") == "<null>");

    // Forged, expired, other purposes' and other tenants' tokens.
    const std::string key = RequireEnv("CRM_INTERNAL_KEY");
    const std::string token = path.substr(6);
    std::string tampered = token;
    tampered[tampered.size() / 3] = tampered[tampered.size() / 3] == 'A' ? 'B' : 'A';
    CHECK(PostAnswer("/csat/" + tampered, {{"score", 5}}).status == 401);
    const auto verified = crm::common::VerifyPublicToken("csat", token, 1, key, std::time(nullptr));
    REQUIRE(verified);
    CHECK(verified->tenant == tenant);
    CHECK(verified->fields[0] == survey_id);
    CHECK(verified->expires_at > std::time(nullptr) + 29 * 86400);  // 30 days from the solve
    crm::common::PublicToken expired = *verified;
    expired.expires_at = std::time(nullptr) - 10;
    CHECK(PostAnswer("/csat/" + crm::common::SignPublicToken("csat", expired, key), {{"score", 5}}).status == 401);
    CHECK(PostAnswer("/csat/" + crm::common::SignPublicToken("unsubscribe", *verified, key), {{"score", 5}}).status ==
          401);
    crm::common::PublicToken foreign = *verified;
    foreign.tenant = UniqueTenant("other");
    CHECK(PostAnswer("/csat/" + crm::common::SignPublicToken("csat", foreign, key), {{"score", 5}}).status == 404);
    crm::common::PublicToken unknown = *verified;
    unknown.fields = {crm::common::NewUuid()};
    CHECK(PostAnswer("/csat/" + crm::common::SignPublicToken("csat", unknown, key), {{"score", 5}}).status == 404);
    // Staff do not answer for the customer: the service takes the answer through the link only.
    CsatClient staff(TokenFor(tenant));
    spv1::AnswerCsatSurveyRequest by_staff;
    by_staff.set_token(token);
    by_staff.set_score(5);
    CHECK(staff.AnswerCsatSurvey(by_staff).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(SurveyColumn(survey_id, "answer_time") == "<null>");

    // The answer.
    const HttpReply answered = PostAnswer(path, {{"score", 2}, {"comment", "Slow to answer,\nbut it works now."}});
    INFO(answered.body);
    REQUIRE(answered.status == 200);
    const auto answer_json = nlohmann::json::parse(answered.body);
    CHECK(answer_json["surveyId"] == survey_id);
    CHECK(answer_json["score"] == 2);
    CHECK(SurveyColumn(survey_id, "score") == "2");
    CHECK(OpenedComment(survey_id) == "Slow to answer,\nbut it works now.");

    // Once: a second answer is refused, saying so, and changes nothing.
    const HttpReply second = PostAnswer(path, {{"score", 5}, {"comment", "changed my mind"}});
    CHECK(second.status == 400);
    CHECK(second.body.find("already been answered") != std::string::npos);
    CHECK(second.body.find("SURVEY_ALREADY_ANSWERED") != std::string::npos);
    CHECK(SurveyColumn(survey_id, "score") == "2");
    CHECK(OpenedComment(survey_id) == "Slow to answer,\nbut it works now.");
    const HttpReply done = Http("GET", path);
    CHECK(done.status == 200);
    CHECK(done.body.find("you rated our answer 2 of 5") != std::string::npos);

    // The events: the solve (one status change straight to SOLVED), then CsatRecorded, without the comment.
    const auto events = tap.WaitFor(tenant, 3, 30s);
    std::vector<crm::support::events::v1::CsatRecorded> recorded;
    int solves = 0;
    for (const auto& e : events) {
        if (e.envelope.event_type() == "crm.support.events.v1.CaseStatusChanged") {
            crm::support::events::v1::CaseStatusChanged changed;
            REQUIRE(e.envelope.payload().UnpackTo(&changed));
            if (changed.case_().id() == c.id() && changed.to_status() == spv1::CASE_STATUS_SOLVED) ++solves;
            continue;
        }
        crm::support::events::v1::CsatRecorded r;
        REQUIRE(e.envelope.payload().UnpackTo(&r));
        CHECK(e.envelope.aggregate_type() == "case");
        CHECK(e.envelope.aggregate_id() == c.id());
        CHECK(e.envelope.aggregate_version() == r.case_().version());
        CHECK(e.envelope.payload().value().find("Slow to answer") == std::string::npos);
        recorded.push_back(r);
    }
    CHECK(solves == 1);
    REQUIRE(recorded.size() == 1);
    CHECK(recorded[0].survey_id() == survey_id);
    CHECK(recorded[0].score() == 2);
    CHECK(recorded[0].has_comment());
    CHECK(recorded[0].agent_id() == "test-user");
    CHECK(recorded[0].case_().status() == spv1::CASE_STATUS_SOLVED);
    CHECK(recorded[0].case_().version() == solved.case_().version() + 1);
    CHECK(TimeUtil::TimestampToMicroseconds(recorded[0].solve_time()) ==
          TimeUtil::TimestampToMicroseconds(solved.case_().solve_time()));
    CHECK(recorded[0].has_answer_time());
}

TEST_CASE("support csat: the report gives CSAT per agent, queue and period to support managers only",
          "[integration][support][csat]") {
    const std::string tenant = UniqueTenant("cr");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient routing(TokenFor(tenant));
    const spv1::Queue queue = routing.MustCreateQueue("Billing", {});
    Mailpit mailpit;
    const int scores[] = {5, 4, 1};
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string customer =
            "rep" + std::to_string(i) + "." + crm::common::NewUuid().substr(0, 8) + "@example.com";
        const spv1::Case c = CaseByEmail(api, customer, "Invoice question " + std::to_string(i));
        if (i < 2) {  // two cases in the queue when solved, one in none
            spv1::RouteCaseRequest route;
            route.set_case_id(c.id());
            route.set_queue_id(queue.id());
            auto routed = routing.RouteCase(route);
            INFO(routed.status.error_message());
            REQUIRE(routed.ok());
        }
        Solve(api, c.id());
        const HttpReply r = PostAnswer(SurveyPathFromMail(mailpit, customer, 1), {{"score", scores[i]}});
        INFO(r.body);
        REQUIRE(r.status == 200);
    }

    CsatClient manager(TokenFor(tenant, {"support_manager"}));
    auto report = manager.GetCsatReport(ReportRequest());
    INFO(report.status.error_message());
    REQUIRE(report.ok());
    const auto& overall = report.response.overall();
    CHECK(overall.count() == 3);
    CHECK(overall.mean_score() == Approx(10.0 / 3));
    CHECK(overall.satisfied_share() == Approx(2.0 / 3));
    REQUIRE(report.response.by_agent_size() == 1);
    CHECK(report.response.by_agent(0).agent_id() == "test-user");
    CHECK(report.response.by_agent(0).figures().count() == 3);
    REQUIRE(report.response.by_queue_size() == 2);
    CHECK(report.response.by_queue(0).queue_id() == queue.id());  // most answers first
    CHECK(report.response.by_queue(0).figures().count() == 2);
    CHECK(report.response.by_queue(0).figures().mean_score() == Approx(4.5));
    CHECK(report.response.by_queue(0).figures().satisfied_share() == Approx(1.0));
    CHECK(report.response.by_queue(1).queue_id().empty());
    CHECK(report.response.by_queue(1).figures().mean_score() == Approx(1.0));
    CHECK(report.response.by_queue(1).figures().satisfied_share() == Approx(0.0));
    REQUIRE(report.response.by_period_size() >= 1);  // today (UTC), and yesterday when the day turned meanwhile
    std::int64_t in_periods = 0;
    for (const auto& p : report.response.by_period()) {
        in_periods += p.figures().count();
        CHECK(TimeUtil::TimestampToSeconds(p.period_start()) % 86400 == 0);
    }
    CHECK(in_periods == 3);
    auto monthly = manager.GetCsatReport(ReportRequest(spv1::CSAT_PERIOD_MONTH));
    REQUIRE(monthly.ok());
    CHECK(monthly.response.overall().count() == 3);

    // A window without answers; another tenant sees none of them.
    auto earlier = ReportRequest();
    *earlier.mutable_end_time() = TimeUtil::SecondsToTimestamp(std::time(nullptr) - 7200);
    *earlier.mutable_start_time() = TimeUtil::SecondsToTimestamp(std::time(nullptr) - 86400 * 10);
    auto none = manager.GetCsatReport(earlier);
    INFO(none.status.error_message());
    REQUIRE(none.ok());
    CHECK(none.response.overall().count() == 0);
    CHECK(none.response.by_agent_size() == 0);
    CsatClient other(TokenFor(UniqueTenant("cro"), {"support_manager"}));
    auto foreign = other.GetCsatReport(ReportRequest());
    REQUIRE(foreign.ok());
    CHECK(foreign.response.overall().count() == 0);

    // Roles: agents and sales do not read it.
    for (const char* role : {"support_agent", "sales_manager", "read_only"}) {
        CsatClient caller(TokenFor(tenant, {role}));
        CHECK(caller.GetCsatReport(ReportRequest()).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }

    // Bad input names every field.
    spv1::GetCsatReportRequest empty;
    empty.set_period(static_cast<spv1::CsatPeriod>(99));
    auto bad = manager.GetCsatReport(empty);
    CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(bad.status, "start_time"));
    CHECK(HasViolation(bad.status, "end_time"));
    CHECK(HasViolation(bad.status, "period"));
    auto backwards = ReportRequest();
    std::swap(*backwards.mutable_start_time(), *backwards.mutable_end_time());
    CHECK(HasViolation(manager.GetCsatReport(backwards).status, "end_time"));
    auto too_long = ReportRequest();
    *too_long.mutable_start_time() = TimeUtil::SecondsToTimestamp(std::time(nullptr) - 400 * 86400);
    CHECK(HasViolation(manager.GetCsatReport(too_long).status, "end_time"));
    auto out_of_range = ReportRequest();
    out_of_range.mutable_start_time()->set_seconds(-99999999999);
    CHECK(HasViolation(manager.GetCsatReport(out_of_range).status, "start_time"));

    // Over HTTP.
    const HttpReply http = Http("GET", "/v1/csat:report?startTime=2020-01-01T00:00:00Z&endTime=2020-12-31T00:00:00Z",
                                {}, {{"authorization", "Bearer " + TokenFor(tenant, {"support_manager"})}});
    INFO(http.body);
    CHECK(http.status == 200);
}

TEST_CASE("support csat: an erased contact's comment is blanked, the score stays", "[integration][support][csat]") {
    const std::string tenant = UniqueTenant("ce");
    const std::string token = TokenFor(tenant);
    SupportClient api(token);
    const std::string customer = "erase." + crm::common::NewUuid().substr(0, 8) + "@example.com";
    const spv1::Case c = CaseByEmail(api, customer, "Please call me");
    REQUIRE_FALSE(c.contact_id().empty());
    Mailpit mailpit;
    const auto solved = Solve(api, c.id());
    const HttpReply r =
        PostAnswer(SurveyPathFromMail(mailpit, customer, 1), {{"score", 3}, {"comment", "Call me on +49 30 1234"}});
    REQUIRE(r.status == 200);
    const std::string id = solved.csat_survey_id();
    CHECK(OpenedComment(id) == "Call me on +49 30 1234");

    ContactsClient contacts(token);
    crm::contacts::v1::EraseContactRequest erase;
    erase.set_id(c.contact_id());
    REQUIRE(contacts.EraseContact(erase).ok());
    std::string comment = "(not read yet)";
    for (int i = 0; i < 450 && !comment.empty(); ++i) {  // the erasure event reaches support within seconds
        comment = SurveyColumn(id, "comment");
        if (!comment.empty()) std::this_thread::sleep_for(200ms);
    }
    CHECK(comment.empty());
    CHECK(SurveyColumn(id, "score") == "3");
}

TEST_CASE("support csat: the report and the surveys of a contact are index-backed at 100k surveys (EXPLAIN)",
          "[integration][support][csat][explain]") {
    const std::string tenant = UniqueTenant("cx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    {
        pqxx::work tx(conn);
        // 100,000 surveys over 400 days, 90% answered, 50 agents, 20 queues, 1,000 contacts.
        tx.exec(
            "INSERT INTO csat_surveys (tenant_id, id, case_id, reply_id, contact_id, agent_id, queue_id, solve_time, "
            "expire_time, score, comment, answer_time) SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), md5('contact' || g % 1000)::uuid, "
            "'agent-' || g % 50, md5('queue' || g % 20)::uuid, now() - g * interval '5 minutes', "
            "now() - g * interval '5 minutes' + interval '30 days', "
            "CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + g % 5 END, CASE WHEN g % 7 = 0 AND g % 10 <> 0 THEN 'pv1.ok' "
            "ELSE '' END, CASE WHEN g % 10 = 0 THEN NULL ELSE now() - g * interval '345 seconds' END "
            "FROM generate_series(1, 100000) g");
        tx.exec("ANALYZE csat_surveys");
        tx.commit();
    }
    const std::string t = "'" + tenant + "'";
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr)) * 1000000;
    const std::int64_t month = 30LL * 86400 * 1000000;
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        const char* index;
    };
    const Case cases[] = {
        {"the report of 30 days", crm::support::csat::sql::kReport,
         t + ", " + std::to_string(now - 3 * month) + ", " + std::to_string(now - 2 * month) + ", 'week'",
         "csat_surveys_answered"},
        {"an erased contact's comments", crm::support::csat::sql::kEraseComments, t + ", md5('contact7')::uuid",
         "csat_surveys_contact"},
        {"a merged contact's surveys", crm::support::csat::sql::kMoveContact,
         t + ", md5('contact8')::uuid, md5('contact9')::uuid", "csat_surveys_contact"},
        {"the survey of a reply", crm::support::csat::sql::kSurveyOfReply, t + ", gen_random_uuid()",
         "csat_surveys_tenant_id_reply_id_key"},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, "support_app", tenant, c.statement.text, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        CHECK_FALSE(plan.Has("Seq Scan csat_surveys"));
        CHECK(plan.Uses(c.index));
    }
}
