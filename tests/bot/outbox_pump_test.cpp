// The one outbox pump against a recording fake platform: order within a conversation, pacing,
// Retry-After and backoff (a waiting conversation holds up no other), refusals and the
// coordinator's notice, finding a post again after a crash, and the delivery metrics.
#include "bot/delivery.hpp"
#include "bot/dispatcher.hpp"
#include "bot/metrics.hpp"
#include "bot/operations.hpp"
#include "bot/outbox_pump.hpp"
#include "commands/engine.hpp"
#include "commands/message.hpp"
#include "commands/policy.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox.hpp"
#include "storage/release_repository.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace releasebot;
namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

constexpr const char* fake_platform = "fakechat";

storage::instant now_seconds() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

std::string payload_of(const std::string& text, commands::message_kind kind = commands::message_kind::announcement) {
  commands::message_builder builder{kind};
  builder.text(text);
  return nlohmann::json(builder.build()).dump();
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// A platform that records every call, keeps what was posted (it survives a "crash" of the bot),
// and answers as scripted. Like the Slack sender: a post's reference is "<channel>/<ts>" and its
// ts starts the release's thread; an earlier post is found again by its outbox id.

struct delivery_seen {
  storage::row_id id = 0;
  std::string conversation;  // storage::conversation_of
  std::string destination;
  std::string channel;
  std::string recipient;
  std::string text;  // the neutral message as plain text
  commands::message_kind kind = commands::message_kind::reply;
  std::optional<storage::row_id> release_id;
  std::optional<std::string> thread_ref;   // the release's thread when it went out
  std::optional<std::string> earlier_ref;  // the message it updates
  steady::time_point at{};
};

struct platform_post {
  delivery_seen message;
  std::string reference;
  std::string ts;
};

struct find_call {
  storage::row_id id = 0;
  storage::instant since{};
};

// One answer to one send call; without a script a send is posted and answered `sent`.
struct scripted_answer {
  bot::delivery_result result;
  bool took_it = false;  // the platform took the message although the answer does not say so (a lost reply)
};

class recording_channel : public bot::delivery_channel {
public:
  // Settings, as a test wants them.
  bot::pacing rate{};
  bool findable = false;
  bool hang_after_posting = false;          // the bot "dies" inside send, after the platform took the post
  std::chrono::milliseconds send_delay{0};  // the platform takes this long to answer
  std::map<storage::row_id, std::deque<scripted_answer>> script;

  // What happened.
  std::vector<delivery_seen> sends;          // every send call, in order
  std::vector<platform_post> posted;         // what the platform has, in order
  std::vector<find_call> finds;              // every find_earlier call

  explicit recording_channel(std::string name = fake_platform) : name_{std::move(name)} {}

  std::string_view platform() const override { return name_; }
  bot::pacing pace() const override { return rate; }
  bool can_find_earlier(const bot::delivery_request&) const override { return findable; }

  asio::awaitable<bot::delivery_result> send(const bot::delivery_request& request) override {
    // The request refers to the pump's locals: copy what is needed before any suspension.
    const auto seen = record(request);
    sends.push_back(seen);
    if (send_delay > 0ms) {
      const auto executor = co_await asio::this_coro::executor;
      asio::steady_timer delay{executor, send_delay};
      co_await delay.async_wait(asio::use_awaitable);
    }
    if (const auto planned = script.find(seen.id); planned != script.end() && !planned->second.empty()) {
      const auto answer = planned->second.front();
      planned->second.pop_front();
      if (answer.took_it) post(seen);
      co_return answer.result;
    }
    const auto& post_made = post(seen);
    const auto result = bot::delivery_result::sent(post_made.reference, post_made.ts);
    if (hang_after_posting) {
      const auto executor = co_await asio::this_coro::executor;
      asio::steady_timer forever{executor, std::chrono::hours{1}};
      co_await forever.async_wait(asio::use_awaitable);
    }
    co_return result;
  }

  asio::awaitable<std::optional<bot::delivery_result>> find_earlier(const bot::delivery_request& request,
                                                                    storage::instant since) override {
    finds.push_back({request.message.id, since});
    for (const auto& earlier : posted) {
      if (earlier.message.id == request.message.id) co_return bot::delivery_result::sent(earlier.reference, earlier.ts);
    }
    co_return std::nullopt;
  }

  // Helpers for the assertions.
  std::vector<storage::row_id> posted_ids(const std::string& conversation = {}) const {
    std::vector<storage::row_id> ids;
    for (const auto& post : posted) {
      if (conversation.empty() || post.message.conversation == conversation) ids.push_back(post.message.id);
    }
    return ids;
  }
  std::size_t sends_of(storage::row_id id) const {
    return static_cast<std::size_t>(
        std::count_if(sends.begin(), sends.end(), [id](const delivery_seen& seen) { return seen.id == id; }));
  }
  const platform_post* post_of(storage::row_id id) const {
    for (const auto& post : posted) {
      if (post.message.id == id) return &post;
    }
    return nullptr;
  }
  // Position of a message in what was posted (posted.size() when absent).
  std::size_t position(storage::row_id id) const {
    for (std::size_t i = 0; i < posted.size(); ++i) {
      if (posted[i].message.id == id) return i;
    }
    return posted.size();
  }
  std::vector<steady::time_point> attempt_times(storage::row_id id) const {
    std::vector<steady::time_point> times;
    for (const auto& seen : sends) {
      if (seen.id == id) times.push_back(seen.at);
    }
    return times;
  }

private:
  delivery_seen record(const bot::delivery_request& request) const {
    delivery_seen seen;
    seen.id = request.message.id;
    seen.conversation = storage::conversation_of(request.message);
    seen.destination = request.message.destination;
    seen.channel = request.message.channel;
    seen.recipient = request.message.recipient;
    seen.text = request.body.plain_text();
    seen.kind = request.body.kind;
    seen.release_id = request.message.release_id;
    if (request.release) seen.thread_ref = request.release->thread_ref;
    seen.earlier_ref = request.earlier_ref;
    seen.at = steady::now();
    return seen;
  }

  const platform_post& post(const delivery_seen& seen) {
    const auto where = seen.destination == "direct" ? "D-" + seen.recipient : seen.channel;
    const auto ts = "1767225600." + std::to_string(100000 + ++next_ts_);
    posted.push_back({seen, where + "/" + ts, ts});
    return posted.back();
  }

  std::string name_;
  int next_ts_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A pump on an io_context of its own, run by the test thread in short slices.

class pump_runner {
public:
  pump_runner(storage::database& db, bot::delivery_channel& channel, bot::metrics* stats = nullptr)
      : pump_{io_.get_executor(), db, channel, stats} {}

  bot::outbox_pump& pump() { return pump_; }

  void start() {
    asio::co_spawn(io_, pump_.run(), [state = state_](std::exception_ptr failure) {
      state->failure = failure;
      state->run_returned = true;
    });
  }

  // Runs the loop until `done()` holds; false when `limit` passed first.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 1500ms) {
    const auto deadline = steady::now() + limit;
    while (!done()) {
      if (steady::now() >= deadline) return false;
      io_.run_for(2ms);
      if (io_.stopped()) {  // nothing to do at all
        io_.restart();
        std::this_thread::sleep_for(1ms);
      }
    }
    return true;
  }

  // Lets the pump work for a while (to show that nothing more happens).
  void run_for(std::chrono::milliseconds duration) {
    const auto until = steady::now() + duration;
    run_until([until] { return steady::now() >= until; }, duration + 100ms);
  }

  // stop(); true when run() then returned, without an exception, within `limit`.
  bool stop(std::chrono::milliseconds limit = 1000ms) {
    pump_.stop();
    return run_until([this] { return state_->run_returned; }, limit) && !state_->failure;
  }
  bool run_returned() const { return state_->run_returned; }

  // deliver_now() to completion; false when it did not complete within `limit`.
  bool deliver_now(std::chrono::milliseconds limit = 1500ms) {
    auto done = std::make_shared<bool>(false);
    asio::co_spawn(io_, pump_.deliver_now(), [done](std::exception_ptr) { *done = true; });
    return run_until([&done] { return *done; }, limit);
  }

private:
  struct run_state {
    bool run_returned = false;
    std::exception_ptr failure;
  };
  std::shared_ptr<run_state> state_ = std::make_shared<run_state>();
  asio::io_context io_;
  bot::outbox_pump pump_;
};

// ---------------------------------------------------------------------------------------------
// The database: in memory, migrated, with the bot's metrics described on it.

struct outbox_row {
  int attempts = 0;
  std::optional<std::string> sent_at;
  std::optional<std::string> platform_ref;
  std::optional<std::string> failed_reason;
  std::optional<std::string> posting_since;
};

struct pump_fixture {
  bot::metrics stats;  // before db: the database's commit observer refers to it
  storage::database db = storage::database::open_in_memory();

  pump_fixture() {
    storage::migrate(db);
    bot::describe_metrics(stats, db);
  }

  storage::row_id release(const std::string& version = "4.2.0", const std::string& coordinator = "alice",
                          const std::string& channel = "C1") {
    storage::release_record record;
    record.version = version;
    record.major = 4;
    record.minor = 2;
    record.patch = 0;
    record.type = "minor";
    record.title = "Payments refresh";
    record.stage = "planning";
    record.coordinator = coordinator;
    record.platform = fake_platform;
    record.channel = channel;
    record.created_at = now_seconds();
    return storage::release_repository{db}.insert(record);
  }

  storage::row_id enqueue(storage::outbox_message message) {
    if (message.platform.empty()) message.platform = fake_platform;
    message.created_at = now_seconds();
    return storage::outbox{db}.enqueue(message);
  }
  storage::row_id to_channel(const std::string& channel, const std::string& text,
                             std::optional<storage::row_id> release_id = {}, bool starts_thread = false) {
    storage::outbox_message message;
    message.destination = "channel";
    message.channel = channel;
    message.release_id = release_id;
    message.starts_thread = starts_thread;
    message.payload = payload_of(text);
    return enqueue(message);
  }
  storage::row_id to_thread(const std::string& channel, const std::string& text, storage::row_id release_id) {
    storage::outbox_message message;
    message.destination = "thread";
    message.channel = channel;
    message.release_id = release_id;
    message.payload = payload_of(text);
    return enqueue(message);
  }
  storage::row_id to_person(const std::string& recipient, const std::string& text,
                            std::optional<storage::row_id> release_id = {}, std::optional<storage::row_id> updates = {}) {
    storage::outbox_message message;
    message.destination = "direct";
    message.channel = "C1";
    message.recipient = recipient;
    message.release_id = release_id;
    message.updates = updates;
    message.payload = payload_of(text, commands::message_kind::reminder);
    return enqueue(message);
  }

  outbox_row row(storage::row_id id) {
    auto query =
        db.prepare("SELECT attempts, sent_at, platform_ref, failed_reason, posting_since FROM outbox WHERE id = ?");
    query.bind(1, id);
    REQUIRE(query.step());
    outbox_row out;
    out.attempts = static_cast<int>(query.column_int(0));
    out.sent_at = query.column_optional_text(1);
    out.platform_ref = query.column_optional_text(2);
    out.failed_reason = query.column_optional_text(3);
    out.posting_since = query.column_optional_text(4);
    return out;
  }

  std::int64_t count(const std::string& sql) {
    auto query = db.prepare(sql);
    REQUIRE(query.step());
    return query.column_int(0);
  }

  std::int64_t pending() { return storage::outbox{db}.pending_count(fake_platform); }

  std::optional<std::string> thread_of(storage::row_id release_id) {
    const auto found = storage::release_repository{db}.find(release_id);
    REQUIRE(found);
    return found->thread_ref;
  }

  double deliveries(const std::string& result, const std::string& platform = fake_platform) {
    return stats.value("releasebot_deliveries_total", {{"platform", platform}, {"result", result}});
  }
};

std::chrono::duration<double> seconds_between(steady::time_point from, steady::time_point to) { return to - from; }

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("outbox_pump delivers each conversation in order; a waiting one holds up no other", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  const auto release = fx.release();
  const auto a1 = fx.to_channel("C1", "Release 4.2.0 opened", release, true);
  const auto b1 = fx.to_person("pam", "pam one", release);
  const auto a2 = fx.to_thread("C1", "thread one", release);
  const auto b2 = fx.to_person("pam", "pam two", release);
  const auto a3 = fx.to_thread("C1", "thread two", release);
  const auto c1 = fx.to_channel("C2", "elsewhere");
  const auto b3 = fx.to_person("pam", "pam three", release);
  storage::outbox_message foreign;  // another platform's share: not this pump's
  foreign.platform = "otherchat";
  foreign.destination = "channel";
  foreign.channel = "C1";
  foreign.payload = payload_of("not mine");
  const auto other = fx.enqueue(foreign);

  SECTION("everything flowing") {
    pump_runner runner{fx.db, channel, &fx.stats};
    runner.start();
    REQUIRE(runner.run_until([&] { return channel.posted.size() == 7; }));
    runner.run_for(50ms);  // nothing more goes out
    CHECK(runner.stop());

    CHECK(channel.posted_ids("channel:C1") == std::vector<storage::row_id>{a1, a2, a3});
    CHECK(channel.posted_ids("direct:pam") == std::vector<storage::row_id>{b1, b2, b3});
    CHECK(channel.posted_ids("channel:C2") == std::vector<storage::row_id>{c1});
    CHECK(channel.sends.size() == 7);  // each once

    // The opening announcement started the release's thread, and the thread's messages went there.
    const auto* opening = channel.post_of(a1);
    REQUIRE(opening != nullptr);
    CHECK_FALSE(opening->message.thread_ref);
    CHECK(fx.thread_of(release) == opening->ts);
    for (const auto id : {a2, a3}) {
      const auto* in_thread = channel.post_of(id);
      REQUIRE(in_thread != nullptr);
      CHECK(in_thread->message.thread_ref == opening->ts);
    }

    for (const auto id : {a1, a2, a3, b1, b2, b3, c1}) {
      const auto stored = fx.row(id);
      CHECK(stored.sent_at);
      CHECK(stored.platform_ref == channel.post_of(id)->reference);
      CHECK_FALSE(stored.failed_reason);
      CHECK(stored.attempts == 0);
    }
    CHECK_FALSE(fx.row(other).sent_at);
    CHECK(fx.pending() == 0);
    CHECK(fx.deliveries("sent") == 7);
  }

  SECTION("the channel's first message must wait; the others go on meanwhile") {
    channel.script[a1].push_back({bot::delivery_result::retry("the platform hiccupped"), false});
    pump_runner runner{fx.db, channel, &fx.stats};
    runner.start();
    REQUIRE(runner.run_until([&] { return channel.posted.size() == 7; }, 2000ms));
    CHECK(runner.stop());

    CHECK(channel.sends_of(a1) == 2);
    CHECK(channel.posted_ids("channel:C1") == std::vector<storage::row_id>{a1, a2, a3});  // nothing overtook a1
    CHECK(channel.posted_ids("direct:pam") == std::vector<storage::row_id>{b1, b2, b3});
    for (const auto id : {b1, b2, b3, c1}) CHECK(channel.position(id) < channel.position(a1));
    // a2 was not even tried while a1 waited.
    const auto retried_at = channel.attempt_times(a1).back();
    for (const auto& seen : channel.sends) {
      if (seen.id == a2 || seen.id == a3) CHECK(seen.at >= retried_at);
    }
    CHECK(fx.row(a1).attempts == 1);
    CHECK(fx.row(a1).sent_at);
    CHECK(fx.deliveries("retried") == 1);
    CHECK(fx.deliveries("sent") == 7);
  }
}

TEST_CASE("outbox_pump paces each conversation as the platform asks", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  channel.rate = {1, 5};  // one at once, then five a second
  std::vector<storage::row_id> paced;
  for (int i = 1; i <= 4; ++i) paced.push_back(fx.to_channel("C1", "update " + std::to_string(i)));
  const auto elsewhere = fx.to_person("pam", "a direct message");

  pump_runner runner{fx.db, channel, &fx.stats};
  runner.start();
  REQUIRE(runner.run_until([&] { return channel.posted.size() == 5; }, 2000ms));
  CHECK(runner.stop());

  REQUIRE(channel.posted_ids("channel:C1") == paced);
  const auto first = channel.post_of(paced.front())->message.at;
  const auto last = channel.post_of(paced.back())->message.at;
  // (N - 1) / per_second, loosely.
  CHECK(seconds_between(first, last).count() >= 3 / 5.0 * 0.8);
  for (std::size_t i = 1; i < paced.size(); ++i) {
    CHECK(seconds_between(channel.post_of(paced[i - 1])->message.at, channel.post_of(paced[i])->message.at).count() >=
          1 / 5.0 * 0.8);
  }
  // Another conversation has a bucket of its own.
  CHECK(channel.position(elsewhere) < channel.position(paced[1]));
  CHECK(fx.deliveries("sent") == 5);
}

TEST_CASE("outbox_pump waits out the platform's Retry-After, and only that conversation waits", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  channel.findable = true;  // the pump marks posts; a 429 says the post was not taken, so no look-up follows
  const auto a1 = fx.to_channel("C1", "first in C1");
  const auto a2 = fx.to_channel("C1", "second in C1");
  const auto b1 = fx.to_person("pam", "pam one");
  const auto b2 = fx.to_person("pam", "pam two");
  const auto c1 = fx.to_channel("C2", "elsewhere");
  channel.script[a1].push_back({bot::delivery_result::rate_limited(1s, "ratelimited"), false});

  pump_runner runner{fx.db, channel, &fx.stats};
  runner.start();
  REQUIRE(runner.run_until([&] { return channel.posted.size() == 5; }, 3000ms));
  runner.run_for(50ms);
  CHECK(runner.stop());

  const auto tries = channel.attempt_times(a1);
  REQUIRE(tries.size() == 2);  // the refused attempt, then exactly one post
  CHECK(channel.posted_ids("channel:C1") == std::vector<storage::row_id>{a1, a2});
  CHECK(seconds_between(tries[0], tries[1]).count() >= 0.8);  // not before the Retry-After (loosely)
  for (const auto id : {b1, b2, c1}) {
    CHECK(channel.position(id) < channel.position(a1));
    CHECK(channel.post_of(id)->message.at < tries[1]);
  }
  CHECK(channel.sends_of(a2) == 1);
  CHECK(channel.finds.empty());

  const auto stored = fx.row(a1);
  CHECK(stored.attempts == 1);
  CHECK(stored.sent_at);
  CHECK(stored.platform_ref == channel.post_of(a1)->reference);
  CHECK(fx.deliveries("rate_limited") == 1);
  CHECK(fx.deliveries("sent") == 5);
}

TEST_CASE("outbox_pump retries with backoff when the platform fails for now", "[outbox][pump]") {
  CHECK(bot::outbox_pump::backoff(0) >= 250ms);
  CHECK(bot::outbox_pump::backoff(0) <= 500ms);
  CHECK(bot::outbox_pump::backoff(3) <= 4000ms);
  CHECK(bot::outbox_pump::backoff(3) >= 2000ms);
  CHECK(bot::outbox_pump::backoff(50) <= 60'000ms);

  pump_fixture fx;
  recording_channel channel;
  const auto id = fx.to_person("pam", "try again");
  channel.script[id].push_back({bot::delivery_result::retry("http_503"), false});

  pump_runner runner{fx.db, channel, &fx.stats};
  runner.start();
  REQUIRE(runner.run_until([&] { return channel.posted.size() == 1; }, 2000ms));
  CHECK(runner.stop());
  const auto tries = channel.attempt_times(id);
  REQUIRE(tries.size() == 2);
  CHECK(seconds_between(tries[0], tries[1]).count() >= 0.25 * 0.8);  // backoff(0) is at least 250 ms
  CHECK(fx.row(id).attempts == 1);
  CHECK(fx.row(id).sent_at);
  CHECK(fx.deliveries("retried") == 1);
}

TEST_CASE("outbox_pump: a refusal is recorded, not retried, and the coordinator is told", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  const auto release = fx.release("4.2.0", "alice", "C1");
  const std::string fix = "releasebot is not in that channel — invite it there (/invite @releasebot)";

  SECTION("the release's channel refused: the coordinator hears it directly") {
    const auto announcement = fx.to_channel("C1", "Release 4.2.0 opened", release, true);
    channel.script[announcement].push_back({bot::delivery_result::refused("channel_not_found", fix), false});

    pump_runner runner{fx.db, channel, &fx.stats};
    REQUIRE(runner.deliver_now());
    REQUIRE(runner.deliver_now());  // again: the refused message is not tried a second time

    CHECK(channel.sends_of(announcement) == 1);
    const auto refused = fx.row(announcement);
    CHECK(refused.failed_reason == std::string{"channel_not_found"});
    CHECK_FALSE(refused.sent_at);
    CHECK(refused.attempts == 1);
    CHECK_FALSE(fx.thread_of(release));

    // The notice: queued for the coordinator, and delivered.
    auto notice = fx.db.prepare(
        "SELECT id, platform, destination, recipient, release_id, payload FROM outbox WHERE id <> ? ORDER BY id");
    notice.bind(1, announcement);
    REQUIRE(notice.step());
    const auto notice_id = notice.column_int(0);
    CHECK(notice.column_text(1) == fake_platform);
    CHECK(notice.column_text(2) == "direct");
    CHECK(notice.column_text(3) == "alice");
    CHECK(notice.column_optional_int(4) == std::optional<std::int64_t>{release});
    const auto body = nlohmann::json::parse(notice.column_text(5)).get<commands::message>();
    CHECK(body.kind == commands::message_kind::error);
    CHECK_FALSE(notice.step());  // one notice

    const auto* told = channel.post_of(notice_id);
    REQUIRE(told != nullptr);
    CHECK(told->message.conversation == "direct:alice");
    INFO(told->message.text);
    CHECK(contains(told->message.text, "could not deliver a message about 4.2.0 to C1: " + fix));
    CHECK(told->message.kind == commands::message_kind::error);
    CHECK(fx.row(notice_id).sent_at);
    CHECK(fx.pending() == 0);
    CHECK(fx.deliveries("failed") == 1);
    CHECK(fx.deliveries("sent") == 1);
  }

  SECTION("a person cannot be reached: the coordinator hears it in the release's thread") {
    const auto direct = fx.to_person("pam", "please sign off", release);
    channel.script[direct].push_back(
        {bot::delivery_result::refused("user_not_found", "Slack does not let me write to that person"), false});

    pump_runner runner{fx.db, channel, &fx.stats};
    REQUIRE(runner.deliver_now());

    CHECK(channel.sends_of(direct) == 1);
    CHECK(fx.row(direct).failed_reason == std::string{"user_not_found"});
    REQUIRE(channel.posted.size() == 1);
    const auto& told = channel.posted.front();
    CHECK(told.message.destination == "thread");
    CHECK(told.message.channel == "C1");
    CHECK(told.message.release_id == std::optional<storage::row_id>{release});
    INFO(told.message.text);
    CHECK(contains(told.message.text, "4.2.0 to @pam: Slack does not let me write to that person"));
    CHECK(fx.pending() == 0);
  }

  SECTION("a refusal without a fix: the notice gives the platform's reason") {
    const auto update = fx.to_thread("C1", "cutoff moved", release);
    channel.script[update].push_back({bot::delivery_result::refused("invalid_blocks"), false});

    pump_runner runner{fx.db, channel, &fx.stats};
    REQUIRE(runner.deliver_now());

    REQUIRE(channel.posted.size() == 1);
    const auto& told = channel.posted.front();
    CHECK(told.message.conversation == "direct:alice");
    INFO(told.message.text);
    CHECK(contains(told.message.text, "the platform refused it (invalid_blocks)"));
  }

  SECTION("the coordinator cannot be reached either: only logged, no notice loop") {
    const auto direct = fx.to_person("alice", "your reminder", release);
    channel.script[direct].push_back({bot::delivery_result::refused("user_disabled", "ask someone else"), false});

    pump_runner runner{fx.db, channel, &fx.stats};
    REQUIRE(runner.deliver_now());

    CHECK(channel.sends.size() == 1);
    CHECK(channel.posted.empty());
    CHECK(fx.count("SELECT count(*) FROM outbox") == 1);
    CHECK(fx.row(direct).failed_reason == std::string{"user_disabled"});
  }

  SECTION("a message about no release: nobody to tell") {
    const auto loose = fx.to_channel("C9", "hello");
    channel.script[loose].push_back({bot::delivery_result::refused("channel_not_found", fix), false});

    pump_runner runner{fx.db, channel, &fx.stats};
    REQUIRE(runner.deliver_now());
    CHECK(fx.count("SELECT count(*) FROM outbox") == 1);
    CHECK(fx.row(loose).failed_reason == std::string{"channel_not_found"});
  }
}

TEST_CASE("outbox_pump: an unreadable payload is marked failed without calling the platform", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  storage::outbox_message broken;
  broken.destination = "channel";
  broken.channel = "C1";
  broken.payload = "this is not JSON";
  const auto id = fx.enqueue(broken);
  const auto fine = fx.to_channel("C1", "fine");

  pump_runner runner{fx.db, channel, &fx.stats};
  REQUIRE(runner.deliver_now());
  CHECK(channel.sends_of(id) == 0);
  CHECK(channel.posted_ids() == std::vector<storage::row_id>{fine});
  const auto stored = fx.row(id);
  REQUIRE(stored.failed_reason);
  CHECK(contains(*stored.failed_reason, "unreadable payload"));
  CHECK(fx.deliveries("failed") == 1);
}

TEST_CASE("outbox_pump: a card update carries the platform reference of the message it updates", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  const auto card = fx.to_person("pam", "sign off 4.2.0?");
  pump_runner runner{fx.db, channel};
  REQUIRE(runner.deliver_now());
  const auto decided = fx.to_person("pam", "approved", std::nullopt, card);
  REQUIRE(runner.deliver_now());

  REQUIRE(channel.sends.size() == 2);
  CHECK_FALSE(channel.sends[0].earlier_ref);
  CHECK(channel.sends[1].id == decided);
  CHECK(channel.sends[1].earlier_ref == fx.row(card).platform_ref);
}

TEST_CASE("outbox_pump after a crash between posting and recording: found, not posted again", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  channel.findable = true;
  const auto release = fx.release();
  const auto opening = fx.to_channel("C1", "Release 4.2.0 opened", release, true);
  const auto follow_up = fx.to_thread("C1", "first thread message", release);
  const auto marked_before = now_seconds();

  SECTION("the bot died inside the platform call") {
    channel.hang_after_posting = true;
    {
      pump_runner crashed{fx.db, channel, &fx.stats};
      crashed.start();
      REQUIRE(crashed.run_until([&] { return channel.posted.size() == 1; }));
      crashed.run_for(20ms);
      // The platform has the post; the outbox only knows that it was being posted.
      const auto during = fx.row(opening);
      CHECK(during.posting_since);
      CHECK_FALSE(during.sent_at);
      CHECK(during.attempts == 0);
      CHECK_FALSE(fx.thread_of(release));
      CHECK(channel.sends_of(follow_up) == 0);
    }  // killed: its loop and the call in flight are gone, nothing more is written
    CHECK_FALSE(fx.row(opening).sent_at);

    channel.hang_after_posting = false;
    pump_runner restarted{fx.db, channel, &fx.stats};
    restarted.start();
    REQUIRE(restarted.run_until([&] { return fx.row(follow_up).sent_at.has_value(); }));
    CHECK(restarted.stop());

    CHECK(channel.sends_of(opening) == 1);  // not sent a second time
    REQUIRE(channel.finds.size() == 1);
    CHECK(channel.finds[0].id == opening);
    CHECK(channel.finds[0].since >= marked_before);
    CHECK(channel.posted_ids() == std::vector<storage::row_id>{opening, follow_up});

    const auto* earlier = channel.post_of(opening);
    REQUIRE(earlier != nullptr);
    const auto stored = fx.row(opening);
    CHECK(stored.sent_at);
    CHECK(stored.platform_ref == earlier->reference);
    CHECK_FALSE(stored.failed_reason);
    // The found post still starts the thread, and the thread goes on in it.
    CHECK(fx.thread_of(release) == earlier->ts);
    CHECK(channel.post_of(follow_up)->message.thread_ref == earlier->ts);
    CHECK(fx.deliveries("found_posted") == 1);
    CHECK(fx.deliveries("sent") == 1);  // only the follow-up
  }

  SECTION("the answer was lost (outcome unknown): the same pump looks before posting again") {
    channel.script[opening].push_back(
        {bot::delivery_result::retry("network error after sending", /*outcome_known=*/false), /*took_it=*/true});
    pump_runner runner{fx.db, channel, &fx.stats};
    runner.start();
    REQUIRE(runner.run_until([&] { return fx.row(follow_up).sent_at.has_value(); }, 2000ms));
    CHECK(runner.stop());

    CHECK(channel.sends_of(opening) == 1);
    REQUIRE(channel.finds.size() == 1);
    CHECK(channel.finds[0].id == opening);
    CHECK(channel.posted_ids() == std::vector<storage::row_id>{opening, follow_up});
    const auto stored = fx.row(opening);
    CHECK(stored.platform_ref == channel.post_of(opening)->reference);
    CHECK(stored.attempts == 1);
    CHECK(fx.deliveries("retried") == 1);
    CHECK(fx.deliveries("found_posted") == 1);
  }

  SECTION("marked as being posted, but the platform does not have it: posted once") {
    storage::outbox{fx.db}.mark_posting(opening, marked_before);
    pump_runner runner{fx.db, channel, &fx.stats};
    runner.start();
    REQUIRE(runner.run_until([&] { return fx.row(follow_up).sent_at.has_value(); }));
    CHECK(runner.stop());

    REQUIRE(channel.finds.size() == 1);
    CHECK(channel.finds[0].id == opening);
    CHECK(channel.finds[0].since == marked_before);
    CHECK(channel.sends_of(opening) == 1);
    CHECK(channel.posted_ids() == std::vector<storage::row_id>{opening, follow_up});
    CHECK(fx.row(opening).platform_ref == channel.post_of(opening)->reference);
    CHECK(fx.deliveries("sent") == 2);
    CHECK(fx.deliveries("found_posted") == 0);
  }

  SECTION("a platform that cannot look: nothing is marked, nothing looked for") {
    channel.findable = false;
    pump_runner runner{fx.db, channel, &fx.stats};
    REQUIRE(runner.deliver_now());
    CHECK(channel.finds.empty());
    CHECK(channel.posted_ids() == std::vector<storage::row_id>{opening, follow_up});
    CHECK_FALSE(fx.row(opening).posting_since);
  }
}

TEST_CASE("outbox_pump counts deliveries in releasebot_deliveries_total", "[outbox][pump][metrics]") {
  pump_fixture fx;
  recording_channel channel;
  for (int i = 0; i < 3; ++i) fx.to_channel("C1", "message " + std::to_string(i));
  const auto limited = fx.to_person("pam", "limited");
  channel.script[limited].push_back({bot::delivery_result::rate_limited(1s, "ratelimited"), false});

  pump_runner runner{fx.db, channel, &fx.stats};
  REQUIRE(runner.deliver_now());

  CHECK(fx.deliveries("sent") == 3);
  CHECK(fx.deliveries("rate_limited") == 1);
  CHECK(fx.deliveries("failed") == 0);
  CHECK(fx.deliveries("sent", "otherchat") == 0);
  const auto text = fx.stats.render();
  INFO(text);
  CHECK(contains(text, R"(releasebot_deliveries_total{platform="fakechat",result="sent"} 3)"));
  CHECK(contains(text, R"(releasebot_deliveries_total{platform="fakechat",result="rate_limited"} 1)"));
  CHECK(contains(text, R"(releasebot_outbox_pending{platform="fakechat"} 1)"));

  SECTION("without a registry the pump counts nothing and still delivers") {
    pump_fixture bare;
    recording_channel quiet;
    bare.to_channel("C1", "hello");
    pump_runner uncounted{bare.db, quiet};
    REQUIRE(uncounted.deliver_now());
    CHECK(quiet.posted.size() == 1);
    CHECK(bare.deliveries("sent") == 0);
  }
}

TEST_CASE("outbox_pump delivers what a command queued, through the dispatcher", "[outbox][pump]") {
  pump_fixture fx;
  const auto rules = commands::load_policy(RELEASEBOT_SOURCE_DIR "/deploy/policy.toml");
  commands::engine engine{fx.db, rules, commands::engine_settings{{"alice"}, "UTC", {}, {}, {}}};
  const auto fixed_now = std::chrono::sys_seconds{std::chrono::sys_days{std::chrono::year{2026} / 3 / 2}} + 10h;
  bot::dispatcher dispatcher{fx.db, engine, [fixed_now] { return fixed_now; }};
  int events = 0;
  const auto say = [&](const std::string& user, const std::string& text) {
    bot::inbound in;
    in.platform = fake_platform;
    in.event_id = "Ev" + std::to_string(++events);
    in.user = user;
    in.channel = "C1";
    in.text = text;
    const auto result = dispatcher.dispatch(in);
    INFO(text << " → " << result.reply.plain_text());
    REQUIRE_FALSE(result.refused);
    REQUIRE(result.changed);
  };
  say("alice", "open 4.2.0 minor Payments refresh");
  say("alice", "schedule 4.2.0 cutoff 2026-04-01 12:00");
  const auto queued = fx.pending();
  REQUIRE(queued >= 2);

  recording_channel channel;
  pump_runner runner{fx.db, channel, &fx.stats};
  REQUIRE(runner.deliver_now());

  CHECK(fx.pending() == 0);
  REQUIRE(static_cast<std::int64_t>(channel.posted.size()) == queued);
  REQUIRE(fx.count("SELECT count(*) FROM outbox WHERE starts_thread = 1") == 1);
  const auto* opened = channel.post_of(fx.count("SELECT id FROM outbox WHERE starts_thread = 1"));
  REQUIRE(opened != nullptr);
  const auto& opening = *opened;
  CHECK(opening.message.destination == "channel");
  CHECK(opening.message.channel == "C1");
  CHECK(contains(opening.message.text, "4.2.0"));
  const auto release = storage::release_repository{fx.db}.find_by_version("4.2.0");
  REQUIRE(release);
  CHECK(release->thread_ref == opening.ts);
  bool scheduled_in_thread = false;
  for (const auto& post : channel.posted) {
    if (post.message.destination != "thread") continue;
    CHECK(post.message.thread_ref == opening.ts);
    if (contains(post.message.text, "cutoff planned")) scheduled_in_thread = true;
  }
  CHECK(scheduled_in_thread);
  CHECK(fx.deliveries("sent") == static_cast<double>(queued));
}

// stop() must end run() promptly even when it arrives while a delivery is in flight (the bot's
// shutdown asks every pump to stop, then forces the loop after 3 s).
TEST_CASE("outbox_pump: stop() during a delivery ends run() promptly", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  channel.send_delay = 100ms;
  const auto id = fx.to_channel("C1", "slow platform");

  pump_runner runner{fx.db, channel, &fx.stats};
  runner.start();
  REQUIRE(runner.run_until([&] { return channel.sends.size() == 1; }));
  REQUIRE(channel.posted.empty());  // the call is still in flight
  runner.pump().stop();
  CHECK(runner.run_until([&] { return runner.run_returned(); }, 1500ms));
  CHECK(fx.row(id).sent_at);  // the delivery in flight was still recorded
}

TEST_CASE("outbox_pump: stop() while idle ends run() at once", "[outbox][pump]") {
  pump_fixture fx;
  recording_channel channel;
  fx.to_channel("C1", "one");
  pump_runner runner{fx.db, channel};
  runner.start();
  REQUIRE(runner.run_until([&] { return channel.posted.size() == 1; }));
  runner.run_for(20ms);  // now waiting for work
  const auto asked = steady::now();
  CHECK(runner.stop(1000ms));
  CHECK(seconds_between(asked, steady::now()).count() < 1.0);
}
