#include "crm/common/personal_fields.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/privacy/v1/keys.grpc.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/rpc.hpp"

namespace crm::common::privacy {
namespace {

namespace gp = google::protobuf;

// What the suite seals: a person's names, e-mail addresses, phone numbers, postal addresses, and free text written
// by or about them. Kept sorted (binary search).
const std::vector<std::string> kPersonal = [] {
    std::vector<std::string> v = {
        // contacts
        "crm.contacts.v1.Contact.CustomFieldsEntry.value",
        "crm.contacts.v1.Contact.display_name",
        "crm.contacts.v1.Contact.email",
        "crm.contacts.v1.Contact.family_name",
        "crm.contacts.v1.Contact.given_name",
        "crm.contacts.v1.Contact.job_title",
        "crm.contacts.v1.Contact.phone",
        // leads
        "crm.leads.events.v1.LeadStatusChanged.reason",
        "crm.leads.v1.Engagement.detail",
        "crm.leads.v1.Lead.AttributesEntry.value",
        "crm.leads.v1.Lead.email",
        "crm.leads.v1.Lead.family_name",
        "crm.leads.v1.Lead.given_name",
        "crm.leads.v1.Lead.job_title",
        "crm.leads.v1.Lead.notes",
        "crm.leads.v1.Lead.phone",
        "crm.leads.v1.Lead.status_reason",
        // sales
        "crm.sales.v1.Activity.description",
        "crm.sales.v1.Activity.outcome",
        "crm.sales.v1.Activity.subject",
        "crm.sales.v1.Opportunity.description",
        // support
        "crm.support.events.v1.CaseStatusChanged.reason",
        "crm.support.v1.Attachment.file_name",
        "crm.support.v1.Case.CustomFieldsEntry.value",
        "crm.support.v1.Case.customer_email",
        "crm.support.v1.Case.description",
        "crm.support.v1.Case.subject",
        "crm.support.v1.CaseMessage.author_name",
        "crm.support.v1.CaseMessage.body",
        "crm.support.v1.PhoneCall.from_number",
        "crm.support.v1.PhoneCall.to_number",
        // field service
        "crm.fieldservice.v1.ChecklistAnswer.answer",
        "crm.fieldservice.v1.Completion.notes",
        "crm.fieldservice.v1.Site.address",
        "crm.fieldservice.v1.StatusChange.reason",
        "crm.fieldservice.v1.WorkOrder.description",
        "crm.fieldservice.v1.WorkOrder.status_reason",
        "crm.fieldservice.v1.WorkOrder.title",
    };
    std::sort(v.begin(), v.end());
    return v;
}();

const std::map<std::string, std::string> kNotPersonal = {
    {"crm.contacts.v1.Company.name", "an organisation, not a person"},
    {"crm.contacts.v1.CustomFieldDefinition.label", "the tenant's schema"},
    {"crm.fieldservice.v1.Part.name", "the parts catalogue"},
    {"crm.fieldservice.v1.Technician.display_name", "staff, not a customer (erased with the staff account)"},
    {"crm.fieldservice.v1.TimeOff.reason", "staff, not a customer"},
    {"crm.leads.v1.Lead.company_name", "an organisation; marketing's segments and analytics group by it"},
    {"crm.leads.v1.LeadConsent.text", "the tenant's consent wording, the same for everyone"},
    {"crm.marketing.events.v1.SequenceExited.reason", "a machine reason (completed, goal, unsubscribed)"},
    {"crm.marketing.events.v1.SequenceStepExecuted.outcome", "a machine outcome"},
    {"crm.marketing.v1.Campaign.description", "the tenant's campaign"},
    {"crm.marketing.v1.Campaign.name", "the tenant's campaign"},
    {"crm.marketing.v1.CampaignCost.description", "the tenant's spend"},
    {"crm.sales.events.v1.OpportunityLost.reason", "a loss reason analytics groups by"},
    {"crm.sales.events.v1.OpportunityStageChanged.from_stage_name", "the tenant's pipeline"},
    {"crm.sales.events.v1.OpportunityStageChanged.to_stage_name", "the tenant's pipeline"},
    {"crm.sales.v1.Opportunity.lost_reason", "a loss reason analytics groups by"},
    {"crm.sales.v1.Opportunity.name", "the deal's name (policy: no personal data in deal names)"},
    {"crm.sales.v1.Opportunity.stage_name", "the tenant's pipeline"},
    {"crm.sales.v1.Pipeline.name", "the tenant's pipeline"},
    {"crm.sales.v1.Product.description", "the product catalogue"},
    {"crm.sales.v1.Product.name", "the product catalogue"},
    {"crm.sales.v1.Quote.rejection_reason", "an approver's reason about prices"},
    {"crm.sales.v1.Quote.title", "the quote's title (policy: no personal data in titles)"},
    {"crm.sales.v1.QuoteLineItem.description", "the product catalogue"},
    {"crm.sales.v1.Stage.name", "the tenant's pipeline"},
    {"crm.support.v1.Article.body", "the knowledge base, published to customers"},
    {"crm.support.v1.Article.title", "the knowledge base, published to customers"},
};

// Visits every non-empty value of a personal string field of `message`, at any depth; `visit(owner, field, index)`
// (index -1: a singular field) returns false to stop, and then so does Traverse. M is gp::Message (submessages reached
// through the Mutable accessors, so that a change made through `owner` sticks, map entries included) or
// const gp::Message (read only).
template <class M>
bool Traverse(M& message, const std::function<bool(M& owner, const gp::FieldDescriptor* field, int index)>& visit) {
    constexpr bool kReadOnly = std::is_const_v<M>;
    const gp::Reflection* r = message.GetReflection();
    std::vector<const gp::FieldDescriptor*> fields;
    r->ListFields(message, &fields);
    for (const gp::FieldDescriptor* f : fields) {
        if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
            const int n = f->is_repeated() ? r->FieldSize(message, f) : 1;
            for (int i = 0; i < n; ++i) {
                M* sub = nullptr;
                if constexpr (kReadOnly) {
                    sub = f->is_repeated() ? &r->GetRepeatedMessage(message, f, i) : &r->GetMessage(message, f);
                } else {
                    sub = f->is_repeated() ? r->MutableRepeatedMessage(&message, f, i) : r->MutableMessage(&message, f);
                }
                if (!Traverse(*sub, visit)) return false;
            }
            continue;
        }
        if (f->type() != gp::FieldDescriptor::TYPE_STRING || !IsPersonalField(f->full_name())) continue;
        if (f->is_repeated()) {
            for (int i = 0; i < r->FieldSize(message, f); ++i) {
                if (!r->GetRepeatedString(message, f, i).empty() && !visit(message, f, i)) return false;
            }
        } else if (!r->GetString(message, f).empty() && !visit(message, f, -1)) {
            return false;
        }
    }
    return true;
}

// Reads the value Traverse visits.
std::string ValueAt(const gp::Message& owner, const gp::FieldDescriptor* f, int index) {
    const gp::Reflection* r = owner.GetReflection();
    return index < 0 ? r->GetString(owner, f) : r->GetRepeatedString(owner, f, index);
}

// True when some personal value satisfies `test` (stops at the first).
bool AnyPersonalValue(const gp::Message& message, const std::function<bool(const std::string&)>& test) {
    return !Traverse<const gp::Message>(message, [&](const gp::Message& owner, const gp::FieldDescriptor* f, int i) {
        return !test(ValueAt(owner, f, i));
    });
}

std::mutex keyring_mutex;
std::optional<Keyring> process_keyring;

// --- the remote key source ---------------------------------------------------------------------------------------

class RemoteKeySource final : public SubjectKeySource {
  public:
    explicit RemoteKeySource(RemoteKeySettings s) : s_(std::move(s)) {
        const auto credentials = MakeChannelCredentials(s_.tls);
        for (const auto& [service, address] : s_.addresses) {
            if (address.empty()) continue;
            stubs_[service] = crm::privacy::v1::SubjectKeyService::NewStub(MakeDownstreamChannel(address, credentials));
        }
    }

    bool Serves(const std::string& service) const override { return s_.addresses.count(service) != 0; }

    std::optional<std::string> DataKey(const std::string& tenant, const std::string& service,
                                       const std::string& subject) override {
        const std::string cache_key = tenant + '\n' + service + '\n' + subject;
        const auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard<std::mutex> lock(mu_);
            const auto it = cache_.find(cache_key);
            if (it != cache_.end() && it->second.expires > now) return it->second.key;
        }
        const auto stub = stubs_.find(service);
        if (stub == stubs_.end()) {
            // Named without an address: a deployment mistake, not the event's fault: wait (the message is retried)
            // rather than apply sealed values or blanks.
            throw ApiError::Unavailable("no address configured for " + service + "'s subject keys");
        }
        crm::privacy::v1::GetSubjectKeysRequest req;
        req.add_subject_ids(subject);
        crm::privacy::v1::GetSubjectKeysResponse resp;
        grpc::ClientContext ctx;
        RequestContext self;
        self.tenant_id = tenant;
        self.roles = {"service:" + s_.caller_service};
        self.request_id = "keys-" + NewUuid();
        PrepareDownstreamCall(ctx, self, s_.internal_key, s_.timeout);
        const grpc::Status status = stub->second->GetSubjectKeys(&ctx, req, &resp);
        if (!status.ok()) {
            throw ApiError::Unavailable(service + "'s subject keys could not be read: " +
                                        std::to_string(status.error_code()) + " " + status.error_message());
        }
        std::optional<std::string> key;
        for (const auto& k : resp.keys()) {
            if (k.subject_id() == subject) key = k.data_key();
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (cache_.size() > 100000) cache_.clear();  // bounded: a replay of a large topic touches many subjects
        cache_[cache_key] = {key, now + s_.cache_ttl};
        return key;
    }

  private:
    struct Cached {
        std::optional<std::string> key;
        std::chrono::steady_clock::time_point expires;
    };
    RemoteKeySettings s_;
    std::map<std::string, std::unique_ptr<crm::privacy::v1::SubjectKeyService::Stub>> stubs_;
    std::mutex mu_;
    std::unordered_map<std::string, Cached> cache_;
};

}  // namespace

const std::vector<std::string>& PersonalFieldNames() { return kPersonal; }

bool IsPersonalField(std::string_view full_name) {
    return std::binary_search(kPersonal.begin(), kPersonal.end(), full_name,
                              [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
}

const std::map<std::string, std::string>& NotPersonalFieldNames() { return kNotPersonal; }

bool HasPersonalValues(const gp::Message& message) {
    return AnyPersonalValue(message, [](const std::string&) { return true; });
}

void ForEachPersonalValue(gp::Message& message, const std::function<void(const std::string&, std::string&)>& fn) {
    Traverse<gp::Message>(message, [&](gp::Message& owner, const gp::FieldDescriptor* f, int i) {
        std::string value = ValueAt(owner, f, i);
        fn(f->full_name(), value);
        const gp::Reflection* r = owner.GetReflection();
        if (i < 0) {
            r->SetString(&owner, f, std::move(value));
        } else {
            r->SetRepeatedString(&owner, f, i, std::move(value));
        }
        return true;
    });
}

Keyring KeyringFromSettings(std::string_view privacy_keys, std::string_view internal_key) {
    if (!privacy_keys.empty()) return Keyring::Parse(privacy_keys);
    if (internal_key.empty()) {
        throw std::runtime_error("no privacy master keys: set CRM_PRIVACY_KEYS (or CRM_INTERNAL_KEY to derive them)");
    }
    // One version derived from the key every replica shares; a deployment that rotates sets CRM_PRIVACY_KEYS.
    const std::string master = Sha256("crm privacy master key v1\n" + std::string(internal_key));
    return Keyring::Parse("v1:" + Base64UrlEncode(master));
}

void SetProcessKeyring(Keyring keyring) {
    std::lock_guard<std::mutex> lock(keyring_mutex);
    process_keyring = std::move(keyring);
}

const Keyring& ProcessKeyring() {
    std::lock_guard<std::mutex> lock(keyring_mutex);
    if (!process_keyring) {
        const char* keys = std::getenv("CRM_PRIVACY_KEYS");
        const char* internal = std::getenv("CRM_INTERNAL_KEY");
        process_keyring = KeyringFromSettings(keys ? keys : "", internal ? internal : "");
    }
    return *process_keyring;
}

std::shared_ptr<SubjectKeySource> MakeRemoteKeySource(RemoteKeySettings settings) {
    if (settings.caller_service.empty()) throw std::invalid_argument("remote key source: caller_service is empty");
    return std::make_shared<RemoteKeySource>(std::move(settings));
}

int OpenEnvelope(v1::EventEnvelope& envelope, SubjectKeySource& keys) {
    if (!keys.Serves(envelope.source())) return 0;
    const gp::Descriptor* type = gp::DescriptorPool::generated_pool()->FindMessageTypeByName(envelope.event_type());
    if (type == nullptr) return 0;
    std::unique_ptr<gp::Message> payload(gp::MessageFactory::generated_factory()->GetPrototype(type)->New());
    if (!envelope.payload().UnpackTo(payload.get())) return 0;  // the handler reports what it cannot read
    if (!AnyPersonalValue(*payload, [](const std::string& value) { return IsSealed(value); })) return 0;
    const std::optional<std::string> key =
        keys.DataKey(envelope.tenant_id(), envelope.source(), envelope.aggregate_id());
    int opened = 0;
    ForEachPersonalValue(*payload, [&](const std::string& field, std::string& value) {
        if (!IsSealed(value)) return;
        value = key ? Open(*key, {envelope.tenant_id(), envelope.aggregate_id(), field}, value) : std::string();
        ++opened;
    });
    envelope.mutable_payload()->PackFrom(*payload);
    return opened;
}

}  // namespace crm::common::privacy
