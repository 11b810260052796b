#include "crm/common/config.hpp"

#include <cstdlib>
#include <sstream>

namespace crm::common {

Config::Config(std::string program, std::string summary, std::vector<EnvVar> vars)
    : program_(std::move(program)), summary_(std::move(summary)), vars_(std::move(vars)) {}

void Config::Load() {
    std::map<std::string, std::string> env;
    for (const auto& var : vars_) {
        if (const char* v = std::getenv(var.name.c_str())) env[var.name] = v;
    }
    Load(env);
}

void Config::Load(const std::map<std::string, std::string>& env) {
    values_.clear();
    errors_.clear();
    for (const auto& var : vars_) {
        auto it = env.find(var.name);
        std::string value = (it != env.end()) ? it->second : std::string();
        if (value.empty()) value = var.default_value;
        if (value.empty() && var.required) errors_.push_back(var.name + " is required: " + var.help);
        values_[var.name] = value;
    }
    Check();
}

std::string Config::Help() const {
    std::ostringstream out;
    out << "Usage: " << program_ << " [--help]" << (migrate_flag_ ? " [--migrate-only]" : "") << "\n\n"
        << summary_ << "\n\nEnvironment variables:\n";
    for (const auto& var : vars_) {
        out << "  " << var.name << (var.required ? " (required)" : "") << "\n      " << var.help << "\n";
        if (!var.default_value.empty() && !var.secret) out << "      default: " << var.default_value << "\n";
    }
    return out.str();
}

const std::string& Config::Get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::logic_error("undeclared configuration variable " + name);
    return it->second;
}

long Config::GetInt(const std::string& name, long min, long max) const {
    const std::string& text = Get(name);
    try {
        size_t used = 0;
        long value = std::stol(text, &used);
        if (used != text.size()) throw std::invalid_argument("trailing characters");
        if (value < min || value > max) throw std::out_of_range("range");
        return value;
    } catch (const std::exception&) {
        throw ConfigError(name + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                          ", got '" + text + "'");
    }
}

bool Config::GetBool(const std::string& name) const {
    const std::string& text = Get(name);
    if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
    if (text.empty() || text == "0" || text == "false" || text == "no" || text == "off") return false;
    throw ConfigError(name + " must be true or false, got '" + text + "'");
}

std::vector<std::string> Config::GetList(const std::string& name, char separator) const {
    std::vector<std::string> out;
    std::stringstream in(Get(name));
    std::string item;
    while (std::getline(in, item, separator)) {
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    }
    return out;
}

void Config::Require(bool condition, const std::string& name, const std::string& problem) {
    if (!condition) errors_.push_back(name + ": " + problem);
}

void Config::Check() const {
    if (errors_.empty()) return;
    std::string message = "invalid configuration:";
    for (const auto& e : errors_) message += "\n  - " + e;
    throw ConfigError(message);
}

}  // namespace crm::common
