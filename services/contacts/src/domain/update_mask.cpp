#include "domain/update_mask.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "domain/custom_fields.hpp"

namespace crm::contacts::domain {
namespace {

constexpr std::string_view kCustomFieldsPath = "custom_fields";
constexpr std::string_view kCustomFieldsPrefix = "custom_fields.";
constexpr std::string_view kTagsPath = "tags";
constexpr std::string_view kWildcard = "*";

template <typename Fields>
struct ScalarField {
    std::string_view path;
    std::string Fields::*member;
};

constexpr std::array<ScalarField<ContactFields>, 7> kContactScalars = {{
    {"given_name", &ContactFields::given_name},
    {"family_name", &ContactFields::family_name},
    {"email", &ContactFields::email},
    {"phone", &ContactFields::phone},
    {"job_title", &ContactFields::job_title},
    {"company_id", &ContactFields::company_id},
    {"owner_id", &ContactFields::owner_id},
}};

constexpr std::array<ScalarField<CompanyFields>, 4> kCompanyScalars = {{
    {"name", &CompanyFields::name},
    {"domain", &CompanyFields::domain},
    {"industry", &CompanyFields::industry},
    {"owner_id", &CompanyFields::owner_id},
}};

template <typename Fields, std::size_t N>
std::vector<std::string_view> AllPaths(const std::array<ScalarField<Fields>, N>& scalars) {
    std::vector<std::string_view> paths;
    for (const auto& scalar : scalars) paths.push_back(scalar.path);
    paths.push_back(kTagsPath);
    paths.push_back(kCustomFieldsPath);
    return paths;
}

template <typename Fields, std::size_t N>
std::vector<std::string> EffectiveMask(const std::array<ScalarField<Fields>, N>& scalars,
                                       const std::vector<std::string>& paths, const Fields& patch) {
    if (paths.size() == 1 && paths.front() == kWildcard) {
        const auto all = AllPaths(scalars);
        return {all.begin(), all.end()};
    }
    if (!paths.empty()) return paths;
    std::vector<std::string> implied;
    for (const auto& scalar : scalars) {
        if (!(patch.*scalar.member).empty()) implied.emplace_back(scalar.path);
    }
    if (!patch.tags.empty()) implied.emplace_back(kTagsPath);
    for (const auto& entry : patch.custom_fields) implied.push_back(std::string(kCustomFieldsPrefix) + entry.first);
    return implied;
}

template <typename Fields, std::size_t N>
Fields ApplyMask(const std::array<ScalarField<Fields>, N>& scalars, const Fields& current, const Fields& patch,
                 const std::vector<std::string>& effective_paths) {
    Fields result = current;
    for (const std::string& path : effective_paths) {
        if (path == kTagsPath) {
            result.tags = patch.tags;
        } else if (path == kCustomFieldsPath) {
            result.custom_fields = patch.custom_fields;
        } else if (path.starts_with(kCustomFieldsPrefix)) {
            const std::string key = path.substr(kCustomFieldsPrefix.size());
            const auto value = patch.custom_fields.find(key);
            if (value == patch.custom_fields.end() || value->second.empty()) {
                result.custom_fields.erase(key);
            } else {
                result.custom_fields[key] = value->second;
            }
        } else {
            for (const auto& scalar : scalars) {
                if (scalar.path == path) result.*scalar.member = patch.*scalar.member;
            }
        }
    }
    return result;
}

template <typename Fields, std::size_t N>
std::vector<std::string> ChangedPaths(const std::array<ScalarField<Fields>, N>& scalars, const Fields& before,
                                      const Fields& after) {
    std::vector<std::string> changed;
    for (const auto& scalar : scalars) {
        if (before.*scalar.member != after.*scalar.member) changed.emplace_back(scalar.path);
    }
    if (before.tags != after.tags) changed.emplace_back(kTagsPath);
    std::set<std::string> keys;
    for (const auto& entry : before.custom_fields) keys.insert(entry.first);
    for (const auto& entry : after.custom_fields) keys.insert(entry.first);
    for (const std::string& key : keys) {
        const auto old_value = before.custom_fields.find(key);
        const auto new_value = after.custom_fields.find(key);
        const bool had = old_value != before.custom_fields.end();
        const bool has = new_value != after.custom_fields.end();
        if (had != has || (had && old_value->second != new_value->second)) {
            changed.push_back(std::string(kCustomFieldsPrefix) + key);
        }
    }
    return changed;
}

}  // namespace

const std::vector<std::string_view>& AllowedMaskPaths(MaskedEntity entity) {
    static const std::vector<std::string_view> contact = AllPaths(kContactScalars);
    static const std::vector<std::string_view> company = AllPaths(kCompanyScalars);
    return entity == MaskedEntity::kContact ? contact : company;
}

common::Violations ValidateUpdateMask(MaskedEntity entity, const std::vector<std::string>& paths) {
    common::Violations violations;
    const auto& allowed = AllowedMaskPaths(entity);
    for (const std::string& path : paths) {
        if (path == kWildcard) {
            if (paths.size() != 1) violations.Add("update_mask", "\"*\" cannot be combined with other paths");
        } else if (path.starts_with(kCustomFieldsPrefix)) {
            if (!IsValidCustomFieldKey(std::string_view(path).substr(kCustomFieldsPrefix.size()))) {
                violations.Add("update_mask", "path \"" + path + "\" names an invalid custom field key");
            }
        } else if (std::find(allowed.begin(), allowed.end(), path) == allowed.end()) {
            violations.Add("update_mask", "path \"" + path + "\" cannot be updated");
        }
    }
    return violations;
}

std::vector<std::string> EffectiveContactMask(const std::vector<std::string>& paths, const ContactFields& patch) {
    return EffectiveMask(kContactScalars, paths, patch);
}

std::vector<std::string> EffectiveCompanyMask(const std::vector<std::string>& paths, const CompanyFields& patch) {
    return EffectiveMask(kCompanyScalars, paths, patch);
}

ContactFields ApplyContactMask(const ContactFields& current, const ContactFields& patch,
                               const std::vector<std::string>& effective_paths) {
    return ApplyMask(kContactScalars, current, patch, effective_paths);
}

CompanyFields ApplyCompanyMask(const CompanyFields& current, const CompanyFields& patch,
                               const std::vector<std::string>& effective_paths) {
    return ApplyMask(kCompanyScalars, current, patch, effective_paths);
}

bool MaskTouchesCustomFields(const std::vector<std::string>& effective_paths) {
    return std::any_of(effective_paths.begin(), effective_paths.end(), [](const std::string& path) {
        return path == kCustomFieldsPath || path.starts_with(kCustomFieldsPrefix);
    });
}

std::vector<std::string> ChangedContactPaths(const ContactFields& before, const ContactFields& after) {
    return ChangedPaths(kContactScalars, before, after);
}

std::vector<std::string> ChangedCompanyPaths(const CompanyFields& before, const CompanyFields& after) {
    return ChangedPaths(kCompanyScalars, before, after);
}

}  // namespace crm::contacts::domain
