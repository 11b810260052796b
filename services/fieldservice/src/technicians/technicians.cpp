// Technicians (see technicians.hpp).
#include "technicians/technicians.hpp"

#include <crm/fieldservice/events/v1/events.pb.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/timezone.hpp"
#include "records.hpp"
#include "technicians/sql.hpp"

namespace crm::fieldservice::technicians {
namespace {

namespace ev = crm::fieldservice::events::v1;
using common::ApiError;
using nlohmann::json;

// A row of CRM_TECHNICIAN_COLUMNS (technicians/sql.hpp).
v1::Technician ReadTechnician(const pqxx::row& r) {
    v1::Technician t;
    t.set_id(r[0].as<std::string>());
    t.set_user_id(r[1].as<std::string>());
    t.set_display_name(r[2].as<std::string>());
    t.mutable_home_base()->set_latitude(r[3].as<double>());
    t.mutable_home_base()->set_longitude(r[4].as<double>());
    t.set_territory(r[5].as<std::string>());
    t.set_time_zone(r[6].as<std::string>());
    for (const auto& h : json::parse(r[7].as<std::string>())) {
        auto* w = t.add_working_hours();
        w->set_weekday(h.at("weekday").get<int>());
        w->set_start_minute(h.at("start_minute").get<int>());
        w->set_end_minute(h.at("end_minute").get<int>());
    }
    for (const auto& o : json::parse(r[8].as<std::string>())) {
        auto* off = t.add_time_off();
        *off->mutable_window()->mutable_start_time() = FromMicros(o.at("start").get<std::int64_t>());
        *off->mutable_window()->mutable_end_time() = FromMicros(o.at("end").get<std::int64_t>());
        off->set_reason(o.value("reason", ""));
    }
    t.set_van_location_id(r[9].as<std::string>());
    t.set_active(r[10].as<bool>());
    SetTime(t.mutable_create_time(), r[11]);
    SetTime(t.mutable_update_time(), r[12]);
    t.set_version(r[13].as<std::int64_t>());
    t.set_etag(common::MakeEtag(t.version()));
    for (const auto& s : json::parse(r[14].as<std::string>())) {
        auto* skill = t.add_skills();
        skill->set_skill(s.at("skill").get<std::string>());
        skill->set_level(s.at("level").get<int>());
        if (!s.at("expire").is_null()) *skill->mutable_expire_time() = FromMicros(s.at("expire").get<std::int64_t>());
    }
    const std::string location = r[15].as<std::string>();
    if (!location.empty()) {
        const json l = json::parse(location);
        auto* out = t.mutable_last_location();
        out->mutable_location()->set_latitude(l.at("lat").get<double>());
        out->mutable_location()->set_longitude(l.at("lon").get<double>());
        *out->mutable_location_time() = FromMicros(l.at("at").get<std::int64_t>());
        out->set_accuracy_meters(l.at("accuracy").get<double>());
        *out->mutable_receive_time() = FromMicros(l.at("received").get<std::int64_t>());
    }
    return t;
}

std::string WorkingHoursJson(const v1::Technician& t) {
    json out = json::array();
    for (const auto& h : t.working_hours()) {
        out.push_back({{"weekday", h.weekday()}, {"start_minute", h.start_minute()}, {"end_minute", h.end_minute()}});
    }
    return out.dump();
}

std::string TimeOffJson(const v1::Technician& t) {
    json out = json::array();
    for (const auto& o : t.time_off()) {
        out.push_back({{"start", Micros(o.window().start_time())},
                       {"end", Micros(o.window().end_time())},
                       {"reason", o.reason()}});
    }
    return out.dump();
}

std::string SkillsJson(const v1::Technician& t) {
    json out = json::array();
    for (const auto& s : t.skills()) {
        out.push_back({{"skill", s.skill()},
                       {"level", s.level()},
                       {"expire", s.has_expire_time() ? json(Micros(s.expire_time())) : json(nullptr)}});
    }
    return out.dump();
}

void WriteSkills(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Technician& t) {
    db.Exec(tx, sql::kDeleteSkills, tenant, t.id());
    db.Exec(tx, sql::kInsertSkills, tenant, t.id(), SkillsJson(t));
}

bool SameSkills(const v1::Technician& a, const v1::Technician& b) { return SkillsJson(a) == SkillsJson(b); }

}  // namespace

void RequireOwn(const RequestContext& rc, const v1::Technician& t) {
    const Actor actor = ActorOf(rc);
    if (actor.technician_only && t.user_id() != actor.user_id) throw ApiError::NotFound("technician", t.id());
}

v1::Technician Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                    bool for_update) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetTechnicianForUpdate : sql::kGetTechnician, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("technician", id);
    return ReadTechnician(rows[0]);
}

std::optional<std::string> IdOfUser(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::string& user_id) {
    const pqxx::result rows = db.Exec(tx, sql::kTechnicianOfUser, tenant, user_id);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
}

v1::Technician Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Technician& in,
                      const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        v1::Technician next = in;
        next.set_id(common::NewUuid());
        if (auto first = common::ClaimRequest(db, tx, t, "CreateTechnician", request_id, next.id())) {
            return Load(db, tx, t, *first);
        }
        const pqxx::result rows =
            db.Exec(tx, sql::kInsertTechnician, t, next.id(), next.user_id(), next.display_name(),
                    next.home_base().latitude(), next.home_base().longitude(), next.territory(), next.time_zone(),
                    WorkingHoursJson(next), TimeOffJson(next), common::NullIfEmpty(next.van_location_id()));
        if (rows.empty()) {
            throw ApiError::AlreadyExists("a technician with this user_id exists", "TECHNICIAN_EXISTS")
                .With("user_id", next.user_id());
        }
        WriteSkills(db, tx, t, next);
        v1::Technician created = Load(db, tx, t, next.id());
        ev::TechnicianCreated event;
        *event.mutable_technician() = created;
        Emit(outbox, tx, rc, "technician", created.id(), created.version(), event, created.create_time());
        return created;
    });
}

v1::Technician Get(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        v1::Technician t = Load(db, tx, rc.tenant_id, id);
        RequireOwn(rc, t);
        return t;
    });
}

common::Page<v1::Technician> List(common::Db& db, const RequestContext& rc, const std::string& territory, int page_size,
                                  const std::string& page_token) {
    const std::string scope = json{"ListTechnicians", territory}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::Technician> items = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Technician> out;
        const pqxx::result rows =
            territory.empty() ? db.Exec(tx, sql::kListTechnicians, rc.tenant_id, after.micros, after.id, page_size + 1)
                              : db.Exec(tx, sql::kListTechniciansOfTerritory, rc.tenant_id, after.micros, after.id,
                                        page_size + 1, territory);
        for (const auto& r : rows) out.push_back(ReadTechnician(r));
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Technician& t) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(t.create_time()), t.id()});
    });
}

v1::Technician Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Technician& in,
                      const std::vector<std::string>& paths, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Technician current = Load(db, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        v1::Technician next = current;
        std::vector<std::string> changed;
        for (const auto& p : paths) {
            if (p == "display_name") next.set_display_name(in.display_name());
            if (p == "skills") *next.mutable_skills() = in.skills();
            if (p == "home_base") *next.mutable_home_base() = in.home_base();
            if (p == "territory") next.set_territory(in.territory());
            if (p == "time_zone") next.set_time_zone(in.time_zone());
            if (p == "working_hours") *next.mutable_working_hours() = in.working_hours();
            if (p == "time_off") *next.mutable_time_off() = in.time_off();
            if (p == "van_location_id") next.set_van_location_id(in.van_location_id());
            if (p == "active") next.set_active(in.active());
        }
        if (next.display_name() != current.display_name()) changed.push_back("display_name");
        if (!SameSkills(next, current)) changed.push_back("skills");
        if (next.home_base().SerializeAsString() != current.home_base().SerializeAsString()) {
            changed.push_back("home_base");
        }
        if (next.territory() != current.territory()) changed.push_back("territory");
        if (next.time_zone() != current.time_zone()) changed.push_back("time_zone");
        if (WorkingHoursJson(next) != WorkingHoursJson(current)) changed.push_back("working_hours");
        if (TimeOffJson(next) != TimeOffJson(current)) changed.push_back("time_off");
        if (next.van_location_id() != current.van_location_id()) changed.push_back("van_location_id");
        if (next.active() != current.active()) changed.push_back("active");
        if (changed.empty()) return current;
        const pqxx::result rows =
            db.Exec(tx, sql::kWriteTechnician, t, in.id(), next.display_name(), next.home_base().latitude(),
                    next.home_base().longitude(), next.territory(), next.time_zone(), WorkingHoursJson(next),
                    TimeOffJson(next), common::NullIfEmpty(next.van_location_id()), next.active(), current.version());
        if (rows.empty()) throw ApiError::Aborted("the technician changed concurrently; read it again and retry");
        if (!SameSkills(next, current)) WriteSkills(db, tx, t, next);
        v1::Technician updated = Load(db, tx, t, in.id());
        ev::TechnicianUpdated event;
        *event.mutable_technician() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        Emit(outbox, tx, rc, "technician", updated.id(), updated.version(), event, updated.update_time());
        return updated;
    });
}

std::vector<Near> NearestQualified(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const v1::GeoPoint& site, const std::vector<v1::RequiredSkill>& skills,
                                   std::int64_t valid_at_micros, int limit) {
    json required = json::array();
    for (const auto& s : skills) required.push_back({{"skill", s.skill()}, {"min_level", s.min_level()}});
    std::vector<Near> out;
    for (const auto& r : db.Exec(tx, sql::kNearestQualified, tenant, site.latitude(), site.longitude(), required.dump(),
                                 valid_at_micros, limit)) {
        out.push_back({ReadTechnician(r), r[sql::kTechnicianColumnCount].as<double>()});
    }
    return out;
}

std::vector<Near> NearestQualifiedLive(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                       const v1::GeoPoint& site, const std::vector<v1::RequiredSkill>& skills,
                                       std::int64_t valid_at_micros, std::int64_t reported_after_micros, int limit) {
    json required = json::array();
    for (const auto& s : skills) required.push_back({{"skill", s.skill()}, {"min_level", s.min_level()}});
    std::vector<Near> out;
    for (const auto& r : db.Exec(tx, sql::kNearestQualifiedLive, tenant, site.latitude(), site.longitude(),
                                 required.dump(), valid_at_micros, limit, reported_after_micros)) {
        out.push_back({ReadTechnician(r), r[sql::kTechnicianColumnCount].as<double>()});
    }
    return out;
}

domain::Calendar CalendarOf(const v1::Technician& t) {
    domain::Calendar c;
    try {
        c.zone = common::TimeZone::Load(t.time_zone());
    } catch (const std::invalid_argument&) {
        throw ApiError::FailedPrecondition("the technician's time zone is not known here", "UNKNOWN_TIME_ZONE");
    }
    for (const auto& h : t.working_hours()) c.hours.push_back({h.weekday(), h.start_minute(), h.end_minute()});
    for (const auto& o : t.time_off()) {
        c.time_off.push_back({o.window().start_time().seconds(),
                              o.window().end_time().seconds() + (o.window().end_time().nanos() > 0 ? 1 : 0)});
    }
    c.home = {t.home_base().latitude(), t.home_base().longitude()};
    return c;
}

std::int64_t CertifiedUntil(const v1::Technician& t, const std::vector<v1::RequiredSkill>& skills) {
    std::int64_t until = std::numeric_limits<std::int64_t>::max();
    for (const auto& need : skills) {
        for (const auto& s : t.skills()) {
            if (s.skill() == need.skill() && s.has_expire_time()) until = std::min(until, Micros(s.expire_time()));
        }
    }
    return until;
}

bool Qualified(const v1::Technician& t, const std::vector<v1::RequiredSkill>& skills, std::int64_t until_micros) {
    for (const auto& need : skills) {
        bool ok = false;
        for (const auto& s : t.skills()) {
            if (s.skill() == need.skill() && s.level() >= need.min_level() &&
                (!s.has_expire_time() || Micros(s.expire_time()) >= until_micros)) {
                ok = true;
            }
        }
        if (!ok) return false;
    }
    return true;
}

}  // namespace crm::fieldservice::technicians
