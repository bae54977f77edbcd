// LoadServerTls: the files of server.tls.*, checked with OpenSSL, turned into gRPC's
// credentials.
#include "server/tls.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/server_credentials.h"

namespace routeserve::server {
namespace {

constexpr char kCertKey[] = "server.tls.cert_file";
constexpr char kKeyKey[] = "server.tls.key_file";
constexpr char kClientCaKey[] = "server.tls.client_ca_file";

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A path as the errors show it: in double quotes, odd characters escaped.
std::string Quoted(absl::string_view path) {
  return absl::StrCat("\"", absl::CHexEscape(path), "\"");
}

absl::Status KeyError(absl::string_view key, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

// The file's bytes; the error names the key and the path.
absl::StatusOr<std::string> ReadFile(absl::string_view key, const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return KeyError(key, absl::StrCat(Quoted(path), " is a directory"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    return KeyError(key, absl::StrCat("cannot read ", Quoted(path), " (",
                                      std::strerror(errno), ")"));
  }
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return KeyError(key, absl::StrCat("cannot read ", Quoted(path)));
  return bytes;
}

Bio MemoryBio(const std::string& bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Every PEM certificate in `pem`, in order; none when it holds none.
std::vector<Certificate> ReadCertificates(const std::string& pem) {
  std::vector<Certificate> certificates;
  Bio bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(cert);
  }
  ERR_clear_error();  // the read past the last one fails by design
  return certificates;
}

// Refuses to prompt for a passphrase: an encrypted key simply does not load.
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return 0; }

PrivateKey ReadPrivateKey(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  return key;
}

// "CN = localhost, valid until Nov 25 10:00:00 2026 GMT".
std::string DescribeCertificate(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
  BIO_puts(bio.get(), ", valid until ");
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert));
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// Overwrites secret bytes (a private key's PEM) before their memory is given back.
void Wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

// A copy of a private key's PEM, wiped when it goes, whichever way LoadServerTls returns.
struct SecretText {
  std::string text;
  ~SecretText() { Wipe(text); }
};

}  // namespace

absl::StatusOr<ServerTls> LoadServerTls(const config::Config::Server::Tls& tls) {
  if (tls.cert_file.empty()) {
    if (!tls.key_file.empty()) {
      return KeyError(kKeyKey, absl::StrCat("set without ", kCertKey,
                                            "; set both for TLS, or neither for plaintext"));
    }
    if (!tls.client_ca_file.empty()) {
      return KeyError(kClientCaKey, absl::StrCat("set without ", kCertKey,
                                                 "; mutual TLS needs the server's certificate"));
    }
    return ServerTls{.credentials = grpc::InsecureServerCredentials(),
                     .description = "off (plaintext)"};
  }
  if (tls.key_file.empty()) {
    return KeyError(kKeyKey, absl::StrCat("required with ", kCertKey));
  }

  absl::StatusOr<std::string> cert_pem = ReadFile(kCertKey, tls.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  const std::vector<Certificate> chain = ReadCertificates(*cert_pem);
  if (chain.empty()) {
    return KeyError(kCertKey,
                    absl::StrCat(Quoted(tls.cert_file), " holds no PEM certificate"));
  }

  absl::StatusOr<std::string> key_read = ReadFile(kKeyKey, tls.key_file);
  if (!key_read.ok()) return key_read.status();
  const SecretText key_pem{*std::move(key_read)};
  const PrivateKey key = ReadPrivateKey(key_pem.text);
  if (key == nullptr) {
    return KeyError(kKeyKey, absl::StrCat(Quoted(tls.key_file),
                                          " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return KeyError(kKeyKey, absl::StrCat(Quoted(tls.key_file),
                                          " is not the key of the certificate in ", kCertKey));
  }

  std::string description =
      absl::StrCat("on, certificate ", DescribeCertificate(chain.front().get()));
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadFile(kClientCaKey, tls.client_ca_file);
    if (!ca_pem.ok()) return ca_pem.status();
    const std::vector<Certificate> cas = ReadCertificates(*ca_pem);
    if (cas.empty()) {
      return KeyError(kClientCaKey, absl::StrCat(Quoted(tls.client_ca_file),
                                                 " holds no PEM certificate"));
    }
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    options.pem_root_certs = *std::move(ca_pem);
    absl::StrAppend(&description, "; mutual TLS: client certificates required, from ",
                    cas.size(), " trusted CA(s) in ", Quoted(tls.client_ca_file));
  } else {
    absl::StrAppend(&description, "; no client certificates asked for");
  }
  options.pem_key_cert_pairs.push_back({.private_key = key_pem.text, .cert_chain = *cert_pem});
  // gRPC copies the PEM texts into credentials of its own.
  ServerTls out{.credentials = grpc::SslServerCredentials(options),
                .description = std::move(description)};
  Wipe(options.pem_key_cert_pairs.front().private_key);
  return out;
}

}  // namespace routeserve::server
