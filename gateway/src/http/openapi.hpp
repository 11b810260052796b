#pragma once
// The OpenAPI 3.0 document of the HTTP/JSON API, generated from the route table (the google.api.http rules) and the
// message descriptors: one operation per route with its path and query parameters, request body and response schema
// (proto3 JSON mapping: lowerCamelCase names, 64-bit integers as strings, enums as names, Timestamp as date-time),
// the error body, and the two security schemes (Bearer JWT, x-api-key).
#include <string>

#include "http/rules.hpp"

namespace crm::gateway {

std::string OpenApiDocument(const HttpRouteTable& routes);

}  // namespace crm::gateway
