// Slack's share of the one delivery path: release announcements and their thread, direct
// messages (conversations.open first), card updates (chat.update), Block Kit rendered; Slack's
// answers classified for the pump (429 → Retry-After); and, after a crash, a post found again by
// the outbox id in its metadata. Paced at about one message a second a channel.
#pragma once

#include "bot/delivery.hpp"
#include "integrations/slack/people_lookup.hpp"
#include "integrations/slack/web_api.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <string>

namespace releasebot::integrations::slack {

class outbox_sender : public bot::delivery_channel {
public:
  outbox_sender(web_api& api, people_lookup& people);

  std::string_view platform() const override { return "slack"; }
  boost::asio::awaitable<bot::delivery_result> send(const bot::delivery_request& request) override;
  bool can_find_earlier(const bot::delivery_request& request) const override;
  boost::asio::awaitable<std::optional<bot::delivery_result>> find_earlier(const bot::delivery_request& request,
                                                                           storage::instant since) override;
  bot::pacing pace() const override { return {4.0, 1.0}; }  // short bursts, then about one a second

  std::uint64_t delivered() const { return delivered_; }

private:
  struct target {
    std::string method;   // chat.postMessage | chat.update
    nlohmann::json arguments;
    std::string channel;  // empty: the direct message channel could not be opened
    api_result open_failure;
  };
  boost::asio::awaitable<target> address(const bot::delivery_request& request, const commands::message& body);
  boost::asio::awaitable<std::string> direct_channel(const std::string& user, api_result& failure);

  web_api& api_;
  people_lookup& people_;
  std::map<std::string, std::string> direct_channels_;  // user → D…
  std::uint64_t delivered_ = 0;
};

// What the pump should do with Slack's answer to a delivery call.
bot::delivery_result classify_delivery(const api_result& result, bool posting);

}  // namespace releasebot::integrations::slack
