#include "tests/fakes/test_ca.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace releasebot::testing {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct x509_free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct bio_free {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct extension_free {
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using extension_ptr = std::unique_ptr<X509_EXTENSION, extension_free>;

constexpr long one_hour = 60L * 60L;
constexpr long one_day = 24L * one_hour;

[[noreturn]] void fail(const std::string& what) {
  std::string detail;
  while (const unsigned long error = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(error, text, sizeof text);
    detail += ' ';
    detail += text;
  }
  throw std::runtime_error("test_ca: " + what + " failed:" + detail);
}

void check(int result, const std::string& what) {
  if (result <= 0) fail(what);
}

pkey_ptr make_key() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EC P-256 key generation");
  return key;
}

void add_name_entry(X509_NAME* name, const char* field, const char* value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value), -1, -1,
                                   0),
        std::string("subject ") + field);
}

// `issuer` is the certificate itself for a self-signed one.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  const extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  check(X509_add_ext(cert, extension.get(), -1), "adding extension");
}

// A certificate for `key` named `common_name`, valid from an hour ago for a day; self-signed
// when `issuer` is null. Extensions and signature are left to the caller.
x509_ptr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  std::uint64_t serial = 0;
  check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial), "RAND_bytes");
  serial = (serial >> 1U) | 1U;  // positive and non-zero
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial), "serial number");

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -one_hour) == nullptr) fail("notBefore");
  if (X509_gmtime_adj(X509_getm_notAfter(cert.get()), one_day - one_hour) == nullptr) fail("notAfter");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509_NAME* subject = X509_get_subject_name(cert.get());
  add_name_entry(subject, "O", "releasebot tests");
  add_name_entry(subject, "CN", common_name);
  check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject),
        "X509_set_issuer_name");
  return cert;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) fail("reading PEM");
  return std::string(data, static_cast<std::size_t>(size));
}

std::string certificate_pem(X509* cert) {
  const bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return bio_contents(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
  const bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM_write_bio_PrivateKey");
  return bio_contents(bio.get());
}

// Writes `contents` to a new private temporary file and returns its path.
std::string write_temporary_file(const std::string& contents) {
  const std::string pattern = (std::filesystem::temp_directory_path() / "releasebot-test-ca-XXXXXX.pem").string();
  std::vector<char> path(pattern.begin(), pattern.end());
  path.push_back('\0');
  const int fd = ::mkstemps(path.data(), 4);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "test_ca: mkstemps " + pattern);
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(path.data());
      throw std::system_error(error, std::generic_category(), "test_ca: writing " + pattern);
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path.data();
}

}  // namespace

test_ca::test_ca() {
  const pkey_ptr ca_key = make_key();
  const x509_ptr ca = make_certificate(ca_key.get(), "releasebot test CA", nullptr);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()), "signing the CA");

  const pkey_ptr server_key = make_key();
  const x509_ptr server = make_certificate(server_key.get(), "localhost", ca.get());
  add_extension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(server.get(), ca.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  add_extension(server.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  check(X509_sign(server.get(), ca_key.get(), EVP_sha256()), "signing the server certificate");

  ca_pem_ = certificate_pem(ca.get());
  server_cert_pem_ = certificate_pem(server.get());
  server_key_pem_ = private_key_pem(server_key.get());
  ca_file_ = write_temporary_file(ca_pem_);
}

test_ca::~test_ca() {
  std::error_code ignored;
  std::filesystem::remove(ca_file_, ignored);
}

}  // namespace releasebot::testing
