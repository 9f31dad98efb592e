// Messages waiting to be delivered to a platform; kept until the platform accepted them.
#pragma once

#include "storage/database.hpp"
#include "storage/release_records.hpp"

#include <vector>

namespace releasebot::storage {

struct outbox_message {
  row_id id = 0;
  std::string platform;
  std::string destination;  // channel | thread | direct
  std::string channel;
  std::optional<row_id> release_id;
  std::string recipient;    // user id for direct messages
  bool broadcast = false;   // a thread message also shown in the channel
  bool starts_thread = false;  // the release's opening announcement: its ref becomes the thread
  std::string payload;      // the neutral message as JSON
  instant created_at{};
  int attempts = 0;
  std::optional<instant> sent_at;
  std::optional<std::string> platform_ref;
  std::optional<row_id> updates;  // edit that earlier message instead of posting a new one
  // Set (and committed) before a post is sent, cleared when its outcome is known: a message that
  // still has it was maybe posted by a run that died, and must be looked for before posting again.
  std::optional<instant> posting_since;
};

// How much one platform has waiting, for the operations metrics.
struct outbox_backlog {
  std::string platform;
  std::int64_t pending = 0;
  std::optional<instant> oldest;  // created_at of the oldest pending message
};

// The conversation a message belongs to: order is kept within it (a person's direct messages,
// or a channel with its threads).
std::string conversation_of(const outbox_message& message);

class outbox {
public:
  explicit outbox(database& db) : db_{db} {}

  row_id enqueue(const outbox_message& message);
  // Oldest first; only messages neither sent nor refused for good.
  std::vector<outbox_message> pending(std::string_view platform, int limit = 100);
  // The oldest pending message of each conversation (a person's direct messages, or a channel with
  // its threads), oldest first: what may go out next without overtaking anything in its conversation.
  std::vector<outbox_message> pending_heads(std::string_view platform, int limit = 100);
  void mark_sent(row_id id, instant at, std::string_view platform_ref);
  // Durable before the platform call: from now on the outcome of this post is unknown.
  void mark_posting(row_id id, instant at);
  // Not delivered this time; retried later. `outcome_known`: the platform answered that it did not
  // take the message (e.g. 429), so the next attempt need not look for it first.
  void count_attempt(row_id id, bool outcome_known = true);
  // The platform refused it for good (unknown channel, bad blocks): kept for the record, not retried.
  void mark_failed(row_id id, std::string_view reason);
  // Held until the recipient can be reached (requeue_waiting), not failed for good.
  void mark_waiting(row_id id, std::string_view reason);
  // Whether the message was ever held for its recipient.
  bool was_held(row_id id);
  // A person became reachable: their held direct messages are pending again. Returns how many.
  int requeue_waiting(std::string_view platform, std::string_view recipient);
  std::int64_t pending_count(std::string_view platform);
  // Whether a later edit of the same earlier message waits behind this one (this edit can be skipped).
  bool has_newer_edit(const outbox_message& message);
  // Whether something for this release and channel is still to go out on the platform (a pipeline
  // start that was asked for and not yet made).
  bool has_unsent(std::string_view platform, row_id release_id, std::string_view channel);
  std::vector<outbox_backlog> backlog();
  std::optional<std::string> platform_ref_of(row_id id);

private:
  database& db_;
};

}  // namespace releasebot::storage
