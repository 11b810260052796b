// RPCs of the tracking area, called through the gateway's public link routes: OpenTrackedLink, Unsubscribe.
#include <grpcpp/grpcpp.h>

#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"
#include "tracking/tracking.hpp"

namespace crm::marketing {

grpc::Status MarketingService::OpenTrackedLink(grpc::ServerContext* sc, const v1::OpenTrackedLinkRequest* req,
                                               v1::OpenTrackedLinkResponse* resp) {
    return rpc_.Handle(sc, "OpenTrackedLink", [&](const common::RequestContext& rc) {
        common::Violations v;
        common::CheckText(v, req->token(), "token", {.max_chars = 1000, .required = true});
        common::CheckToken(v, req->visitor_id(), "visitor_id", 128);
        v.ThrowIfAny();
        resp->set_redirect_url(areas_.tracking->OpenLink(rc, req->token(), req->visitor_id()));
    });
}

grpc::Status MarketingService::Unsubscribe(grpc::ServerContext* sc, const v1::UnsubscribeRequest* req,
                                           v1::UnsubscribeResponse*) {
    return rpc_.Handle(sc, "Unsubscribe", [&](const common::RequestContext& rc) {
        common::Violations v;
        common::CheckText(v, req->token(), "token", {.max_chars = 1000, .required = true});
        v.ThrowIfAny();
        areas_.tracking->Unsubscribe(rc, req->token());
    });
}

grpc::Status MarketingService::OpenEmailPixel(grpc::ServerContext* sc, const v1::OpenEmailPixelRequest* req,
                                              v1::OpenEmailPixelResponse* resp) {
    return rpc_.Handle(sc, "OpenEmailPixel", [&](const common::RequestContext& rc) {
        common::Violations v;
        common::CheckText(v, req->token(), "token", {.max_chars = 1000, .required = true});
        v.ThrowIfAny();
        areas_.tracking->OpenPixel(rc, req->token());
        resp->mutable_pixel()->set_content_type("image/gif");
        resp->mutable_pixel()->set_data(tracking::PixelGif());
    });
}

}  // namespace crm::marketing
