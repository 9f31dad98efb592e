// A fake Microsoft side for Teams tests, on 127.0.0.1 over HTTPS with a throwaway CA: the OpenID
// metadata and JWKS documents, the token endpoint (client credentials), and a Bot Connector that
// records every call and can answer 401/403/404/429 on command. It also plays Teams itself:
// it POSTs signed activities to the bot's messaging endpoint. Thread-safe; own thread.
#pragma once

#include "jwt_minter.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace releasebot::testing {

struct connector_call {
  std::string method;        // POST | PUT
  std::string path;          // "/v3/conversations/a:1/activities"
  std::string authorization; // as sent
  nlohmann::json body;
  int status = 200;          // what the fake answered
  nlohmann::json response;
};

// A person in the fake team's roster. Activities "from" their object id carry their chat id and
// name; the Bot Connector answers for them in pagedmembers and members/{id}.
struct team_member {
  std::string object_id;  // Entra object id ("quinn-aad")
  std::string chat_id;    // "29:…"
  std::string name;       // "Quinn Jones"
  std::string email;
  std::string upn;
  // false: the app is installed neither for them nor in a team of theirs, so POST
  // /v3/conversations with them answers 403 (until set true again).
  bool reachable = true;
};

struct http_answer {
  int status = 0;
  std::string body;
};

class fake_teams {
public:
  fake_teams();
  ~fake_teams();
  fake_teams(const fake_teams&) = delete;
  fake_teams& operator=(const fake_teams&) = delete;

  std::string app_id() const { return "11111111-2222-3333-4444-555555555555"; }
  std::string app_password() const { return "test-secret"; }
  std::string tenant_id() const { return "tenant-1"; }
  std::string base_url() const;            // https://127.0.0.1:PORT
  std::string openid_metadata_url() const; // base + /v1/.well-known/openidconfiguration
  std::string token_url() const;           // base + /tenant-1/oauth2/v2.0/token
  std::string service_url() const;         // base + /connector/  (activities carry this serviceUrl)
  std::string ca_file() const;

  jwt_minter& signer();                    // the key currently published in the JWKS
  // Publishes a new key (kid) alongside, and signs later tokens with it: a key rotation.
  void rotate_key(const std::string& new_kid);
  int jwks_fetches() const;
  int token_requests() const;
  std::string last_issued_token() const;   // the access token the token endpoint handed out

  // ---- Bot Connector
  std::vector<connector_call> calls() const;
  std::optional<connector_call> wait_for_call(const std::function<bool(const connector_call&)>& match,
                                              std::chrono::milliseconds timeout);
  // The next `times` connector calls answer with `status` (401, 403, 404, 429); 429 carries
  // Retry-After: retry_after_seconds; 403 body {"error":{"code":"BotNotInConversationRoster"}},
  // 404 {"error":{"code":"ConversationNotFound"}}.
  // `path_contains` limits the failures to calls whose path contains it.
  void fail_next_calls(int status, int times, int retry_after_seconds = 1, const std::string& path_contains = {});

  // ---- the team's roster (GET …/pagedmembers, GET …/members/{id}, POST /v3/conversations)
  void add_member(const team_member& member);
  void remove_member(const std::string& object_id);
  void set_reachable(const std::string& object_id, bool reachable);
  void set_roster_page_size(int size);  // pagedmembers answers at most this many a page (default 2)
  std::string team_id() const { return "19:team@thread.tacv2"; }
  // The chat id of someone in the roster, or "29:" + object id for anyone else.
  std::string chat_id_of(const std::string& object_id) const;
  // `activity` with a mention of the person added as Teams sends it (mentioned.id is the chat id,
  // no aadObjectId), and its "<at>Name</at>" text appended to the activity's text.
  nlohmann::json mention(nlohmann::json activity, const std::string& object_id) const;
  // conversationUpdate in the team channel: the bot or people added (by object id) or removed.
  nlohmann::json bot_added_to_team() const;
  nlohmann::json members_added(const std::vector<std::string>& object_ids) const;
  nlohmann::json member_removed(const std::string& object_id) const;
  // installationUpdate (action add | add-upgrade | remove) in the team channel.
  nlohmann::json installation_update(const std::string& action) const;

  // ---- Teams → bot: POST <endpoint> with a bearer token; returns the HTTP answer.
  // `token` empty: a valid token minted for service_url(). Activities get sensible defaults.
  http_answer post_activity(const std::string& endpoint, const nlohmann::json& activity, const std::string& token = {});
  nlohmann::json message_activity(const std::string& user_aad_id, const std::string& text,
                                  bool personal = true, const std::string& activity_id = {}) const;
  nlohmann::json card_action_activity(const std::string& user_aad_id, const std::string& verb,
                                      const std::string& request, const std::string& reply_to_id) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace releasebot::testing
