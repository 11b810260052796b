#pragma once
// TLS credentials from PEM files, for servers (every service may serve TLS: CRM_TLS_CERT_FILE, CRM_TLS_KEY_FILE,
// CRM_TLS_CLIENT_CA_FILE for mutual TLS) and for clients (the gateway's channels to the services). Empty settings
// mean plaintext, as before.
#include <memory>
#include <string>

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

}  // namespace crm::common
