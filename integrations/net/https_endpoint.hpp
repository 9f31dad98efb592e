// Where an HTTP(S) or WS(S) URL points, and a TLS client context that verifies peers.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace releasebot::integrations::net {

struct endpoint {
  bool tls = true;
  std::string host;
  std::string port;
  std::string target;  // path and query, at least "/"
};

// https/wss → TLS; http/ws accepted so a local fake can be used. nullopt when unparsable.
std::optional<endpoint> parse_endpoint(std::string_view url);

// Verifies peers against the system trust store (and SSL_CERT_FILE, as OpenSSL reads it).
boost::asio::ssl::context make_client_tls_context();

// SNI (for names, not IP literals) and host name / IP verification on a fresh TLS stream.
void prepare_tls(boost::asio::ssl::stream<boost::beast::tcp_stream>& stream, const std::string& host);

}  // namespace releasebot::integrations::net
