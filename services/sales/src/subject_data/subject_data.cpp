#include "subject_data/subject_data.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "crm/common/rpc.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/subject_data.hpp"
#include "sealed.hpp"
#include "subject_data/sql.hpp"

namespace crm::sales::subject_data {
namespace {

using common::Subject;
using common::SubjectCall;

common::SubjectExport Export(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    const pqxx::result r = call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids);
    return {r[0][0].as<std::int64_t>(), r[0][1].as<std::string>()};
}

// The records of a statement returning (id, JSON object, wrapped key) rows, with these sealed columns opened (what the
// person is owed is the clear values, not the sealed bytes). `columns` are "<table>.<column>" names.
common::SubjectExport ExportOpened(SubjectCall& call, const common::Sql& sql, const Subject& subject,
                                   std::initializer_list<const char*> columns) {
    const common::SubjectParams p = common::ParamsOf(subject);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids)) {
        const common::ColumnKey key(call.rc.tenant_id, row[0].as<std::string>(), row[2]);
        nlohmann::json record = nlohmann::json::parse(row[1].as<std::string>());
        for (const char* column : columns) {
            const std::string name(std::string_view(column).substr(std::string_view(column).find('.') + 1));
            if (record.contains(name) && record[name].is_string()) {
                record[name] = key.Open(column, record[name].get<std::string>());
            }
        }
        out.push_back(std::move(record));
    }
    return {static_cast<std::int64_t>(out.size()), out.dump()};
}

// Every matched record is named for the outbox purge (its events are its own: aggregate = its id), also when a
// repeated erasure finds nothing left to blank; the count is of the records changed.
common::SubjectErasure Erase(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    common::SubjectErasure out;
    for (const auto& row :
         call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids, std::string(sql::kErasedMarker))) {
        if (row[1].as<bool>()) ++out.count;
        common::AddUnique(out.aggregate_ids, row[0].as<std::string>());
    }
    return out;
}

common::SubjectHandler Handler(const char* type, const common::Sql& export_sql, const common::Sql& erase_sql) {
    return {.resource_type = type,
            .resolve = nullptr,
            .export_records = [&export_sql](SubjectCall& c, const Subject& s) { return Export(c, export_sql, s); },
            .erase = [&erase_sql](SubjectCall& c, const Subject& s) { return Erase(c, erase_sql, s); }};
}

}  // namespace

// Erasing a record names it among the aggregates whose data keys the kit destroys: its sealed columns, in the table and
// in any backup, open no more, as its events' sealed fields.
std::vector<common::SubjectHandler> Handlers() {
    common::SubjectHandler opportunities = Handler("opportunity", sql::kExportOpportunities, sql::kEraseOpportunities);
    opportunities.export_records = [](SubjectCall& c, const Subject& s) {
        return ExportOpened(c, sql::kExportOpportunities, s, {sealed::kOpportunityDescription});
    };
    common::SubjectHandler activities = Handler("activity", sql::kExportActivities, sql::kEraseActivities);
    activities.export_records = [](SubjectCall& c, const Subject& s) {
        return ExportOpened(c, sql::kExportActivities, s,
                            {sealed::kActivitySubject, sealed::kActivityDescription, sealed::kActivityOutcome});
    };
    return {opportunities, activities, Handler("quote", sql::kExportQuotes, sql::kEraseQuotes)};
}

}  // namespace crm::sales::subject_data
