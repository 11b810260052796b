// Tenant isolation on every SupportService RPC that names a case: another tenant's id is NOT_FOUND, exactly like an
// id that never existed, and changes nothing; the other tenant's lists never show the case. Roles: a token without a
// support role cannot work cases.
#include <catch2/catch.hpp>

#include "../support/support_client.hpp"

using namespace crm::test;

TEST_CASE("support: another tenant's case is NOT_FOUND on every RPC and changes nothing",
          "[integration][support][tenancy]") {
    const std::string owner_tenant = UniqueTenant("so");
    SupportClient owner(TokenFor(owner_tenant));
    const spv1::Case theirs = owner.MustCreateCase("Theirs");
    owner.MustAddMessage(theirs.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "secret text");

    const std::string other_tenant = UniqueTenant("sx");
    SupportClient other(TokenFor(other_tenant));
    constexpr auto kNotFound = grpc::StatusCode::NOT_FOUND;
    const std::string never = crm::common::NewUuid();
    for (const std::string& id : {theirs.id(), never}) {
        INFO("id " << id);
        spv1::GetCaseRequest get;
        get.set_id(id);
        CHECK(other.GetCase(get).status.error_code() == kNotFound);
        spv1::UpdateCaseRequest update;
        update.mutable_case_()->set_id(id);
        update.mutable_case_()->set_subject("Mine now");
        update.mutable_update_mask()->add_paths("subject");
        CHECK(other.UpdateCase(update).status.error_code() == kNotFound);
        spv1::ChangeCaseStatusRequest status;
        status.set_id(id);
        status.set_status(spv1::CASE_STATUS_SOLVED);
        CHECK(other.ChangeCaseStatus(status).status.error_code() == kNotFound);
        spv1::AssignCaseRequest assign;
        assign.set_id(id);
        assign.set_assignee_id("intruder");
        CHECK(other.AssignCase(assign).status.error_code() == kNotFound);
        spv1::AddCaseMessageRequest add;
        add.set_case_id(id);
        add.mutable_message()->set_kind(spv1::MESSAGE_KIND_INTERNAL_NOTE);
        add.mutable_message()->set_body("hi");
        CHECK(other.AddCaseMessage(add).status.error_code() == kNotFound);
        spv1::ListCaseMessagesRequest messages;
        messages.set_case_id(id);
        CHECK(other.ListCaseMessages(messages).status.error_code() == kNotFound);
    }
    CHECK(other.ListCases({}).response.cases_size() == 0);
    spv1::GetCaseRequest get;
    get.set_id(theirs.id());
    const spv1::Case after = owner.GetCase(get).response.case_();
    CHECK(after.version() == 2);  // created + the customer's message
    CHECK(after.subject() == "Theirs");
    CHECK(after.assignee_id().empty());
    CHECK(QueryScalar("support", "SELECT count(*) FROM case_messages WHERE tenant_id = '" + other_tenant + "'") == "0");
    // Case numbers are per tenant.
    CHECK(other.MustCreateCase("Own").number() == 1);
}

TEST_CASE("support: roles — agents and managers work cases, sales reps read them, marketers neither",
          "[integration][support][tenancy]") {
    const std::string tenant = UniqueTenant("sp");
    SupportClient agent(TokenFor(tenant, {"support_agent"}));
    const spv1::Case made = agent.MustCreateCase("Agent's");
    SupportClient manager(TokenFor(tenant, {"support_manager"}));
    manager.MustAddMessage(made.id(), spv1::MESSAGE_KIND_INTERNAL_NOTE, "looked at it");
    SupportClient rep(TokenFor(tenant, {"sales_rep"}));
    spv1::GetCaseRequest get;
    get.set_id(made.id());
    CHECK(rep.GetCase(get).ok());
    spv1::CreateCaseRequest create;
    create.mutable_case_()->set_subject("not allowed");
    CHECK(rep.CreateCase(create).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    SupportClient marketer(TokenFor(tenant, {"marketer"}));
    CHECK(marketer.GetCase(get).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}
