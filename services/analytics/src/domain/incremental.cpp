// IncrementalDataset (kpis.hpp): a Dataset brought up to date by re-folding only the aggregates that changed.
#include <algorithm>
#include <set>

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

}  // namespace

IncrementalDataset::IncrementalDataset(Facts facts) {
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
    std::set<std::string> changed_leads;
    for (auto& l : FoldLeads(std::move(changed.leads))) {
        changed_leads.insert(l.id);
        bytes += Bytes(l);
        leads.push_back(std::make_shared<const LeadTimeline>(std::move(l)));
    }
    next->leads = MergeById(old.leads, leads, [&](const LeadTimeline& was) { bytes -= Bytes(was); });
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
    next->opportunities =
        MergeById(old.opportunities, replacements, [&](const OpportunityTimeline& was) { bytes -= Bytes(was); });

    bytes += (next->contact_creations.size() + next->company_creations.size()) * 8 -
             (old.contact_creations.size() + old.company_creations.size()) * 8;
    bytes +=
        (next->leads.size() + next->opportunities.size()) * 16 - (old.leads.size() + old.opportunities.size()) * 16;
    view_ = std::move(next);
    bytes_ = bytes;
}

}  // namespace crm::analytics::domain
