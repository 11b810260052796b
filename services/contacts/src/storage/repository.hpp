#pragma once
// The contacts repository: every read and write of the service's PostgreSQL database. Each public method runs in one
// tenant transaction of the common runtime (row-level security scopes it to the caller's tenant, and every statement
// filters by tenant as well), appends its event to the outbox in that same transaction, and throws
// crm::common::ApiError for anything a client must hear about. SQL lives in named constants (storage/sql.hpp) whose
// names label the crm_db_query_duration_seconds metric. No pqxx or protobuf types in this header.
#include <optional>
#include <string>
#include <vector>

#include "domain/custom_fields.hpp"
#include "domain/model.hpp"
#include "domain/normalize.hpp"
#include "domain/records.hpp"

namespace crm::common {
class Db;
class Outbox;
struct RequestContext;
}  // namespace crm::common

namespace crm::contacts::storage {

struct ContactListQuery {
    int page_size = 50;  // already resolved (1..500)
    std::string page_token;
    std::string tag;  // normalized; empty = any
    std::string owner_id;
    std::string company_id;  // UUID or empty
    std::optional<domain::Timestamp> updated_after;
    bool show_deleted = false;
};

struct CompanyListQuery {
    int page_size = 50;
    std::string page_token;
    std::string tag;
    std::string owner_id;
    std::optional<domain::Timestamp> updated_after;
    bool show_deleted = false;
};

struct DefinitionListQuery {
    int page_size = 50;
    std::string page_token;
    domain::CustomFieldEntity entity = domain::CustomFieldEntity::kUnspecified;  // unspecified = all
};

struct CreateContactResult {
    domain::Contact contact;
    std::vector<domain::DuplicateMatch> possible_duplicates;  // best first
};

// An update as the client asked for it: patch values are raw, mask paths already validated.
template <typename Fields>
struct Update {
    std::string id;
    Fields patch;
    std::vector<std::string> mask_paths;
    std::string expected_etag;  // empty = no check
};

// At most this many possible duplicates come back from CreateContact.
inline constexpr int kCreateDuplicateLimit = 10;

class Repository {
  public:
    Repository(common::Db& db, common::Outbox& outbox, domain::NormalizeSettings settings);

    // `contact` is normalized (domain::NormalizeContact). Idempotent by request_id.
    CreateContactResult CreateContact(const common::RequestContext& rc, const domain::ContactFields& contact,
                                      const std::string& request_id, bool allow_duplicate);
    domain::Contact GetContact(const common::RequestContext& rc, const std::string& id);
    domain::Page<domain::Contact> ListContacts(const common::RequestContext& rc, const ContactListQuery& query);
    domain::Contact UpdateContact(const common::RequestContext& rc, const Update<domain::ContactFields>& update);
    domain::Contact DeleteContact(const common::RequestContext& rc, const std::string& id, const std::string& etag);
    domain::Page<domain::Contact> SearchContacts(const common::RequestContext& rc,
                                                 const std::vector<domain::SearchTerm>& terms, int page_size,
                                                 const std::string& page_token);
    // Active, non-deleted contacts that look like the probe (score >= threshold), best first.
    std::vector<domain::DuplicateMatch> FindDuplicates(const common::RequestContext& rc,
                                                       const domain::DuplicateProbe& probe, int limit);
    // Same for a stored contact, which is excluded from the result. NOT_FOUND for an unknown id.
    std::vector<domain::DuplicateMatch> FindDuplicatesOf(const common::RequestContext& rc,
                                                         const std::string& contact_id, int limit);
    domain::Contact MergeContacts(const common::RequestContext& rc, const std::string& survivor_id,
                                  const std::vector<std::string>& loser_ids, const std::string& request_id,
                                  const std::string& survivor_etag);
    domain::ContactExport ExportContact(const common::RequestContext& rc, const std::string& id);
    domain::Contact EraseContact(const common::RequestContext& rc, const std::string& id);
    domain::Contact UpdateConsent(const common::RequestContext& rc, const std::string& id, domain::ConsentStatus status,
                                  const std::string& source);

    // `company` is normalized (domain::NormalizeCompany). Idempotent by request_id.
    domain::Company CreateCompany(const common::RequestContext& rc, const domain::CompanyFields& company,
                                  const std::string& request_id);
    domain::Company GetCompany(const common::RequestContext& rc, const std::string& id);
    domain::Page<domain::Company> ListCompanies(const common::RequestContext& rc, const CompanyListQuery& query);
    domain::Company UpdateCompany(const common::RequestContext& rc, const Update<domain::CompanyFields>& update);
    domain::Company DeleteCompany(const common::RequestContext& rc, const std::string& id, const std::string& etag);

    // `definition` is normalized (domain::NormalizeCustomFieldDefinition). Idempotent by request_id.
    domain::CustomFieldDefinition CreateDefinition(const common::RequestContext& rc,
                                                   const domain::CustomFieldDefinition& definition,
                                                   const std::string& request_id);
    domain::Page<domain::CustomFieldDefinition> ListDefinitions(const common::RequestContext& rc,
                                                                const DefinitionListQuery& query);
    void DeleteDefinition(const common::RequestContext& rc, const std::string& id);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    domain::NormalizeSettings settings_;
};

}  // namespace crm::contacts::storage
