#include "domain/suppression.hpp"

#include "crm/common/crypto.hpp"

namespace crm::marketing::domain {

SuppressionHasher::SuppressionHasher(std::string_view internal_key, std::string_view tenant) {
    std::string info = "crm-marketing-suppression-v1";
    info.push_back('\0');
    info.append(tenant);
    tenant_key_ = common::HmacSha256(internal_key, info);
}

std::string SuppressionHasher::operator()(std::string_view email) const {
    return std::string(kSuppressionHashPrefix) + common::HexEncode(common::HmacSha256(tenant_key_, email));
}

}  // namespace crm::marketing::domain
