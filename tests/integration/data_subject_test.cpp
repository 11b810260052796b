// Data-subject requests across the suite (issue 15), through the gateway's DataSubjectRequestService against the real
// stack: a person who came in as a lead, converted, with deals, an activity, a support case and a field visit, known
// to marketing and analytics from events.
// - Export by e-mail: one JSON document with the person's data from every service; a receipt, signed with the key
//   ListReceiptKeys publishes, lists every service of the suite (the checklist: every folder under services/ must take
//   part, or the request cannot complete and this test fails).
// - Erase by contact id: afterwards no personal value of the person is left in any service's database (every text,
//   jsonb, array and bytea column of every table, as the owner: the outboxes included), analytics' KPIs unchanged.
// - Erase with sales stopped and Kafka stopped: the request waits (per-service status says why) and completes once
//   both are back.
// - Bad input, roles, a repeated start, another tenant.
// - Crypto-shredding: every message of every topic (read from the start) never holds the person's values in clear;
//   opened with the producers' subject keys as a consumer would, it does before the erasure and no longer after it,
//   while the tenant's events stay readable (ids, amounts).
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/privacy/v1/subject.grpc.pb.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../support/analytics_client.hpp"
#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/fieldservice_client.hpp"
#include "../support/leads_client.hpp"
#include "../support/marketing_client.hpp"
#include "../support/sales_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/support_client.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

namespace av1 = crm::analytics::v1;

// Every service of the suite: the folders under services/ (a new one must take part in data-subject requests).
std::set<std::string> SuiteServices() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(CRM_SOURCE_DIR) / "services")) {
        if (e.is_directory() && std::filesystem::exists(e.path() / "CMakeLists.txt")) {
            out.insert(e.path().filename().string());
        }
    }
    return out;
}

class Dsr {
  public:
    explicit Dsr(std::string token)
        : token_(std::move(token)), stub_(pv1::DataSubjectRequestService::NewStub(GatewayChannel())) {}

    grpc::Status Start(const pv1::StartDataSubjectRequestRequest& req, pv1::DataSubjectRequest* resp) {
        grpc::ClientContext ctx;
        PrepareFor(ctx, RpcName<pv1::DataSubjectRequestService>("StartDataSubjectRequest"), token_);
        pv1::StartDataSubjectRequestResponse out;
        const grpc::Status st = stub_->StartDataSubjectRequest(&ctx, req, &out);
        *resp = out.request();
        return st;
    }
    grpc::Status Get(const std::string& request_id, pv1::DataSubjectRequest* resp) {
        grpc::ClientContext ctx;
        PrepareFor(ctx, RpcName<pv1::DataSubjectRequestService>("GetDataSubjectRequest"), token_);
        pv1::GetDataSubjectRequestRequest req;
        req.set_request_id(request_id);
        pv1::GetDataSubjectRequestResponse out;
        const grpc::Status st = stub_->GetDataSubjectRequest(&ctx, req, &out);
        *resp = out.request();
        return st;
    }
    grpc::Status Keys(pv1::ListReceiptKeysResponse* resp) {
        grpc::ClientContext ctx;
        PrepareFor(ctx, RpcName<pv1::DataSubjectRequestService>("ListReceiptKeys"), token_);
        return stub_->ListReceiptKeys(&ctx, pv1::ListReceiptKeysRequest(), resp);
    }

    pv1::DataSubjectRequest MustStart(pv1::DataSubjectRequestKind kind, const std::string& contact_id,
                                      const std::string& email, const std::string& request_id) {
        pv1::StartDataSubjectRequestRequest req;
        req.set_kind(kind);
        req.set_contact_id(contact_id);
        req.set_email(email);
        req.set_request_id(request_id);
        pv1::DataSubjectRequest resp;
        const grpc::Status st = Start(req, &resp);
        INFO(st.error_message());
        REQUIRE(st.ok());
        return resp;
    }
    // Waits for the request to complete; its last state otherwise.
    pv1::DataSubjectRequest WaitCompleted(const std::string& request_id, std::chrono::seconds timeout = 90s) {
        pv1::DataSubjectRequest r;
        Eventually(
            [&] {
                r.Clear();
                return Get(request_id, &r).ok() && r.state() == pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED;
            },
            timeout);
        return r;
    }

  private:
    std::string token_;
    std::unique_ptr<pv1::DataSubjectRequestService::Stub> stub_;
};

bool Verify(const std::string& public_key, const std::string& message, const std::string& signature) {
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()), public_key.size());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = key && ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

// The receipt verifies with the published key, names the request and lists every service of the suite.
void CheckReceipt(Dsr& dsr, const pv1::DataSubjectRequest& r, const std::string& kind) {
    INFO(r.DebugString());
    REQUIRE(r.has_receipt());
    pv1::ListReceiptKeysResponse keys;
    REQUIRE(dsr.Keys(&keys).ok());
    REQUIRE(keys.keys_size() >= 1);
    CHECK(r.receipt().algorithm() == "Ed25519");
    CHECK(r.receipt().key_id() == keys.keys(0).key_id());
    const std::string public_key = crm::common::Base64UrlDecode(keys.keys(0).public_key());
    const std::string signature = crm::common::Base64UrlDecode(r.receipt().signature());
    CHECK(Verify(public_key, r.receipt().document(), signature));
    std::string tampered = r.receipt().document();
    tampered[tampered.size() / 2] ^= 1;
    CHECK_FALSE(Verify(public_key, tampered, signature));
    const auto doc = nlohmann::json::parse(r.receipt().document());
    CHECK(doc["kind"] == kind);
    CHECK(doc["request_id"] == r.request_id());
    std::set<std::string> listed;
    for (const auto& s : doc["services"]) {
        listed.insert(s["service"].get<std::string>());
        CHECK_FALSE(s["time"].get<std::string>().empty());
    }
    CHECK(listed == SuiteServices());
    std::set<std::string> outcomes;
    for (const auto& s : r.services()) {
        CHECK(s.state() == pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED);
        outcomes.insert(s.service());
    }
    CHECK(outcomes == SuiteServices());
}

struct Person {
    std::string tenant, admin;
    std::string given, family, email, phone, address;
    std::string lead_id, contact_id, opportunity_id, case_id, work_order_id;
};

// A person with records in every service: a lead converted with an opportunity, a won deal, an activity, a case with
// a customer message, a field work order; marketing and analytics have them from events.
Person MakePerson(const std::string& prefix) {
    Person p;
    p.tenant = UniqueTenant(prefix);
    p.admin = TokenFor(p.tenant);
    const std::string tag = crm::common::NewUuid().substr(0, 8);
    p.given = "Ottoline" + tag;
    p.family = "Quarrendon" + tag;
    p.email = "ottoline." + tag + "@privacy.example";
    p.phone = "+4930" + std::to_string(10000000 + std::stoul(tag.substr(0, 6), nullptr, 16) % 89999999);
    p.address = "Kastanienallee " + tag + ", Berlin";
    LeadsClient leads(p.admin);
    lv1::CreateLeadRequest lead;
    lead.mutable_lead()->set_given_name(p.given);
    lead.mutable_lead()->set_family_name(p.family);
    lead.mutable_lead()->set_email(p.email);
    lead.mutable_lead()->set_phone(p.phone);
    lead.mutable_lead()->set_company_name("Quarrendon Mills " + tag);
    lead.mutable_lead()->set_source("webinar");
    auto created = leads.CreateLead(lead);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    p.lead_id = created.response.lead().id();
    leads.MustMove(p.lead_id, {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED});
    lv1::ConvertLeadRequest convert;
    convert.set_id(p.lead_id);
    convert.set_create_opportunity(true);
    convert.mutable_opportunity()->set_name("Mill automation");
    convert.mutable_opportunity()->mutable_amount()->set_amount_minor(450000);
    convert.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    auto converted = leads.ConvertLead(convert);
    INFO(converted.status.error_message());
    REQUIRE(converted.ok());
    p.contact_id = converted.response.conversion().contact_id();
    p.opportunity_id = converted.response.conversion().opportunity_id();

    SalesClient sales(p.admin);
    sv1::CreateOpportunityRequest won;
    won.mutable_opportunity()->set_name("Spare parts");
    won.mutable_opportunity()->set_contact_id(p.contact_id);
    won.mutable_opportunity()->mutable_amount()->set_amount_minor(70000);
    won.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    auto won_created = sales.CreateOpportunity(won);
    REQUIRE(won_created.ok());
    sv1::WinOpportunityRequest win;
    win.set_id(won_created.response.opportunity().id());
    REQUIRE(sales.WinOpportunity(win).ok());
    sv1::CreateActivityRequest activity;
    activity.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_CALL);
    activity.mutable_activity()->set_subject("Call with " + p.given + " " + p.family);
    activity.mutable_activity()->set_contact_id(p.contact_id);
    auto made = sales.CreateActivity(activity);
    INFO(made.status.error_message());
    REQUIRE(made.ok());

    SupportClient support(p.admin);
    const spv1::Case c = support.MustCreateCase("Mill stopped at " + p.family, p.contact_id);
    p.case_id = c.id();
    support.MustAddMessage(c.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE,
                           "Hello, this is " + p.given + " " + p.family + ", call me on " + p.phone);

    FieldServiceClient field(p.admin);
    fv1::CreateWorkOrderRequest wo;
    auto* w = wo.mutable_work_order();
    w->set_title("Inspect the mill");
    w->set_case_id(c.id());
    w->set_contact_id(p.contact_id);
    w->mutable_site()->set_address(p.address);
    w->mutable_site()->mutable_location()->set_latitude(52.5386);
    w->mutable_site()->mutable_location()->set_longitude(13.4115);
    w->set_work_type("repair");
    w->set_duration_minutes(60);
    auto made_wo = field.CreateWorkOrder(wo);
    INFO(made_wo.status.error_message());
    REQUIRE(made_wo.ok());
    p.work_order_id = made_wo.response.work_order().id();

    // Marketing and analytics hold the person once they applied the events.
    MarketingClient marketing(p.admin);
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(p.contact_id);
        return marketing.GetAudienceMember(get).ok();
    }));
    return p;
}

av1::GetKpisResponse Kpis(const std::string& admin, std::chrono::system_clock::time_point now) {
    AnalyticsClient analytics(admin);
    av1::GetKpisRequest req;
    req.mutable_start_time()->set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>((now - 48h).time_since_epoch()).count());
    req.mutable_end_time()->set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>((now + 48h).time_since_epoch()).count());
    req.mutable_as_of_time()->set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    av1::GetKpisResponse resp;
    const grpc::Status st = analytics.Kpis(req, &resp);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return resp;
}

// Analytics applied every event the tenant's services have in their outboxes now.
bool AnalyticsCaughtUp(const std::string& tenant) {
    for (const char* svc : {"contacts", "leads", "sales"}) {
        const std::string ids = QueryScalar(svc,
                                            "SELECT coalesce(string_agg(quote_literal(event_id::text), ','), '') "
                                            "FROM crm_outbox WHERE tenant_id = '" +
                                                tenant + "'");
        if (ids.empty()) continue;
        const std::string applied =
            QueryScalar("analytics", "SELECT count(*) FROM crm_processed_events WHERE event_id::text IN (" + ids + ")");
        const std::string total =
            QueryScalar(svc, "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'");
        if (applied != total) return false;
    }
    return true;
}

// Where the person's values can be read on Kafka: in a message as published ("raw"), or in a tenant's event once its
// personal fields are opened with the producers' subject keys ("opened").
struct TopicScan {
    std::vector<std::string> raw, opened;
    int tenant_events = 0;
};
TopicScan ScanTopics(const std::string& tenant, const std::vector<std::string>& values) {
    TopicScan scan;
    for (const auto& topic : ListTopics("crm.")) {
        for (const RawMessage& m : ReadTopicFromStart(topic)) {
            const std::string where = m.topic + "/" + std::to_string(m.partition) + "@" + std::to_string(m.offset);
            for (const auto& v : values) {
                if (m.payload.find(v) != std::string::npos) scan.raw.push_back(where + " " + v);
            }
            if (!m.parsed || m.envelope.tenant_id() != tenant) continue;
            ++scan.tenant_events;
            crm::common::v1::EventEnvelope opened = m.envelope;
            OpenPersonalFields(opened);
            for (const auto& v : values) {
                if (opened.payload().value().find(v) != std::string::npos) {
                    scan.opened.push_back(where + " " + opened.event_type() + " " + v);
                }
            }
        }
    }
    return scan;
}

std::string Joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += i + "; ";
    return out;
}

std::string PrivacyToken(const std::string& tenant) {
    return MintToken({.tenant = tenant, .user = "dpo-1", .roles = {"privacy_officer"}});
}

}  // namespace

TEST_CASE("data-subject requests: an export gathers the person from every service, with a signed receipt",
          "[integration][privacy][dsr]") {
    const Person p = MakePerson("dsx");
    // Analytics holds the person once it applied their events (a fresh stack's first run raced it).
    REQUIRE(Eventually([&] { return AnalyticsCaughtUp(p.tenant); }));
    Dsr dsr(PrivacyToken(p.tenant));
    const std::string request_id = "export-" + crm::common::NewUuid();
    const pv1::DataSubjectRequest started =
        dsr.MustStart(pv1::DATA_SUBJECT_REQUEST_KIND_EXPORT, "", "Ottoline" + p.email.substr(8), request_id);
    CHECK(started.request_id() == request_id);
    const pv1::DataSubjectRequest done = dsr.WaitCompleted(request_id);
    INFO(done.DebugString());
    REQUIRE(done.state() == pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED);
    CheckReceipt(dsr, done, "EXPORT");
    // The subject resolved from the e-mail: the contact and the lead it came from.
    CHECK(std::count(done.subject().contact_ids().begin(), done.subject().contact_ids().end(), p.contact_id) == 1);
    CHECK(std::count(done.subject().lead_ids().begin(), done.subject().lead_ids().end(), p.lead_id) == 1);

    const auto doc = nlohmann::json::parse(done.export_document());
    const auto& services = doc["services"];
    for (const auto& svc : SuiteServices()) CHECK(services.contains(svc));
    const std::string all = doc.dump();
    const auto has = [&](const std::string& svc, const std::string& value) {
        return services.contains(svc) && services[svc].dump().find(value) != std::string::npos;
    };
    CHECK(has("contacts", p.email));
    CHECK(has("contacts", p.family));
    CHECK(has("leads", p.email));
    CHECK(has("leads", p.lead_id));
    CHECK(has("sales", p.opportunity_id));
    CHECK(has("sales", "Call with " + p.given));
    CHECK(has("support", p.case_id));
    CHECK(has("support", p.phone));
    CHECK(has("fieldservice", p.address));
    CHECK(has("marketing", p.contact_id));
    CHECK(has("analytics", p.lead_id));
    // A repeated start returns the same request.
    const pv1::DataSubjectRequest again =
        dsr.MustStart(pv1::DATA_SUBJECT_REQUEST_KIND_EXPORT, "", "Ottoline" + p.email.substr(8), request_id);
    CHECK(again.receipt().document() == done.receipt().document());
}

TEST_CASE("data-subject requests: an erasure leaves no personal value in any service's tables, analytics unchanged",
          "[integration][privacy][dsr]") {
    const Person p = MakePerson("dse");
    REQUIRE(Eventually([&] { return AnalyticsCaughtUp(p.tenant); }));
    const auto at = std::chrono::system_clock::now();  // the same period and snapshot time before and after
    const std::string before = Kpis(p.admin, at).DebugString();
    const std::vector<std::string> values = {p.given, p.family, p.email, p.phone, p.address};
    // Before the erasure the scan finds the values where they are kept in clear (so that its empty answer afterwards
    // means something): contacts' names (its search and fuzzy duplicates compute on them). Everywhere else none is in
    // clear: analytics holds ids and amounts only; leads, sales, support, field service and marketing seal their
    // personal columns at rest (the lead's values, the activity's subject, the case's messages, the work order's
    // address, the audience's copies: docs/privacy.md).
    for (const auto& svc : SuiteServices()) {
        INFO(svc);
        const auto found = ColumnsContaining(svc, values, {}, p.tenant);
        INFO(Joined(found));
        if (svc == "contacts") {
            CHECK_FALSE(found.empty());
        } else {
            CHECK(found.empty());
        }
    }

    // On Kafka the person's values are sealed: never in clear, readable by consumers holding the producers' keys.
    {
        const TopicScan scan = ScanTopics(p.tenant, values);
        INFO("in clear on Kafka: " << Joined(scan.raw));
        CHECK(scan.raw.empty());
        const std::string opened = Joined(scan.opened);
        INFO("opened: " << opened);
        CHECK(opened.find("ContactCreated " + p.email) != std::string::npos);
        CHECK(opened.find("LeadCreated " + p.family) != std::string::npos);
    }

    Dsr dsr(PrivacyToken(p.tenant));
    const std::string request_id = "erase-" + crm::common::NewUuid();
    dsr.MustStart(pv1::DATA_SUBJECT_REQUEST_KIND_ERASE, p.contact_id, "", request_id);
    const pv1::DataSubjectRequest done = dsr.WaitCompleted(request_id);
    INFO(done.DebugString());
    REQUIRE(done.state() == pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED);
    CheckReceipt(dsr, done, "ERASE");
    const auto receipt = nlohmann::json::parse(done.receipt().document());
    CHECK(receipt["subject"]["contact_id"] == p.contact_id);
    CHECK(receipt.dump().find(p.email) == std::string::npos);  // e-mails only as SHA-256
    CHECK(receipt["resolved"]["emails_sha256"].size() >= 1);
    CHECK(done.subject().emails_size() == 0);  // the gateway keeps ids, not the addresses

    for (const auto& svc : SuiteServices()) {
        std::string left;
        for (const auto& where : ColumnsContaining(svc, values, {}, p.tenant)) left += where + "; ";
        INFO(svc << ": " << left);
        CHECK(left.empty());
    }
    std::string at_gateway;
    for (const auto& where : ColumnsContaining("gateway", values, {}, p.tenant)) at_gateway += where + "; ";
    INFO("gateway: " << at_gateway);
    CHECK(at_gateway.empty());
    // Crypto-shredded: every copy on every topic, read from the start, no longer opens; the events stay (ids, times).
    {
        const TopicScan scan = ScanTopics(p.tenant, values);
        INFO("in clear on Kafka: " << Joined(scan.raw));
        CHECK(scan.raw.empty());
        INFO("still opens: " << Joined(scan.opened));
        CHECK(scan.opened.empty());
        CHECK(scan.tenant_events > 10);
    }
    // Analytics applied the erasures' events and counts the same.
    REQUIRE(Eventually([&] { return AnalyticsCaughtUp(p.tenant); }));
    CHECK(Kpis(p.admin, at).DebugString() == before);
    // The contact is a tombstone; the lead and the deal keep their ids and amounts.
    ContactsClient contacts(p.admin);
    cv1::GetContactRequest get;
    get.set_id(p.contact_id);
    auto contact = contacts.GetContact(get);
    REQUIRE(contact.ok());
    CHECK(contact.response.contact().state() == cv1::CONTACT_STATE_ERASED);
    SalesClient sales(p.admin);
    sv1::GetOpportunityRequest opp;
    opp.set_id(p.opportunity_id);
    auto got = sales.GetOpportunity(opp);
    REQUIRE(got.ok());
    CHECK(got.response.opportunity().amount().amount_minor() == 450000);
}

TEST_CASE("data-subject requests: an erasure with sales and Kafka stopped completes once they are back",
          "[integration][privacy][dsr][faults]") {
    const Person p = MakePerson("dso");
    Dsr dsr(PrivacyToken(p.tenant));
    StackCommand("kill-app sales");
    StackCommand("kafka-stop");
    const std::string request_id = "erase-" + crm::common::NewUuid();
    dsr.MustStart(pv1::DATA_SUBJECT_REQUEST_KIND_ERASE, "", p.email, request_id);
    // It cannot finish: sales is down (and the services' erasure events cannot be relayed).
    std::this_thread::sleep_for(8s);
    pv1::DataSubjectRequest waiting;
    REQUIRE(dsr.Get(request_id, &waiting).ok());
    INFO(waiting.DebugString());
    CHECK(waiting.state() != pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED);
    // Operators see it waiting (the CrmDataSubjectRequestStuck alert reads the age of the oldest).
    const std::string gateway_metrics = RequireEnv("CRM_TEST_GATEWAY_METRICS");
    CHECK(MetricSample(ScrapeMetrics(gateway_metrics), "crm_gateway_dsr_unfinished_requests") >= 1);
    CHECK(MetricSample(ScrapeMetrics(gateway_metrics), "crm_gateway_dsr_oldest_unfinished_seconds") >= 5);
    StackCommand("kafka-start");
    StackCommand("start-apps");
    const pv1::DataSubjectRequest done = dsr.WaitCompleted(request_id, 180s);
    INFO(done.DebugString());
    REQUIRE(done.state() == pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED);
    CheckReceipt(dsr, done, "ERASE");
    for (const auto& svc : SuiteServices()) {
        INFO(svc);
        CHECK(ColumnsContaining(svc, {p.family, p.email}, {}, p.tenant).empty());
    }
}

TEST_CASE("data-subject requests: bad input names the field, roles and tenants are enforced",
          "[integration][privacy][dsr]") {
    const std::string tenant = UniqueTenant("dsb");
    Dsr dsr(PrivacyToken(tenant));
    const auto refused = [&](pv1::DataSubjectRequestKind kind, const std::string& contact_id, const std::string& email,
                             const std::string& request_id, const std::string& field) {
        pv1::StartDataSubjectRequestRequest req;
        req.set_kind(kind);
        req.set_contact_id(contact_id);
        req.set_email(email);
        req.set_request_id(request_id);
        pv1::DataSubjectRequest resp;
        const grpc::Status st = dsr.Start(req, &resp);
        INFO(field << ": " << st.error_message());
        CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(st, field));
    };
    const auto ERASE = pv1::DATA_SUBJECT_REQUEST_KIND_ERASE;
    refused(pv1::DATA_SUBJECT_REQUEST_KIND_UNSPECIFIED, crm::common::NewUuid(), "", "r1", "kind");
    refused(ERASE, "", "", "r2", "contact_id");
    refused(ERASE, crm::common::NewUuid(), "a@b.example", "r3", "contact_id");
    refused(ERASE, "not-a-uuid", "", "r4", "contact_id");
    refused(ERASE, "", "no-at-sign", "r5", "email");
    refused(ERASE, "", std::string("a\0b@c.example", 13), "r6", "email");
    refused(ERASE, crm::common::NewUuid(), "", "", "request_id");
    refused(ERASE, crm::common::NewUuid(), "", std::string(129, 'x'), "request_id");
    // Nothing was recorded by the refused calls.
    CHECK(QueryScalar("gateway", "SELECT count(*) FROM dsr_requests WHERE tenant_id = '" + tenant + "'") == "0");

    // Roles: a sales rep may not start or read one.
    Dsr rep(MintToken({.tenant = tenant, .user = "rep", .roles = {"sales_rep"}}));
    pv1::StartDataSubjectRequestRequest req;
    req.set_kind(ERASE);
    req.set_contact_id(crm::common::NewUuid());
    req.set_request_id("by-a-rep");
    pv1::DataSubjectRequest resp;
    CHECK(rep.Start(req, &resp).error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // A request id used again for another subject is refused; another tenant does not see the request.
    const std::string contact = crm::common::NewUuid();
    dsr.MustStart(pv1::DATA_SUBJECT_REQUEST_KIND_EXPORT, contact, "", "mine");
    req.set_kind(pv1::DATA_SUBJECT_REQUEST_KIND_EXPORT);
    req.set_contact_id(crm::common::NewUuid());
    req.set_request_id("mine");
    const grpc::Status reused = dsr.Start(req, &resp);
    CHECK(reused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    Dsr other(PrivacyToken(UniqueTenant("dsb")));
    pv1::DataSubjectRequest seen;
    CHECK(other.Get("mine", &seen).error_code() == grpc::StatusCode::NOT_FOUND);
    // An unknown person: every service answers with nothing, and the request completes.
    const pv1::DataSubjectRequest done = dsr.WaitCompleted("mine");
    REQUIRE(done.state() == pv1::DATA_SUBJECT_REQUEST_STATE_COMPLETED);
    for (const auto& s : done.services()) {
        for (const auto& c : s.records()) CHECK(c.count() == 0);
    }
}

TEST_CASE("data-subject requests: each service's subject data API refuses bad subjects and other roles",
          "[integration][privacy][dsr]") {
    const std::string tenant = UniqueTenant("dsa");
    for (const auto& svc : SuiteServices()) {
        std::string env = "CRM_TEST_";
        for (char c : svc) env.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        INFO(svc);
        SubjectDataClient api(env.c_str(), tenant);
        pv1::ExportSubjectRequest bad;
        *bad.mutable_subject() = MakeSubject({"not-a-uuid"}, {}, {"Upper@Case.example"});
        pv1::ExportSubjectResponse exported;
        const grpc::Status st = api.ExportSubject(bad, &exported);
        CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(st, "subject.contact_ids[0]"));
        CHECK(HasViolation(st, "subject.emails[0]"));
        pv1::ExportSubjectRequest empty;
        CHECK(api.ExportSubject(empty, &exported).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        SubjectDataClient rep(env.c_str(), tenant, {"sales_rep"});
        pv1::ResolveSubjectRequest resolve;
        *resolve.mutable_subject() = MakeSubject({crm::common::NewUuid()}, {}, {});
        pv1::ResolveSubjectResponse resolved;
        CHECK(rep.ResolveSubject(resolve, &resolved).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        pv1::EraseSubjectRequest erase;
        *erase.mutable_subject() = MakeSubject({crm::common::NewUuid()}, {}, {});
        pv1::EraseSubjectResponse erased;
        const grpc::Status no_id = api.EraseSubject(erase, &erased);
        CHECK(no_id.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(no_id, "request_id"));
    }
}

TEST_CASE("contacts subject data: a person's contacts by e-mail with the merged one, exported, erased once",
          "[integration][privacy][dsr][contacts]") {
    const std::string tenant = UniqueTenant("dsc");
    ContactsClient api(TokenFor(tenant));
    const std::string tag = crm::common::NewUuid().substr(0, 8);
    const auto create = [&](const std::string& email, const std::string& family) {
        cv1::CreateContactRequest req;
        req.mutable_contact()->set_given_name("Wilhelmina" + tag);
        req.mutable_contact()->set_family_name(family);
        req.mutable_contact()->set_email(email);
        req.set_allow_duplicate(true);
        auto r = api.CreateContact(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.contact().id();
    };
    const std::string work = "wilhelmina." + tag + "@work.example";
    const std::string home = "wilhelmina." + tag + "@home.example";
    const std::string survivor = create(work, "Brackenbury" + tag);
    const std::string loser = create(home, "Brackenbury" + tag);
    cv1::MergeContactsRequest merge;
    merge.set_survivor_id(survivor);
    merge.add_loser_ids(loser);
    merge.set_request_id(crm::common::NewUuid());
    REQUIRE(api.MergeContacts(merge).ok());
    cv1::UpdateContactConsentRequest consent;
    consent.set_id(survivor);
    consent.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    consent.set_source("web_form");
    REQUIRE(api.UpdateContactConsent(consent).ok());
    // Another tenant's person with the same e-mail is never touched.
    const std::string other_tenant = UniqueTenant("dsc");
    ContactsClient other(TokenFor(other_tenant));
    cv1::CreateContactRequest same;
    same.mutable_contact()->set_given_name("Wilhelmina" + tag);
    same.mutable_contact()->set_email(home);
    auto theirs = other.CreateContact(same);
    REQUIRE(theirs.ok());

    SubjectDataClient subject(("CRM_TEST_CONTACTS"), tenant);
    // Resolved from the loser's e-mail: both contacts and both addresses.
    pv1::ResolveSubjectRequest resolve;
    *resolve.mutable_subject() = MakeSubject({}, {}, {home});
    pv1::ResolveSubjectResponse resolved;
    REQUIRE(subject.ResolveSubject(resolve, &resolved).ok());
    const auto& ids = resolved.subject().contact_ids();
    CHECK(std::count(ids.begin(), ids.end(), survivor) == 1);
    CHECK(std::count(ids.begin(), ids.end(), loser) == 1);
    CHECK(ids.size() == 2);
    const auto& emails = resolved.subject().emails();
    CHECK(std::count(emails.begin(), emails.end(), work) == 1);

    pv1::ExportSubjectRequest exp;
    *exp.mutable_subject() = resolved.subject();
    pv1::ExportSubjectResponse exported;
    REQUIRE(subject.ExportSubject(exp, &exported).ok());
    REQUIRE(exported.records_size() == 1);
    CHECK(exported.records(0).resource_type() == "contact");
    CHECK(exported.records(0).count() == 2);
    const auto records = nlohmann::json::parse(exported.records(0).json());
    REQUIRE(records.size() == 2);
    bool consent_seen = false;
    for (const auto& r : records) {
        CHECK(r["contact"]["given_name"] == "Wilhelmina" + tag);
        for (const auto& h : r["consent_history"]) consent_seen = consent_seen || h["status"] == "OPTED_IN";
    }
    CHECK(consent_seen);
    CHECK(records.dump().find(work) != std::string::npos);

    // The erasure waits for the contacts' events to be relayed, then purges them from the outbox.
    pv1::EraseSubjectRequest erase;
    erase.set_request_id("erase-" + tag);
    *erase.mutable_subject() = resolved.subject();
    pv1::EraseSubjectResponse erased;
    REQUIRE(Eventually([&] { return subject.EraseSubject(erase, &erased).ok(); }));
    REQUIRE(erased.records_size() == 1);
    CHECK(erased.records(0).count() == 2);
    pv1::EraseSubjectResponse repeated;
    REQUIRE(subject.EraseSubject(erase, &repeated).ok());
    CHECK(repeated.records(0).count() == 2);  // the first call's answer
    CHECK(repeated.erase_time().seconds() == erased.erase_time().seconds());
    erase.set_request_id("erase-again-" + tag);
    REQUIRE(Eventually([&] { return subject.EraseSubject(erase, &repeated).ok(); }));
    CHECK(repeated.records(0).count() == 0);  // nothing left to erase
    for (const auto& value : {work, "Brackenbury" + tag}) {
        INFO(value);
        CHECK(ColumnsContaining("contacts", value).empty());
    }
    // The other tenant's contact keeps the address.
    cv1::GetContactRequest get;
    get.set_id(theirs.response.contact().id());
    auto kept = other.GetContact(get);
    REQUIRE(kept.ok());
    CHECK(kept.response.contact().email() == home);
    get.set_id(survivor);
    auto tomb = api.GetContact(get);
    REQUIRE(tomb.ok());
    CHECK(tomb.response.contact().state() == cv1::CONTACT_STATE_ERASED);
}
