#include "crm/common/errors.hpp"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include <catch2/catch.hpp>

#include "crm/common/rpc.hpp"

using namespace crm::common;

namespace {
google::rpc::Status Details(const grpc::Status& s) {
    google::rpc::Status details;
    REQUIRE(details.ParseFromString(s.error_details()));
    return details;
}
}  // namespace

TEST_CASE("invalid argument carries every field violation as google.rpc.BadRequest") {
    Violations v;
    v.Add("contact.email", "not an email address");
    v.Add("contact.phone", "not a phone number");
    grpc::Status s;
    try {
        v.ThrowIfAny();
        FAIL("expected ApiError");
    } catch (...) {
        s = RpcRuntime::ToStatus(std::current_exception(), "contacts");
    }
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message().find("contact.email") != std::string::npos);
    auto details = Details(s);
    CHECK(details.code() == grpc::StatusCode::INVALID_ARGUMENT);
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    bool has_info = false, has_bad = false;
    for (const auto& any : details.details()) {
        if (any.UnpackTo(&info)) has_info = true;
        if (any.UnpackTo(&bad)) has_bad = true;
    }
    REQUIRE(has_info);
    REQUIRE(has_bad);
    CHECK(info.reason() == "INVALID_ARGUMENT");
    CHECK(info.domain() == "crm.contacts");
    REQUIRE(bad.field_violations_size() == 2);
    CHECK(bad.field_violations(1).field() == "contact.phone");
}

TEST_CASE("metadata of an ApiError travels in ErrorInfo and reads back with ReadErrorDetail") {
    const auto s = RpcRuntime::ToStatus(
        std::make_exception_ptr(ApiError::AlreadyExists("a company with this domain exists", "DUPLICATE_COMPANY")
                                    .With("existing_id", "7f0c4a52-1f7e-4b8e-9a51-0d2c9d0e8a11")
                                    .With("match", "domain")),
        "contacts");
    CHECK(s.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    const ErrorDetail d = ReadErrorDetail(s);
    CHECK(d.reason == "DUPLICATE_COMPANY");
    REQUIRE(d.metadata.size() == 2);
    CHECK(d.metadata.at("existing_id") == "7f0c4a52-1f7e-4b8e-9a51-0d2c9d0e8a11");
    CHECK(d.metadata.at("match") == "domain");
    // A status without details (or with garbage in them) reads as empty, never throws.
    CHECK(ReadErrorDetail(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "x")).reason.empty());
    CHECK(
        ReadErrorDetail(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "x", "\xff\xff not a proto")).metadata.empty());
}

TEST_CASE("each ApiError factory maps to its gRPC code") {
    auto code = [](const ApiError& e) { return RpcRuntime::ToStatus(std::make_exception_ptr(e), "x").error_code(); };
    CHECK(code(ApiError::NotFound("contact", "1")) == grpc::StatusCode::NOT_FOUND);
    CHECK(code(ApiError::AlreadyExists("dup")) == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(code(ApiError::FailedPrecondition("closed", "CLOSED")) == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(code(ApiError::Aborted("etag")) == grpc::StatusCode::ABORTED);
    CHECK(code(ApiError::Unauthenticated("who")) == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(code(ApiError::PermissionDenied("no")) == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(code(ApiError::Unavailable("down")) == grpc::StatusCode::UNAVAILABLE);
    CHECK(code(ApiError::DeadlineExceeded("late")) == grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_CASE("unexpected exceptions become INTERNAL without their text") {
    auto s = RpcRuntime::ToStatus(std::make_exception_ptr(std::runtime_error("SELECT secret FROM users")), "x");
    CHECK(s.error_code() == grpc::StatusCode::INTERNAL);
    CHECK(s.error_message() == "internal error");
    CHECK(s.error_details().empty());
}
