// Release scripts started from chat: `deploy <version> <env> run` leaves a "pipeline" request in
// the outbox, and this channel makes it — a GitHub workflow_dispatch, a GitLab pipeline trigger,
// or a signed POST to a release script — retried by the pump with backoff, never made twice: a
// request that may have gone out before the bot stopped is not repeated; the thread is told to
// check. Its progress then arrives through the webhooks. Tokens go only to their configured host.
#pragma once

#include "bot/module.hpp"
#include "integrations/net/http_client.hpp"
#include "integrations/webhooks/pipeline_event.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>
#include <vector>

namespace releasebot::integrations::webhooks {

// [pipelines.<environment>]
struct pipeline_target {
  std::string environment;  // the policy's
  source_kind kind = source_kind::generic;
  std::string display_name;  // "GitHub Actions"
  std::string url;       // github: the API (https://api.github.com); gitlab: the instance; generic: the endpoint
  std::string project;   // github: owner/repository; gitlab: the project's id or path
  std::string workflow;  // github: the workflow's file name or id
  std::string ref;       // the branch or tag the pipeline runs on
  std::string token;     // github: a token; gitlab: a pipeline trigger token; generic: the HMAC key
  std::string token_env; // where the token came from, for the fix when it is refused
};

class pipeline_runner : public bot::platform_module, public bot::delivery_channel {
public:
  pipeline_runner(bot::module_context& context, std::vector<pipeline_target> targets);

  // platform_module
  std::string_view name() const override { return "pipelines"; }
  boost::asio::awaitable<std::string> run() override;
  void stop() override;
  bot::readiness ready() const override { return {true, {}}; }
  bot::delivery_channel* delivery() override { return this; }

  // delivery_channel
  std::string_view platform() const override;
  boost::asio::awaitable<bot::delivery_result> send(const bot::delivery_request& request) override;
  bool can_find_earlier(const bot::delivery_request&) const override { return true; }
  boost::asio::awaitable<std::optional<bot::delivery_result>> find_earlier(const bot::delivery_request& request,
                                                                           storage::instant since) override;
  bool renders_messages() const override { return false; }
  bool marks_survive_power_loss() const override { return true; }

private:
  const pipeline_target* target_of(std::string_view environment) const;

  std::vector<pipeline_target> targets_;
  boost::asio::ssl::context tls_;
  net::http_client client_;
  boost::asio::steady_timer stopped_;
  bool stopping_ = false;
};

}  // namespace releasebot::integrations::webhooks
