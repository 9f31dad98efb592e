// A throwaway certificate authority for tests, made at run time with OpenSSL: a self-signed CA
// and a server certificate it signed for 127.0.0.1 and localhost, valid from an hour ago for a day.
// The CA is also written to a temporary file (removed on destruction) that a client can trust,
// e.g. through SSL_CERT_FILE.
#pragma once

#include <string>

namespace releasebot::testing {

class test_ca {
public:
  test_ca();  // throws std::runtime_error when OpenSSL or the temporary file fails
  ~test_ca();
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  const std::string& ca_pem() const { return ca_pem_; }
  const std::string& ca_file() const { return ca_file_; }  // a file holding ca_pem()
  const std::string& server_cert_pem() const { return server_cert_pem_; }
  const std::string& server_key_pem() const { return server_key_pem_; }  // PKCS#8, unencrypted

private:
  std::string ca_pem_;
  std::string ca_file_;
  std::string server_cert_pem_;
  std::string server_key_pem_;
};

}  // namespace releasebot::testing
