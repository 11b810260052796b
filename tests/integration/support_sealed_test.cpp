// Encryption at rest of support's personal columns (issue 15; migration 0104, services/support/README.md): what the
// database owner sees of a case, its entries and its survey comment (sealed values under the case's data key and the
// blind index of the address, never the clear values) while the API answers with the clear ones; a merge re-seals the
// moved entries under the survivor's key; an erasure destroys the case's key so that a backup's sealed bytes open
// nowhere; rows written before are sealed by a support process before it serves; another tenant sees none of it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>

#include "../support/child_service.hpp"
#include "../support/contacts_client.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/subject_data.hpp"
#include "../support/support_client.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;

namespace {

bool Sealed(const std::string& v) { return v.rfind("pv1.", 0) == 0; }
bool IsHex64(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{64}")); }

// Rows of one statement as the database owner reads them (no row-level security): column name -> value.
std::vector<std::map<std::string, std::string>> Rows(const std::string& sql) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    pqxx::nontransaction tx(conn);
    std::vector<std::map<std::string, std::string>> out;
    for (const auto& row : tx.exec(sql)) {
        std::map<std::string, std::string> r;
        for (const auto& f : row) r[f.name()] = f.c_str();
        out.push_back(std::move(r));
    }
    return out;
}

std::map<std::string, std::string> StoredCase(const std::string& id) {
    const auto rows = Rows(
        "SELECT subject, description, customer_email, customer_email_index, custom_fields FROM cases WHERE id = '" +
        id + "'");
    REQUIRE(rows.size() == 1);
    return rows[0];
}

std::vector<std::map<std::string, std::string>> StoredEntries(const std::string& case_id) {
    return Rows("SELECT id::text, author_name, body, attachments, phone_call FROM case_messages WHERE case_id = '" +
                case_id + "' ORDER BY create_time, id");
}

// The personal columns of a row: each either empty or sealed.
void CheckSealed(const std::map<std::string, std::string>& row, std::initializer_list<const char*> columns) {
    for (const char* c : columns) {
        INFO(c << " = " << row.at(c));
        CHECK((row.at(c).empty() || Sealed(row.at(c))));
    }
}

std::vector<spv1::CaseMessage> Conversation(SupportClient& api, const std::string& case_id,
                                            const std::map<std::string, std::string>& identity = {}) {
    spv1::ListCaseMessagesRequest req;
    req.set_case_id(case_id);
    req.set_page_size(100);
    auto r = api.ListCaseMessages(req, identity);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return {r.response.messages().begin(), r.response.messages().end()};
}

bool AnyBody(const std::vector<spv1::CaseMessage>& messages, const std::string& body) {
    for (const auto& m : messages) {
        if (m.body() == body) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("support at rest: the owner sees sealed case, entry and survey columns, the API the clear values",
          "[integration][support][sealed]") {
    const std::string tenant = UniqueTenant("sseal");
    const std::string tag = "Zq" + crm::common::NewUuid().substr(0, 8);
    const std::string email = "seal-" + crm::common::NewUuid().substr(0, 8) + "@example.com";
    SupportClient api(TokenFor(tenant));

    const spv1::Case c =
        CaseByEmail(api, email, "Boiler of " + tag, "My boiler at " + tag + " leaks", "photo-" + tag + ".pdf");
    CHECK(c.customer_email() == email);
    spv1::UpdateCaseRequest update;
    update.mutable_case_()->set_id(c.id());
    update.mutable_case_()->set_description("Leak in the flat of " + tag);
    (*update.mutable_case_()->mutable_custom_fields())["flat"] = "Flat 7 of " + tag;
    update.mutable_update_mask()->add_paths("description");
    update.mutable_update_mask()->add_paths("custom_fields");
    const auto updated = api.UpdateCase(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.case_().description() == "Leak in the flat of " + tag);
    spv1::CaseMessage call;
    call.set_kind(spv1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    call.set_channel(spv1::CHANNEL_PHONE);
    call.set_author_name("Dora " + tag);
    call.set_body("Transcript: " + tag + " calling again");
    call.mutable_phone_call()->set_from_number("+4930" + tag.substr(2, 6));
    call.mutable_phone_call()->set_duration_seconds(60);
    AddEntry(api, c.id(), call);
    // The solving reply is e-mailed with the survey's link; the customer answers with a comment.
    spv1::CaseMessage reply;
    reply.set_kind(spv1::MESSAGE_KIND_PUBLIC_REPLY);
    reply.set_body("Fixed for " + tag);
    AddEntry(api, c.id(), reply, true);
    Mailpit mailpit;
    const auto mails = mailpit.WaitFor(email, 1);
    REQUIRE(mails.size() == 1);
    const std::string text =
        nlohmann::json::parse(mailpit.Get("/api/v1/message/" + mails[0].id))["Text"].get<std::string>();
    const std::size_t at = text.find("/csat/");
    REQUIRE(at != std::string::npos);
    HttpClient http(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    const HttpReply answered =
        http.Send("POST", text.substr(at, text.find_first_of(" \r\n", at) - at), {{"content-type", "application/json"}},
                  nlohmann::json{{"score", 4}, {"comment", "Quick, thanks from " + tag}}.dump());
    INFO(answered.body);
    REQUIRE(answered.status == 200);

    // What PostgreSQL holds: sealed values, the address's blind index (HMAC under the tenant's index key).
    const auto stored = StoredCase(c.id());
    for (const char* col : {"subject", "description", "customer_email", "custom_fields"}) {
        INFO(col << " = " << stored.at(col));
        CHECK(Sealed(stored.at(col)));
    }
    CHECK(IsHex64(stored.at("customer_email_index")));
    CHECK(stored.at("customer_email_index") == crm::common::ColumnIndex(tenant, "cases.customer_email", email));
    CHECK(crm::common::ColumnIndex(UniqueTenant("sseal"), "cases.customer_email", email) !=
          stored.at("customer_email_index"));
    const auto entries = StoredEntries(c.id());
    REQUIRE(entries.size() == 3);
    for (const auto& e : entries) {
        CheckSealed(e, {"author_name", "body", "attachments", "phone_call"});
        CHECK(Sealed(e.at("body")));
    }
    CHECK(Sealed(entries[0].at("attachments")));  // the e-mail's attachment
    CHECK(Sealed(entries[1].at("phone_call")));   // the call
    const auto surveys = Rows("SELECT comment FROM csat_surveys WHERE case_id = '" + c.id() + "'");
    REQUIRE(surveys.size() == 1);
    CHECK(Sealed(surveys[0].at("comment")));
    // No clear value in any column of the tenant's support rows (the outbox's events seal them too).
    for (const auto& where : ColumnsContaining("support", {tag, email}, {}, tenant)) {
        INFO(where);
        CHECK(where.rfind("cases.", 0) != 0);
        CHECK(where.rfind("case_messages.", 0) != 0);
        CHECK(where.rfind("csat_surveys.", 0) != 0);
        CHECK(where.rfind("case_routings.", 0) != 0);
    }

    // The API opens them: get, list, the conversation.
    spv1::GetCaseRequest get;
    get.set_id(c.id());
    const auto got = api.GetCase(get);
    REQUIRE(got.ok());
    CHECK(got.response.case_().subject() == "Boiler of " + tag);
    CHECK(got.response.case_().description() == "Leak in the flat of " + tag);
    CHECK(got.response.case_().customer_email() == email);
    CHECK(got.response.case_().custom_fields().at("flat") == "Flat 7 of " + tag);
    spv1::ListCasesRequest list;
    const auto listed = api.ListCases(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.cases_size() == 1);
    CHECK(listed.response.cases(0).subject() == "Boiler of " + tag);
    const auto conversation = Conversation(api, c.id());
    REQUIRE(conversation.size() == 3);
    CHECK(conversation[0].body() == "My boiler at " + tag + " leaks");
    REQUIRE(conversation[0].attachments_size() == 1);
    CHECK(conversation[0].attachments(0).file_name() == "photo-" + tag + ".pdf");
    CHECK(conversation[1].author_name() == "Dora " + tag);
    CHECK(conversation[1].phone_call().from_number() == "+4930" + tag.substr(2, 6));
    CHECK(conversation[1].phone_call().duration_seconds() == 60);
    CHECK(conversation[2].body() == "Fixed for " + tag);

    // Another tenant: not found, and its blind index of the same address differs (checked above).
    SupportClient other(TokenFor(UniqueTenant("sseal")));
    CHECK(other.GetCase(get).status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("support at rest: a merge re-seals the moved entries under the survivor's key, and they open there",
          "[integration][support][sealed]") {
    const std::string tenant = UniqueTenant("sseal");
    const std::string tag = "Zm" + crm::common::NewUuid().substr(0, 8);
    SupportClient api(TokenFor(tenant));
    const spv1::Case survivor = api.MustCreateCase("Printer jam " + tag);
    const spv1::Case loser = api.MustCreateCase("Printer jam again " + tag);
    api.MustAddMessage(survivor.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "First report " + tag);
    spv1::CaseMessage note;
    note.set_kind(spv1::MESSAGE_KIND_INTERNAL_NOTE);
    note.set_author_name("Agent " + tag);
    note.set_body("Second report, a note " + tag);
    AddEntry(api, loser.id(), note);
    api.MustAddMessage(loser.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "Second report " + tag);
    const auto before = StoredEntries(loser.id());
    REQUIRE(before.size() == 2);

    spv1::MergeCasesRequest merge;
    merge.set_survivor_id(survivor.id());
    merge.add_loser_ids(loser.id());
    const auto merged = api.MergeCases(merge);
    INFO(merged.status.error_message());
    REQUIRE(merged.ok());

    // Stored: the moved rows now belong to the survivor, sealed afresh (bound to the survivor, under its key).
    CHECK(StoredEntries(loser.id()).empty());
    const auto after = StoredEntries(survivor.id());
    REQUIRE(after.size() == 3);
    for (const auto& e : after) {
        CheckSealed(e, {"author_name", "body"});
        CHECK(Sealed(e.at("body")));
        for (const auto& b : before) CHECK(e.at("body") != b.at("body"));
    }
    // The loser's key no longer opens them; the survivor's does (through the API).
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::row loser_key = tx.exec1("SELECT " CRM_SUBJECT_KEY_COLUMN("c.tenant_id", "c.id::text") " FROM cases c "
                                         "WHERE c.tenant_id = " + tx.quote(tenant) + " AND c.id = " +
                                         tx.quote(loser.id()) + "::uuid");
    const crm::common::ColumnKey key(tenant, loser.id(), loser_key[0]);
    for (const auto& e : after) {
        if (e.at("id") == before[0].at("id")) CHECK_THROWS(key.Open("case_messages.body", e.at("body")));
    }
    const auto conversation = Conversation(api, survivor.id());
    REQUIRE(conversation.size() == 3);
    CHECK(AnyBody(conversation, "First report " + tag));
    CHECK(AnyBody(conversation, "Second report " + tag));
    CHECK(AnyBody(conversation, "Second report, a note " + tag));
    bool author_found = false;
    for (const auto& m : conversation) author_found = author_found || m.author_name() == "Agent " + tag;
    CHECK(author_found);
}

TEST_CASE("support at rest: an erased customer's case keys are destroyed, so their sealed bytes open nowhere",
          "[integration][support][sealed][subject_data]") {
    const std::string tenant = UniqueTenant("sseal");
    const std::string tag = "Ze" + crm::common::NewUuid().substr(0, 8);
    const std::string email = "gone-" + crm::common::NewUuid().substr(0, 8) + "@example.com";
    SupportClient api(TokenFor(tenant));
    const spv1::Case c =
        CaseByEmail(api, email, "Refund for " + tag, "Please refund " + tag, "receipt-" + tag + ".pdf");
    // A backup taken before the erasure: the sealed values, and the case's wrapped key beside them.
    const auto backup_case = StoredCase(c.id());
    const auto backup_entries = StoredEntries(c.id());
    REQUIRE(backup_entries.size() == 1);
    REQUIRE(Sealed(backup_case.at("subject")));
    const std::string key_rows =
        "SELECT count(*) FROM crm_subject_keys WHERE tenant_id = '" + tenant + "' AND subject_id = '" + c.id() + "'";
    REQUIRE(QueryScalar("support", key_rows) == "1");

    SubjectDataClient officer("CRM_TEST_SUPPORT", tenant);
    MustErase(officer, MakeSubject({}, {}, {email}), "erase-" + crm::common::NewUuid());

    CHECK(QueryScalar("support", key_rows) == "0");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::row row = tx.exec1("SELECT " CRM_SUBJECT_KEY_COLUMN("c.tenant_id", "c.id::text") " FROM cases c "
                                   "WHERE c.tenant_id = " + tx.quote(tenant) + " AND c.id = " + tx.quote(c.id()) +
                                   "::uuid");
    CHECK(row[0].is_null());
    const crm::common::ColumnKey key(tenant, c.id(), row[0]);
    CHECK(key.Open("cases.subject", backup_case.at("subject")).empty());
    CHECK(key.Open("cases.customer_email", backup_case.at("customer_email")).empty());
    CHECK(key.Open("case_messages.body", backup_entries[0].at("body")).empty());
    CHECK(key.Open("case_messages.attachments", backup_entries[0].at("attachments")).empty());
    // The rows keep nothing personal: blanked (the subject a fixed marker), the address's index too.
    const auto erased = StoredCase(c.id());
    CHECK(erased.at("subject") == "(erased)");
    for (const char* col : {"description", "customer_email", "customer_email_index", "custom_fields"}) {
        INFO(col);
        CHECK(erased.at(col).empty());
    }
    for (const auto& e : StoredEntries(c.id())) {
        for (const char* col : {"author_name", "body", "attachments", "phone_call"}) CHECK(e.at(col).empty());
    }
    for (const auto& where : ColumnsContaining("support", {tag, email}, {}, tenant)) {
        INFO(where);
        CHECK(where.empty());
    }
    // The API still serves the case, with nothing personal.
    spv1::GetCaseRequest get;
    get.set_id(c.id());
    const auto got = api.GetCase(get);
    REQUIRE(got.ok());
    CHECK(got.response.case_().subject() == "(erased)");
    CHECK(got.response.case_().customer_email().empty());
    CHECK(Conversation(api, c.id()).at(0).body().empty());
}

TEST_CASE("support at rest: rows written before are sealed and indexed by a support process before it serves",
          "[integration][support][sealed][backfill]") {
    const std::string tenant = UniqueTenant("sseal");
    const std::string tag = "Zb" + crm::common::NewUuid().substr(0, 8);
    const std::string email = "legacy-" + crm::common::NewUuid().substr(0, 8) + "@example.com";
    const std::string case_id = crm::common::NewUuid();
    {
        // As the database owner, in the tenant (FORCEd row-level security), rows as the service wrote them before
        // migration 0104: clear values (the JSON columns as their text).
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
        pqxx::work tx(conn);
        tx.exec("SELECT set_config('crm.tenant_id', " + tx.quote(tenant) + ", true)");
        const std::string t = tx.quote(tenant), id = tx.quote(case_id) + "::uuid";
        tx.exec(
            "INSERT INTO cases (tenant_id, id, number, subject, description, customer_email, custom_fields) "
            "VALUES (" +
            t + ", " + id + ", 1, " + tx.quote("Old case " + tag) + ", " + tx.quote("Old text " + tag) + ", " +
            tx.quote(email) + ", " + tx.quote(nlohmann::json{{"room", "Room of " + tag}}.dump()) + ")");
        tx.exec(
            "INSERT INTO case_messages (tenant_id, id, case_id, kind, channel, author_name, body, attachments, "
            "phone_call, occur_time) VALUES (" +
            t + ", gen_random_uuid(), " + id + ", 'CUSTOMER_MESSAGE', 'PHONE', " + tx.quote("Olga " + tag) + ", " +
            tx.quote("Old body " + tag) + ", " +
            tx.quote(nlohmann::json::array({{{"file_name", "old-" + tag + ".txt"}}}).dump()) + ", " +
            tx.quote(nlohmann::json{{"from_number", "+3312" + tag.substr(2, 6)}}.dump()) + ", now())");
        tx.exec("INSERT INTO case_routings (tenant_id, id, case_id, rule_index, reason, note) VALUES (" + t +
                ", gen_random_uuid(), " + id + ", -1, 'REROUTE', " + tx.quote("Old note " + tag) + ")");
        tx.exec(
            "INSERT INTO csat_surveys (tenant_id, id, case_id, reply_id, solve_time, expire_time, score, comment, "
            "answer_time) VALUES (" +
            t + ", gen_random_uuid(), " + id + ", gen_random_uuid(), now(), now() + interval '1 day', 3, " +
            tx.quote("Old comment " + tag) + ", now())");
        tx.commit();
    }
    REQUIRE(StoredCase(case_id).at("subject") == "Old case " + tag);

    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    auto env = ChildServiceEnv("support", port, FreePort());
    // Not a replica that takes work from the stack's support: no contacts, a slow SLA scan.
    env["CRM_SUPPORT_CONTACTS_ADDR"] = "";
    env["CRM_SUPPORT_SLA_SCAN_INTERVAL_MS"] = "3600000";
    env["CRM_SHUTDOWN_GRACE_SECONDS"] = "2";
    ChildProcess service(CRM_SUPPORT_BINARY, {}, env, "/tmp/crm-support-backfill.log");
    REQUIRE(WaitServing(address, std::chrono::seconds(120)));

    // Serving means the backfill ran: every personal column sealed, the address indexed.
    const auto stored = StoredCase(case_id);
    for (const char* col : {"subject", "description", "customer_email", "custom_fields"}) {
        INFO(col << " = " << stored.at(col));
        CHECK(Sealed(stored.at(col)));
    }
    CHECK(stored.at("customer_email_index") == crm::common::ColumnIndex(tenant, "cases.customer_email", email));
    for (const auto& e : StoredEntries(case_id)) {
        for (const char* col : {"author_name", "body", "attachments", "phone_call"}) {
            INFO(col << " = " << e.at(col));
            CHECK(Sealed(e.at(col)));
        }
    }
    CHECK(Sealed(Rows("SELECT note FROM case_routings WHERE case_id = '" + case_id + "'").at(0).at("note")));
    CHECK(Sealed(Rows("SELECT comment FROM csat_surveys WHERE case_id = '" + case_id + "'").at(0).at("comment")));
    CHECK(ColumnsContaining("support", {tag, email}, {}, tenant).empty());

    // Through that process, the case and its conversation read clear; the address finds the case (blind index).
    SupportClient direct("", grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    const auto identity = SignedIdentity(tenant);
    spv1::GetCaseRequest get;
    get.set_id(case_id);
    const auto got = direct.GetCase(get, identity);
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.case_().subject() == "Old case " + tag);
    CHECK(got.response.case_().description() == "Old text " + tag);
    CHECK(got.response.case_().customer_email() == email);
    CHECK(got.response.case_().custom_fields().at("room") == "Room of " + tag);
    const auto conversation = Conversation(direct, case_id, identity);
    REQUIRE(conversation.size() == 1);
    CHECK(conversation[0].author_name() == "Olga " + tag);
    CHECK(conversation[0].body() == "Old body " + tag);
    REQUIRE(conversation[0].attachments_size() == 1);
    CHECK(conversation[0].attachments(0).file_name() == "old-" + tag + ".txt");
    CHECK(conversation[0].phone_call().from_number() == "+3312" + tag.substr(2, 6));
    SubjectDataClient officer("CRM_TEST_SUPPORT", tenant);
    pv1::ExportSubjectRequest ex;
    *ex.mutable_subject() = MakeSubject({}, {}, {email});
    pv1::ExportSubjectResponse exported;
    REQUIRE(officer.ExportSubject(ex, &exported).ok());
    const auto cases = Records(exported, "case");
    REQUIRE(cases.size() == 1);
    CHECK(cases[0]["subject"] == "Old case " + tag);
    CHECK(cases[0]["routing_notes"] == nlohmann::json::array({"Old note " + tag}));
    const auto surveys = Records(exported, "csat_survey");
    REQUIRE(surveys.size() == 1);
    CHECK(surveys[0]["comment"] == "Old comment " + tag);
}
