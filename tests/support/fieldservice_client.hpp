#pragma once
// A thin typed client for crm.fieldservice.v1 used by the integration tests and the benchmark, with helpers that
// build technicians and work orders (REQUIRE success).
#include <crm/fieldservice/v1/fieldservice.grpc.pb.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace crm::test {

namespace fv1 = crm::fieldservice::v1;

template <class Resp>
struct FsResult {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class FieldServiceClient {
  public:
    explicit FieldServiceClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(fv1::FieldServiceService::NewStub(channel)) {}

#define CRM_FS_RPC(Name)                                                                       \
    FsResult<fv1::Name##Response> Name(const fv1::Name##Request& req,                          \
                                       const std::map<std::string, std::string>& extra = {}) { \
        FsResult<fv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                               \
        PrepareFor(ctx, RpcName<fv1::FieldServiceService>(#Name), token_, extra);              \
        r.status = stub_->Name(&ctx, req, &r.response);                                        \
        return r;                                                                              \
    }
    CRM_FS_RPC(CreateWorkOrder)
    CRM_FS_RPC(GetWorkOrder)
    CRM_FS_RPC(ListWorkOrders)
    CRM_FS_RPC(UpdateWorkOrder)
    CRM_FS_RPC(ChangeWorkOrderStatus)
    CRM_FS_RPC(CompleteWorkOrder)
    CRM_FS_RPC(CreateTechnician)
    CRM_FS_RPC(GetTechnician)
    CRM_FS_RPC(ListTechnicians)
    CRM_FS_RPC(UpdateTechnician)
    CRM_FS_RPC(ReportLocation)
    CRM_FS_RPC(FindCandidates)
    CRM_FS_RPC(DispatchWorkOrder)
    CRM_FS_RPC(RescheduleWorkOrder)
    CRM_FS_RPC(UnassignWorkOrder)
    CRM_FS_RPC(ListAppointments)
    CRM_FS_RPC(PlanDay)
    CRM_FS_RPC(SyncTechnicianDay)
    CRM_FS_RPC(CreatePart)
    CRM_FS_RPC(GetPart)
    CRM_FS_RPC(ListParts)
    CRM_FS_RPC(CreateStockLocation)
    CRM_FS_RPC(ListStockLocations)
    CRM_FS_RPC(AdjustStock)
    CRM_FS_RPC(TransferStock)
    CRM_FS_RPC(ReservePart)
    CRM_FS_RPC(ListStockLevels)
    CRM_FS_RPC(SetVisitCategories)
    CRM_FS_RPC(ListVisitCategories)
#undef CRM_FS_RPC

  private:
    std::string token_;
    std::unique_ptr<fv1::FieldServiceService::Stub> stub_;
};

// Seconds since the epoch of a UTC date and time.
inline std::int64_t UtcSeconds(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
    // days_from_civil (H. Hinnant)
    const int yy = y - (m <= 2);
    const int era = (yy >= 0 ? yy : yy - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(yy - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
    return days * 86400 + hh * 3600 + mm * 60;
}

inline google::protobuf::Timestamp Ts(std::int64_t seconds) {
    google::protobuf::Timestamp t;
    t.set_seconds(seconds);
    return t;
}

inline fv1::TimeWindow Window(std::int64_t start, std::int64_t end) {
    fv1::TimeWindow w;
    *w.mutable_start_time() = Ts(start);
    *w.mutable_end_time() = Ts(end);
    return w;
}

// Great-circle distance on the mean-radius sphere, as the service computes it (for hand-computed expectations).
inline double Haversine(double lat1, double lon1, double lat2, double lon2) {
    constexpr double kPi = 3.14159265358979323846;
    const auto rad = [&](double d) { return d * kPi / 180; };
    const double h = std::pow(std::sin(rad(lat2 - lat1) / 2), 2) +
                     std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::pow(std::sin(rad(lon2 - lon1) / 2), 2);
    return 2 * 6371008.8 * std::asin(std::sqrt(h));
}

struct TechnicianSpec {
    std::string user_id;
    double latitude = 52.52;
    double longitude = 13.405;
    std::vector<std::pair<std::string, int>> skills = {{"hvac", 3}};
    std::string time_zone = "Europe/Berlin";
    int start_minute = 8 * 60;  // Monday to Friday
    int end_minute = 17 * 60;
    std::string territory;
};

inline fv1::Technician MustTechnician(FieldServiceClient& api, const TechnicianSpec& spec,
                                      const std::vector<fv1::Skill>& extra_skills = {},
                                      const std::vector<fv1::TimeOff>& time_off = {}) {
    fv1::CreateTechnicianRequest req;
    auto* t = req.mutable_technician();
    t->set_user_id(spec.user_id);
    t->set_display_name("Tech " + spec.user_id);
    t->mutable_home_base()->set_latitude(spec.latitude);
    t->mutable_home_base()->set_longitude(spec.longitude);
    t->set_time_zone(spec.time_zone);
    t->set_territory(spec.territory);
    for (const auto& [skill, level] : spec.skills) {
        auto* s = t->add_skills();
        s->set_skill(skill);
        s->set_level(level);
    }
    for (const auto& s : extra_skills) *t->add_skills() = s;
    for (const auto& o : time_off) *t->add_time_off() = o;
    for (int d = 1; d <= 5; ++d) {
        auto* h = t->add_working_hours();
        h->set_weekday(d);
        h->set_start_minute(spec.start_minute);
        h->set_end_minute(spec.end_minute);
    }
    auto r = api.CreateTechnician(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.technician();
}

struct WorkOrderSpec {
    double latitude = 52.52;
    double longitude = 13.405;
    int duration_minutes = 60;
    std::vector<std::pair<std::string, int>> skills = {{"hvac", 2}};
    std::vector<fv1::TimeWindow> windows;
    std::vector<std::string> checklist;
    std::string case_id;
};

inline fv1::WorkOrder MustWorkOrder(FieldServiceClient& api, const WorkOrderSpec& spec) {
    fv1::CreateWorkOrderRequest req;
    auto* w = req.mutable_work_order();
    w->set_title("Repair");
    w->mutable_site()->set_address("Alexanderplatz 1, Berlin");
    w->mutable_site()->mutable_location()->set_latitude(spec.latitude);
    w->mutable_site()->mutable_location()->set_longitude(spec.longitude);
    w->set_work_type("repair");
    w->set_duration_minutes(spec.duration_minutes);
    w->set_case_id(spec.case_id);
    for (const auto& [skill, level] : spec.skills) {
        auto* s = w->add_required_skills();
        s->set_skill(skill);
        s->set_min_level(level);
    }
    for (const auto& tw : spec.windows) *w->add_time_windows() = tw;
    for (const auto& c : spec.checklist) w->add_checklist(c);
    auto r = api.CreateWorkOrder(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.work_order();
}

// Rows of a fieldservice table for one tenant, counted by the superuser (RLS bypassed).
inline long long FsRows(const std::string& table, const std::string& tenant) {
    return std::stoll(
        QueryScalar("fieldservice", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant + "'"));
}

// A bearer token of a technician (role technician only) of `tenant`, user `user`.
inline std::string TechnicianToken(const std::string& tenant, const std::string& user) {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.user = user;
    spec.roles = {"technician"};
    return MintToken(spec);
}

// Now, in whole seconds since the epoch.
inline std::int64_t NowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace crm::test
