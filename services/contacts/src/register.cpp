#include "register.hpp"

#include <grpcpp/grpcpp.h>

#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "domain/normalize.hpp"
#include "domain/records.hpp"
#include "grpc_service.hpp"
#include "people/people.hpp"
#include "privacy/privacy.hpp"

namespace crm::contacts {
namespace {
constexpr char kDefaultCallingCode[] = "CRM_CONTACTS_DEFAULT_CALLING_CODE";
}

std::vector<common::EnvVar> ConfigVars() {
    return {{kDefaultCallingCode,
             "country calling code (1 to 3 digits, e.g. 1 or 44) for phone numbers written without + or 00; empty = "
             "such numbers are rejected",
             ""}};
}

void Register(common::ServiceApp& app) {
    domain::NormalizeSettings settings;
    settings.default_calling_code = app.config().Get(kDefaultCallingCode);
    if (!settings.default_calling_code.empty() && !domain::IsValidCallingCode(settings.default_calling_code)) {
        throw common::ConfigError(std::string(kDefaultCallingCode) + " must be 1 to 3 digits not starting with 0");
    }
    app.AddService(
        std::make_shared<ContactsService>(app.rpc(), app.metrics(), app.db(), app.outbox(), std::move(settings)));
    app.AddSubjectHandlers(privacy::SubjectHandlers());
    app.AddColumnBackfill("contacts",
                          [](common::Db& db) { return common::BackfillSealedColumns(db, people::SealedContacts()); });
}

}  // namespace crm::contacts
