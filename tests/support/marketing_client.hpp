#pragma once
// A thin typed client for crm.marketing.v1 used by the integration tests and the benchmark. Header-only.
#include <crm/marketing/v1/marketing.grpc.pb.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace crm::test {

namespace mv1 = crm::marketing::v1;

template <class Resp>
struct MarketingResult {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class MarketingClient {
  public:
    // Through the gateway with a token (admin role unless the token says otherwise).
    explicit MarketingClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(mv1::MarketingService::NewStub(channel)) {}
    // Directly to the service with identity metadata signed as the gateway would (SignedIdentity).
    MarketingClient(std::map<std::string, std::string> identity, std::shared_ptr<grpc::Channel> channel)
        : identity_(std::move(identity)), stub_(mv1::MarketingService::NewStub(channel)) {}

#define CRM_MARKETING_RPC(Name)                                                                       \
    MarketingResult<mv1::Name##Response> Name(const mv1::Name##Request& req,                          \
                                              const std::map<std::string, std::string>& extra = {}) { \
        MarketingResult<mv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                      \
        std::map<std::string, std::string> md = extra;                                                \
        md.insert(identity_.begin(), identity_.end());                                                \
        PrepareFor(ctx, RpcName<mv1::MarketingService>(#Name), token_, md);                           \
        r.status = stub_->Name(&ctx, req, &r.response);                                               \
        return r;                                                                                     \
    }
    CRM_MARKETING_RPC(CreateCampaign)
    CRM_MARKETING_RPC(GetCampaign)
    CRM_MARKETING_RPC(ListCampaigns)
    CRM_MARKETING_RPC(UpdateCampaign)
    CRM_MARKETING_RPC(AddCampaignCost)
    CRM_MARKETING_RPC(ListCampaignCosts)
    CRM_MARKETING_RPC(CreateTrackedLink)
    CRM_MARKETING_RPC(ListTrackedLinks)
    CRM_MARKETING_RPC(GetAudienceMember)
    CRM_MARKETING_RPC(ListPersonEngagement)
    CRM_MARKETING_RPC(CreateSegment)
    CRM_MARKETING_RPC(GetSegment)
    CRM_MARKETING_RPC(ListSegments)
    CRM_MARKETING_RPC(UpdateSegment)
    CRM_MARKETING_RPC(AddSegmentMembers)
    CRM_MARKETING_RPC(RemoveSegmentMembers)
    CRM_MARKETING_RPC(ListSegmentMembers)
    CRM_MARKETING_RPC(PreviewSegment)
    CRM_MARKETING_RPC(GetEmailSettings)
    CRM_MARKETING_RPC(UpdateEmailSettings)
    CRM_MARKETING_RPC(CreateEmailTemplate)
    CRM_MARKETING_RPC(GetEmailTemplate)
    CRM_MARKETING_RPC(CreateEmailSend)
    CRM_MARKETING_RPC(GetEmailSend)
    CRM_MARKETING_RPC(OpenTrackedLink)
    CRM_MARKETING_RPC(Unsubscribe)
    CRM_MARKETING_RPC(OpenEmailPixel)
    CRM_MARKETING_RPC(GetCampaignPerformance)
    CRM_MARKETING_RPC(CreateSequence)
    CRM_MARKETING_RPC(GetSequence)
    CRM_MARKETING_RPC(ListSequences)
    CRM_MARKETING_RPC(UpdateSequence)
    CRM_MARKETING_RPC(ListSequenceEnrolments)
    CRM_MARKETING_RPC(GetSequenceSplitReport)
#undef CRM_MARKETING_RPC

    // A campaign that must be created.
    mv1::Campaign MustCreateCampaign(const std::string& name, mv1::CampaignType type = mv1::CAMPAIGN_TYPE_EMAIL,
                                     const std::string& request_id = "") {
        mv1::CreateCampaignRequest req;
        req.mutable_campaign()->set_name(name);
        req.mutable_campaign()->set_type(type);
        req.set_request_id(request_id);
        auto r = CreateCampaign(req);
        if (!r.ok()) throw std::runtime_error("CreateCampaign: " + r.status.error_message());
        return r.response.campaign();
    }

    // Sends a new template to one person now (through a static list of one, both named `name`): the send's id.
    // Throws on any refused step.
    std::string MustSendTo(const std::string& campaign_id, const std::string& person_id, const std::string& name,
                           const std::string& subject, const std::string& html_body, const std::string& text_body) {
        mv1::CreateEmailTemplateRequest t;
        t.mutable_template_()->set_name(name);
        t.mutable_template_()->set_subject(subject);
        t.mutable_template_()->set_html_body(html_body);
        t.mutable_template_()->set_text_body(text_body);
        auto tmpl = CreateEmailTemplate(t);
        if (!tmpl.ok()) throw std::runtime_error("CreateEmailTemplate: " + tmpl.status.error_message());
        mv1::CreateSegmentRequest list;
        list.mutable_segment()->set_name(name);
        list.mutable_segment()->set_type(mv1::SEGMENT_TYPE_STATIC);
        auto segment = CreateSegment(list);
        if (!segment.ok()) throw std::runtime_error("CreateSegment: " + segment.status.error_message());
        mv1::AddSegmentMembersRequest add;
        add.set_segment_id(segment.response.segment().id());
        add.add_person_ids(person_id);
        if (auto added = AddSegmentMembers(add); !added.ok()) {
            throw std::runtime_error("AddSegmentMembers: " + added.status.error_message());
        }
        mv1::CreateEmailSendRequest send;
        send.mutable_send()->set_campaign_id(campaign_id);
        send.mutable_send()->set_template_id(tmpl.response.template_().id());
        send.mutable_send()->set_segment_id(segment.response.segment().id());
        auto started = CreateEmailSend(send);
        if (!started.ok()) throw std::runtime_error("CreateEmailSend: " + started.status.error_message());
        return started.response.send().id();
    }

  private:
    std::string token_;
    std::map<std::string, std::string> identity_;
    std::unique_ptr<mv1::MarketingService::Stub> stub_;
};

// Segment rule nodes, as the tests and the benchmark build them.
inline mv1::SegmentRule FieldRule(const std::string& field, mv1::ConditionOperator op,
                                  std::vector<std::string> values) {
    mv1::SegmentRule r;
    r.mutable_field()->set_field(field);
    r.mutable_field()->set_op(op);
    for (auto& v : values) r.mutable_field()->add_values(v);
    return r;
}
inline mv1::SegmentRule Engaged(const std::string& type, int within_days = 0) {
    mv1::SegmentRule r;
    r.mutable_engagement()->set_type(type);
    r.mutable_engagement()->set_within_days(within_days);
    return r;
}
inline mv1::SegmentRule Group(bool all, std::vector<mv1::SegmentRule> rules) {
    mv1::SegmentRule r;
    auto* g = all ? r.mutable_all() : r.mutable_any();
    for (auto& x : rules) *g->add_rules() = x;
    return r;
}
inline mv1::SegmentRule Not(mv1::SegmentRule inner) {
    mv1::SegmentRule r;
    *r.mutable_not_() = std::move(inner);
    return r;
}

}  // namespace crm::test
