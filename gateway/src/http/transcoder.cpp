#include "http/transcoder.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>

#include "crm/common/errors.hpp"

namespace crm::gateway {
namespace {

namespace pb = google::protobuf;
using Bindings = std::vector<std::pair<std::string, std::string>>;

// Prototypes of the linked types come from the generated factory; other descriptors (none today) from a dynamic one.
std::unique_ptr<pb::Message> NewMessage(const pb::Descriptor* type) {
    if (const auto* p = pb::MessageFactory::generated_factory()->GetPrototype(type)) {
        return std::unique_ptr<pb::Message>(p->New());
    }
    static pb::DynamicMessageFactory dynamic;  // GetPrototype is thread-safe
    return std::unique_ptr<pb::Message>(dynamic.GetPrototype(type)->New());
}

bool ValidUtf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n;
        unsigned cp;
        if ((c >> 5) == 0x6) {
            n = 1, cp = c & 0x1fu;
        } else if ((c >> 4) == 0xe) {
            n = 2, cp = c & 0x0fu;
        } else if ((c >> 3) == 0x1e) {
            n = 3, cp = c & 0x07u;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;
        for (size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

template <typename T>
bool ParseInt(std::string_view s, T& out) {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double& out) {
    if (s == "NaN") return out = std::nan(""), true;
    if (s == "Infinity") return out = HUGE_VAL, true;
    if (s == "-Infinity") return out = -HUGE_VAL, true;
    if (s.empty() || s.size() > 64) return false;
    const std::string copy(s);
    char* end = nullptr;
    out = std::strtod(copy.c_str(), &end);
    return end == copy.c_str() + copy.size() && std::isfinite(out);
}

std::string JsonQuoted(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string CamelToSnake(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c >= 'A' && c <= 'Z') {
            out += '_';
            out += static_cast<char>(c - 'A' + 'a');
        } else {
            out += c;
        }
    }
    return out;
}

// Sets (or, for a repeated field, appends) one scalar or well-known-type value given as text. Empty on success, else
// what is wrong.
std::string SetValue(pb::Message& msg, const pb::FieldDescriptor* f, std::string_view text) {
    const pb::Reflection* r = msg.GetReflection();
    const bool rep = f->is_repeated();
    if (f->is_map()) return "map fields cannot be set from the URL";
    switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_INT32: {
            int32_t v;
            if (!ParseInt(text, v)) return "must be a 32-bit integer";
            rep ? r->AddInt32(&msg, f, v) : r->SetInt32(&msg, f, v);
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_INT64: {
            int64_t v;
            if (!ParseInt(text, v)) return "must be a 64-bit integer";
            rep ? r->AddInt64(&msg, f, v) : r->SetInt64(&msg, f, v);
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_UINT32: {
            uint32_t v;
            if (!ParseInt(text, v)) return "must be an unsigned 32-bit integer";
            rep ? r->AddUInt32(&msg, f, v) : r->SetUInt32(&msg, f, v);
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_UINT64: {
            uint64_t v;
            if (!ParseInt(text, v)) return "must be an unsigned 64-bit integer";
            rep ? r->AddUInt64(&msg, f, v) : r->SetUInt64(&msg, f, v);
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        case pb::FieldDescriptor::CPPTYPE_FLOAT: {
            double v;
            if (!ParseDouble(text, v)) return "must be a number";
            if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
                rep ? r->AddDouble(&msg, f, v) : r->SetDouble(&msg, f, v);
            } else {
                if (std::isfinite(v) && std::fabs(v) > 3.4028234663852886e38) return "out of range for a float";
                rep ? r->AddFloat(&msg, f, static_cast<float>(v)) : r->SetFloat(&msg, f, static_cast<float>(v));
            }
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_BOOL: {
            if (text != "true" && text != "false") return "must be true or false";
            rep ? r->AddBool(&msg, f, text == "true") : r->SetBool(&msg, f, text == "true");
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
            const pb::EnumValueDescriptor* e = f->enum_type()->FindValueByName(std::string(text));
            int32_t n;
            if (e == nullptr && ParseInt(text, n)) e = f->enum_type()->FindValueByNumber(n);
            if (e == nullptr) return "must be one of the values of " + f->enum_type()->full_name();
            rep ? r->AddEnum(&msg, f, e) : r->SetEnum(&msg, f, e);
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_STRING: {
            if (f->type() == pb::FieldDescriptor::TYPE_BYTES) {
                // base64 (standard or URL-safe) as in proto3 JSON: let the JSON parser decode it.
                auto tmp = NewMessage(msg.GetDescriptor());
                pb::util::JsonParseOptions opts;
                const std::string json = "{" + JsonQuoted(f->json_name()) + ":" +
                                         (rep ? "[" + JsonQuoted(text) + "]" : JsonQuoted(text)) + "}";
                if (!pb::util::JsonStringToMessage(json, tmp.get(), opts).ok()) return "must be base64";
                const std::string v = rep ? tmp->GetReflection()->GetRepeatedString(*tmp, f, 0)
                                          : tmp->GetReflection()->GetString(*tmp, f);
                rep ? r->AddString(&msg, f, v) : r->SetString(&msg, f, v);
                return {};
            }
            if (!ValidUtf8(text)) return "must be valid UTF-8";
            rep ? r->AddString(&msg, f, std::string(text)) : r->SetString(&msg, f, std::string(text));
            return {};
        }
        case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
            const std::string& type = f->message_type()->full_name();
            pb::Message* sub = rep ? r->AddMessage(&msg, f) : r->MutableMessage(&msg, f);
            if (type == "google.protobuf.FieldMask") {
                // Comma-separated paths, snake_case or lowerCamelCase ("given_name,email" or "givenName,email").
                auto* mask = dynamic_cast<pb::FieldMask*>(sub);
                const pb::Reflection* mr = sub->GetReflection();
                const pb::FieldDescriptor* paths = sub->GetDescriptor()->FindFieldByName("paths");
                size_t start = 0;
                for (;;) {
                    const size_t comma = text.find(',', start);
                    const std::string_view p =
                        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
                    if (p.empty() || !ValidUtf8(p)) return "must be comma-separated field paths";
                    if (mask != nullptr) {
                        mask->add_paths(CamelToSnake(p));
                    } else {
                        mr->AddString(sub, paths, CamelToSnake(p));
                    }
                    if (comma == std::string_view::npos) break;
                    start = comma + 1;
                }
                return {};
            }
            if (type == "google.protobuf.Timestamp" || type == "google.protobuf.Duration") {
                pb::util::JsonParseOptions opts;
                if (!pb::util::JsonStringToMessage(JsonQuoted(text), sub, opts).ok()) {
                    return type == "google.protobuf.Timestamp" ? "must be an RFC 3339 time (2024-01-31T12:00:00Z)"
                                                               : "must be a duration in seconds (\"1.5s\")";
                }
                return {};
            }
            if (type.rfind("google.protobuf.", 0) == 0 && type.size() > 21 &&
                type.compare(type.size() - 5, 5, "Value") == 0 && f->message_type()->field_count() == 1) {
                return SetValue(*sub, f->message_type()->field(0), text);  // wrappers: Int32Value, StringValue, ...
            }
            return "a message field cannot be set from the URL";
        }
    }
    return "unsupported field type";
}

// The message that holds the last field of a path, creating intermediate messages.
pb::Message* Holder(pb::Message& root, const std::vector<const pb::FieldDescriptor*>& fields) {
    pb::Message* m = &root;
    for (size_t i = 0; i + 1 < fields.size(); ++i) m = m->GetReflection()->MutableMessage(m, fields[i]);
    return m;
}

std::string Dotted(const std::vector<const pb::FieldDescriptor*>& fields) {
    std::string out;
    for (const auto* f : fields) out += (out.empty() ? "" : ".") + f->name();
    return out;
}

}  // namespace

TranscodeResult BuildRequest(const HttpRoute& route, const Bindings& bindings, std::string_view query,
                             std::string_view body) {
    TranscodeResult result;
    auto fail = [&](std::string field, std::string description) {
        if (!result.error) result.error = TranscodeError{"invalid request", {}};
        result.error->violations.emplace_back(std::move(field), std::move(description));
    };
    auto request = NewMessage(route.method->input_type());
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;

    // Body.
    const bool has_body = body.find_first_not_of(" \t\r\n") != std::string_view::npos;
    if (route.body.empty()) {
        if (has_body) fail("body", "this route takes no request body");
    } else if (has_body) {
        pb::Message* target = route.body_field != nullptr
                                  ? request->GetReflection()->MutableMessage(request.get(), route.body_field)
                                  : request.get();
        if (!ValidUtf8(body)) {
            fail("body", "must be UTF-8 JSON");
        } else {
            const auto status = pb::util::JsonStringToMessage(body, target, options);
            if (!status.ok()) {
                // The parser's text names the offending field or position; it holds nothing but the client's input.
                std::string detail(status.message());
                if (detail.size() > 300) detail.resize(300);
                fail("body", "not a valid JSON " + target->GetDescriptor()->full_name() + ": " + detail);
            }
        }
    }
    if (result.error) return result;

    // Path variables (they win over the body for the same field).
    const auto& vars = route.path.variables();
    std::set<const pb::FieldDescriptor*> bound;
    for (size_t i = 0; i < vars.size() && i < bindings.size(); ++i) {
        const auto& fields = route.variable_fields[i];
        pb::Message* holder = Holder(*request, fields);
        holder->GetReflection()->ClearField(holder, fields.back());
        if (auto problem = SetValue(*holder, fields.back(), bindings[i].second); !problem.empty()) {
            fail(bindings[i].first, problem);
        }
        bound.insert(fields.front());
        if (fields.size() == 1) bound.insert(fields.back());
    }

    // Query parameters: fields not bound by the path or the body.
    size_t count = 0;
    std::set<std::string> seen_singular;
    size_t start = 0;
    while (start < query.size()) {
        size_t amp = query.find('&', start);
        if (amp == std::string_view::npos) amp = query.size();
        const std::string_view item = query.substr(start, amp - start);
        start = amp + 1;
        if (item.empty()) continue;
        if (++count > kMaxQueryParameters) {
            fail("query", "at most " + std::to_string(kMaxQueryParameters) + " query parameters");
            break;
        }
        const size_t eq = item.find('=');
        std::string raw_key(item.substr(0, eq));
        std::string raw_value(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
        for (auto* s : {&raw_key, &raw_value}) {
            for (auto& c : *s) {
                if (c == '+') c = ' ';
            }
        }
        const auto key = PercentDecode(raw_key);
        const auto value = PercentDecode(raw_value);
        if (!key || !value || !ValidUtf8(*key)) {
            fail("query", "bad percent-encoding");
            continue;
        }
        const std::string shown = key->size() > 100 ? key->substr(0, 100) : *key;
        if (route.body == "*") {
            fail(shown, "this route takes every field in the body, none in the query");
            continue;
        }
        const auto fields = ResolveFieldPath(route.method->input_type(), *key);
        if (fields.empty()) {
            fail(shown, "unknown query parameter");
            continue;
        }
        if (bound.contains(fields.back()) || (fields.size() == 1 && bound.contains(fields.front())) ||
            (route.body_field != nullptr && fields.front() == route.body_field)) {
            fail(shown, "bound by the path or the body");
            continue;
        }
        const std::string dotted = Dotted(fields);
        if (!fields.back()->is_repeated() && !seen_singular.insert(dotted).second) {
            fail(shown, "given more than once");
            continue;
        }
        if (auto problem = SetValue(*Holder(*request, fields), fields.back(), *value); !problem.empty()) {
            fail(shown, problem);
        }
    }
    if (result.error) return result;
    if (!request->SerializeToString(&result.bytes)) fail("body", "the request cannot be encoded");
    return result;
}

std::optional<std::string> ResponseJson(const HttpRoute& route, const std::string& bytes) {
    auto response = NewMessage(route.method->output_type());
    if (!response->ParseFromString(bytes)) return std::nullopt;
    pb::util::JsonPrintOptions options;
    options.always_print_primitive_fields = false;
    options.preserve_proto_field_names = false;
    std::string out;
    const pb::Message& shown = route.response_field != nullptr
                                   ? response->GetReflection()->GetMessage(*response, route.response_field)
                                   : *response;
    if (!pb::util::MessageToJsonString(shown, &out, options).ok()) return std::nullopt;
    // The JSON printer passes some malformed UTF-8 through (overlong forms such as C1 83): not JSON for a client.
    if (!ValidUtf8(out)) return std::nullopt;
    return out;
}

namespace {

const pb::Descriptor* ShownType(const HttpRoute& route) {
    return route.response_field != nullptr ? route.response_field->message_type() : route.method->output_type();
}

}  // namespace

bool IsRawBody(const HttpRoute& route) { return ShownType(route)->full_name() == "google.api.HttpBody"; }

std::optional<RawBody> ResponseRawBody(const HttpRoute& route, const std::string& bytes) {
    auto response = NewMessage(route.method->output_type());
    if (!IsRawBody(route) || !response->ParseFromString(bytes)) return std::nullopt;
    const pb::Message& shown = route.response_field != nullptr
                                   ? response->GetReflection()->GetMessage(*response, route.response_field)
                                   : *response;
    const pb::Descriptor* type = shown.GetDescriptor();
    const pb::Reflection* reflection = shown.GetReflection();
    RawBody out;
    out.content_type = reflection->GetString(shown, type->FindFieldByName("content_type"));
    out.data = reflection->GetString(shown, type->FindFieldByName("data"));
    // A header value: printable ASCII only (no line breaks: no header injection through the backend's answer).
    if (out.content_type.empty() || out.content_type.size() > 256) return std::nullopt;
    for (const char c : out.content_type) {
        if (c < 0x20 || c > 0x7e) return std::nullopt;
    }
    return out;
}

int HttpStatusFor(int grpc_code) {
    switch (static_cast<grpc::StatusCode>(grpc_code)) {
        case grpc::StatusCode::OK:
            return 200;
        case grpc::StatusCode::CANCELLED:
            return 499;
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::FAILED_PRECONDITION:
        case grpc::StatusCode::OUT_OF_RANGE:
            return 400;
        case grpc::StatusCode::UNAUTHENTICATED:
            return 401;
        case grpc::StatusCode::PERMISSION_DENIED:
            return 403;
        case grpc::StatusCode::NOT_FOUND:
            return 404;
        case grpc::StatusCode::ALREADY_EXISTS:
        case grpc::StatusCode::ABORTED:
            return 409;
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return 429;
        case grpc::StatusCode::UNIMPLEMENTED:
            return 501;
        case grpc::StatusCode::UNAVAILABLE:
            return 503;
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return 504;
        default:
            return 500;
    }
}

const char* GrpcCodeName(int grpc_code) {
    if (grpc_code < 0 || grpc_code > 16) return "UNKNOWN";
    return common::StatusCodeName(static_cast<grpc::StatusCode>(grpc_code));
}

std::string ErrorJson(int grpc_code, std::string_view message, std::string_view status_details_bin) {
    std::string details = "[]";
    google::rpc::Status status;
    if (!status_details_bin.empty() && status.ParseFromString(std::string(status_details_bin)) &&
        status.details_size() > 0) {
        // Each Any is printed on its own: one the gateway cannot resolve (a type it does not link) is left out.
        details = "[";
        for (const auto& any : status.details()) {
            google::rpc::Status one;
            *one.add_details() = any;
            std::string json;
            // Left out too: a detail whose strings are not valid UTF-8 (the printer lets overlong forms through).
            if (!pb::util::MessageToJsonString(one, &json).ok() || !ValidUtf8(json)) continue;
            // {"details":[ X ]} -> X
            const size_t open = json.find('[');
            const size_t close = json.rfind(']');
            if (open == std::string::npos || close == std::string::npos || close <= open) continue;
            if (details.size() > 1) details += ",";
            details += json.substr(open + 1, close - open - 1);
        }
        details += "]";
    }
    return "{\"error\":{\"code\":" + std::to_string(HttpStatusFor(grpc_code)) +
           ",\"message\":" + JsonQuoted(ValidUtf8(message) ? message : std::string_view("(not UTF-8)")) +
           ",\"status\":\"" + GrpcCodeName(grpc_code) + "\",\"details\":" + details + "}}";
}

std::string ErrorJson(const TranscodeError& error) {
    google::rpc::Status status;
    status.set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    status.set_message(error.message);
    google::rpc::BadRequest bad;
    for (const auto& [field, description] : error.violations) {
        auto* v = bad.add_field_violations();
        v->set_field(ValidUtf8(field) ? field : "(not UTF-8)");
        v->set_description(description);
    }
    google::rpc::ErrorInfo info;
    info.set_reason("INVALID_HTTP_REQUEST");
    info.set_domain("crm.gateway");
    status.add_details()->PackFrom(info);
    status.add_details()->PackFrom(bad);
    return ErrorJson(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT), error.message, status.SerializeAsString());
}

}  // namespace crm::gateway
