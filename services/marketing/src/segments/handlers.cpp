// RPCs of the segments area: segments, list members, previews.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/mail.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"
#include "segments/segments.hpp"

namespace crm::marketing {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kUpdatable = {"name", "description", "rule"};

int PageSize(common::Violations& v, int requested) {
    if (requested < 0) {
        v.Add("page_size", "must not be negative");
        return 0;
    }
    return common::ResolvePageSize(requested);
}

// The people a members request names: ids and (lowercased) emails, and every value in request order for the report
// of values that matched nobody.
struct Named {
    std::vector<std::string> ids, emails, order;
};

Named CheckNamed(common::Violations& v, const google::protobuf::RepeatedPtrField<std::string>& ids,
                 const google::protobuf::RepeatedPtrField<std::string>& emails, const std::string* csv) {
    Named out;
    common::CheckListSize(v, ids.size(), "person_ids", segments::kMaxMemberValues);
    common::CheckListSize(v, emails.size(), "emails", segments::kMaxMemberValues);
    for (int i = 0; i < ids.size() && i < static_cast<int>(segments::kMaxMemberValues); ++i) {
        const std::string id = common::CheckId(v, ids[i], "person_ids[" + std::to_string(i) + "]");
        out.ids.push_back(id);
        out.order.push_back(id);
    }
    for (int i = 0; i < emails.size() && i < static_cast<int>(segments::kMaxMemberValues); ++i) {
        const std::string field = "emails[" + std::to_string(i) + "]";
        if (!common::CheckText(v, emails[i], field, {.max_chars = 254, .required = true})) continue;
        const std::string email = common::text::AsciiLower(common::text::Trim(emails[i]));
        if (!common::mail::IsDeliverableAddress(email)) {
            v.Add(field, "not an email address local@domain");
            continue;
        }
        out.emails.push_back(email);
        out.order.push_back(email);
    }
    if (csv != nullptr && !csv->empty() &&
        common::CheckText(v, *csv, "csv", {.max_chars = segments::kMaxCsvBytes, .multiline = true})) {
        std::string token;
        auto flush = [&] {
            std::string value = common::text::Trim(token);
            token.clear();
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            if (value.empty()) return;
            const std::string lower = common::text::AsciiLower(value);
            if (common::IsUuid(lower)) {
                out.ids.push_back(lower);
            } else if (common::mail::IsDeliverableAddress(lower)) {
                out.emails.push_back(lower);
            }
            out.order.push_back(lower);  // a value that is neither is reported as unmatched
        };
        for (char c : *csv) {
            if (c == ',' || c == '\n' || c == '\r' || c == ';') {
                flush();
            } else {
                token += c;
            }
        }
        flush();
    }
    if (out.order.size() > segments::kMaxMemberValues) {
        v.Add(csv != nullptr && !csv->empty() ? "csv" : "person_ids", "at most 10,000 values in all");
    }
    return out;
}

}  // namespace

grpc::Status MarketingService::CreateSegment(grpc::ServerContext* sc, const v1::CreateSegmentRequest* req,
                                             v1::CreateSegmentResponse* resp) {
    return rpc_.Handle(sc, "CreateSegment", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const v1::Segment segment = segments::CheckedSegment(req->segment(), true, {}, v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        *resp->mutable_segment() = areas_.segments->Create(rc, segment, req->request_id());
    });
}

grpc::Status MarketingService::GetSegment(grpc::ServerContext* sc, const v1::GetSegmentRequest* req,
                                          v1::GetSegmentResponse* resp) {
    return rpc_.Handle(sc, "GetSegment", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_segment() = areas_.segments->Get(rc, id);
    });
}

grpc::Status MarketingService::ListSegments(grpc::ServerContext* sc, const v1::ListSegmentsRequest* req,
                                            v1::ListSegmentsResponse* resp) {
    return rpc_.Handle(sc, "ListSegments", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const int page_size = PageSize(v, req->page_size());
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.segments->List(rc, page_size, req->page_token());
        for (auto& s : page.items) *resp->add_segments() = std::move(s);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status MarketingService::UpdateSegment(grpc::ServerContext* sc, const v1::UpdateSegmentRequest* req,
                                             v1::UpdateSegmentResponse* resp) {
    return rpc_.Handle(sc, "UpdateSegment", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->segment().id(), "segment.id");
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            common::ValidateUpdateMask(paths, kUpdatable);
        } catch (const ApiError& e) {
            v.Append(e.violations());
        }
        v1::Segment patch = segments::CheckedSegment(req->segment(), false, paths, v);
        v.ThrowIfAny();
        patch.set_id(id);
        *resp->mutable_segment() = areas_.segments->Update(rc, patch, paths, req->segment().etag());
    });
}

grpc::Status MarketingService::AddSegmentMembers(grpc::ServerContext* sc, const v1::AddSegmentMembersRequest* req,
                                                 v1::AddSegmentMembersResponse* resp) {
    return rpc_.Handle(sc, "AddSegmentMembers", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string segment_id = common::CheckId(v, req->segment_id(), "segment_id");
        const Named named = CheckNamed(v, req->person_ids(), req->emails(), &req->csv());
        if (named.order.empty() && v.empty()) v.Add("person_ids", "name at least one person (ids, emails or csv)");
        v.ThrowIfAny();
        auto result = areas_.segments->AddMembers(rc, segment_id, named.ids, named.emails, named.order);
        resp->set_added(result.added);
        for (auto& u : result.unmatched) resp->add_unmatched(std::move(u));
        *resp->mutable_segment() = std::move(result.segment);
    });
}

grpc::Status MarketingService::RemoveSegmentMembers(grpc::ServerContext* sc, const v1::RemoveSegmentMembersRequest* req,
                                                    v1::RemoveSegmentMembersResponse* resp) {
    return rpc_.Handle(sc, "RemoveSegmentMembers", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string segment_id = common::CheckId(v, req->segment_id(), "segment_id");
        const Named named = CheckNamed(v, req->person_ids(), req->emails(), nullptr);
        if (named.order.empty() && v.empty()) v.Add("person_ids", "name at least one person (ids or emails)");
        v.ThrowIfAny();
        auto result = areas_.segments->RemoveMembers(rc, segment_id, named.ids, named.emails);
        resp->set_removed(result.removed);
        *resp->mutable_segment() = std::move(result.segment);
    });
}

grpc::Status MarketingService::ListSegmentMembers(grpc::ServerContext* sc, const v1::ListSegmentMembersRequest* req,
                                                  v1::ListSegmentMembersResponse* resp) {
    return rpc_.Handle(sc, "ListSegmentMembers", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string segment_id = common::CheckId(v, req->segment_id(), "segment_id");
        const int page_size = PageSize(v, req->page_size());
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.segments->Members(rc, segment_id, page_size, req->page_token());
        for (auto& m : page.items) *resp->add_members() = std::move(m);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status MarketingService::PreviewSegment(grpc::ServerContext* sc, const v1::PreviewSegmentRequest* req,
                                              v1::PreviewSegmentResponse* resp) {
    return rpc_.Handle(sc, "PreviewSegment", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const int page_size = PageSize(v, req->page_size());
        domain::Rule rule;
        if (!req->has_rule()) {
            v.Add("rule", "required: the rule tree to evaluate");
        } else {
            rule = segments::CheckedRule(req->rule(), "rule", v);
        }
        v.ThrowIfAny();
        auto preview = areas_.segments->PreviewRule(rc, rule, page_size);
        resp->set_count(preview.count);
        for (auto& m : preview.members) *resp->add_members() = std::move(m);
    });
}

}  // namespace crm::marketing
