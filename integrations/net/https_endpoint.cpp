#include "integrations/net/https_endpoint.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

boost::asio::ssl::context make_client_tls_context() {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  context.set_default_verify_paths();
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
