#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/types.hpp"

// update_mask handling for UpdateContact and UpdateCompany (AIP-134).
//
// Paths: the entity's scalar fields, "tags", "custom_fields" (replaces the map), "custom_fields.<key>" (sets one key;
// an empty value removes it) and "*" alone (full replacement of every mutable field). An empty mask means every
// field that is non-empty in the patch; for custom_fields that is one "custom_fields.<key>" path per key sent, so keys
// not sent are kept.
namespace crm::contacts::domain {

enum class MaskedEntity { kContact, kCompany };

// The paths other than "custom_fields.<key>" that the entity accepts.
const std::vector<std::string_view>& AllowedMaskPaths(MaskedEntity entity);

// One violation (field "update_mask") per unknown or malformed path, and for "*" combined with other paths.
common::Violations ValidateUpdateMask(MaskedEntity entity, const std::vector<std::string>& paths);

// The paths an update applies: `paths` when given (after ValidateUpdateMask), every allowed path for "*", or those
// implied by the non-empty fields of `patch` for an empty mask.
std::vector<std::string> EffectiveContactMask(const std::vector<std::string>& paths, const ContactFields& patch);
std::vector<std::string> EffectiveCompanyMask(const std::vector<std::string>& paths, const CompanyFields& patch);

// `current` with the masked fields taken from `patch` (patch values are raw client input; normalize the result).
ContactFields ApplyContactMask(const ContactFields& current, const ContactFields& patch,
                               const std::vector<std::string>& effective_paths);
CompanyFields ApplyCompanyMask(const CompanyFields& current, const CompanyFields& patch,
                               const std::vector<std::string>& effective_paths);

// True when a path changes custom fields ("custom_fields" or "custom_fields.<key>"): their definitions must be
// checked again, required ones included.
bool MaskTouchesCustomFields(const std::vector<std::string>& effective_paths);

// Paths whose values differ between two normalized records: scalar field names, "tags", and
// "custom_fields.<key>" per changed key; in the order of AllowedMaskPaths, custom field keys sorted.
std::vector<std::string> ChangedContactPaths(const ContactFields& before, const ContactFields& after);
std::vector<std::string> ChangedCompanyPaths(const CompanyFields& before, const CompanyFields& after);

}  // namespace crm::contacts::domain
