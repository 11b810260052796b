#pragma once
// TLS credentials from PEM files, for servers (every service may serve TLS: CRM_TLS_CERT_FILE, CRM_TLS_KEY_FILE,
// CRM_TLS_CLIENT_CA_FILE for mutual TLS) and for clients (the gateway's channels to the services). Empty settings
// mean plaintext, as before.
#include <memory>
#include <string>
#include <vector>

#include "crm/common/config.hpp"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace crm::common {

struct TlsFiles {
    std::string cert_file;  // PEM certificate chain (server: required for TLS; client: for mutual TLS)
    std::string key_file;   // PEM private key of cert_file
    std::string ca_file;    // server: CA that client certificates must chain to (then required); client: trusted CA

    bool empty() const { return cert_file.empty() && key_file.empty() && ca_file.empty(); }
};

// The whole file; throws std::runtime_error naming the file when it cannot be read or is empty.
std::string ReadPemFile(const std::string& path);

// Insecure credentials when `files` is empty; TLS with cert and key (both required); with ca_file, client
// certificates are requested and verified (mutual TLS). Throws std::runtime_error with a clear message.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsFiles& files);

// Insecure when `files` is empty; otherwise TLS trusting ca_file (the system roots when empty), presenting
// cert_file/key_file when given (both or neither). Throws std::runtime_error with a clear message.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsFiles& files);

// A service's settings for TLS toward the services it calls (`peers`, e.g. "contacts and sales"): the variables
// <prefix>CA_FILE, <prefix>CERT_FILE and <prefix>KEY_FILE (prefix e.g. "CRM_LEADS_UPSTREAM_TLS_"), all empty =
// plaintext.
std::vector<EnvVar> ClientTlsVars(const std::string& prefix, const std::string& peers);
// Their values; throws ConfigError when only one of the certificate and the key is set.
TlsFiles ClientTlsFiles(const Config& config, const std::string& prefix);

}  // namespace crm::common
