#include "conversion/conversion.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include <chrono>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "lifecycle/lifecycle.hpp"

namespace crm::leads::conversion {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;

Conversion::Conversion(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, const Settings& settings)
    : db_(db),
      outbox_(outbox),
      saga_(std::make_unique<Saga>(settings)),
      conversions_(prometheus::BuildCounter()
                       .Name("crm_leads_conversions_total")
                       .Help("Leads converted (first conversions only, not repeated calls).")
                       .Register(metrics.registry())
                       .Add({})),
      contacts_linked_(prometheus::BuildCounter()
                           .Name("crm_leads_conversion_contacts_linked_total")
                           .Help("Conversions that linked an existing contact instead of creating one.")
                           .Register(metrics.registry())
                           .Add({})),
      conversion_seconds_(prometheus::BuildHistogram()
                              .Name("crm_leads_conversion_seconds")
                              .Help("Duration of first conversions, calls to contacts and sales included.")
                              .Register(metrics.registry())
                              .Add({}, common::Metrics::LatencyBuckets())) {}

Conversion::~Conversion() = default;

v1::ConvertLeadResponse Conversion::Convert(const common::RequestContext& rc, const v1::ConvertLeadRequest& req) {
    const auto start = std::chrono::steady_clock::now();
    v1::ConvertLeadResponse resp;
    const v1::Lead lead = CheckConvertible(rc, req);
    if (lead.status() == v1::LEAD_STATUS_CONVERTED) {  // converting twice returns the first result
        *resp.mutable_lead() = lead;
        *resp.mutable_conversion() = lead.conversion();
        return resp;
    }
    const v1::LeadConversion ids = saga_->Run(rc, lead, req);
    const v1::Lead converted = Complete(rc, req, ids);
    *resp.mutable_lead() = converted;
    *resp.mutable_conversion() = converted.conversion();
    if (converted.conversion().contact_id() == ids.contact_id()) {
        conversions_.Increment();
        if (ids.contact_existed()) contacts_linked_.Increment();
        conversion_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return resp;
}

v1::Lead Conversion::CheckConvertible(const common::RequestContext& rc, const v1::ConvertLeadRequest& req) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = lifecycle::LoadLead(db_, tx, rc.tenant_id, req.id());
        if (lead.status() == v1::LEAD_STATUS_CONVERTED) return lead;
        common::CheckEtag(req.etag(), lead.version());
        const domain::Status from = lifecycle::StatusOf(lead.status());
        if (!domain::ConvertAllowed(from, req.allow_unqualified())) {
            throw ApiError::FailedPrecondition(
                std::string("only QUALIFIED leads (or WORKING ones with allow_unqualified) can be converted; this "
                            "lead is ") +
                    domain::StatusText(from),
                "INVALID_TRANSITION");
        }
        return lead;
    });
}

v1::Lead Conversion::Complete(const common::RequestContext& rc, const v1::ConvertLeadRequest& req,
                              const v1::LeadConversion& ids) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::optional<lifecycle::Converted> marked =
            lifecycle::MarkConverted(db_, tx, rc.tenant_id, req.id(), ids, req.allow_unqualified());
        if (!marked) {
            const v1::Lead lead = lifecycle::LoadLead(db_, tx, rc.tenant_id, req.id());  // locked: stays as read
            if (lead.status() == v1::LEAD_STATUS_CONVERTED) return lead;  // a concurrent twin finished first
            throw ApiError::FailedPrecondition("the lead's status changed during the conversion", "INVALID_TRANSITION");
        }
        const v1::Lead& written = marked->lead;
        const domain::Status from = marked->from;
        lifecycle::EventBatch batch;
        auto& converted = batch.Add<ev1::LeadConverted>();
        const v1::LeadConversion& done = written.conversion();
        converted.set_contact_id(done.contact_id());
        converted.set_company_id(done.company_id());
        converted.set_opportunity_id(done.opportunity_id());
        converted.set_contact_existed(done.contact_existed());
        converted.set_company_existed(done.company_existed());
        *converted.mutable_convert_time() = done.convert_time();
        converted.set_from_status(lifecycle::StatusProto(from));
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

}  // namespace crm::leads::conversion
