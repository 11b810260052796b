#pragma once
// A thin typed client for crm.leads.v1 used by the integration tests and the benchmark.
#include <crm/leads/v1/leads.grpc.pb.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace crm::test {

namespace lv1 = crm::leads::v1;

template <class Resp>
struct LeadsResult {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class LeadsClient {
  public:
    // Through the gateway with a token (admin role unless the token says otherwise).
    explicit LeadsClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(lv1::LeadsService::NewStub(channel)) {}
    // Directly to the service with identity metadata signed as the gateway would (SignedIdentity).
    LeadsClient(std::map<std::string, std::string> identity, std::shared_ptr<grpc::Channel> channel)
        : identity_(std::move(identity)), stub_(lv1::LeadsService::NewStub(channel)) {}

    lv1::LeadsService::Stub& stub() { return *stub_; }

    void Setup(grpc::ClientContext& ctx, std::string_view method,
               const std::map<std::string, std::string>& extra = {}) const {
        std::map<std::string, std::string> md = extra;
        md.insert(identity_.begin(), identity_.end());
        PrepareFor(ctx, RpcName<lv1::LeadsService>(method), token_, md);
    }

#define CRM_LEADS_RPC(Name)                                                                       \
    LeadsResult<lv1::Name##Response> Name(const lv1::Name##Request& req,                          \
                                          const std::map<std::string, std::string>& extra = {}) { \
        LeadsResult<lv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                  \
        Setup(ctx, #Name, extra);                                                                 \
        r.status = stub_->Name(&ctx, req, &r.response);                                           \
        return r;                                                                                 \
    }
    CRM_LEADS_RPC(CreateLead)
    CRM_LEADS_RPC(GetLead)
    CRM_LEADS_RPC(ListLeads)
    CRM_LEADS_RPC(UpdateLead)
    CRM_LEADS_RPC(ChangeLeadStatus)
    CRM_LEADS_RPC(RecordEngagement)
    CRM_LEADS_RPC(GetScoringRules)
    CRM_LEADS_RPC(UpdateScoringRules)
    CRM_LEADS_RPC(TrainScoringModel)
    CRM_LEADS_RPC(PredictLeadConversion)
    CRM_LEADS_RPC(GetAssignmentConfig)
    CRM_LEADS_RPC(UpdateAssignmentConfig)
    CRM_LEADS_RPC(AssignLead)
    CRM_LEADS_RPC(ConvertLead)
    CRM_LEADS_RPC(UpsertWebForm)
    CRM_LEADS_RPC(GetWebForm)
    CRM_LEADS_RPC(IssueWebFormToken)
    CRM_LEADS_RPC(SubmitWebForm)
#undef CRM_LEADS_RPC

    // Client-streaming import of the given rows.
    LeadsResult<lv1::ImportLeadsResponse> ImportLeads(const std::vector<lv1::ImportLeadsRequest>& rows) {
        LeadsResult<lv1::ImportLeadsResponse> r;
        grpc::ClientContext ctx;
        Setup(ctx, "ImportLeads");
        auto writer = stub_->ImportLeads(&ctx, &r.response);
        for (const auto& row : rows) {
            if (!writer->Write(row)) break;
        }
        writer->WritesDone();
        r.status = writer->Finish();
        return r;
    }

    // Creates a lead and fails the test when it cannot.
    lv1::Lead MustCreate(const std::string& given, const std::string& email, const std::string& source = "",
                         lv1::LeadPriority priority = lv1::LEAD_PRIORITY_MEDIUM) {
        lv1::CreateLeadRequest req;
        req.mutable_lead()->set_given_name(given);
        req.mutable_lead()->set_family_name("Tester");
        req.mutable_lead()->set_email(email);
        req.mutable_lead()->set_source(source);
        req.mutable_lead()->set_priority(priority);
        auto r = CreateLead(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.lead();
    }

    // Moves a lead through the statuses given, failing the test on any error; returns the last state.
    lv1::Lead MustMove(const std::string& id, const std::vector<lv1::LeadStatus>& statuses) {
        lv1::Lead last;
        for (auto s : statuses) {
            lv1::ChangeLeadStatusRequest req;
            req.set_id(id);
            req.set_status(s);
            auto r = ChangeLeadStatus(req);
            INFO(r.status.error_message());
            REQUIRE(r.ok());
            last = r.response.lead();
        }
        return last;
    }

  private:
    std::string token_;
    std::map<std::string, std::string> identity_;
    std::unique_ptr<lv1::LeadsService::Stub> stub_;
};

}  // namespace crm::test
