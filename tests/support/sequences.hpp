#pragma once
// Helpers of the marketing sequence tests (marketing_sequences_test.cpp, marketing_e2e_test.cpp): leads who consented
// to email and reached marketing's audience, a campaign with a template, sequence steps. Header-only.
#include <crm/leads/v1/leads.grpc.pb.h>

#include <chrono>
#include <string>
#include <thread>

#include "crm/common/crypto.hpp"
#include "leads_client.hpp"
#include "marketing_client.hpp"
#include "wait.hpp"

namespace crm::test::seq {

using crm::test::Eventually;

inline std::string UniqueEmail(const std::string& who) {
    return who + "." + crm::common::NewUuid().substr(0, 8) + "@example.com";
}

// A lead (consent to email granted unless `consent` is false) once marketing's audience holds it.
inline lv1::Lead ConsentingLead(LeadsClient& leads, MarketingClient& api, const std::string& given,
                                const std::string& email, const std::string& source = "website", bool consent = true) {
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_given_name(given);
    create.mutable_lead()->set_family_name("Tester");
    create.mutable_lead()->set_email(email);
    create.mutable_lead()->set_source(source);
    if (consent) {
        create.mutable_lead()->mutable_consent()->set_granted(true);
        create.mutable_lead()->mutable_consent()->set_text("Send me news");
    }
    auto created = leads.CreateLead(create);
    if (!created.ok()) throw std::runtime_error("CreateLead: " + created.status.error_message());
    const lv1::Lead lead = created.response.lead();
    const std::string expected = consent ? "opted_in" : "unknown";
    if (!Eventually([&] {
            mv1::GetAudienceMemberRequest get;
            get.set_id(lead.id());
            auto r = api.GetAudienceMember(get);
            return r.ok() && r.response.member().consent() == expected;
        })) {
        throw std::runtime_error("the lead did not reach marketing's audience");
    }
    return lead;
}

inline mv1::EmailTemplate Template(MarketingClient& api, const std::string& subject, const std::string& link) {
    mv1::CreateEmailTemplateRequest t;
    t.mutable_template_()->set_name(subject);
    t.mutable_template_()->set_subject(subject + " for {{contact.given_name | default:\"you\"}}");
    t.mutable_template_()->set_html_body("<html><body><p>Hi {{contact.given_name}}</p><p><a href=\"" + link +
                                         "\">Read</a></p></body></html>");
    t.mutable_template_()->set_text_body("Hi {{contact.given_name}}. Unsubscribe: {{unsubscribe_url}}");
    auto r = api.CreateEmailTemplate(t);
    if (!r.ok()) throw std::runtime_error("CreateEmailTemplate: " + r.status.error_message());
    return r.response.template_();
}

inline mv1::SequenceStep SendStep(const std::string& id, const std::string& campaign, const std::string& tmpl) {
    mv1::SequenceStep s;
    s.set_id(id);
    s.mutable_send_email()->set_campaign_id(campaign);
    s.mutable_send_email()->set_template_id(tmpl);
    return s;
}

inline mv1::SequenceStep WaitStep(const std::string& id, std::int64_t seconds) {
    mv1::SequenceStep s;
    s.set_id(id);
    s.mutable_wait()->set_seconds(seconds);
    return s;
}

inline mv1::SequenceStep StopStep(const std::string& id) {
    mv1::SequenceStep s;
    s.set_id(id);
    s.mutable_stop();
    return s;
}

inline mv1::SequenceStep EngagementStep(const std::string& id, const std::string& type) {
    mv1::SequenceStep s;
    s.set_id(id);
    s.mutable_record_lead_engagement()->set_type(type);
    s.mutable_record_lead_engagement()->set_detail("from a sequence");
    return s;
}

inline mv1::Sequence MustCreateSequence(MarketingClient& api, mv1::Sequence s) {
    mv1::CreateSequenceRequest req;
    *req.mutable_sequence() = std::move(s);
    auto r = api.CreateSequence(req);
    if (!r.ok()) throw std::runtime_error("CreateSequence: " + r.status.error_message());
    return r.response.sequence();
}

inline std::vector<mv1::SequenceEnrolment> Enrolments(MarketingClient& api, const std::string& sequence_id) {
    mv1::ListSequenceEnrolmentsRequest req;
    req.set_sequence_id(sequence_id);
    req.set_page_size(500);
    auto r = api.ListSequenceEnrolments(req);
    if (!r.ok()) throw std::runtime_error("ListSequenceEnrolments: " + r.status.error_message());
    return {r.response.enrolments().begin(), r.response.enrolments().end()};
}

inline std::string Between(const std::string& text, const std::string& start, char end) {
    const std::size_t at = text.find(start);
    if (at == std::string::npos) return "";
    const std::size_t from = at + start.size();
    return text.substr(from, text.find(end, from) - from);
}

}  // namespace crm::test::seq
