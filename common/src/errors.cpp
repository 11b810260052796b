#include "crm/common/errors.hpp"

namespace crm::common {

ApiError::ApiError(grpc::StatusCode code, std::string message, std::string reason,
                   std::vector<FieldViolation> violations)
    : std::runtime_error(std::move(message)),
      code_(code),
      reason_(std::move(reason)),
      violations_(std::move(violations)) {}

ApiError ApiError::InvalidArgument(std::vector<FieldViolation> violations) {
    std::string message = "invalid request";
    if (!violations.empty()) {
        message += ": " + violations.front().field + ": " + violations.front().description;
        if (violations.size() > 1) message += " (and " + std::to_string(violations.size() - 1) + " more)";
    }
    return ApiError(grpc::StatusCode::INVALID_ARGUMENT, message, "INVALID_ARGUMENT", std::move(violations));
}

ApiError ApiError::InvalidArgument(std::string field, std::string description) {
    return InvalidArgument(std::vector<FieldViolation>{{std::move(field), std::move(description)}});
}

ApiError ApiError::NotFound(const std::string& resource, const std::string& id) {
    return ApiError(grpc::StatusCode::NOT_FOUND, resource + " " + id + " not found", "NOT_FOUND");
}

ApiError ApiError::AlreadyExists(std::string message, std::string reason) {
    return ApiError(grpc::StatusCode::ALREADY_EXISTS, std::move(message), std::move(reason));
}

ApiError ApiError::FailedPrecondition(std::string message, std::string reason) {
    return ApiError(grpc::StatusCode::FAILED_PRECONDITION, std::move(message), std::move(reason));
}

ApiError ApiError::Aborted(std::string message, std::string reason) {
    return ApiError(grpc::StatusCode::ABORTED, std::move(message), std::move(reason));
}

ApiError ApiError::Unauthenticated(std::string message) {
    return ApiError(grpc::StatusCode::UNAUTHENTICATED, std::move(message), "UNAUTHENTICATED");
}

ApiError ApiError::PermissionDenied(std::string message) {
    return ApiError(grpc::StatusCode::PERMISSION_DENIED, std::move(message), "PERMISSION_DENIED");
}

ApiError ApiError::Unavailable(std::string message) {
    return ApiError(grpc::StatusCode::UNAVAILABLE, std::move(message), "UNAVAILABLE");
}

ApiError ApiError::DeadlineExceeded(std::string message) {
    return ApiError(grpc::StatusCode::DEADLINE_EXCEEDED, std::move(message), "DEADLINE_EXCEEDED");
}

ApiError ApiError::ResourceExhausted(std::string message) {
    return ApiError(grpc::StatusCode::RESOURCE_EXHAUSTED, std::move(message), "RESOURCE_EXHAUSTED");
}

void Violations::Add(std::string field, std::string description) {
    list_.push_back({std::move(field), std::move(description)});
}

void Violations::Append(const std::vector<FieldViolation>& more) {
    list_.insert(list_.end(), more.begin(), more.end());
}

bool Violations::Has(const std::string& field) const {
    for (const auto& v : list_) {
        if (v.field == field) return true;
    }
    return false;
}

void Violations::ThrowIfAny() const {
    if (!list_.empty()) throw ApiError::InvalidArgument(list_);
}

const char* StatusCodeName(grpc::StatusCode code) {
    switch (code) {
        case grpc::StatusCode::OK:
            return "OK";
        case grpc::StatusCode::CANCELLED:
            return "CANCELLED";
        case grpc::StatusCode::UNKNOWN:
            return "UNKNOWN";
        case grpc::StatusCode::INVALID_ARGUMENT:
            return "INVALID_ARGUMENT";
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return "DEADLINE_EXCEEDED";
        case grpc::StatusCode::NOT_FOUND:
            return "NOT_FOUND";
        case grpc::StatusCode::ALREADY_EXISTS:
            return "ALREADY_EXISTS";
        case grpc::StatusCode::PERMISSION_DENIED:
            return "PERMISSION_DENIED";
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return "RESOURCE_EXHAUSTED";
        case grpc::StatusCode::FAILED_PRECONDITION:
            return "FAILED_PRECONDITION";
        case grpc::StatusCode::ABORTED:
            return "ABORTED";
        case grpc::StatusCode::OUT_OF_RANGE:
            return "OUT_OF_RANGE";
        case grpc::StatusCode::UNIMPLEMENTED:
            return "UNIMPLEMENTED";
        case grpc::StatusCode::INTERNAL:
            return "INTERNAL";
        case grpc::StatusCode::UNAVAILABLE:
            return "UNAVAILABLE";
        case grpc::StatusCode::DATA_LOSS:
            return "DATA_LOSS";
        case grpc::StatusCode::UNAUTHENTICATED:
            return "UNAUTHENTICATED";
        default:
            return "UNKNOWN";
    }
}

}  // namespace crm::common
