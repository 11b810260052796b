#include "grpc_service.hpp"

#include <prometheus/registry.h>

#include "crm/common/metrics.hpp"
#include "custom_fields/custom_fields.hpp"
#include "metrics.hpp"

namespace crm::contacts {

ContactsMetrics::ContactsMetrics(common::Metrics& m)
    : possible_duplicates(prometheus::BuildCounter()
                              .Name("crm_contacts_possible_duplicates_total")
                              .Help("Likely duplicates reported to callers, by RPC.")
                              .Register(m.registry())),
      duplicates_on_create(possible_duplicates.Add({{"rpc", "CreateContact"}})),
      duplicates_on_find(possible_duplicates.Add({{"rpc", "FindDuplicates"}})),
      duplicate_rejections(prometheus::BuildCounter()
                               .Name("crm_contacts_duplicate_rejections_total")
                               .Help("Creates refused because an active contact has the same email.")
                               .Register(m.registry())
                               .Add({})),
      merge_requests(prometheus::BuildCounter()
                         .Name("crm_contacts_merge_requests_total")
                         .Help("MergeContacts calls that succeeded (retries with the same request_id included).")
                         .Register(m.registry())
                         .Add({})),
      merged_contacts(prometheus::BuildCounter()
                          .Name("crm_contacts_merged_contacts_total")
                          .Help("Losers named by successful MergeContacts calls.")
                          .Register(m.registry())
                          .Add({})),
      erase_requests(prometheus::BuildCounter()
                         .Name("crm_contacts_erase_requests_total")
                         .Help("EraseContact calls that succeeded (GDPR erasure).")
                         .Register(m.registry())
                         .Add({})) {}

ContactsService::ContactsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db,
                                 common::Outbox& outbox, domain::NormalizeSettings settings)
    : rpc_(rpc),
      db_(db),
      outbox_(outbox),
      settings_(std::move(settings)),
      metrics_(std::make_unique<ContactsMetrics>(metrics)),
      definitions_(std::make_unique<custom_fields::DefinitionCache>()) {}

ContactsService::~ContactsService() = default;

}  // namespace crm::contacts
