// IncrementalDataset (kpis.hpp): a Dataset brought up to date by re-folding only the aggregates that changed.
#include <algorithm>
#include <set>
#include <type_traits>

#include "domain/kpi_index.hpp"
#include "domain/kpis.hpp"

namespace crm::analytics::domain {

namespace {

size_t HeapBytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

size_t Bytes(const OpportunityState& s) {
    return HeapBytes(s.pipeline_id) + HeapBytes(s.stage_id) + HeapBytes(s.stage_name) + HeapBytes(s.currency_code) +
           HeapBytes(s.owner_id) + HeapBytes(s.lead_id) + HeapBytes(s.source) + HeapBytes(s.campaign_id);
}
size_t Bytes(const LeadState& s) { return HeapBytes(s.source) + HeapBytes(s.campaign_id) + HeapBytes(s.owner_id); }

// A timeline in memory: the object and its shared_ptr control block, its id, its segments and their strings.
template <class Timeline>
size_t Bytes(const Timeline& t) {
    size_t n = sizeof(Timeline) + 32 + HeapBytes(t.id) + t.segments.capacity() * sizeof(t.segments.front());
    for (const auto& s : t.segments) n += Bytes(s.state);
    return n;
}

// A record's entry in the creation index (a map node with its id).
size_t RecordBytes(const std::string& id) { return 96 + HeapBytes(id); }

// old (sorted) without one occurrence of each of `removed`, merged with `added`.
std::vector<Micros> Replace(const std::vector<Micros>& old, std::vector<Micros> removed, std::vector<Micros> added) {
    std::sort(removed.begin(), removed.end());
    std::sort(added.begin(), added.end());
    std::vector<Micros> kept;
    kept.reserve(old.size());
    size_t r = 0;
    for (const Micros t : old) {
        while (r < removed.size() && removed[r] < t) ++r;  // not present: nothing to remove
        if (r < removed.size() && removed[r] == t) {
            ++r;
            continue;
        }
        kept.push_back(t);
    }
    std::vector<Micros> out;
    out.reserve(kept.size() + added.size());
    std::merge(kept.begin(), kept.end(), added.begin(), added.end(), std::back_inserter(out));
    return out;
}

// old and replacements, both sorted by id: the replacements take the place of the old timelines with their id, or
// are inserted in id order. on_replaced(old timeline) for each one replaced.
template <class T, class OnReplaced>
std::vector<std::shared_ptr<const T>> MergeById(const std::vector<std::shared_ptr<const T>>& old,
                                                const std::vector<std::shared_ptr<const T>>& replacements,
                                                OnReplaced on_replaced) {
    std::vector<std::shared_ptr<const T>> out;
    out.reserve(old.size() + replacements.size());
    size_t i = 0, j = 0;
    while (i < old.size() || j < replacements.size()) {
        if (j == replacements.size() || (i < old.size() && old[i]->id < replacements[j]->id)) {
            out.push_back(old[i++]);
        } else if (i == old.size() || replacements[j]->id < old[i]->id) {
            out.push_back(replacements[j++]);
        } else {
            on_replaced(*old[i]);
            out.push_back(replacements[j++]);
            ++i;
        }
    }
    return out;
}

// The index's timelines replaced by `replaced` (those that were fresh already are not in the index), added to `stale`.
template <class T>
void MarkStale(const std::vector<std::shared_ptr<const T>>& fresh, const std::vector<const T*>& replaced,
               StaleTimelines& stale, size_t& bytes) {
    for (const T* was : replaced) {
        auto it = std::lower_bound(fresh.begin(), fresh.end(), was->id,
                                   [](const std::shared_ptr<const T>& t, const std::string& id) { return t->id < id; });
        if (it != fresh.end() && it->get() == was) continue;
        stale.all.insert(was);
        if constexpr (std::is_same_v<T, OpportunityTimeline>) stale.opportunities.push_back(was);
        bytes += Bytes(*was);  // kept alive by the index
    }
}

}  // namespace

void IncrementalDataset::Reindex(Dataset& data) {
    data.fresh_leads.clear();
    data.fresh_opportunities.clear();
    data.stale.reset();
    data.index.reset();
    auto index = std::make_shared<const KpiIndex>(data);
    bytes_ -= index_bytes_;
    index_bytes_ = index->bytes();
    bytes_ += index_bytes_;
    data.index = std::move(index);
}

IncrementalDataset::IncrementalDataset(Facts facts, size_t reindex_after) : reindex_after_(reindex_after) {
    for (const auto& [id, created] : RecordCreationsById(facts.records, RecordKind::kContact)) {
        contacts_.emplace(id, created);
        bytes_ += RecordBytes(id);
    }
    for (const auto& [id, created] : RecordCreationsById(facts.records, RecordKind::kCompany)) {
        companies_.emplace(id, created);
        bytes_ += RecordBytes(id);
    }
    auto data = std::make_shared<Dataset>(BuildDataset(std::move(facts)));
    bytes_ += sizeof(Dataset) + (data->contact_creations.capacity() + data->company_creations.capacity()) * 8 +
              (data->leads.capacity() + data->opportunities.capacity()) * 16;
    for (const auto& l : data->leads) bytes_ += Bytes(*l);
    for (const auto& o : data->opportunities) bytes_ += Bytes(*o);
    Reindex(*data);
    view_ = std::move(data);
}

void IncrementalDataset::Apply(Facts changed) {
    const Dataset& old = *view_;
    auto next = std::make_shared<Dataset>();
    size_t bytes = bytes_;

    // Contacts and companies: a record's creation time replaces its previous one in the sorted lists.
    auto records = [&](RecordKind kind, std::map<std::string, Micros>& index, const std::vector<Micros>& before) {
        std::vector<Micros> removed, added;
        for (const auto& [id, created] : RecordCreationsById(changed.records, kind)) {
            auto [it, inserted] = index.try_emplace(id, created);
            if (inserted) {
                bytes += RecordBytes(id);
            } else {
                removed.push_back(it->second);
                it->second = created;
            }
            added.push_back(created);
        }
        return removed.empty() && added.empty() ? before : Replace(before, std::move(removed), std::move(added));
    };
    next->contact_creations = records(RecordKind::kContact, contacts_, old.contact_creations);
    next->company_creations = records(RecordKind::kCompany, companies_, old.company_creations);

    // Leads: the changed ones folded again from all their versions.
    std::vector<std::shared_ptr<const LeadTimeline>> leads;
    std::vector<const LeadTimeline*> replaced_leads;
    std::vector<const OpportunityTimeline*> replaced_opportunities;
    std::set<std::string> changed_leads;
    for (auto& l : FoldLeads(std::move(changed.leads))) {
        changed_leads.insert(l.id);
        bytes += Bytes(l);
        leads.push_back(std::make_shared<const LeadTimeline>(std::move(l)));
    }
    next->leads = MergeById(old.leads, leads, [&](const LeadTimeline& was) {
        bytes -= Bytes(was);
        replaced_leads.push_back(&was);
    });
    const LeadLookup lookup = [&next](const std::string& id) { return next->FindLead(id); };

    // Opportunities: the changed ones folded again; those whose lead changed take its new source and campaign.
    std::vector<std::shared_ptr<const OpportunityTimeline>> refolded, reattributed;
    for (auto& o : FoldOpportunities(std::move(changed.opportunities), lookup)) {
        bytes += Bytes(o);
        refolded.push_back(std::make_shared<const OpportunityTimeline>(std::move(o)));
    }
    if (!changed_leads.empty()) {
        size_t r = 0;  // refolded is sorted by id, like old.opportunities
        for (const auto& o : old.opportunities) {
            while (r < refolded.size() && refolded[r]->id < o->id) ++r;
            if (r < refolded.size() && refolded[r]->id == o->id) continue;  // folded again already
            const bool affected = std::any_of(o->segments.begin(), o->segments.end(), [&](const OpportunitySegment& s) {
                return !s.state.lead_id.empty() && changed_leads.count(s.state.lead_id) > 0;
            });
            if (!affected) continue;
            OpportunityTimeline copy = *o;
            AttributeFromLeads(copy, lookup);
            bytes += Bytes(copy);
            reattributed.push_back(std::make_shared<const OpportunityTimeline>(std::move(copy)));
        }
    }
    std::vector<std::shared_ptr<const OpportunityTimeline>> replacements;
    replacements.reserve(refolded.size() + reattributed.size());
    std::merge(refolded.begin(), refolded.end(), reattributed.begin(), reattributed.end(),
               std::back_inserter(replacements), [](const auto& a, const auto& b) { return a->id < b->id; });
    next->opportunities = MergeById(old.opportunities, replacements, [&](const OpportunityTimeline& was) {
        bytes -= Bytes(was);
        replaced_opportunities.push_back(&was);
    });

    // The index of the previous view, with what changed since it was built (or built again when that grew large).
    next->index = old.index;
    auto stale = std::make_shared<StaleTimelines>(old.stale ? *old.stale : StaleTimelines{});
    size_t stale_bytes = 0;
    MarkStale(old.fresh_leads, replaced_leads, *stale, stale_bytes);
    MarkStale(old.fresh_opportunities, replaced_opportunities, *stale, stale_bytes);
    next->stale = std::move(stale);
    next->fresh_leads = MergeById(old.fresh_leads, leads, [](const LeadTimeline&) {});
    next->fresh_opportunities = MergeById(old.fresh_opportunities, replacements, [](const OpportunityTimeline&) {});
    bytes += stale_bytes + (next->fresh_leads.size() + next->fresh_opportunities.size()) * 16 -
             (old.fresh_leads.size() + old.fresh_opportunities.size()) * 16;
    index_bytes_ += stale_bytes;

    bytes += (next->contact_creations.size() + next->company_creations.size()) * 8 -
             (old.contact_creations.size() + old.company_creations.size()) * 8;
    bytes +=
        (next->leads.size() + next->opportunities.size()) * 16 - (old.leads.size() + old.opportunities.size()) * 16;
    bytes_ = bytes;
    const size_t limit = reindex_after_
                             ? reindex_after_
                             : std::max<size_t>(256, (next->leads.size() + next->opportunities.size()) / 128);
    if (next->fresh_leads.size() + next->fresh_opportunities.size() > limit) Reindex(*next);
    view_ = std::move(next);
}

}  // namespace crm::analytics::domain
