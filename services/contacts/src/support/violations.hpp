#pragma once
// Bridges domain field violations to the common error type.
#include "crm/common/errors.hpp"
#include "domain/types.hpp"

namespace crm::contacts {

// Throws ApiError INVALID_ARGUMENT listing every violation; returns when there is none.
inline void ThrowIfInvalid(const domain::FieldViolations& violations) {
    if (!violations.empty()) throw common::ApiError::InvalidArgument(violations);
}

}  // namespace crm::contacts
