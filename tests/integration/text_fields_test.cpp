// Hostile text in every string field of every create and update request of every routed service: each client-settable
// field in turn (output-only fields excepted: AIP-203, ignored on input) gets a value with a NUL byte, in updates also
// named in the update_mask, and the call through the gateway must fail with INVALID_ARGUMENT naming that field.
// (Invalid UTF-8 in a proto3 string never reaches a handler: the transport refuses to parse it.) The requests are
// built from the services' descriptors, so a field added tomorrow is walked tomorrow.
#include <google/api/field_behavior.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "harness.hpp"

using namespace crm::test;
namespace pb = google::protobuf;

namespace {

struct Probe {
    std::string path;  // proto path of the field, e.g. "lead.given_name"
    std::unique_ptr<pb::Message> request;
};

bool IsWellKnown(const pb::Descriptor* d) { return d->file()->package() == "google.protobuf"; }

// Fields the server sets (AIP-203): a value a client sends there is ignored, never stored, so it is not walked.
bool IsOutputOnly(const pb::FieldDescriptor* f) {
    const auto& behaviors = f->options().GetRepeatedExtension(google::api::field_behavior);
    for (int b : behaviors) {
        if (b == google::api::OUTPUT_ONLY) return true;
    }
    return false;
}

// An update request names what it changes (AIP-134): the probe adds the resource-relative path of the walked field
// to the request's update_mask, so that the field is really part of the update.
void AddToMask(pb::Message& request, const std::string& path) {
    const pb::FieldDescriptor* mask_field = request.GetDescriptor()->FindFieldByName("update_mask");
    const std::size_t dot = path.find('.');
    if (mask_field == nullptr || dot == std::string::npos) return;
    const std::size_t end = path.find('.', dot + 1);
    // A dynamic message (built from descriptors), so the mask is filled through reflection too.
    pb::Message* mask = request.GetReflection()->MutableMessage(&request, mask_field);
    const pb::FieldDescriptor* paths = mask->GetDescriptor()->FindFieldByName("paths");
    mask->GetReflection()->AddString(
        mask, paths, path.substr(dot + 1, end == std::string::npos ? std::string::npos : end - dot - 1));
}

// One probe per string field reachable through singular message fields (depth-limited), with the hostile value.
void Walk(const pb::Descriptor* type, const std::string& prefix, int depth, const pb::Message& prototype,
          const std::vector<const pb::FieldDescriptor*>& chain, std::vector<Probe>& out) {
    if (depth > 3) return;
    static const std::string kHostile("x\0y", 3);
    for (int i = 0; i < type->field_count(); ++i) {
        const pb::FieldDescriptor* f = type->field(i);
        if (IsOutputOnly(f)) continue;
        const std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
        auto next_chain = chain;
        next_chain.push_back(f);
        if (f->type() == pb::FieldDescriptor::TYPE_STRING && !f->is_map()) {
            std::unique_ptr<pb::Message> req(prototype.New());
            pb::Message* m = req.get();
            for (std::size_t k = 0; k + 1 < next_chain.size(); ++k)
                m = m->GetReflection()->MutableMessage(m, next_chain[k]);
            if (f->is_repeated()) {
                m->GetReflection()->AddString(m, f, kHostile);
            } else {
                m->GetReflection()->SetString(m, f, kHostile);
            }
            AddToMask(*req, path);
            out.push_back({path, std::move(req)});
        } else if (f->is_map()) {
            // map<string, string>: a hostile value under a harmless key.
            const pb::Descriptor* entry = f->message_type();
            if (entry->map_value()->type() != pb::FieldDescriptor::TYPE_STRING) continue;
            std::unique_ptr<pb::Message> req(prototype.New());
            pb::Message* m = req.get();
            for (std::size_t k = 0; k + 1 < next_chain.size(); ++k)
                m = m->GetReflection()->MutableMessage(m, next_chain[k]);
            pb::Message* e = m->GetReflection()->AddMessage(m, f);
            e->GetReflection()->SetString(e, entry->map_key(), "walk_key");
            e->GetReflection()->SetString(e, entry->map_value(), kHostile);
            AddToMask(*req, path);
            out.push_back({path, std::move(req)});
        } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE && !f->is_repeated() &&
                   !IsWellKnown(f->message_type())) {
            Walk(f->message_type(), path, depth + 1, prototype, next_chain, out);
        }
    }
}

// A violation names the field when it is the field's path, or a path inside it (a list element, a map entry). An
// update may instead refuse the field's mask path as not updatable: then the value is refused and never stored.
bool Names(const std::vector<crm::common::FieldViolation>& violations, const std::string& path, bool update) {
    for (const auto& v : violations) {
        if (v.field == path || v.field.rfind(path + ".", 0) == 0 || v.field.rfind(path + "[", 0) == 0) return true;
        if (update && v.field == "update_mask" && v.description.find("read-only") != std::string::npos) return true;
    }
    return false;
}

grpc::Status Call(grpc::GenericStub& stub, const std::string& method, const pb::Message& request,
                  const std::string& token) {
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    std::string bytes;
    REQUIRE(request.SerializeToString(&bytes));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer in(&slice, 1);
    grpc::ByteBuffer out;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    grpc::Status result;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
        std::lock_guard lock(mutex);
        result = std::move(s);
        done = true;
        cv.notify_one();
    });
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
    return result;
}

std::vector<const pb::ServiceDescriptor*> RoutedServices() {
    std::vector<const pb::ServiceDescriptor*> out;
    std::istringstream files(CRM_WALK_PROTO_FILES);
    std::string file;
    while (std::getline(files, file, ',')) {
        const pb::FileDescriptor* fd = pb::DescriptorPool::generated_pool()->FindFileByName(file);
        INFO("proto file " << file << " is not linked into the walker");
        REQUIRE(fd != nullptr);
        for (int i = 0; i < fd->service_count(); ++i) out.push_back(fd->service(i));
    }
    return out;
}

bool IsWrite(const std::string& name) { return name.rfind("Create", 0) == 0 || name.rfind("Update", 0) == 0; }

}  // namespace

TEST_CASE("every string field of every create and update request refuses a NUL byte, naming the field") {
    const std::string tenant = UniqueTenant("walk");
    const std::string token = TokenFor(tenant, {"admin"});
    grpc::GenericStub stub(GatewayChannel());
    pb::DynamicMessageFactory factory;
    int methods = 0;
    int probes = 0;
    std::vector<std::string> failures;
    for (const pb::ServiceDescriptor* service : RoutedServices()) {
        for (int m = 0; m < service->method_count(); ++m) {
            const pb::MethodDescriptor* method = service->method(m);
            if (!IsWrite(method->name()) || method->client_streaming() || method->server_streaming()) continue;
            const std::string full = "/" + service->full_name() + "/" + method->name();
            ++methods;
            std::vector<Probe> walk;
            Walk(method->input_type(), "", 0, *factory.GetPrototype(method->input_type()), {}, walk);
            for (const Probe& probe : walk) {
                ++probes;
                const grpc::Status status = Call(stub, full, *probe.request, token);
                const auto violations = FieldViolations(status);
                if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT ||
                    !Names(violations, probe.path, method->name().rfind("Update", 0) == 0)) {
                    std::string named;
                    for (const auto& v : violations) named += " " + v.field;
                    failures.push_back(full + " " + probe.path + ": code " + std::to_string(status.error_code()) +
                                       " (" + status.error_message() + "), violations:" + named);
                }
            }
        }
    }
    std::string report;
    for (const auto& f : failures) report += "\n  " + f;
    INFO(methods << " methods, " << probes << " fields walked; refused wrongly:" << report);
    CHECK(methods >= 20);
    CHECK(failures.empty());
}
