#pragma once
// 12-factor configuration: every setting is an environment variable, declared once with its help text, read and
// validated at start-up. All problems are collected and reported together; the process fails fast.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace crm::common {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct EnvVar {
    std::string name;
    std::string help;
    std::string default_value;  // used when the variable is unset or empty
    bool required = false;      // no default: must be set
    bool secret = false;        // never printed
};

class Config {
  public:
    Config(std::string program, std::string summary, std::vector<EnvVar> vars);

    // Reads the variables from the environment (or from `env` in tests). Throws ConfigError listing every problem.
    void Load();
    void Load(const std::map<std::string, std::string>& env);

    std::string Help() const;
    // Whether --help mentions --migrate-only (services with a database).
    void SetMigrateFlag(bool enabled) { migrate_flag_ = enabled; }

    const std::string& Get(const std::string& name) const;
    long GetInt(const std::string& name, long min, long max) const;  // throws ConfigError with the name
    bool GetBool(const std::string& name) const;
    std::vector<std::string> GetList(const std::string& name, char separator = ',') const;

    // Validation helpers that add to the error list; call them, then Check().
    void Require(bool condition, const std::string& name, const std::string& problem);
    void Check() const;

  private:
    std::string program_;
    std::string summary_;
    std::vector<EnvVar> vars_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> errors_;
    bool migrate_flag_ = false;
};

}  // namespace crm::common
