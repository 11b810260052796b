#include "proxy/reflection.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_initializer.h>

#include <algorithm>

namespace crm::gateway {
namespace {

class ProxiedReflection final : public grpc::reflection::ProtoServerReflectionPlugin {
  public:
    explicit ProxiedReflection(std::vector<std::string> services) : services_(std::move(services)) {}

    void Finish(grpc::ServerInitializer* si) override {
        ProtoServerReflectionPlugin::Finish(si);  // hands the server's list of service names to reflection
        // That list is the server's own (the services registered on it), read by reflection on every ListServices;
        // the proxied services are answered by the generic service, so their names are added here, before the
        // server starts. Nothing else in gRPC reads the list.
        auto* listed = const_cast<std::vector<std::string>*>(si->GetServiceList());
        for (const auto& name : services_) {
            if (std::find(listed->begin(), listed->end(), name) == listed->end()) listed->push_back(name);
        }
    }

  private:
    std::vector<std::string> services_;
};

class ListedInReflectionOption final : public grpc::ServerBuilderOption {
  public:
    explicit ListedInReflectionOption(std::vector<std::string> services) : services_(std::move(services)) {}

    void UpdateArguments(grpc::ChannelArguments*) override {}

    void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
        for (auto& plugin : *plugins) {
            if (dynamic_cast<grpc::reflection::ProtoServerReflectionPlugin*>(plugin.get()) != nullptr) {
                plugin = std::make_unique<ProxiedReflection>(services_);
                return;
            }
        }
        plugins->push_back(std::make_unique<ProxiedReflection>(services_));  // reflection was not enabled: it is now
    }

  private:
    std::vector<std::string> services_;
};

}  // namespace

std::vector<std::string> RoutedServices(const RouteTable& routes) {
    namespace pb = google::protobuf;
    std::vector<std::string> files;
    pb::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
    std::vector<std::string> services;
    for (const auto& name : files) {
        const pb::FileDescriptor* file = pb::DescriptorPool::generated_pool()->FindFileByName(name);
        if (file == nullptr || routes.Find(file->package()) == nullptr) continue;
        for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i)->full_name());
    }
    std::sort(services.begin(), services.end());
    services.erase(std::unique(services.begin(), services.end()), services.end());
    return services;
}

std::unique_ptr<grpc::ServerBuilderOption> ListedInReflection(std::vector<std::string> services) {
    return std::make_unique<ListedInReflectionOption>(std::move(services));
}

}  // namespace crm::gateway
