#pragma once
// The customer-view area: GetCustomer360. The contacts, sales, leads and marketing services are called in parallel on
// the caller's behalf (gRPC's callback API: no thread waits per call), each section with its own deadline, while the
// person's cases are read from support's own database; the handler's thread waits at most until the latest section
// deadline. A section whose service fails, is slow or is not configured is marked and the rest still answers.
#include <crm/support/v1/customer360.pb.h>

#include <chrono>
#include <memory>
#include <string>

#include "crm/common/rpc.hpp"
#include "crm/common/tls.hpp"

namespace crm::common {
class Db;
class Metrics;
}  // namespace crm::common

namespace prometheus {
class Counter;
class Histogram;
template <class T>
class Family;
}  // namespace prometheus

namespace crm::support::customer360 {

namespace v1 = crm::support::v1;

struct Settings {
    std::string contacts_addr, sales_addr, leads_addr, marketing_addr;  // empty = that section is NOT_CONFIGURED
    std::string internal_key;                                           // signs the caller's identity downstream
    common::TlsFiles tls;                                               // empty = plaintext
    std::chrono::milliseconds section_timeout{1000};                    // capped by the caller's own deadline
};

class CustomerView {
  public:
    // metrics: crm_support_view_sections_total{section, status}, one per section of every view answered, and
    // crm_support_view_section_seconds{section}: how long each section took from the start of the view (its slowest
    // call; the cases' read for cases), the view's profile.
    CustomerView(common::Db& db, Settings settings, common::Metrics& metrics);
    ~CustomerView();
    CustomerView(const CustomerView&) = delete;
    CustomerView& operator=(const CustomerView&) = delete;

    // contact_id: a checked UUID. NOT_FOUND when contacts answers that there is no such contact.
    v1::GetCustomer360Response Get(const common::RequestContext& rc, const std::string& contact_id);

    struct Stubs;  // the other services' stubs (view.cpp), shared with the calls in flight

  private:
    common::Db& db_;
    Settings settings_;
    std::shared_ptr<Stubs> stubs_;
    prometheus::Family<prometheus::Counter>& sections_;
    prometheus::Histogram* section_seconds_[5];  // in the order of the sections' names (view.cpp)
};

}  // namespace crm::support::customer360
