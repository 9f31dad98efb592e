#include "integrations/net/https_endpoint.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>

namespace releasebot::integrations::net {

std::optional<endpoint> parse_endpoint(std::string_view url) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  const auto scheme = parsed->scheme();
  endpoint out;
  if (scheme == "https" || scheme == "wss") {
    out.tls = true;
  } else if (scheme == "http" || scheme == "ws") {
    out.tls = false;
  } else {
    return std::nullopt;
  }
  out.host = parsed->host_address();
  if (out.host.empty()) return std::nullopt;
  out.port = parsed->has_port() ? std::string{parsed->port()} : (out.tls ? "443" : "80");
  out.target = std::string{parsed->encoded_path()};
  if (out.target.empty()) out.target = "/";
  if (parsed->has_query()) out.target += "?" + std::string{parsed->encoded_query()};
  return out;
}

namespace {

// The system's CA directory when it is hashed (Debian's update-ca-certificates makes the links):
// OpenSSL then reads a CA certificate only when a server's chain needs it, instead of parsing the
// whole bundle (about 140 certificates: milliseconds of start-up and a megabyte of memory).
std::string hashed_ca_directory() {
  const char* from_environment = std::getenv(X509_get_default_cert_dir_env());
  const std::string directory = from_environment != nullptr ? from_environment : X509_get_default_cert_dir();
  std::error_code error;
  for (std::filesystem::directory_iterator entry{directory, error}, end; !error && entry != end; entry.increment(error)) {
    const auto name = entry->path().filename().string();
    if (name.size() == 10 && name.ends_with(".0") &&
        name.find_first_not_of("0123456789abcdef") == 8) {
      return directory;
    }
  }
  return {};
}

}  // namespace

boost::asio::ssl::context make_client_tls_context() {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  // SSL_CERT_FILE (as the tests set it) is honoured as OpenSSL always does.
  const auto directory = std::getenv(X509_get_default_cert_file_env()) == nullptr ? hashed_ca_directory() : std::string{};
  if (!directory.empty()) {
    context.add_verify_path(directory);
  } else {
    context.set_default_verify_paths();
  }
  context.set_verify_mode(boost::asio::ssl::verify_peer);
  return context;
}

void prepare_tls(boost::asio::ssl::stream<boost::beast::tcp_stream>& stream, const std::string& host) {
  boost::system::error_code not_an_ip;
  boost::asio::ip::make_address(host, not_an_ip);
  X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
  if (not_an_ip) {
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  }
}

}  // namespace releasebot::integrations::net
