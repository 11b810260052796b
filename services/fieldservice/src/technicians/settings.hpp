#pragma once
// Settings of the technicians area that the wiring reads (register.cpp): live location reports.

namespace crm::fieldservice::technicians {

struct LocationSettings {
    // At most one report per technician in this many seconds (by the service's clock).
    int min_interval_seconds = 5;
    // The newest reports kept per technician.
    int history = 100;
};

}  // namespace crm::fieldservice::technicians
