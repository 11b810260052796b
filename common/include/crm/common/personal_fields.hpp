#pragma once
// Personal fields in events, sealed by their producer and opened by the consumers that need them (issue 15;
// docs/privacy.md "Crypto-shredding").
//
// - Which fields are personal: one suite-wide list of full proto field names (PersonalFieldNames), e.g.
//   "crm.contacts.v1.Contact.email"; a unit test checks that every name exists and is a string field, and that no
//   event carries a string field named like personal data (email, phone, name, notes, body, ...) that the list
//   neither names nor explicitly exempts.
// - Producers: Outbox::Append seals every non-empty personal value of the event's payload (at any depth, repeated
//   and map values too) under the data key of the event's aggregate (the "subject": a contact, a lead, a case),
//   created in the same transaction when the aggregate has none (kit table crm_subject_keys, wrapped under the
//   tenant's key). An erasure (subject_data.hpp) destroys the keys of the aggregates it erased: every sealed copy
//   in the outbox, on Kafka and in any replay no longer opens.
// - Consumers: a consumer that needs personal fields in clear sets ConsumerSettings::keys (MakeRemoteKeySource); the
//   runtime opens each envelope before the handler sees it, asking the producing service for the aggregate's key
//   (SubjectKeyService, proto/crm/privacy/v1/keys.proto, with the consumer's own service identity). A value whose
//   key was destroyed opens as "": a replay after an erasure applies blanks. A producer that does not answer makes the
//   message wait (ApiError::Unavailable), never skips it.
//
// Include from wiring code and tests; it pulls in no generated or library headers.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/field_crypto.hpp"
#include "crm/common/tls.hpp"

namespace google::protobuf {
class Message;
}
namespace crm::common::v1 {
class EventEnvelope;
}

namespace crm::common::privacy {

// Full names of the personal string fields of every event the suite publishes (sorted).
const std::vector<std::string>& PersonalFieldNames();
bool IsPersonalField(std::string_view full_name);
// String fields of events named like personal data that are deliberately not sealed (a company's name, a stage, a
// lost reason analytics groups by), each with the reason: the checklist test's exemptions.
const std::map<std::string, std::string>& NotPersonalFieldNames();

// Calls `fn` for every non-empty value of a personal string field of `message`, at any depth (singular, repeated and
// map values); `fn` may replace the value. `field` is the field's full name.
void ForEachPersonalValue(google::protobuf::Message& message,
                          const std::function<void(const std::string& field, std::string& value)>& fn);

// Whether `message` holds a non-empty personal value anywhere (most events hold none: nothing to seal).
bool HasPersonalValues(const google::protobuf::Message& message);

// The process's master keys. RunService sets them from CRM_PRIVACY_KEYS; when that is empty they are derived from
// CRM_INTERNAL_KEY (one version, "v1"), which every replica shares. Code running outside RunService (tests) gets the
// same from the environment on first use. Throws std::runtime_error when neither is set.
Keyring KeyringFromSettings(std::string_view privacy_keys, std::string_view internal_key);
void SetProcessKeyring(Keyring keyring);
const Keyring& ProcessKeyring();

// Where a consumer gets a producer's subject keys.
class SubjectKeySource {
  public:
    virtual ~SubjectKeySource() = default;
    // Whether this source holds `service`'s keys at all: events of other producers keep their fields sealed (the
    // consumer does not need them).
    virtual bool Serves(const std::string& service) const = 0;
    // The data key of `subject` (an aggregate id) of `tenant`, held by `service`; std::nullopt when the key is gone
    // (erased). Throws ApiError::Unavailable when the service cannot be asked now.
    virtual std::optional<std::string> DataKey(const std::string& tenant, const std::string& service,
                                               const std::string& subject) = 0;
};

struct RemoteKeySettings {
    std::map<std::string, std::string> addresses;  // producing service ("contacts") -> gRPC target
    TlsFiles tls;
    std::string internal_key;    // signs the caller's service identity
    std::string caller_service;  // "marketing": the identity's role "service:marketing"
    std::chrono::milliseconds timeout{2000};
    // How long a fetched key (or its absence) is reused. An erasure therefore reaches a consumer's cache within
    // this time; documented in docs/privacy.md.
    std::chrono::seconds cache_ttl{30};
};
std::shared_ptr<SubjectKeySource> MakeRemoteKeySource(RemoteKeySettings settings);

// Opens the sealed personal fields of the envelope's payload in place, under the key of (tenant, source service,
// aggregate id). Payload types this process does not link, and producers `keys` does not serve, are left as they
// are. Values that do not open because
// their key is gone become ""; a value altered or sealed for another tenant, subject or field throws SealError.
// Returns the number of values opened or blanked.
int OpenEnvelope(v1::EventEnvelope& envelope, SubjectKeySource& keys);

}  // namespace crm::common::privacy
