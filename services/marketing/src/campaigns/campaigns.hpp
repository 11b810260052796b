#pragma once
// The campaigns area: campaigns (life cycle, budget, programs), their cost lines (the actual cost) and tracked links
// (UTM parameters, signed tokens of the public redirect). Every change of a campaign leaves through the outbox in its
// transaction (CampaignCreated, CampaignUpdated).
#include <crm/marketing/v1/marketing.pb.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::campaigns {

namespace v1 = crm::marketing::v1;
using common::RequestContext;

// Aggregate type of a campaign's events (the aggregate id is the campaign id).
inline constexpr char kAggregateType[] = "campaign";
// The purpose tracked-link tokens are signed for (common/public_token.hpp); fields: the link id.
inline constexpr char kLinkTokenPurpose[] = "tracked-link";

struct Settings {
    std::string internal_key;     // signs the public tokens
    std::string public_base_url;  // "https://go.example.com": tracked URLs are <base>/r/<token>
};

// The client-settable values of a campaign in a request, checked and normalized (UTM value lowercased, owner and
// parent trimmed), each violation named under `prefix` ("campaign."). On create (`create`) name and type are required
// and the status may only be PLANNED or ACTIVE; on update only the paths in `paths` are checked for being required.
v1::Campaign CheckedCampaign(const v1::Campaign& in, bool create, const std::vector<std::string>& paths,
                             common::Violations& violations);
// A cost line checked under "cost.".
v1::CampaignCost CheckedCost(const v1::CampaignCost& in, common::Violations& violations);
// A tracked link checked and normalized under "link.".
v1::TrackedLink CheckedLink(const v1::TrackedLink& in, common::Violations& violations);

struct ListQuery {
    int page_size = 50;
    std::string page_token;
    std::string status;  // stored form or ""
    std::string type;    // stored form or ""
    std::string parent_campaign_id;
};

class Campaigns {
  public:
    Campaigns(common::Db& db, common::Outbox& outbox, Settings settings);

    v1::Campaign Create(const RequestContext& rc, const v1::Campaign& in, const std::string& request_id);
    v1::Campaign Get(const RequestContext& rc, const std::string& id);
    common::Page<v1::Campaign> List(const RequestContext& rc, const ListQuery& query);
    v1::Campaign Update(const RequestContext& rc, const v1::Campaign& in, const std::vector<std::string>& paths,
                        const std::string& etag);

    std::pair<v1::CampaignCost, v1::Campaign> AddCost(const RequestContext& rc, const std::string& campaign_id,
                                                      const v1::CampaignCost& in, const std::string& request_id);
    common::Page<v1::CampaignCost> ListCosts(const RequestContext& rc, const std::string& campaign_id, int page_size,
                                             const std::string& page_token);

    v1::TrackedLink CreateLink(const RequestContext& rc, const std::string& campaign_id, const v1::TrackedLink& in,
                               const std::string& request_id);
    common::Page<v1::TrackedLink> ListLinks(const RequestContext& rc, const std::string& campaign_id, int page_size,
                                            const std::string& page_token);

  private:
    v1::TrackedLink WithToken(v1::TrackedLink link, const std::string& tenant) const;

    common::Db& db_;
    common::Outbox& outbox_;
    Settings settings_;
};

// For other areas, inside their transaction: the campaign, or nullopt when the tenant has none with this id.
std::optional<v1::Campaign> FindCampaign(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& id);

// For the email area, inside its transaction: a tracked link of the campaign for an email's link (channel "email",
// source "marketing_email"); returns its id.
std::string CreateEmailLink(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                            const v1::Campaign& campaign, const std::string& destination_url);
// The token of a tracked link (fields: link id, send id, person id; the last two empty for a link not sent to a
// person).
std::string LinkToken(const std::string& internal_key, const std::string& tenant, const std::string& link_id,
                      const std::string& send_id, const std::string& person_id);

// Stored form of the enums ("EMAIL", "PLANNED") and back.
std::string TypeText(v1::CampaignType type);
std::string StatusText(v1::CampaignStatus status);

}  // namespace crm::marketing::campaigns
