#include "http/rules.hpp"

#include <google/api/annotations.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace crm::gateway {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxTemplateBytes = 512;

bool IsLiteralChar(char c) {
    // RFC 3986 unreserved and sub-delims (minus the template's own syntax) plus '%' for encoded octets.
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '%' || c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' ||
           c == '+' || c == ',' || c == ';' || c == '@';
}

bool IsIdent(std::string_view s) {
    if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (;;) {
        const size_t at = s.find(sep, start);
        out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

const pb::FieldDescriptor* FindField(const pb::Descriptor* message, std::string_view name) {
    const std::string n(name);
    if (const auto* f = message->FindFieldByName(n)) return f;
    for (int i = 0; i < message->field_count(); ++i) {
        if (message->field(i)->json_name() == n) return message->field(i);
    }
    return nullptr;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = HexValue(text[i + 1]);
        const int lo = HexValue(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

PathTemplate PathTemplate::Parse(std::string_view text) {
    if (text.empty() || text.front() != '/') throw std::invalid_argument("path template must start with '/'");
    if (text.size() > kMaxTemplateBytes) throw std::invalid_argument("path template too long");
    PathTemplate t;
    t.text_ = std::string(text);
    std::string_view rest = text.substr(1);
    // The verb: a ':' after the last '/' that is not inside braces.
    {
        int depth = 0;
        size_t verb_at = std::string_view::npos;
        for (size_t i = 0; i < rest.size(); ++i) {
            if (rest[i] == '{') ++depth;
            if (rest[i] == '}') --depth;
            if (rest[i] == '/' && depth == 0) verb_at = std::string_view::npos;
            if (rest[i] == ':' && depth == 0) verb_at = i;
        }
        if (verb_at != std::string_view::npos) {
            t.verb_ = std::string(rest.substr(verb_at + 1));
            rest = rest.substr(0, verb_at);
            if (t.verb_.empty() || !std::all_of(t.verb_.begin(), t.verb_.end(), IsLiteralChar)) {
                throw std::invalid_argument("bad verb in path template");
            }
        }
    }
    std::set<std::string> names;
    size_t i = 0;
    auto parse_plain = [&](std::string_view seg) {
        Segment s;
        if (seg == "*") {
            s.kind = Segment::Kind::kStar;
        } else if (seg == "**") {
            s.kind = Segment::Kind::kDoubleStar;
        } else {
            if (seg.empty() || !std::all_of(seg.begin(), seg.end(), IsLiteralChar)) {
                throw std::invalid_argument("bad segment '" + std::string(seg) + "' in path template");
            }
            s.literal = std::string(seg);
        }
        t.segments_.push_back(std::move(s));
    };
    while (i <= rest.size()) {
        if (i < rest.size() && rest[i] == '{') {
            const size_t close = rest.find('}', i);
            if (close == std::string_view::npos) throw std::invalid_argument("unclosed '{' in path template");
            const std::string_view inner = rest.substr(i + 1, close - i - 1);
            const size_t eq = inner.find('=');
            const std::string_view field = inner.substr(0, eq);
            Variable v;
            for (const auto part : Split(field, '.')) {
                if (!IsIdent(part)) throw std::invalid_argument("bad field path '" + std::string(field) + "'");
                v.field_path.emplace_back(part);
            }
            if (!names.insert(std::string(field)).second) {
                throw std::invalid_argument("field '" + std::string(field) + "' bound twice");
            }
            v.first = t.segments_.size();
            if (eq == std::string_view::npos) {
                t.segments_.push_back({Segment::Kind::kStar, {}});
            } else {
                const std::string_view sub = inner.substr(eq + 1);
                if (sub.find('{') != std::string_view::npos) throw std::invalid_argument("nested variable");
                for (const auto seg : Split(sub, '/')) parse_plain(seg);
            }
            v.count = t.segments_.size() - v.first;
            t.variables_.push_back(std::move(v));
            i = close + 1;
            if (i < rest.size() && rest[i] != '/') throw std::invalid_argument("'}' must end a segment");
            ++i;
            continue;
        }
        size_t end = rest.find('/', i);
        if (end == std::string_view::npos) end = rest.size();
        parse_plain(rest.substr(i, end - i));
        i = end + 1;
    }
    for (size_t k = 0; k < t.segments_.size(); ++k) {
        if (t.segments_[k].kind == Segment::Kind::kDoubleStar && k + 1 != t.segments_.size()) {
            throw std::invalid_argument("'**' must be the last segment");
        }
    }
    return t;
}

size_t PathTemplate::literal_count() const {
    return static_cast<size_t>(std::count_if(segments_.begin(), segments_.end(),
                                             [](const Segment& s) { return s.kind == Segment::Kind::kLiteral; }));
}

std::optional<std::vector<std::pair<std::string, std::string>>> PathTemplate::Match(std::string_view path) const {
    if (path.empty() || path.front() != '/') return std::nullopt;
    std::string_view rest = path.substr(1);
    if (!verb_.empty()) {
        const std::string suffix = ":" + verb_;
        if (rest.size() <= suffix.size() || rest.substr(rest.size() - suffix.size()) != suffix) return std::nullopt;
        rest.remove_suffix(suffix.size());
    }
    const auto parts = Split(rest, '/');
    const bool tail = !segments_.empty() && segments_.back().kind == Segment::Kind::kDoubleStar;
    if (tail ? parts.size() < segments_.size() - 1 : parts.size() != segments_.size()) return std::nullopt;
    for (size_t k = 0; k < segments_.size(); ++k) {
        const Segment& s = segments_[k];
        if (s.kind == Segment::Kind::kDoubleStar) break;
        if (parts[k].empty()) return std::nullopt;
        if (s.kind == Segment::Kind::kLiteral && parts[k] != s.literal) return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& v : variables_) {
        const bool to_end = segments_[v.first + v.count - 1].kind == Segment::Kind::kDoubleStar;
        const size_t last = to_end ? parts.size() : v.first + v.count;
        std::string value;
        for (size_t k = v.first; k < last; ++k) {
            auto decoded = PercentDecode(parts[k]);
            if (!decoded) return std::nullopt;
            if (k != v.first) value += '/';
            value += *decoded;
        }
        std::string name;
        for (const auto& p : v.field_path) name += (name.empty() ? "" : ".") + p;
        out.emplace_back(std::move(name), std::move(value));
    }
    return out;
}

std::vector<const pb::FieldDescriptor*> ResolveFieldPath(const pb::Descriptor* message, std::string_view path) {
    std::vector<const pb::FieldDescriptor*> out;
    const auto parts = Split(path, '.');
    for (size_t i = 0; i < parts.size(); ++i) {
        if (message == nullptr) return {};
        const auto* f = FindField(message, parts[i]);
        if (f == nullptr) return {};
        const bool last = i + 1 == parts.size();
        if (!last && (f->is_repeated() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)) return {};
        out.push_back(f);
        message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type() : nullptr;
    }
    return out;
}

namespace {

void AddRoute(const pb::MethodDescriptor* method, const google::api::HttpRule& rule, bool nested,
              std::vector<HttpRoute>& routes, std::vector<std::string>& problems) {
    const std::string where = method->full_name() + ": ";
    HttpRoute r;
    std::string path;
    switch (rule.pattern_case()) {
        case google::api::HttpRule::kGet:
            r.http_method = "GET", path = rule.get();
            break;
        case google::api::HttpRule::kPut:
            r.http_method = "PUT", path = rule.put();
            break;
        case google::api::HttpRule::kPost:
            r.http_method = "POST", path = rule.post();
            break;
        case google::api::HttpRule::kDelete:
            r.http_method = "DELETE", path = rule.delete_();
            break;
        case google::api::HttpRule::kPatch:
            r.http_method = "PATCH", path = rule.patch();
            break;
        case google::api::HttpRule::kCustom:
            r.http_method = rule.custom().kind();
            path = rule.custom().path();
            break;
        default:
            problems.push_back(where + "HTTP rule without a pattern");
            return;
    }
    if (r.http_method.empty() ||
        !std::all_of(r.http_method.begin(), r.http_method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        problems.push_back(where + "bad HTTP method '" + r.http_method + "'");
        return;
    }
    try {
        r.path = PathTemplate::Parse(path);
    } catch (const std::invalid_argument& e) {
        problems.push_back(where + path + ": " + e.what());
        return;
    }
    r.method = method;
    r.grpc_path = "/" + method->service()->full_name() + "/" + method->name();
    r.package = method->service()->file()->package();
    const pb::Descriptor* input = method->input_type();
    for (const auto& v : r.path.variables()) {
        std::string name;
        for (const auto& p : v.field_path) name += (name.empty() ? "" : ".") + p;
        auto fields = ResolveFieldPath(input, name);
        if (fields.empty() || fields.back()->is_repeated() ||
            fields.back()->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
            problems.push_back(where + path + ": variable '" + name + "' is not a singular scalar field of " +
                               input->full_name());
            return;
        }
        r.variable_fields.push_back(std::move(fields));
    }
    r.body = rule.body();
    if (!r.body.empty() && r.body != "*") {
        r.body_field = input->FindFieldByName(r.body);
        if (r.body_field == nullptr || r.body_field->is_repeated() ||
            r.body_field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
            problems.push_back(where + "body '" + r.body + "' is not a singular message field of " +
                               input->full_name());
            return;
        }
    }
    if (!rule.response_body().empty()) {
        r.response_field = method->output_type()->FindFieldByName(rule.response_body());
        if (r.response_field == nullptr || r.response_field->is_repeated() ||
            r.response_field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
            problems.push_back(where + "response_body '" + rule.response_body() +
                               "' is not a singular message field of " + method->output_type()->full_name());
            return;
        }
    }
    routes.push_back(std::move(r));
    if (nested && rule.additional_bindings_size() > 0) {
        problems.push_back(where + "additional_bindings must not nest");
        return;
    }
    for (const auto& extra : rule.additional_bindings()) AddRoute(method, extra, true, routes, problems);
}

}  // namespace

HttpRouteTable HttpRouteTable::FromMethods(const std::vector<const pb::MethodDescriptor*>& methods) {
    HttpRouteTable table;
    std::vector<std::string> problems;
    for (const auto* m : methods) {
        const std::string name = m->service()->full_name() + "/" + m->name();
        if (!m->options().HasExtension(google::api::http)) {
            if (!m->client_streaming() && !m->server_streaming()) table.unmapped_.push_back(name);
            continue;
        }
        if (m->client_streaming() || m->server_streaming()) {
            problems.push_back(m->full_name() + ": streaming RPCs have no HTTP/JSON mapping");
            continue;
        }
        AddRoute(m, m->options().GetExtension(google::api::http), false, table.routes_, problems);
    }
    // Two routes with the same method and the same template shape would make one of them unreachable.
    std::set<std::string> shapes;
    for (const auto& r : table.routes_) {
        std::string shape = r.http_method + " ";
        for (const auto& s : r.path.segments()) {
            shape += "/" + (s.kind == PathTemplate::Segment::Kind::kLiteral ? s.literal
                            : s.kind == PathTemplate::Segment::Kind::kStar  ? std::string("*")
                                                                            : std::string("**"));
        }
        shape += ":" + r.path.verb();
        if (!shapes.insert(shape).second) problems.push_back(r.method->full_name() + ": route " + shape + " is taken");
    }
    if (!problems.empty()) {
        std::string message = "invalid HTTP rules:";
        for (const auto& p : problems) message += "\n  - " + p;
        throw std::invalid_argument(message);
    }
    return table;
}

HttpRouteTable HttpRouteTable::FromLinkedDescriptors(std::string_view package_prefix) {
    std::vector<std::string> files;
    pb::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
    std::sort(files.begin(), files.end());
    std::vector<const pb::MethodDescriptor*> methods;
    for (const auto& name : files) {
        const auto* file = pb::DescriptorPool::generated_pool()->FindFileByName(name);
        if (file == nullptr || file->package().rfind(package_prefix, 0) != 0) continue;
        for (int s = 0; s < file->service_count(); ++s) {
            for (int m = 0; m < file->service(s)->method_count(); ++m) methods.push_back(file->service(s)->method(m));
        }
    }
    return FromMethods(methods);
}

std::pair<std::optional<HttpRouteTable::Match>, HttpRouteTable::Miss> HttpRouteTable::Find(
    std::string_view http_method, std::string_view path) const {
    const HttpRoute* best = nullptr;
    std::vector<std::pair<std::string, std::string>> best_bindings;
    bool other_method = false;
    for (const auto& r : routes_) {
        auto bound = r.path.Match(path);
        if (!bound) continue;
        if (r.http_method != http_method) {
            other_method = true;
            continue;
        }
        const bool better =
            best == nullptr || (!r.path.verb().empty() && best->path.verb().empty()) ||
            (r.path.verb().empty() == best->path.verb().empty() && r.path.literal_count() > best->path.literal_count());
        if (better) {
            best = &r;
            best_bindings = std::move(*bound);
        }
    }
    if (best != nullptr) return {Match{best, std::move(best_bindings)}, Miss::kNone};
    return {std::nullopt, other_method ? Miss::kWrongMethod : Miss::kNoRoute};
}

std::vector<std::string> HttpRouteTable::MethodsFor(std::string_view path) const {
    std::vector<std::string> out;
    for (const auto& r : routes_) {
        if (r.path.Match(path) && std::find(out.begin(), out.end(), r.http_method) == out.end()) {
            out.push_back(r.http_method);
        }
    }
    return out;
}

}  // namespace crm::gateway
