#include "crm/common/tls.hpp"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crm::common {

std::vector<EnvVar> ClientTlsVars(const std::string& prefix, const std::string& peers) {
    return {{prefix + "CA_FILE",
             "PEM CA trusted for TLS calls to " + peers +
                 "; TLS when this or a client certificate is set, plaintext when all three are empty",
             ""},
            {prefix + "CERT_FILE", "PEM client certificate presented to " + peers + " (mutual TLS)", ""},
            {prefix + "KEY_FILE", "PEM private key of " + prefix + "CERT_FILE", ""}};
}

TlsFiles ClientTlsFiles(const Config& config, const std::string& prefix) {
    TlsFiles files{config.Get(prefix + "CERT_FILE"), config.Get(prefix + "KEY_FILE"), config.Get(prefix + "CA_FILE")};
    if (files.cert_file.empty() != files.key_file.empty()) {
        throw ConfigError(prefix + "CERT_FILE and " + prefix + "KEY_FILE: set both or neither");
    }
    return files;
}

std::string ReadPemFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().empty()) throw std::runtime_error(path + " is empty");
    return text.str();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsFiles& files) {
    if (files.empty()) return grpc::InsecureServerCredentials();
    if (files.cert_file.empty() || files.key_file.empty()) {
        throw std::runtime_error("TLS needs both a certificate file and a key file");
    }
    grpc::SslServerCredentialsOptions options(files.ca_file.empty()
                                                  ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_key_cert_pairs.push_back({ReadPemFile(files.key_file), ReadPemFile(files.cert_file)});
    if (!files.ca_file.empty()) options.pem_root_certs = ReadPemFile(files.ca_file);
    return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsFiles& files) {
    if (files.empty()) return grpc::InsecureChannelCredentials();
    if (files.cert_file.empty() != files.key_file.empty()) {
        throw std::runtime_error("a client certificate needs its key file, and a key its certificate file");
    }
    grpc::SslCredentialsOptions options;
    if (!files.ca_file.empty()) options.pem_root_certs = ReadPemFile(files.ca_file);
    if (!files.cert_file.empty()) {
        options.pem_private_key = ReadPemFile(files.key_file);
        options.pem_cert_chain = ReadPemFile(files.cert_file);
    }
    return grpc::SslCredentials(options);
}

}  // namespace crm::common
