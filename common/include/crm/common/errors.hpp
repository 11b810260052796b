#pragma once
// Errors that reach clients. Handlers and repositories throw ApiError; the RPC boundary (rpc.hpp) turns it into a
// grpc::Status carrying google.rpc.Status details (ErrorInfo with a stable reason, BadRequest field violations).
// Anything else thrown becomes INTERNAL with a generic message: exception text and SQL never reach a client.
#include <grpcpp/support/status_code_enum.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::common {

class ApiError : public std::runtime_error {
  public:
    ApiError(grpc::StatusCode code, std::string message, std::string reason,
             std::vector<FieldViolation> violations = {});

    grpc::StatusCode code() const { return code_; }
    const std::string& reason() const { return reason_; }
    const std::vector<FieldViolation>& violations() const { return violations_; }
    // Machine-readable facts about the error for callers (ErrorInfo.metadata), e.g. {"existing_id": "<uuid>"} on a
    // duplicate. Keys are lower_snake_case; values never hold another tenant's data.
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    ApiError&& With(std::string key, std::string value) && {
        metadata_[std::move(key)] = std::move(value);
        return std::move(*this);
    }

    static ApiError InvalidArgument(std::vector<FieldViolation> violations);
    static ApiError InvalidArgument(std::string field, std::string description);
    static ApiError NotFound(const std::string& resource, const std::string& id);
    static ApiError AlreadyExists(std::string message, std::string reason = "ALREADY_EXISTS");
    static ApiError FailedPrecondition(std::string message, std::string reason);
    static ApiError Aborted(std::string message, std::string reason = "ETAG_MISMATCH");
    static ApiError Unauthenticated(std::string message);
    static ApiError PermissionDenied(std::string message);
    static ApiError Unavailable(std::string message);
    static ApiError DeadlineExceeded(std::string message);
    static ApiError ResourceExhausted(std::string message);

  private:
    grpc::StatusCode code_;
    std::string reason_;
    std::vector<FieldViolation> violations_;
    std::map<std::string, std::string> metadata_;
};

const char* StatusCodeName(grpc::StatusCode code);  // "OK", "INVALID_ARGUMENT", ...

}  // namespace crm::common
