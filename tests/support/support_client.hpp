#pragma once
// A thin typed client for crm.support.v1 used by the integration tests and the benchmark.
#include <crm/support/v1/csat.grpc.pb.h>
#include <crm/support/v1/routing.grpc.pb.h>
#include <crm/support/v1/support.grpc.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>

#include "harness.hpp"

namespace crm::test {

namespace spv1 = crm::support::v1;

template <class Resp>
struct SupportResult {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class SupportClient {
  public:
    // Through the gateway with a token (admin role unless the token says otherwise).
    explicit SupportClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(spv1::SupportService::NewStub(channel)) {}

#define CRM_SUPPORT_RPC(Name)                                                                        \
    SupportResult<spv1::Name##Response> Name(const spv1::Name##Request& req,                         \
                                             const std::map<std::string, std::string>& extra = {}) { \
        SupportResult<spv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                     \
        PrepareFor(ctx, RpcName<spv1::SupportService>(#Name), token_, extra);                        \
        r.status = stub_->Name(&ctx, req, &r.response);                                              \
        return r;                                                                                    \
    }
    CRM_SUPPORT_RPC(CreateCase)
    CRM_SUPPORT_RPC(GetCase)
    CRM_SUPPORT_RPC(ListCases)
    CRM_SUPPORT_RPC(UpdateCase)
    CRM_SUPPORT_RPC(ChangeCaseStatus)
    CRM_SUPPORT_RPC(AssignCase)
    CRM_SUPPORT_RPC(MergeCases)
    CRM_SUPPORT_RPC(AddCaseMessage)
    CRM_SUPPORT_RPC(ListCaseMessages)
    CRM_SUPPORT_RPC(IngestEmail)
    CRM_SUPPORT_RPC(GetSlaPolicy)
    CRM_SUPPORT_RPC(UpdateSlaPolicy)
    CRM_SUPPORT_RPC(GetSlaStatus)
#undef CRM_SUPPORT_RPC

    // Convenience: opens a case with this subject (and contact) and REQUIREs success.
    spv1::Case MustCreateCase(const std::string& subject, const std::string& contact_id = "") {
        spv1::CreateCaseRequest req;
        req.mutable_case_()->set_subject(subject);
        req.mutable_case_()->set_contact_id(contact_id);
        auto r = CreateCase(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.case_();
    }
    // Convenience: adds an entry and REQUIREs success.
    spv1::AddCaseMessageResponse MustAddMessage(const std::string& case_id, spv1::MessageKind kind,
                                                const std::string& body) {
        spv1::AddCaseMessageRequest req;
        req.set_case_id(case_id);
        req.mutable_message()->set_kind(kind);
        req.mutable_message()->set_body(body);
        auto r = AddCaseMessage(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response;
    }
    spv1::Case MustChangeStatus(const std::string& id, spv1::CaseStatus status) {
        spv1::ChangeCaseStatusRequest req;
        req.set_id(id);
        req.set_status(status);
        auto r = ChangeCaseStatus(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.case_();
    }

  private:
    std::string token_;
    std::unique_ptr<spv1::SupportService::Stub> stub_;
};

// crm.support.v1.SupportRoutingService: queues, presence, routing rules, routing.
class SupportRoutingClient {
  public:
    explicit SupportRoutingClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(spv1::SupportRoutingService::NewStub(channel)) {}

#define CRM_ROUTING_RPC(Name)                                                                        \
    SupportResult<spv1::Name##Response> Name(const spv1::Name##Request& req,                         \
                                             const std::map<std::string, std::string>& extra = {}) { \
        SupportResult<spv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                     \
        PrepareFor(ctx, RpcName<spv1::SupportRoutingService>(#Name), token_, extra);                 \
        r.status = stub_->Name(&ctx, req, &r.response);                                              \
        return r;                                                                                    \
    }
    CRM_ROUTING_RPC(CreateQueue)
    CRM_ROUTING_RPC(GetQueue)
    CRM_ROUTING_RPC(ListQueues)
    CRM_ROUTING_RPC(UpdateQueue)
    CRM_ROUTING_RPC(SetAgentPresence)
    CRM_ROUTING_RPC(GetAgentPresence)
    CRM_ROUTING_RPC(GetRoutingRules)
    CRM_ROUTING_RPC(UpdateRoutingRules)
    CRM_ROUTING_RPC(RouteCase)
    CRM_ROUTING_RPC(ListCaseRoutings)
    CRM_ROUTING_RPC(GetSentimentRule)
    CRM_ROUTING_RPC(UpdateSentimentRule)
    CRM_ROUTING_RPC(GetCaseSentiment)
#undef CRM_ROUTING_RPC

    // Convenience: a queue with these members (agent ids, default capacity unless given) that REQUIREs success.
    spv1::Queue MustCreateQueue(const std::string& name, const std::vector<spv1::QueueMember>& members,
                                spv1::AssignmentStrategy strategy = spv1::ASSIGNMENT_STRATEGY_ROUND_ROBIN) {
        spv1::CreateQueueRequest req;
        req.mutable_queue()->set_name(name);
        req.mutable_queue()->set_strategy(strategy);
        for (const auto& m : members) *req.mutable_queue()->add_members() = m;
        auto r = CreateQueue(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.queue();
    }
    spv1::SetAgentPresenceResponse MustSetPresence(const std::string& agent, spv1::Presence presence) {
        spv1::SetAgentPresenceRequest req;
        req.set_agent_id(agent);
        req.set_presence(presence);
        auto r = SetAgentPresence(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response;
    }

  private:
    std::string token_;
    std::unique_ptr<spv1::SupportRoutingService::Stub> stub_;
};

// A case opened through the gateway by an e-mail from `from` (display name Dora) with a PDF attachment named `file`;
// REQUIREs success.
inline spv1::Case CaseByEmail(SupportClient& api, const std::string& from, const std::string& subject,
                              const std::string& text, const std::string& file) {
    spv1::IngestEmailRequest req;
    req.set_raw_message(
        "From: Dora <" + from + ">\r\nSubject: " + subject + "\r\nMessage-ID: <" + crm::common::NewUuid() +
        "@mail.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n"
        "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
        text + "\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + file +
        "\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n");
    auto r = api.IngestEmail(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.case_();
}

// Adds the entry `m` to a case (and solves it); REQUIREs success.
inline spv1::AddCaseMessageResponse AddEntry(SupportClient& api, const std::string& case_id, const spv1::CaseMessage& m,
                                             bool solve = false) {
    spv1::AddCaseMessageRequest req;
    req.set_case_id(case_id);
    *req.mutable_message() = m;
    req.set_solve(solve);
    auto r = api.AddCaseMessage(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response;
}

// crm.support.v1.CsatService over gRPC (the survey's public answer goes over HTTP in the tests, as customers send it).
class CsatClient {
  public:
    explicit CsatClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(spv1::CsatService::NewStub(channel)) {}

#define CRM_CSAT_RPC(Name)                                                                           \
    SupportResult<spv1::Name##Response> Name(const spv1::Name##Request& req,                         \
                                             const std::map<std::string, std::string>& extra = {}) { \
        SupportResult<spv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                     \
        PrepareFor(ctx, RpcName<spv1::CsatService>(#Name), token_, extra);                           \
        r.status = stub_->Name(&ctx, req, &r.response);                                              \
        return r;                                                                                    \
    }
    CRM_CSAT_RPC(AnswerCsatSurvey)
    CRM_CSAT_RPC(GetCsatSurveyPage)
    CRM_CSAT_RPC(GetCsatReport)
#undef CRM_CSAT_RPC

  private:
    std::string token_;
    std::unique_ptr<spv1::CsatService::Stub> stub_;
};

}  // namespace crm::test
