#pragma once
// Field violations: what is wrong with which field of a request. Pure (no gRPC, no database), so that domain/ code
// collects them too; ApiError::InvalidArgument (errors.hpp) turns a list into google.rpc.BadRequest details.
#include <string>
#include <vector>

namespace crm::common {

struct FieldViolation {
    std::string field;        // proto field path, e.g. "contact.email"
    std::string description;  // what is wrong and what is expected
    bool operator==(const FieldViolation&) const = default;
};

// Collects field violations so that a request with several problems gets all of them in one answer.
class Violations {
  public:
    void Add(std::string field, std::string description);
    void Append(const std::vector<FieldViolation>& more);
    void Append(const Violations& more) { Append(more.list()); }
    bool empty() const { return list_.empty(); }
    std::size_t size() const { return list_.size(); }
    const std::vector<FieldViolation>& list() const { return list_; }
    // True when a violation names `field` exactly.
    bool Has(const std::string& field) const;
    // Throws ApiError INVALID_ARGUMENT with every violation (defined with ApiError in errors.cpp).
    void ThrowIfAny() const;

  private:
    std::vector<FieldViolation> list_;
};

}  // namespace crm::common
