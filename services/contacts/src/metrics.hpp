#pragma once
// The service's own metrics (crm_contacts_*), next to the standard RPC metrics of the common runtime. Counted by the
// handlers when a call succeeds (rejections when it is refused as a duplicate).
#include <prometheus/counter.h>
#include <prometheus/family.h>

namespace crm::common {
class Metrics;
}

namespace crm::contacts {

struct ContactsMetrics {
    prometheus::Family<prometheus::Counter>& possible_duplicates;  // crm_contacts_possible_duplicates_total{rpc}
    prometheus::Counter& duplicates_on_create;
    prometheus::Counter& duplicates_on_find;
    prometheus::Counter& duplicate_rejections;  // crm_contacts_duplicate_rejections_total
    prometheus::Counter& merge_requests;        // crm_contacts_merge_requests_total
    prometheus::Counter& merged_contacts;       // crm_contacts_merged_contacts_total
    prometheus::Counter& erase_requests;        // crm_contacts_erase_requests_total

    explicit ContactsMetrics(common::Metrics& metrics);
};

}  // namespace crm::contacts
