#include "integrations/net/http_server.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace releasebot::integrations::net {

namespace {

// A new connection must start its request this soon, however long keep-alive connections may idle.
constexpr std::chrono::milliseconds first_byte_timeout{10'000};
constexpr std::chrono::milliseconds header_timeout{10'000};
constexpr std::chrono::milliseconds write_timeout{10'000};

bool path_matches(std::string_view pattern, std::string_view path) {
  if (pattern.ends_with("/*")) return path.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == path;
}

std::shared_ptr<asio::ssl::context> load_tls(const server_settings& settings) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                       asio::ssl::context::single_dh_use);
  boost::system::error_code error;
  context->use_certificate_chain_file(settings.tls_certificate.string(), error);
  if (error) {
    throw std::runtime_error{"cannot read the TLS certificate " + settings.tls_certificate.string() + ": " +
                             error.message() + " — [http] tls_certificate must be a PEM certificate chain"};
  }
  context->use_private_key_file(settings.tls_private_key.string(), asio::ssl::context::pem, error);
  if (error) {
    throw std::runtime_error{"cannot read the TLS private key " + settings.tls_private_key.string() + ": " +
                             error.message() + " — [http] tls_private_key must be the certificate's PEM key"};
  }
  return context;
}

}  // namespace

server_response plain_response(int status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text), {}};
}

server_response json_response(int status, const nlohmann::json& body) {
  return {status, "application/json; charset=utf-8", body.dump(), {}};
}

asio::ip::tcp::endpoint parse_listen_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error{"listen address '" + address + "' needs host:port"};
  boost::system::error_code error;
  auto host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto ip = asio::ip::make_address(host, error);
  int port = -1;
  try {
    std::size_t used = 0;
    const auto text = address.substr(colon + 1);
    port = std::stoi(text, &used);
    if (used != text.size()) port = -1;
  } catch (const std::exception&) {
  }
  if (error || port < 0 || port > 65535) {
    throw std::runtime_error{"listen address '" + address + "' is not an IP address and port, like 127.0.0.1:3978"};
  }
  return {ip, static_cast<unsigned short>(port)};
}

void http_router::add(std::string method, std::string path, handler on_request, route_limits limits) {
  for (const auto& existing : routes_) {
    if (existing.method == method && existing.path == path) {
      throw std::logic_error{"HTTP route registered twice: " + method + " " + path};
    }
  }
  routes_.push_back({std::move(method), std::move(path), std::move(on_request), limits});
}

http_router::lookup http_router::find(std::string_view method, std::string_view path) const {
  lookup result;
  // An exact path beats any pattern; among patterns the longest wins, so "/hooks/github" beats
  // "/hooks/*" whichever was registered first.
  const auto specificity = [](const std::string& pattern) {
    return pattern.ends_with("/*") ? pattern.size() : std::string::npos;
  };
  std::size_t best = 0;
  bool any_limits = false;
  for (const auto& candidate : routes_) {
    if (!path_matches(candidate.path, path)) continue;
    if (!any_limits || candidate.limits.max_body_bytes > result.limits.max_body_bytes) result.limits = candidate.limits;
    any_limits = true;
    if (candidate.method == method) {
      if (result.found == nullptr || specificity(candidate.path) > best) {
        result.found = &candidate;
        best = specificity(candidate.path);
      }
    } else if (result.allow.find(candidate.method) == std::string::npos) {
      result.allow += (result.allow.empty() ? "" : ", ") + candidate.method;
    }
  }
  if (result.found != nullptr) {
    result.limits = result.found->limits;
    result.allow.clear();
  }
  return result;
}

http_server::http_server(asio::any_io_executor executor, server_settings settings, const http_router& routes)
    : executor_{executor}, settings_{std::move(settings)}, routes_{routes}, acceptor_{executor} {
  if (settings_.tls_certificate.empty() != settings_.tls_private_key.empty()) {
    throw std::runtime_error{"HTTPS needs both [http] tls_certificate and tls_private_key"};
  }
  if (!settings_.tls_certificate.empty()) tls_ = load_tls(settings_);
  const auto where = parse_listen_address(settings_.listen);
  try {
    acceptor_.open(where.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen();
  } catch (const boost::system::system_error& error) {
    throw std::runtime_error{"cannot listen on " + settings_.listen + ": " + error.code().message()};
  }
}

http_server::~http_server() = default;

unsigned short http_server::port() const { return acceptor_.local_endpoint().port(); }

std::string http_server::reload_tls() {
  if (!tls_) return {};
  try {
    tls_ = load_tls(settings_);
    return {};
  } catch (const std::exception& error) {
    return error.what();
  }
}

void http_server::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  // Keep-alive connections waiting for a next request go now; one being answered finishes first.
  for (auto* connection : idle_connections_) connection->cancel();
}

asio::awaitable<void> http_server::run() {
  while (!stopping_) {
    auto [error, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (stopping_ || error == asio::error::operation_aborted) break;
      spdlog::warn("http: accept failed: {}", error.message());
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay{true}, ignored);  // answers are single small writes
    if (tls_) {
      asio::co_spawn(executor_, serve_tls(std::move(socket)), asio::detached);
    } else {
      asio::co_spawn(executor_, serve_plain(std::move(socket)), asio::detached);
    }
  }
}

asio::awaitable<void> http_server::serve_plain(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream{std::move(socket)};
  co_await serve(stream);
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> http_server::serve_tls(asio::ip::tcp::socket socket) {
  const auto context = tls_;  // a reload does not disturb connections already open
  asio::ssl::stream<beast::tcp_stream> stream{beast::tcp_stream{std::move(socket)}, *context};
  beast::get_lowest_layer(stream).expires_after(settings_.handshake_timeout);
  auto [handshake_error] =
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  if (handshake_error) {
    spdlog::debug("http: TLS handshake failed: {}", handshake_error.message());
    co_return;
  }
  co_await serve(stream);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{2});
  co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<server_response> http_server::answer(server_request request, const http_router::route& route) {
  try {
    co_return co_await route.on_request(std::move(request));
  } catch (const std::exception& failure) {
    spdlog::error("http: {} {} failed: {}", route.method, route.path, failure.what());
    co_return plain_response(500, "internal error");
  }
}

template <typename Stream>
asio::awaitable<void> http_server::serve(Stream& stream) {
  beast::flat_buffer buffer;
  bool first = true;
  auto* connection = &beast::get_lowest_layer(stream);
  while (!stopping_) {
    if (buffer.size() == 0) {
      // Waiting for a request to begin: the idle timeout between keep-alive requests.
      connection->expires_after(first ? std::min(first_byte_timeout, settings_.idle_timeout) : settings_.idle_timeout);
      idle_connections_.insert(connection);
      auto [wait_error, got] = co_await stream.async_read_some(buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
      idle_connections_.erase(connection);
      if (wait_error) break;  // closed, idle too long, or the server stopping
      buffer.commit(got);
    }
    first = false;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
    parser.body_limit(boost::none);  // Beast's own 1 MiB default would end the header read; the route decides
    beast::get_lowest_layer(stream).expires_after(header_timeout);
    auto [header_error, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)header_bytes;
    server_response response;
    bool keep_alive = false;
    if (header_error == http::error::header_limit) {
      response = plain_response(431, "request headers too large");
    } else if (header_error) {
      break;  // closed, timed out, or not HTTP: nothing to answer
    } else {
      const auto& header = parser.get();
      server_request request;
      request.received = std::chrono::steady_clock::now();
      request.method = std::string{header.method_string()};
      request.target = std::string{header.target()};
      request.path = request.target.substr(0, request.target.find('?'));
      const auto route = routes_.find(request.method, request.path);
      const auto declared = parser.content_length();
      if (route.found == nullptr && route.allow.empty()) {
        response = plain_response(404, "not found");
      } else if (route.found == nullptr) {
        response = plain_response(405, "method not allowed");
        response.headers.emplace_back("Allow", route.allow);
      } else if (declared && *declared > route.limits.max_body_bytes) {
        response = plain_response(413, "request body too large");
      } else {
        parser.body_limit(route.limits.max_body_bytes);
        beast::get_lowest_layer(stream).expires_after(route.limits.read_timeout);
        auto [body_error, body_bytes] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)body_bytes;
        if (body_error == http::error::body_limit) {
          response = plain_response(413, "request body too large");
        } else if (body_error) {
          break;  // the body did not arrive in time, or the peer went away
        } else {
          auto& message = parser.get();
          keep_alive = message.keep_alive();
          for (const auto& field : message) {
            std::string name{field.name_string()};
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            request.headers[name] = std::string{field.value()};
          }
          request.body = std::move(message.body());
          response = co_await answer(std::move(request), *route.found);
        }
      }
    }
    http::response<http::string_body> reply{static_cast<http::status>(response.status), 11};
    reply.set(http::field::server, "releasebot");
    reply.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) reply.set(name, value);
    // A request that was not read whole (refused before its body) ends the connection.
    reply.keep_alive(keep_alive);
    reply.body() = std::move(response.body);
    reply.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(write_timeout);
    auto [write_error, written] = co_await http::async_write(stream, reply, asio::as_tuple(asio::use_awaitable));
    (void)written;
    if (write_error || !keep_alive) break;
  }
}

}  // namespace releasebot::integrations::net
