#include "crm/common/sealed_columns.hpp"

#include <stdexcept>

#include "crm/common/field_crypto.hpp"
#include "crm/common/personal_fields.hpp"
#include "subject_keys.hpp"

namespace crm::common {
namespace {

int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("a wrapped subject key column is not hex");
}

privacy::WrappedKey ParseWrapped(std::string_view text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || (text.size() - colon - 1) % 2 != 0) {
        throw std::runtime_error("a wrapped subject key column is malformed");
    }
    privacy::WrappedKey wrapped;
    wrapped.kek_version = std::stoi(std::string(text.substr(0, colon)));
    for (std::size_t i = colon + 1; i < text.size(); i += 2) {
        wrapped.bytes.push_back(static_cast<char>(HexDigit(text[i]) * 16 + HexDigit(text[i + 1])));
    }
    return wrapped;
}

}  // namespace

std::string ColumnIndex(std::string_view tenant, std::string_view column, std::string_view normalized) {
    return privacy::BlindIndex(privacy::ProcessKeyring(), tenant, column, normalized);
}

ColumnSealer::ColumnSealer(Db& db, pqxx::transaction_base& tx, std::string tenant)
    : db_(db), tx_(tx), tenant_(std::move(tenant)) {}

std::string ColumnSealer::Seal(const std::string& subject, std::string_view column, std::string_view value) {
    if (value.empty()) return {};
    auto it = keys_.find(subject);
    if (it == keys_.end()) it = keys_.emplace(subject, SubjectDataKey(db_, tx_, tenant_, subject)).first;
    return privacy::Seal(it->second, {tenant_, subject, column}, value);
}

ColumnKey::ColumnKey(std::string tenant, std::string subject, const pqxx::field& wrapped)
    : tenant_(std::move(tenant)), subject_(std::move(subject)) {
    if (wrapped.is_null()) return;
    key_ = privacy::UnwrapDataKey(privacy::ProcessKeyring(), tenant_, subject_, ParseWrapped(wrapped.c_str()));
}

std::string ColumnKey::Open(std::string_view column, std::string_view stored) const {
    if (!privacy::IsSealed(stored)) return std::string(stored);
    if (!key_) return {};
    try {
        return privacy::Open(*key_, {tenant_, subject_, column}, stored);
    } catch (const privacy::SealError&) {
        throw std::runtime_error("a sealed " + std::string(column) + " value of subject " + subject_ +
                                 " does not open with its key (altered, or copied from another row)");
    }
}

}  // namespace crm::common
