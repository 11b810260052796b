#include "crm/common/pg_array.hpp"

namespace crm::common {

std::string PgTextArray(const std::vector<std::string>& values) {
    std::string literal = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) literal.push_back(',');
        literal.push_back('"');
        for (char c : values[i]) {
            if (c == '"' || c == '\\') literal.push_back('\\');
            literal.push_back(c);
        }
        literal.push_back('"');
    }
    literal.push_back('}');
    return literal;
}

}  // namespace crm::common
