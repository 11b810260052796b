// The duplicates RPCs of ContactsService: FindDuplicates, MergeContacts. Every field is checked before anything is
// read or written.
#include <set>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/records.hpp"
#include "duplicates/duplicates.hpp"
#include "grpc_service.hpp"
#include "metrics.hpp"
#include "people/people.hpp"

namespace crm::contacts {

using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

namespace {
constexpr int kDuplicatesDefault = 10;
constexpr int kDuplicatesMax = 50;
}  // namespace

grpc::Status ContactsService::FindDuplicates(ServerContext* sc, const v1::FindDuplicatesRequest* req,
                                             v1::FindDuplicatesResponse* resp) {
    return rpc_.Handle(sc, "FindDuplicates", [&](const RequestContext& rc) {
        common::Violations v;
        const int limit = common::ResolvePageSize(req->page_size(), kDuplicatesDefault, kDuplicatesMax);
        std::vector<v1::DuplicateMatch> matches;
        if (req->has_candidate()) {
            const domain::ContactCheck candidate =
                domain::NormalizeContact(people::FieldsOf(req->candidate()), settings_, "candidate", false);
            v.Append(candidate.violations);
            const domain::DuplicateProbe probe = duplicates::ProbeOf(candidate.contact);
            if (candidate.violations.empty() && probe.email.empty() && probe.phone.empty() && probe.name.empty()) {
                v.Add("candidate", "needs a name, an email or a phone number");
            }
            v.ThrowIfAny();
            matches = duplicates::FindDuplicates(db_, rc, probe, limit);
        } else {
            const std::string id = common::CheckId(v, req->contact_id(), "contact_id");
            v.ThrowIfAny();
            matches = duplicates::FindDuplicatesOf(db_, rc, id, limit);
        }
        for (v1::DuplicateMatch& match : matches) *resp->add_matches() = std::move(match);
        metrics_->duplicates_on_find.Increment(static_cast<double>(resp->matches_size()));
    });
}

grpc::Status ContactsService::MergeContacts(ServerContext* sc, const v1::MergeContactsRequest* req,
                                            v1::MergeContactsResponse* resp) {
    return rpc_.Handle(sc, "MergeContacts", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string survivor = common::CheckId(v, req->survivor_id(), "survivor_id");
        common::CheckRequestId(v, req->request_id());
        const int count = req->loser_ids_size();
        if (count < static_cast<int>(domain::limits::kMinMergeLosers)) {
            v.Add("loser_ids", "must name 1 to 10 contacts");
        } else {
            common::CheckListSize(v, static_cast<std::size_t>(count), "loser_ids", domain::limits::kMaxMergeLosers);
        }
        std::vector<std::string> losers;
        std::set<std::string> seen = {survivor};
        for (int i = 0; i < count; ++i) {
            const std::string field = "loser_ids[" + std::to_string(i) + "]";
            std::string id = common::CheckId(v, req->loser_ids(i), field);
            if (id.empty()) continue;
            if (!seen.insert(id).second) {
                v.Add(field, id == survivor ? "must differ from survivor_id" : "is listed twice");
                continue;
            }
            losers.push_back(std::move(id));
        }
        v.ThrowIfAny();
        *resp->mutable_contact() =
            duplicates::MergeContacts(db_, outbox_, rc, survivor, losers, req->request_id(), req->survivor_etag());
        metrics_->merge_requests.Increment();
        metrics_->merged_contacts.Increment(static_cast<double>(losers.size()));
    });
}

}  // namespace crm::contacts
