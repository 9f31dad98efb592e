// Pipelines talking to the bot: POST /hooks/<source> on the bot's HTTP server, one route per
// configured source. The generic kind is for Jenkins and release scripts: Standard Webhooks
// signatures, and a documented body that becomes the `deploy` command a person would type,
// attributed to the source, applied once per webhook-id.
#pragma once

#include "bot/module.hpp"
#include "integrations/webhooks/pipeline_event.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace releasebot::integrations::webhooks {

class webhook_app : public bot::platform_module {
public:
  webhook_app(bot::module_context& context, std::vector<source_settings> sources);

  std::string_view name() const override { return "webhooks"; }
  boost::asio::awaitable<std::string> run() override;
  void stop() override;
  bot::readiness ready() const override { return {true, {}}; }
  bot::delivery_channel* delivery() override { return nullptr; }

private:
  boost::asio::awaitable<net::server_response> on_request(const source_settings& source, net::server_request request);
  void tell_thread(const source_settings& source, const commands::deploy_command& command,
                   const commands::message& refusal);

  bot::module_context& context_;
  std::vector<source_settings> sources_;
  boost::asio::steady_timer stopped_;
  bool stopping_ = false;
  std::map<std::string, std::chrono::steady_clock::time_point> told_;  // refused reports told in a thread
};

}  // namespace releasebot::integrations::webhooks
