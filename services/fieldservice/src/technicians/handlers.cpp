// The technician RPCs of FieldService (see grpc_service.hpp).
#include <algorithm>
#include <cmath>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/timezone.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "records.hpp"
#include "technicians/technicians.hpp"

namespace crm::fieldservice {
namespace {

using common::RequestContext;

domain::TimeValue TimeOf(bool present, const google::protobuf::Timestamp& t) {
    return {present, t.seconds(), t.nanos()};
}

// The fields of `t` named in `paths` (every field on create).
void CheckTechnician(common::Violations& v, const v1::Technician& t, const std::vector<std::string>& paths) {
    const auto has = [&](const char* p) { return std::find(paths.begin(), paths.end(), p) != paths.end(); };
    if (has("user_id")) common::CheckToken(v, t.user_id(), "technician.user_id", domain::kMaxUserIdLength, true);
    if (has("display_name")) common::CheckText(v, t.display_name(), "technician.display_name", domain::kTitleRule);
    if (has("skills") && common::CheckListSize(v, t.skills_size(), "technician.skills", domain::kMaxSkills)) {
        std::vector<std::string> names;
        for (int i = 0; i < t.skills_size(); ++i) {
            const auto& s = t.skills(i);
            const std::string f = "technician.skills[" + std::to_string(i) + "]";
            domain::CheckSkillName(v, s.skill(), f + ".skill");
            domain::CheckLevel(v, s.level(), f + ".level");
            if (s.has_expire_time()) {
                common::CheckTime(v, s.expire_time().seconds(), s.expire_time().nanos(), f + ".expire_time");
            }
            names.push_back(s.skill());
        }
        domain::CheckUnique(v, names, "technician.skills", "skill");
    }
    if (has("home_base")) {
        if (!t.has_home_base()) {
            v.Add("technician.home_base", "is required");
        } else {
            domain::CheckPoint(v, t.home_base().latitude(), t.home_base().longitude(), "technician.home_base");
        }
    }
    if (has("territory")) common::CheckToken(v, t.territory(), "technician.territory", domain::kMaxTokenLength);
    if (has("time_zone")) {
        bool known = false;
        if (common::CheckToken(v, t.time_zone(), "technician.time_zone", 64, true) &&
            common::IsTimeZoneName(t.time_zone())) {
            try {
                common::TimeZone::Load(t.time_zone());
                known = true;
            } catch (const std::invalid_argument&) {
            }
        }
        if (!known && !v.Has("technician.time_zone")) {
            v.Add("technician.time_zone", "must be an IANA time zone name, e.g. Europe/Berlin");
        }
    }
    if (has("working_hours") &&
        common::CheckListSize(v, t.working_hours_size(), "technician.working_hours", domain::kMaxWorkingHours)) {
        for (int i = 0; i < t.working_hours_size(); ++i) {
            const auto& h = t.working_hours(i);
            domain::CheckWorkingHours(v, {h.weekday(), h.start_minute(), h.end_minute()},
                                      "technician.working_hours[" + std::to_string(i) + "]");
        }
    }
    if (has("time_off") && common::CheckListSize(v, t.time_off_size(), "technician.time_off", domain::kMaxTimeOff)) {
        for (int i = 0; i < t.time_off_size(); ++i) {
            const auto& o = t.time_off(i);
            const std::string f = "technician.time_off[" + std::to_string(i) + "]";
            domain::CheckWindow(v, TimeOf(o.window().has_start_time(), o.window().start_time()),
                                TimeOf(o.window().has_end_time(), o.window().end_time()), f + ".window");
            common::CheckText(v, o.reason(), f + ".reason", domain::kShortText);
        }
    }
}

const std::vector<std::string> kCreateFields = {"user_id",   "display_name",  "skills",   "home_base",      "territory",
                                                "time_zone", "working_hours", "time_off", "van_location_id"};

}  // namespace

grpc::Status FieldService::CreateTechnician(grpc::ServerContext* sc, const v1::CreateTechnicianRequest* req,
                                            v1::CreateTechnicianResponse* resp) {
    return rpc_.Handle(sc, "CreateTechnician", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        v1::Technician t = req->technician();
        common::CheckToken(v, t.id(), "technician.id", domain::kMaxTokenLength);
        domain::CheckEtagSyntax(v, t.etag(), "technician.etag");
        CheckTechnician(v, t, kCreateFields);
        t.set_van_location_id(domain::CheckOptionalId(v, t.van_location_id(), "technician.van_location_id"));
        v.ThrowIfAny();
        *resp->mutable_technician() = technicians::Create(db_, outbox_, rc, t, req->request_id());
    });
}

grpc::Status FieldService::GetTechnician(grpc::ServerContext* sc, const v1::GetTechnicianRequest* req,
                                         v1::GetTechnicianResponse* resp) {
    return rpc_.Handle(sc, "GetTechnician", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_technician() = technicians::Get(db_, rc, id);
    });
}

grpc::Status FieldService::ListTechnicians(grpc::ServerContext* sc, const v1::ListTechniciansRequest* req,
                                           v1::ListTechniciansResponse* resp) {
    return rpc_.Handle(sc, "ListTechnicians", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        common::CheckToken(v, req->territory(), "territory", domain::kMaxTokenLength);
        v.ThrowIfAny();
        auto page = technicians::List(db_, rc, req->territory(), size, req->page_token());
        for (auto& t : page.items) *resp->add_technicians() = std::move(t);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status FieldService::UpdateTechnician(grpc::ServerContext* sc, const v1::UpdateTechnicianRequest* req,
                                            v1::UpdateTechnicianResponse* resp) {
    return rpc_.Handle(sc, "UpdateTechnician", [&](const RequestContext& rc) {
        common::Violations v;
        v1::Technician t = req->technician();
        t.set_id(common::CheckId(v, t.id(), "technician.id"));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, t.etag(), "technician.etag");
        const auto paths = UpdatePaths(v, req->update_mask(),
                                       {"display_name", "skills", "home_base", "territory", "time_zone",
                                        "working_hours", "time_off", "van_location_id", "active"},
                                       [&](const std::string& f) {
                                           if (f == "display_name") return !t.display_name().empty();
                                           if (f == "skills") return t.skills_size() > 0;
                                           if (f == "home_base") return t.has_home_base();
                                           if (f == "territory") return !t.territory().empty();
                                           if (f == "time_zone") return !t.time_zone().empty();
                                           if (f == "working_hours") return t.working_hours_size() > 0;
                                           if (f == "time_off") return t.time_off_size() > 0;
                                           if (f == "van_location_id") return !t.van_location_id().empty();
                                           return false;  // a bool cannot be told from unset: name it in the mask
                                       });
        CheckTechnician(v, t, paths);
        t.set_van_location_id(domain::CheckOptionalId(v, t.van_location_id(), "technician.van_location_id"));
        v.ThrowIfAny();
        *resp->mutable_technician() =
            technicians::Update(db_, outbox_, rc, t, paths, req->etag().empty() ? t.etag() : req->etag());
    });
}

grpc::Status FieldService::ReportLocation(grpc::ServerContext* sc, const v1::ReportLocationRequest* req,
                                          v1::ReportLocationResponse* resp) {
    return rpc_.Handle(sc, "ReportLocation", [&](const RequestContext& rc) {
        common::Violations v;
        v1::ReportLocationRequest in = *req;
        in.set_technician_id(common::CheckId(v, in.technician_id(), "technician_id"));
        if (!in.has_location()) {
            v.Add("location", "is required");
        } else {
            domain::CheckPoint(v, in.location().latitude(), in.location().longitude(), "location");
        }
        const std::int64_t now = NowMicros();
        std::int64_t at = now;
        if (in.has_location_time()) {
            const auto& t = in.location_time();
            if (common::CheckTime(v, t.seconds(), t.nanos(), "location_time")) {
                at = Micros(t);
                if (at > now + domain::kClockSkewMicros) {
                    v.Add("location_time", "lies in the future");
                } else if (at < now - domain::kMaxLocationAgeMicros) {
                    v.Add("location_time", "is more than 24 hours old");
                }
            }
        }
        if (!std::isfinite(in.accuracy_meters()) || in.accuracy_meters() < 0 ||
            in.accuracy_meters() > domain::kMaxAccuracyMeters) {
            v.Add("accuracy_meters", "must be 0 (unknown) to 100000 metres");
        }
        v.ThrowIfAny();
        *resp = technicians::ReportLocation(db_, rc, locations_, in, at);
    });
}

}  // namespace crm::fieldservice
