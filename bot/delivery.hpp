// What a platform supplies to the one outbox pump: send a neutral message (rendered its own
// way), classify the answer, and optionally find an earlier post after a crash. Everything else
// (order per conversation, pacing, retries and Retry-After, marking, notices) is the pump's.
#pragma once

#include "commands/message.hpp"
#include "storage/outbox.hpp"
#include "storage/release_records.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace releasebot::bot {

struct delivery_request {
  const storage::outbox_message& message;
  const commands::message& body;
  const std::optional<storage::release_record>& release;  // the release it is about, if any
  std::optional<std::string> earlier_ref;  // `updates`: the platform_ref of the message to edit
};

struct delivery_result {
  enum class outcome { sent, retry, refused };
  outcome kind = outcome::retry;
  std::string reference;   // sent: what platform_ref records (what a later edit needs)
  std::string thread_ref;  // sent: the id that starts the release's thread, when it does
  std::optional<std::chrono::seconds> retry_after;  // retry: the platform said when (429)
  // retry: false when the platform may have taken the message (a network error after sending);
  // the pump then looks for it before posting again, where the platform can look.
  bool outcome_known = true;
  std::string reason;  // retry/refused: one line for the log and the outbox row
  // refused because a person or a channel cannot be reached: what the coordinator should do, in
  // the domain's words ("add the app to that team or chat"). Empty: refused for another reason.
  std::string fix;
  // refused: the person cannot be reached yet (the app is not installed for them); the message
  // waits and goes out when they become reachable, instead of failing for good.
  bool waits_for_recipient = false;
  // Said in the release's thread, in the same transaction as the outcome is recorded: a pipeline's
  // run link once it started; when refused, instead of the pump's own notice.
  std::optional<commands::message> thread_notice;

  static delivery_result sent(std::string reference, std::string thread_ref = {}) {
    delivery_result result;
    result.kind = outcome::sent;
    result.reference = std::move(reference);
    result.thread_ref = std::move(thread_ref);
    return result;
  }
  static delivery_result retry(std::string reason, bool outcome_known = true) {
    delivery_result result;
    result.reason = std::move(reason);
    result.outcome_known = outcome_known;
    return result;
  }
  static delivery_result rate_limited(std::chrono::seconds after, std::string reason) {
    auto result = retry(std::move(reason));
    result.retry_after = after;
    return result;
  }
  static delivery_result refused(std::string reason, std::string fix = {}) {
    delivery_result result;
    result.kind = outcome::refused;
    result.reason = std::move(reason);
    result.fix = std::move(fix);
    return result;
  }
  static delivery_result unreachable(std::string reason, std::string fix) {
    auto result = refused(std::move(reason), std::move(fix));
    result.waits_for_recipient = true;
    return result;
  }
};

// Pacing per conversation, as the platform asks (Slack: about one message a second a channel).
struct pacing {
  double burst = 0;       // 0: not paced
  double per_second = 1;
};

class delivery_channel {
public:
  virtual ~delivery_channel() = default;

  virtual std::string_view platform() const = 0;
  virtual boost::asio::awaitable<delivery_result> send(const delivery_request& request) = 0;

  // Whether a post of this message could be found again after the bot died while sending it.
  // When true the pump marks the message "being posted" before send, and calls find_earlier
  // for a message that still has the mark.
  virtual bool can_find_earlier(const delivery_request&) const { return false; }
  // The earlier post as a `sent` result; nullopt when it is not there; a `retry` result when the
  // platform could not be asked now; a `refused` result when it cannot be told and must not be
  // sent again (a pipeline that may have started).
  virtual boost::asio::awaitable<std::optional<delivery_result>> find_earlier(const delivery_request&,
                                                                              storage::instant /*since*/) {
    co_return std::nullopt;
  }
  virtual pacing pace() const { return {}; }
  // false: the payload is the channel's own JSON (a pipeline request), not a neutral message.
  virtual bool renders_messages() const { return true; }
  // true: a repeat does harm that cannot be found and undone (a second pipeline run), so the
  // "being sent" and "sent" marks are synced to disk, not only written.
  virtual bool marks_survive_power_loss() const { return false; }
};

}  // namespace releasebot::bot
