// Campaigns, cost lines and tracked links (see campaigns.hpp).
#include "campaigns/campaigns.hpp"

#include <crm/marketing/events/v1/events.pb.h>

#include <nlohmann/json.hpp>

#include "campaigns/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/public_token.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/campaign.hpp"
#include "records.hpp"

namespace crm::marketing::campaigns {
namespace {

namespace ev = crm::marketing::events::v1;
using common::ApiError;

constexpr common::TextRule kLongText{.max_chars = 4000, .multiline = true};
constexpr std::size_t kMaxOwnerId = 128;
constexpr std::int64_t kMaxActualCost = 1'000'000'000'000'000'000;  // 10^18: far from int64's end

// A row of CRM_CAMPAIGN_COLUMNS.
v1::Campaign ReadCampaign(const pqxx::row& r) {
    v1::Campaign c;
    c.set_id(r[0].as<std::string>());
    c.set_name(r[1].as<std::string>());
    c.set_description(r[2].as<std::string>());
    v1::CampaignType type = v1::CAMPAIGN_TYPE_UNSPECIFIED;
    v1::CampaignType_Parse("CAMPAIGN_TYPE_" + r[3].as<std::string>(), &type);
    c.set_type(type);
    v1::CampaignStatus status = v1::CAMPAIGN_STATUS_UNSPECIFIED;
    v1::CampaignStatus_Parse("CAMPAIGN_STATUS_" + r[4].as<std::string>(), &status);
    c.set_status(status);
    c.set_start_date(r[5].as<std::string>());
    c.set_end_date(r[6].as<std::string>());
    c.set_owner_id(r[7].as<std::string>());
    const std::string currency = r[9].as<std::string>();
    if (!r[8].is_null()) SetMoney(c.mutable_budget(), r[8].as<std::int64_t>(), currency);
    SetMoney(c.mutable_actual_cost(), r[10].as<std::int64_t>(), currency);
    c.set_parent_campaign_id(r[11].as<std::string>());
    c.set_goal(r[12].as<std::string>());
    c.set_utm_campaign(r[13].as<std::string>());
    SetTime(c.mutable_create_time(), r[14]);
    SetTime(c.mutable_update_time(), r[15]);
    c.set_version(r[16].as<std::int64_t>());
    c.set_etag(common::MakeEtag(c.version()));
    return c;
}

v1::CampaignCost ReadCost(const pqxx::row& r) {
    v1::CampaignCost k;
    k.set_id(r[0].as<std::string>());
    k.set_campaign_id(r[1].as<std::string>());
    k.set_description(r[2].as<std::string>());
    SetMoney(k.mutable_amount(), r[3].as<std::int64_t>(), r[4].as<std::string>());
    k.set_incur_date(r[5].as<std::string>());
    SetTime(k.mutable_create_time(), r[6]);
    return k;
}

v1::TrackedLink ReadLink(const pqxx::row& r) {
    v1::TrackedLink l;
    l.set_id(r[0].as<std::string>());
    l.set_campaign_id(r[1].as<std::string>());
    l.set_destination_url(r[2].as<std::string>());
    l.set_channel(r[3].as<std::string>());
    l.set_source(r[4].as<std::string>());
    l.set_content(r[5].as<std::string>());
    l.set_term(r[6].as<std::string>());
    l.set_target_url(r[7].as<std::string>());
    SetTime(l.mutable_create_time(), r[8]);
    return l;
}

v1::Campaign Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetCampaignForUpdate : sql::kGetCampaign, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("campaign", id);
    return ReadCampaign(rows[0]);
}

domain::CampaignStatus DomainStatus(v1::CampaignStatus s) {
    return domain::ParseStatus(StatusText(s)).value_or(domain::CampaignStatus::kPlanned);
}

bool Has(const std::vector<std::string>& paths, const char* path) {
    for (const auto& p : paths) {
        if (p == path) return true;
    }
    return false;
}

// The parent must exist in the tenant, must not be the campaign itself or one of its descendants, and the chain above
// the campaign stays within domain::kMaxCampaignDepth levels.
void CheckParent(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& self_id,
                 const std::string& parent_id) {
    if (parent_id.empty()) return;
    if (parent_id == self_id) {
        throw ApiError::InvalidArgument("campaign.parent_campaign_id", "a campaign cannot be its own parent");
    }
    std::string at = parent_id;
    for (int level = 1; !at.empty(); ++level) {
        const pqxx::result rows = db.Exec(tx, sql::kParentOf, tenant, at);
        if (rows.empty()) {
            throw ApiError::InvalidArgument("campaign.parent_campaign_id",
                                            level == 1 ? "no campaign with this id" : "the parent chain is broken");
        }
        if (level >= domain::kMaxCampaignDepth) {
            throw ApiError::InvalidArgument("campaign.parent_campaign_id",
                                            "campaign programs are at most 5 levels deep");
        }
        at = rows[0][0].as<std::string>();
        if (at == self_id) {
            throw ApiError::InvalidArgument("campaign.parent_campaign_id",
                                            "this parent is a descendant of the campaign (a cycle)");
        }
    }
}

void CheckDateOrder(const v1::Campaign& c) {
    const auto start = domain::ParseDate(c.start_date());
    const auto end = domain::ParseDate(c.end_date());
    if (start && end && *end < *start) {
        throw ApiError::InvalidArgument("campaign.end_date", "must not be before start_date");
    }
}

template <class T>
common::Page<T> Paged(std::vector<T> items, int limit, const std::string& tenant, const std::string& scope) {
    return common::MakePage(std::move(items), limit, [&](const T& item) {
        return common::EncodeTimeIdToken(tenant, scope, {Micros(item.create_time()), item.id()});
    });
}

}  // namespace

std::string TypeText(v1::CampaignType type) { return v1::CampaignType_Name(type).substr(sizeof("CAMPAIGN_TYPE_") - 1); }
std::string StatusText(v1::CampaignStatus status) {
    return v1::CampaignStatus_Name(status).substr(sizeof("CAMPAIGN_STATUS_") - 1);
}

v1::Campaign CheckedCampaign(const v1::Campaign& in, bool create, const std::vector<std::string>& paths,
                             common::Violations& v) {
    auto needed = [&](const char* path) { return create || Has(paths, path); };
    v1::Campaign out = in;
    // The id is assigned on create and names the campaign on update (checked by the handler); here only its text.
    if (create) common::CheckText(v, in.id(), "campaign.id", common::kName);
    out.set_name(common::text::Trim(in.name()));
    common::CheckText(v, out.name(), "campaign.name", needed("name") ? common::kRequiredName : common::kName);
    common::CheckText(v, in.description(), "campaign.description", kLongText);
    common::CheckText(v, in.goal(), "campaign.goal", kLongText);
    if (!v1::CampaignType_IsValid(in.type())) {
        v.Add("campaign.type", "unknown campaign type");
    } else if (needed("type") && in.type() == v1::CAMPAIGN_TYPE_UNSPECIFIED) {
        v.Add("campaign.type", "required: EMAIL, WEBINAR, EVENT, PAID_ADS or CONTENT");
    }
    if (!v1::CampaignStatus_IsValid(in.status())) {
        v.Add("campaign.status", "unknown campaign status");
    } else if (create) {
        if (in.status() == v1::CAMPAIGN_STATUS_UNSPECIFIED) out.set_status(v1::CAMPAIGN_STATUS_PLANNED);
        if (in.status() == v1::CAMPAIGN_STATUS_COMPLETED || in.status() == v1::CAMPAIGN_STATUS_ABORTED) {
            v.Add("campaign.status", "a new campaign is PLANNED or ACTIVE");
        }
    } else if (Has(paths, "status") && in.status() == v1::CAMPAIGN_STATUS_UNSPECIFIED) {
        v.Add("campaign.status", "required: the status to move to");
    }
    if (common::CheckText(v, in.start_date(), "campaign.start_date", common::kName)) {
        domain::CheckDate(v, in.start_date(), "campaign.start_date");
    }
    if (common::CheckText(v, in.end_date(), "campaign.end_date", common::kName)) {
        domain::CheckDate(v, in.end_date(), "campaign.end_date");
    }
    out.set_owner_id(common::text::Trim(in.owner_id()));
    if (common::CheckText(v, in.owner_id(), "campaign.owner_id", common::kName)) {
        common::CheckToken(v, out.owner_id(), "campaign.owner_id", kMaxOwnerId);
    }
    if (in.has_budget()) {
        common::CheckMoney(v, in.budget().amount_minor(), in.budget().currency_code(), "campaign.budget");
    }
    out.set_parent_campaign_id(common::text::Trim(in.parent_campaign_id()));
    if (!out.parent_campaign_id().empty()) {
        out.set_parent_campaign_id(common::CheckId(v, out.parent_campaign_id(), "campaign.parent_campaign_id"));
    } else {
        common::CheckText(v, in.parent_campaign_id(), "campaign.parent_campaign_id", common::kName);
    }
    if (common::CheckText(v, in.utm_campaign(), "campaign.utm_campaign", common::kName)) {
        out.set_utm_campaign(domain::CheckUtmValue(v, in.utm_campaign(), "campaign.utm_campaign", false));
    }
    if (!in.etag().empty() && !common::ParseEtag(in.etag())) {
        v.Add("campaign.etag", "not an etag this service issued; send the value last read, or nothing");
    }
    return out;
}

v1::CampaignCost CheckedCost(const v1::CampaignCost& in, common::Violations& v) {
    v1::CampaignCost out = in;
    common::CheckText(v, in.id(), "cost.id", common::kName);
    common::CheckText(v, in.campaign_id(), "cost.campaign_id", common::kName);
    out.set_description(common::text::Trim(in.description()));
    common::CheckText(v, out.description(), "cost.description", common::kRequiredName);
    if (!in.has_amount()) {
        v.Add("cost.amount", "required: a positive amount in the campaign's currency");
    } else if (common::CheckMoney(v, in.amount().amount_minor(), in.amount().currency_code(), "cost.amount") &&
               in.amount().amount_minor() == 0) {
        v.Add("cost.amount.amount_minor", "must be positive");
    }
    if (common::CheckText(v, in.incur_date(), "cost.incur_date", common::kName)) {
        domain::CheckDate(v, in.incur_date(), "cost.incur_date", true);
    }
    return out;
}

v1::TrackedLink CheckedLink(const v1::TrackedLink& in, common::Violations& v) {
    v1::TrackedLink out;
    common::CheckText(v, in.id(), "link.id", common::kName);
    common::CheckText(v, in.campaign_id(), "link.campaign_id", common::kName);
    out.set_destination_url(common::text::Trim(in.destination_url()));
    if (common::CheckText(v, in.destination_url(), "link.destination_url", {.max_chars = domain::kMaxUrlChars})) {
        domain::CheckDestinationUrl(v, out.destination_url(), "link.destination_url");
    }
    auto utm = [&](const std::string& value, const char* field, bool required) {
        if (!common::CheckText(v, value, field, common::kName)) return std::string();
        return domain::CheckUtmValue(v, common::text::Trim(value), field, required);
    };
    out.set_channel(utm(in.channel(), "link.channel", true));
    out.set_source(utm(in.source(), "link.source", true));
    out.set_content(utm(in.content(), "link.content", false));
    out.set_term(utm(in.term(), "link.term", false));
    return out;
}

std::optional<v1::Campaign> FindCampaign(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetCampaign, tenant, id);
    if (rows.empty()) return std::nullopt;
    return ReadCampaign(rows[0]);
}

Campaigns::Campaigns(common::Db& db, common::Outbox& outbox, Settings settings)
    : db_(db), outbox_(outbox), settings_(std::move(settings)) {}

v1::Campaign Campaigns::Create(const RequestContext& rc, const v1::Campaign& in, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, t, "CreateCampaign", request_id, id)) {
            return Load(db_, tx, t, *first);
        }
        CheckDateOrder(in);
        CheckParent(db_, tx, t, id, in.parent_campaign_id());
        const std::string budget = in.has_budget() ? std::to_string(in.budget().amount_minor()) : std::string();
        db_.Exec(tx, sql::kInsertCampaign, t, id, in.name(), in.description(), TypeText(in.type()),
                 StatusText(in.status()), common::NullIfEmpty(in.start_date()), common::NullIfEmpty(in.end_date()),
                 in.owner_id().empty() ? rc.user_id : in.owner_id(), common::NullIfEmpty(budget),
                 in.has_budget() ? in.budget().currency_code() : std::string(),
                 common::NullIfEmpty(in.parent_campaign_id()), in.goal(),
                 in.utm_campaign().empty() ? domain::UtmSlug(in.name()) : in.utm_campaign());
        v1::Campaign created = Load(db_, tx, t, id);
        ev::CampaignCreated event;
        *event.mutable_campaign() = created;
        Emit(outbox_, tx, t, rc.request_id, kAggregateType, id, created.version(), event);
        return created;
    });
}

v1::Campaign Campaigns::Get(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return Load(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Campaign> Campaigns::List(const RequestContext& rc, const ListQuery& q) {
    const std::string scope = nlohmann::json{"ListCampaigns", q.status, q.type, q.parent_campaign_id}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::Campaign> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Campaign> out;
        for (const auto& r : db_.Exec(tx, sql::kListCampaigns, rc.tenant_id, q.status, q.type, q.parent_campaign_id,
                                      after.micros, after.id, q.page_size + 1)) {
            out.push_back(ReadCampaign(r));
        }
        return out;
    });
    return Paged(std::move(items), q.page_size, rc.tenant_id, scope);
}

v1::Campaign Campaigns::Update(const RequestContext& rc, const v1::Campaign& in, const std::vector<std::string>& paths,
                               const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Campaign current = Load(db_, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        v1::Campaign next = current;
        for (const auto& p : paths) {
            if (p == "name") next.set_name(in.name());
            if (p == "description") next.set_description(in.description());
            if (p == "type") next.set_type(in.type());
            if (p == "status") next.set_status(in.status());
            if (p == "start_date") next.set_start_date(in.start_date());
            if (p == "end_date") next.set_end_date(in.end_date());
            if (p == "owner_id") next.set_owner_id(in.owner_id());
            if (p == "goal") next.set_goal(in.goal());
            if (p == "parent_campaign_id") next.set_parent_campaign_id(in.parent_campaign_id());
            if (p == "budget") {
                if (in.has_budget()) {
                    *next.mutable_budget() = in.budget();
                } else {
                    next.clear_budget();
                }
            }
        }
        std::vector<std::string> changed;
        auto diff = [&](const char* path, bool differs) {
            if (differs) changed.push_back(path);
        };
        diff("name", next.name() != current.name());
        diff("description", next.description() != current.description());
        diff("type", next.type() != current.type());
        diff("status", next.status() != current.status());
        diff("start_date", next.start_date() != current.start_date());
        diff("end_date", next.end_date() != current.end_date());
        diff("owner_id", next.owner_id() != current.owner_id());
        diff("budget", next.has_budget() != current.has_budget() ||
                           (next.has_budget() && (next.budget().amount_minor() != current.budget().amount_minor() ||
                                                  next.budget().currency_code() != current.budget().currency_code())));
        diff("parent_campaign_id", next.parent_campaign_id() != current.parent_campaign_id());
        diff("goal", next.goal() != current.goal());
        if (changed.empty()) return current;

        const domain::CampaignStatus from = DomainStatus(current.status());
        if (domain::IsFinal(from)) {
            for (const auto& p : changed) {
                if (p != "name" && p != "description" && p != "goal") {
                    throw ApiError::FailedPrecondition(
                        "the campaign is " + StatusText(current.status()) + ": only name, description and goal change",
                        "CAMPAIGN_CLOSED");
                }
            }
        }
        if (!domain::CanTransition(from, DomainStatus(next.status()))) {
            throw ApiError::FailedPrecondition(
                "a " + StatusText(current.status()) + " campaign cannot become " + StatusText(next.status()),
                "CAMPAIGN_STATUS");
        }
        CheckDateOrder(next);
        if (next.parent_campaign_id() != current.parent_campaign_id()) {
            CheckParent(db_, tx, t, current.id(), next.parent_campaign_id());
        }
        // One currency per campaign: once cost lines exist, a budget must use theirs.
        std::string currency = current.actual_cost().currency_code();
        const bool has_costs = current.actual_cost().amount_minor() > 0;
        if (next.has_budget()) {
            if (has_costs && next.budget().currency_code() != currency) {
                throw ApiError::InvalidArgument("campaign.budget.currency_code",
                                                "the campaign's cost lines are in " + currency);
            }
            currency = next.budget().currency_code();
        } else if (!has_costs) {
            currency.clear();
        }
        const std::string budget = next.has_budget() ? std::to_string(next.budget().amount_minor()) : std::string();
        const pqxx::result rows =
            db_.Exec(tx, sql::kWriteCampaign, t, current.id(), next.name(), next.description(), TypeText(next.type()),
                     StatusText(next.status()), common::NullIfEmpty(next.start_date()),
                     common::NullIfEmpty(next.end_date()), next.owner_id(), common::NullIfEmpty(budget), currency,
                     common::NullIfEmpty(next.parent_campaign_id()), next.goal(), current.version());
        if (rows.empty()) throw ApiError::Aborted("the campaign changed concurrently; read it again and retry");
        v1::Campaign updated = Load(db_, tx, t, current.id());
        ev::CampaignUpdated event;
        *event.mutable_campaign() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        event.set_previous_status(current.status());
        Emit(outbox_, tx, t, rc.request_id, kAggregateType, updated.id(), updated.version(), event);
        return updated;
    });
}

std::pair<v1::CampaignCost, v1::Campaign> Campaigns::AddCost(const RequestContext& rc, const std::string& campaign_id,
                                                             const v1::CampaignCost& in,
                                                             const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Campaign current = Load(db_, tx, t, campaign_id, true);
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, t, "AddCampaignCost", request_id, id)) {
            const pqxx::result rows = db_.Exec(tx, sql::kGetCost, t, *first);
            if (rows.empty()) throw ApiError::NotFound("campaign cost", *first);
            return std::make_pair(ReadCost(rows[0]), current);
        }
        if (current.status() == v1::CAMPAIGN_STATUS_ABORTED) {
            throw ApiError::FailedPrecondition("the campaign is ABORTED", "CAMPAIGN_CLOSED");
        }
        const std::string& currency = current.actual_cost().currency_code();
        if (!currency.empty() && in.amount().currency_code() != currency) {
            throw ApiError::InvalidArgument("cost.amount.currency_code", "the campaign's currency is " + currency);
        }
        if (current.actual_cost().amount_minor() > kMaxActualCost - in.amount().amount_minor()) {
            throw ApiError::FailedPrecondition("the campaign's actual cost would pass 10^18 minor units", "COST_LIMIT");
        }
        db_.Exec(tx, sql::kInsertCost, t, id, campaign_id, in.description(), in.amount().amount_minor(),
                 in.amount().currency_code(), in.incur_date());
        db_.Exec(tx, sql::kAddActualCost, t, campaign_id, in.amount().amount_minor(), in.amount().currency_code());
        const v1::Campaign updated = Load(db_, tx, t, campaign_id);
        ev::CampaignUpdated event;
        *event.mutable_campaign() = updated;
        event.add_changed_paths("actual_cost");
        event.set_previous_status(current.status());
        Emit(outbox_, tx, t, rc.request_id, kAggregateType, campaign_id, updated.version(), event);
        const v1::CampaignCost cost = ReadCost(db_.Exec(tx, sql::kGetCost, t, id)[0]);
        ev::CampaignCostAdded added;
        added.set_campaign_id(campaign_id);
        *added.mutable_cost() = cost;
        Emit(outbox_, tx, t, rc.request_id, "campaign_cost", id, 1, added);
        return std::make_pair(cost, updated);
    });
}

common::Page<v1::CampaignCost> Campaigns::ListCosts(const RequestContext& rc, const std::string& campaign_id,
                                                    int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListCampaignCosts", campaign_id}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::CampaignCost> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        Load(db_, tx, rc.tenant_id, campaign_id);
        std::vector<v1::CampaignCost> out;
        for (const auto& r :
             db_.Exec(tx, sql::kListCosts, rc.tenant_id, campaign_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadCost(r));
        }
        return out;
    });
    return Paged(std::move(items), page_size, rc.tenant_id, scope);
}

std::string LinkToken(const std::string& internal_key, const std::string& tenant, const std::string& link_id,
                      const std::string& send_id, const std::string& person_id) {
    return common::SignPublicToken(kLinkTokenPurpose, {.tenant = tenant, .fields = {link_id, send_id, person_id}},
                                   internal_key);
}

std::string CreateEmailLink(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                            const v1::Campaign& campaign, const std::string& destination_url) {
    const std::string id = common::NewUuid();
    const std::string target = domain::AppendUtm(destination_url, {.source = "marketing_email",
                                                                   .medium = "email",
                                                                   .campaign = campaign.utm_campaign(),
                                                                   .content = "",
                                                                   .term = ""});
    db.Exec(tx, sql::kInsertLink, tenant, id, campaign.id(), destination_url, "email", "marketing_email", "", "",
            target);
    return id;
}

v1::TrackedLink Campaigns::WithToken(v1::TrackedLink link, const std::string& tenant) const {
    link.set_token(LinkToken(settings_.internal_key, tenant, link.id(), "", ""));
    link.set_tracked_url(settings_.public_base_url + "/r/" + link.token());
    return link;
}

v1::TrackedLink Campaigns::CreateLink(const RequestContext& rc, const std::string& campaign_id,
                                      const v1::TrackedLink& in, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Campaign campaign = Load(db_, tx, t, campaign_id);
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, t, "CreateTrackedLink", request_id, id)) {
            const pqxx::result rows = db_.Exec(tx, sql::kGetLink, t, *first);
            if (rows.empty()) throw ApiError::NotFound("tracked link", *first);
            return WithToken(ReadLink(rows[0]), t);
        }
        if (campaign.status() == v1::CAMPAIGN_STATUS_ABORTED) {
            throw ApiError::FailedPrecondition("the campaign is ABORTED", "CAMPAIGN_CLOSED");
        }
        const std::string target = domain::AppendUtm(in.destination_url(), {.source = in.source(),
                                                                            .medium = in.channel(),
                                                                            .campaign = campaign.utm_campaign(),
                                                                            .content = in.content(),
                                                                            .term = in.term()});
        db_.Exec(tx, sql::kInsertLink, t, id, campaign_id, in.destination_url(), in.channel(), in.source(),
                 in.content(), in.term(), target);
        return WithToken(ReadLink(db_.Exec(tx, sql::kGetLink, t, id)[0]), t);
    });
}

common::Page<v1::TrackedLink> Campaigns::ListLinks(const RequestContext& rc, const std::string& campaign_id,
                                                   int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListTrackedLinks", campaign_id}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::TrackedLink> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        Load(db_, tx, rc.tenant_id, campaign_id);
        std::vector<v1::TrackedLink> out;
        for (const auto& r :
             db_.Exec(tx, sql::kListLinks, rc.tenant_id, campaign_id, after.micros, after.id, page_size + 1)) {
            out.push_back(WithToken(ReadLink(r), rc.tenant_id));
        }
        return out;
    });
    return Paged(std::move(items), page_size, rc.tenant_id, scope);
}

}  // namespace crm::marketing::campaigns
